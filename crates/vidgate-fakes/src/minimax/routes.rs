//! The MiniMax fake's routes (digest §3a–§6, the v2 API): `POST /v2/video_generation`,
//! `GET /v2/query/video_generation/{task_id}` (the id in the path, trap 5),
//! `GET /v2/query/video_generation?page_num&page_size` (the list, §6) and
//! `DELETE /v2/video_generation/{task_id}` (§6), all with the bearer key; and the
//! time-limited result URLs (`/__fake/minimax-cdn/…?Expires&Signature`), which need none.
//!
//! Owns routing, the order of checks (key, then body) and the JSON of a task. Errors use the
//! v2 envelope `{"error": {"type", "message": "… (<code>)"}}` (§4, trap 16).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request::{self, h3_length_ms};
use super::state::{H3State, H3Task};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::{Refusal, Shape};
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const CREATE: &str = "/v2/video_generation";
const QUERY: &str = "/v2/query/video_generation";
pub(super) const CDN: &str = "/__fake/minimax-cdn/";
/// `content.url` is time-limited (§5a; one integrator writes 24 h).
const URL_TTL_SECS: u64 = 86_400;

pub(crate) fn router(state: Arc<H3State>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route(CREATE, post(create).fallback(unknown_endpoint))
        .route(QUERY, get(list).fallback(unknown_endpoint))
        .route(&format!("{QUERY}/{{id}}"), get(query).fallback(unknown_endpoint))
        .route(&format!("{CREATE}/{{id}}"), delete(cancel).fallback(unknown_endpoint))
        .route(&format!("{CDN}{{file}}"), get(content))
        .merge(super::v1::routes())
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        // The whole request body is at most 64 MB (§3a).
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    match method.as_str() {
        "POST" if path == CREATE => Some(Endpoint::Submit),
        "GET" if path.starts_with(QUERY) || path == super::v1::QUERY => Some(Endpoint::Poll),
        "POST" if path == super::v1::CREATE => Some(Endpoint::Submit),
        "GET" if path == super::v1::RETRIEVE => Some(Endpoint::Retrieve),
        "DELETE" if path.starts_with(CREATE) => Some(Endpoint::Delete),
        "GET" if path.starts_with(CDN) => Some(Endpoint::Download),
        _ => None,
    }
}

/// Scripted `Outcome::Error` codes the create itself answers with, nothing created (§4):
/// auth, balance, moderated input, invalid params, plan limits.
pub(super) const REFUSED_AT_CREATE: [&str; 8] = ["1004", "2049", "1008", "1026", "1042", "2013", "2056", "2061"];

async fn create(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delivered = state.delivered_override();
    let parsed = state.check_key(&headers).and_then(|()| {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(
                Refusal::bad(format!("Content-Type must be application/json, got {content_type:?}")).code("2013")
            );
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => {
                state.record_body(Value::Object(map.clone()));
                request::from_json(&map, |s| delivered.unwrap_or_else(|| h3_length_ms(s)))
            }
            _ => Err(Refusal::bad("invalid params, the body is not a JSON object").code("2013")),
        }
    });
    let create = match parsed {
        Ok(create) => create,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    for note in &create.notes {
        state.core.note(&ctx, note.clone());
    }
    let (outcome, latency) = state.core.faults.job_script(&create.prompt);
    if let Outcome::Error { code, message } = &outcome
        && let Some(code) = REFUSED_AT_CREATE.into_iter().find(|c| c == code)
    {
        // The upstream's answer, not a protocol violation: not journalled as a rejection.
        return refusal_for(code, message).into_response(Shape::Minimax);
    }
    state.core.journal.job_created(&create.prompt, None);
    state.core.journal.job_guides(&create.prompt, create.guides());
    let id = numeric_id();
    if outcome.renders() {
        media::warm(create.clip);
    }
    let now = super::unix_now();
    state.insert(H3Task {
        id: id.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        created_at: now,
        updated_at: now,
        polled: false,
        done: false,
        cancelled: false,
        v1: false,
    });
    Json(json!({"task_id": id})).into_response()
}

/// A refusal with `code` and the HTTP status of its error type (§4).
pub(super) fn refusal_for(code: &'static str, message: &str) -> Refusal {
    let status = match code {
        "1004" | "2049" => StatusCode::UNAUTHORIZED,
        "1008" | "2056" => StatusCode::PAYMENT_REQUIRED,
        "2061" => StatusCode::FORBIDDEN,
        "1026" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut refusal = Refusal::bad(message.to_owned()).code(code);
    refusal.status = status;
    refusal
}

/// A task id in MiniMax's numeric-string form (§4).
pub(super) fn numeric_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(176_843_862_716_480);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

async fn query(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    match state.poll(&id).filter(|t| !t.v1) {
        Some(task) => Json(json!({"task": task_json(&state, &task)})).into_response(),
        None => state.core.refuse(&ctx, Refusal::not_found(format!("task {id} not found")).code("2013")),
    }
}

/// The list (§6): newest first, `page_num` from 1, `page_size` items. Listing moves no task.
async fn list(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    state.lists.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    let param = |k: &str, d: usize| q.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.parse().ok()).unwrap_or(d);
    let (page, size) = (param("page_num", 1).max(1), param("page_size", 10).max(1));
    // v1 has no list (digest §6): its tasks are not in the v2 one.
    let mut tasks: Vec<H3Task> = state.all().into_iter().filter(|t| !t.v1).collect();
    tasks.reverse();
    let items: Vec<Value> = tasks.iter().skip((page - 1) * size).take(size).map(|t| task_json(&state, t)).collect();
    Json(json!({"items": items, "total": tasks.len()})).into_response()
}

/// The v2 task object (§5a). `duration` is the length delivered (5.167 for 5 s, §7);
/// `usage.output_seconds` the requested seconds billed.
fn task_json(state: &H3State, task: &H3Task) -> Value {
    let c = &task.create;
    let delivered = (c.clip.duration_ms as f64) / 1000.0;
    let mut t = json!({
        "id": task.id, "model": c.model, "task_type": "video_generation", "status": task.status(),
        "created_at": task.created_at, "updated_at": task.updated_at, "resolution": c.resolution,
        "duration": delivered, "ratio": c.ratio, "error": null,
    });
    match task.status() {
        "succeeded" => {
            let expires = super::unix_now() + URL_TTL_SECS;
            let signature = format!("{}-{}", state.signing_epoch(), task.id);
            let url = format!("{}{CDN}{}.mp4?Expires={expires}&Signature={signature}", state.core.base_url, task.id);
            t["content"] = json!({"url": url});
            let images = c.images.iter().filter(|r| r.ends_with("_frame") || *r == "reference_image").count();
            t["usage"] = json!({
                "total_seconds": c.duration, "output_seconds": c.duration, "input_seconds": 0,
                "input_image_count": images, "input_audio_seconds": 0,
                "total_tokens": 0, "prompt_tokens": 0, "completion_tokens": 0,
            });
        }
        "failed" => {
            // Output moderation is 1027 (§4, §5a); a scripted error keeps its code.
            let (code, message) = match &task.outcome {
                Outcome::Error { code, message } => (code.parse::<i64>().unwrap_or(1000), message.clone()),
                _ => (1027, "output content flagged as sensitive".to_owned()),
            };
            t["error"] = json!({"code": code, "message": message});
        }
        _ => {}
    }
    t
}

async fn cancel(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    // §6: `{"task_id", "status"}`; what it does to a finished task is unconfirmed (the fake
    // leaves it as it is).
    match state.cancel(&id) {
        Some(task) => Json(json!({"task_id": task.id, "status": task.status()})).into_response(),
        None => state.core.refuse(&ctx, Refusal::not_found(format!("task {id} not found")).code("2013")),
    }
}

/// A time-limited result URL: the signature of the current epoch; no key needed.
async fn content(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        state.core.note(&ctx, "the API key was sent to the result URL's host (it needs none)");
    }
    let result = async {
        let id = file.strip_suffix(".mp4").unwrap_or(&file);
        let signature = query.iter().find(|(k, _)| k == "Signature").map(|(_, v)| v.as_str()).unwrap_or("");
        Refusal::unless_current(signature, state.epoch(), "Request has expired.")?;
        let task = state
            .get(id)
            .filter(|t| t.status() == "succeeded")
            .ok_or_else(|| Refusal::not_found(format!("no result object for {id}")))?;
        media::job_video(&task.outcome, task.create.clip).await
    }
    .await;
    blobs::video_or_refusal(&state.core, &ctx, result)
}

impl crate::core::FakeState for H3State {
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
