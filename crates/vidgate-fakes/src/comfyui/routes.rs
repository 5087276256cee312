//! The fake ComfyUI's routes (digest §3–§8), each also under `/api` (digest §1):
//! `GET|POST /prompt`, `GET|POST /queue`, `GET /history[/{id}]`, `POST /interrupt`,
//! `GET /view`, `POST /upload/image`, `GET /object_info`, `GET /system_stats`, and
//! `POST /api/jobs/{id}/cancel` when the jobs API is on. A reverse proxy's credential is
//! checked when configured; an `Origin` header is refused with 403 as the origin guard does
//! for a loopback `Host` (digest §1).
//!
//! Owns the HTTP shapes. Errors: `{"error": {type, message, details, extra_info}, "node_errors"}`.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use super::nodes;
use super::state::{ComfyState, Prompt, Saved};
use crate::core::{Ctx, faults_layer};
use crate::errors::Refusal;
use crate::faults::Endpoint;
use crate::jobs::Progress;

type S = State<Arc<ComfyState>>;

fn core_routes() -> Router<Arc<ComfyState>> {
    Router::new()
        .route("/prompt", get(queue_remaining).post(submit))
        .route("/queue", get(queue).post(queue_edit))
        .route("/history", get(history_all))
        .route("/history/{id}", get(history))
        .route("/interrupt", post(interrupt))
        .route("/view", get(view))
        .route("/upload/image", post(upload))
        .route("/object_info", get(|| async { Json(nodes::object_info()) }))
        .route("/system_stats", get(system_stats))
}

pub(crate) fn router(state: Arc<ComfyState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .merge(core_routes())
        .nest("/api", core_routes().route("/jobs/{id}/cancel", post(cancel_job)))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(DefaultBodyLimit::max(100 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    let path = path.strip_prefix("/api").unwrap_or(path);
    match (method.as_str(), path) {
        ("POST", "/prompt") => Some(Endpoint::Submit),
        ("GET", "/queue") => Some(Endpoint::Poll),
        ("GET", p) if p.starts_with("/history/") => Some(Endpoint::Poll),
        ("GET", "/view") => Some(Endpoint::Download),
        ("POST", "/queue" | "/interrupt") => Some(Endpoint::Delete),
        ("POST", p) if p.starts_with("/jobs/") => Some(Endpoint::Delete),
        _ => None,
    }
}

fn refuse(state: &ComfyState, ctx: &Ctx, status: StatusCode, kind: &'static str, reason: String) -> Response {
    state.core.refuse(ctx, Refusal::protocol(status, reason).code(kind))
}

/// The proxy's credential and the origin guard, before any handler.
async fn guard(
    State(state): S,
    Extension(ctx): Extension<Ctx>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::ORIGIN) {
        return refuse(
            &state,
            &ctx,
            StatusCode::FORBIDDEN,
            "forbidden",
            "Origin differs from the loopback Host".into(),
        );
    }
    if let Some(expected) = &state.authorization {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if sent != Some(expected.as_str()) {
            let refusal = Refusal::auth(StatusCode::UNAUTHORIZED, "the reverse proxy wants its credential");
            return state.core.refuse(&ctx, refusal);
        }
    }
    state.lock().advance();
    next.run(request).await
}

async fn queue_remaining(State(state): S) -> Json<Value> {
    let inner = state.lock();
    let n = inner.pending.len() + usize::from(inner.running.is_some());
    Json(json!({"exec_info": {"queue_remaining": n}}))
}

/// Whether `text` is a canonical lowercase hyphenated UUID (`str(uuid.UUID(v)) == v`).
fn canonical_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lens == [8, 4, 4, 4, 12]
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn new_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-4{}-a{}-{}", &h[..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

async fn submit(State(state): S, Extension(ctx): Extension<Ctx>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return refuse(&state, &ctx, StatusCode::INTERNAL_SERVER_ERROR, "invalid_json", "the body is not JSON".into());
    };
    let Some(graph) = body["prompt"].as_object().cloned() else {
        return refuse(&state, &ctx, StatusCode::BAD_REQUEST, "no_prompt", "No prompt provided".into());
    };
    let id = match &body["prompt_id"] {
        Value::Null => new_uuid(),
        Value::String(s) if canonical_uuid(s) => s.clone(),
        other => {
            let reason = format!("prompt_id must be a canonical UUID, got {other}");
            return refuse(&state, &ctx, StatusCode::BAD_REQUEST, "invalid_prompt_id", reason);
        }
    };
    let mut inner = state.lock();
    if let Err(invalid) = nodes::validate(&graph, |name| inner.uploads.contains_key(name)) {
        drop(inner);
        let reason = invalid.error["message"].as_str().unwrap_or("").to_owned();
        state.core.refuse(&ctx, Refusal::bad(reason));
        let answer = json!({"error": invalid.error, "node_errors": invalid.node_errors});
        return (StatusCode::BAD_REQUEST, Json(answer)).into_response();
    }
    if inner.pending.iter().any(|p| p.id == id)
        || inner.running.as_ref().is_some_and(|p| p.id == id)
        || inner.entry(&id).is_some()
    {
        // Not refused by ComfyUI (trap 2); a client sending it twice made a second job.
        state.core.note(&ctx, format!("prompt_id {id} reused"));
    }
    let text = graph.values().find(|n| n["class_type"] == "CLIPTextEncode").and_then(|n| n["inputs"]["text"].as_str());
    let text = text.unwrap_or("").to_owned();
    let (outcome, latency) = state.core.faults.job_script(&text);
    state.core.journal.job_created(&text, Some(&id));
    inner.next_number += 1;
    let number = inner.next_number;
    let outputs: Vec<String> = graph
        .iter()
        .filter(|(_, n)| nodes::is_output(n["class_type"].as_str().unwrap_or("")))
        .map(|(k, _)| k.clone())
        .collect();
    let mut extra = body["extra_data"].as_object().cloned().unwrap_or_default();
    if let Some(client) = body["client_id"].as_str() {
        extra.insert("client_id".into(), json!(client));
    }
    let clip = nodes::clip_of(&graph);
    inner.graphs.push((id.clone(), Value::Object(graph.clone())));
    inner.pending.push(Prompt {
        number,
        id: id.clone(),
        graph,
        extra: Value::Object(extra),
        outputs,
        outcome,
        progress: Progress::new(latency),
        started_ms: 0,
        clip,
    });
    inner.advance();
    Json(json!({"prompt_id": id, "number": number, "node_errors": {}})).into_response()
}

async fn queue(State(state): S) -> Json<Value> {
    let inner = state.lock();
    let running: Vec<Value> = inner.running.iter().map(Prompt::item).collect();
    let pending: Vec<Value> = inner.pending.iter().map(Prompt::item).collect();
    Json(json!({"queue_running": running, "queue_pending": pending}))
}

async fn queue_edit(State(state): S, body: Bytes) -> StatusCode {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = state.lock();
    if body["clear"] == true {
        inner.pending.clear();
    }
    if let Some(ids) = body["delete"].as_array() {
        inner.pending.retain(|p| !ids.iter().any(|i| i == &json!(p.id)));
    }
    StatusCode::OK
}

async fn history(State(state): S, Path(id): Path<String>) -> Json<Value> {
    // The fake's clock: the running prompt moves on with every history poll, of any prompt,
    // as a GPU renders whoever asks.
    let mut inner = state.lock();
    if let Some(running) = inner.running.as_mut() {
        running.progress.poll();
        inner.advance();
    }
    Json(inner.entry(&id).map_or(json!({}), |e| json!({ id: e })))
}

async fn history_all(State(state): S) -> Json<Value> {
    let inner = state.lock();
    Json(Value::Object(inner.history.iter().cloned().collect()))
}

/// Interrupts the running prompt: only `prompt_id`'s when given, else whatever runs.
fn interrupt_running(state: &ComfyState, only: Option<&str>) -> bool {
    let mut inner = state.lock();
    inner.interrupts.push(only.map(str::to_owned));
    let Some(running) = inner.running.take_if(|p| only.is_none_or(|id| p.id == id)) else { return false };
    inner.finish(running, true);
    inner.advance();
    true
}

async fn interrupt(State(state): S, body: Bytes) -> StatusCode {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    interrupt_running(&state, body["prompt_id"].as_str());
    StatusCode::OK
}

async fn cancel_job(State(state): S, Path(id): Path<String>) -> Response {
    if !state.jobs_api {
        return (StatusCode::NOT_FOUND, "404: Not Found").into_response();
    }
    let dequeued = {
        let mut inner = state.lock();
        let before = inner.pending.len();
        inner.pending.retain(|p| p.id != id);
        inner.pending.len() < before
    };
    let cancelled = dequeued || interrupt_running(&state, Some(&id));
    Json(json!({"cancelled": cancelled})).into_response()
}

async fn view(State(state): S, Extension(ctx): Extension<Ctx>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let filename = get("filename").unwrap_or("");
    let subfolder = get("subfolder").unwrap_or("");
    if filename.is_empty() || filename.starts_with('/') || filename.contains("..") {
        return refuse(&state, &ctx, StatusCode::BAD_REQUEST, "bad_filename", format!("filename {filename:?}"));
    }
    if subfolder.contains("..") || subfolder.starts_with('/') {
        return refuse(&state, &ctx, StatusCode::FORBIDDEN, "bad_subfolder", format!("subfolder {subfolder:?}"));
    }
    let key = (subfolder.to_owned(), filename.to_owned());
    let saved = match get("type").unwrap_or("output") {
        "output" => state.lock().files.get(&key).cloned(),
        _ => None,
    };
    let bytes = match saved {
        Some(Saved::Clip(spec)) => crate::media::clip(spec).await,
        Some(Saved::Corrupt) => Ok(crate::media::corrupt()),
        None => return (StatusCode::NOT_FOUND, "404: Not Found").into_response(),
    };
    match bytes {
        Ok(bytes) => {
            ([(header::CONTENT_TYPE, "video/mp4"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], bytes).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

async fn upload(State(state): S, Extension(ctx): Extension<Ctx>, headers: HeaderMap, mut form: Multipart) -> Response {
    let _ = headers;
    let (mut image, mut kind, mut overwrite) = (None, "input".to_owned(), false);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name().unwrap_or("") {
            "image" => {
                let name = field.file_name().unwrap_or("").to_owned();
                image = field.bytes().await.ok().map(|b| (name, b));
            }
            "type" => kind = field.text().await.unwrap_or_default(),
            "overwrite" => overwrite = matches!(field.text().await.as_deref(), Ok("true" | "1")),
            _ => {}
        }
    }
    let Some((name, bytes)) = image.filter(|(n, _)| !n.is_empty() && !n.contains("..") && !n.contains('/')) else {
        return refuse(&state, &ctx, StatusCode::BAD_REQUEST, "bad_upload", "no image file part".into());
    };
    let mut inner = state.lock();
    let mut stored = name.clone();
    let mut n = 1;
    while !overwrite && inner.uploads.get(&stored).is_some_and(|b| *b != bytes) {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
        stored = format!("{stem} ({n}).{ext}");
        n += 1;
    }
    inner.uploads.insert(stored.clone(), bytes);
    Json(json!({"name": stored, "subfolder": "", "type": kind})).into_response()
}

async fn system_stats() -> Json<Value> {
    Json(json!({"system": {"os": "posix", "comfyui_version": "0.38.1-vidgate-fake", "python_version": "3.12"},
        "devices": [{"name": "cuda:0 fake", "type": "cuda", "index": 0, "vram_total": 25_769_803_776u64,
            "vram_free": 25_769_803_776u64}]}))
}
