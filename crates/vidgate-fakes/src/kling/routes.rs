//! The Kling fake's routes (digest §2–§5): `POST /v1/videos/text2video` and
//! `/v1/videos/image2video` (bearer, JSON), `GET /v1/videos/{text2video|image2video}/{id}`
//! (bearer; `id` a `task_id` or an `external_task_id`), and the CDN result URLs
//! (`/__fake/kling-cdn/{id}.mp4?sign=…`), which take no credentials. No cancel route
//! (digest §6).
//!
//! Owns routing, the order of checks (bearer, then body) and the JSON of a task. Errors use
//! the `{"code", "message", "request_id"}` envelope (digest §4).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request::{self, units_per_second};
use super::state::{KlingState, KlingTask};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::{Refusal, Shape};
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const VIDEOS: &str = "/v1/videos/";
const CDN: &str = "/__fake/kling-cdn/";

pub(crate) fn router(state: Arc<KlingState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route(&format!("{VIDEOS}{{kind}}"), post(create).fallback(unknown_endpoint))
        .route(&format!("{VIDEOS}{{kind}}/{{id}}"), get(retrieve).fallback(unknown_endpoint))
        .route(&format!("{CDN}{{file}}"), get(content))
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    let rest = path.strip_prefix(VIDEOS);
    match (method.as_str(), rest) {
        ("POST", Some(kind)) if !kind.contains('/') => Some(Endpoint::Submit),
        ("GET", Some(r)) if r.contains('/') => Some(Endpoint::Poll),
        ("GET", None) if path.starts_with(CDN) => Some(Endpoint::Download),
        _ => None,
    }
}

/// `text2video` → false, `image2video` → true.
fn endpoint(kind: &str) -> Option<bool> {
    match kind {
        "text2video" => Some(false),
        "image2video" => Some(true),
        _ => None,
    }
}

/// `{"code": 0, "message": "SUCCEED", "request_id", "data"}` (digest §4).
fn envelope(data: Value) -> Response {
    Json(json!({"code": 0, "message": "SUCCEED", "request_id": crate::google::new_id(), "data": data})).into_response()
}

fn authorize(state: &KlingState, headers: &HeaderMap) -> Result<(), Refusal> {
    let token = super::auth::check(&state.config, headers, state.now())?;
    state.saw_token(token);
    Ok(())
}

async fn create(
    State(state): State<Arc<KlingState>>,
    Extension(ctx): Extension<Ctx>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(image_to_video) = endpoint(&kind) else {
        return state.core.refuse(&ctx, Refusal::not_found(format!("no such endpoint {kind}")).code("1202"));
    };
    let parsed = authorize(&state, &headers).and_then(|()| {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(
                Refusal::bad(format!("Content-Type must be application/json, got {content_type:?}")).code("1200")
            );
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => {
                state.record_body(Value::Object(map.clone()));
                request::from_json(&map, image_to_video)
            }
            _ => Err(Refusal::bad("the request body is not valid JSON").code("1200")),
        }
    });
    let create = match parsed {
        Ok(create) => create,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    if let Some(external) = &create.external_task_id
        && state.external_id_taken(external)
    {
        // Digest trap 7: unique per account; what a repeat gets is UNCONFIRMED, the fake refuses.
        state.core.note(&ctx, "a repeated external_task_id (duplicate behaviour UNCONFIRMED, trap 7)");
        return Refusal::bad("external_task_id already exists").code("1201").into_response(Shape::Kling);
    }
    for note in &create.notes {
        state.core.note(&ctx, note.clone());
    }
    let (outcome, latency) = state.core.faults.job_script(&create.prompt);
    if let Outcome::Error { code, message } = &outcome
        && let Some((status, code)) = refused_at_create(code)
    {
        let status = if state.errors_in_200() { StatusCode::OK } else { status };
        let mut refusal = Refusal::bad(message.clone()).code(code);
        refusal.status = status;
        return refusal.into_response(Shape::Kling);
    }
    state.core.journal.job_created(&create.prompt, None);
    if outcome.renders() {
        media::warm(create.clip);
    }
    let id = state.new_id();
    let now_ms = state.now() * 1000;
    let external = create.external_task_id.clone();
    state.insert(KlingTask {
        id: id.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        created_ms: now_ms,
        polled: false,
        done: false,
    });
    envelope(json!({"task_id": id, "task_status": "submitted", "task_info": {"external_task_id": external},
        "created_at": now_ms, "updated_at": now_ms}))
}

/// Codes a create is refused with, creating nothing (digest §4): content security (400) and
/// no balance (429, trap 3).
fn refused_at_create(code: &str) -> Option<(StatusCode, &'static str)> {
    match code {
        "1300" => Some((StatusCode::BAD_REQUEST, "1300")),
        "1301" => Some((StatusCode::BAD_REQUEST, "1301")),
        "1101" => Some((StatusCode::TOO_MANY_REQUESTS, "1101")),
        "1102" => Some((StatusCode::TOO_MANY_REQUESTS, "1102")),
        _ => None,
    }
}

async fn retrieve(
    State(state): State<Arc<KlingState>>,
    Extension(ctx): Extension<Ctx>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = authorize(&state, &headers) {
        return state.core.refuse(&ctx, refusal);
    }
    let Some(image_to_video) = endpoint(&kind) else {
        return state.core.refuse(&ctx, Refusal::not_found(format!("no such endpoint {kind}")).code("1202"));
    };
    match state.poll(&id, image_to_video) {
        Some(task) => envelope(task_json(&state, &task)),
        None => state.core.refuse(&ctx, Refusal::not_found(format!("task {id} not found")).code("1203")),
    }
}

/// The legacy task object (digest §5).
fn task_json(state: &KlingState, task: &KlingTask) -> Value {
    let c = &task.create;
    let mut data = json!({
        "task_id": task.id, "task_status": task.status(), "task_status_msg": "",
        "task_info": {"external_task_id": c.external_task_id},
        "watermark_info": {"enabled": false},
        "created_at": task.created_ms, "updated_at": state.now() * 1000,
    });
    match task.status() {
        "succeed" => {
            let url = format!("{}{CDN}{}.mp4?sign={}", state.core.base_url, task.id, state.signing_epoch());
            let seconds = c.clip.duration_ms as f64 / 1000.0;
            data["task_result"] = json!({"videos": [{"id": format!("v{}", task.id), "url": url,
                "duration": format!("{seconds:.3}")}]});
            // Units are billed on success only (digest §5).
            data["final_unit_deduction"] = json!(format!("{}", units_per_second(c) * f64::from(c.seconds)));
        }
        "failed" => {
            // Trap 2: the reason is here, the envelope still says SUCCEED.
            data["task_status_msg"] = json!(match &task.outcome {
                Outcome::Error { message, .. } => message.clone(),
                _ => "Failure to pass the content risk control system".into(),
            });
        }
        _ => {}
    }
    data
}

/// A CDN URL: no credentials, the signature of the current epoch.
async fn content(
    State(state): State<Arc<KlingState>>,
    Extension(ctx): Extension<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(Refusal::bad("a CDN result URL was fetched with the API bearer: it leaks to the CDN"));
        }
        let id = file.strip_suffix(".mp4").unwrap_or(&file);
        let sign = query.iter().find(|(k, _)| k == "sign").and_then(|(_, v)| v.parse::<u64>().ok());
        if sign != Some(state.epoch()) {
            return Err(Refusal::expired("the link has expired"));
        }
        let task = state
            .get(id)
            .filter(|t| t.status() == "succeed")
            .ok_or_else(|| Refusal::not_found(format!("no result object for {id}")))?;
        media::job_video(&task.outcome, task.create.clip).await
    }
    .await;
    blobs::video_or_refusal(&state.core, &ctx, result)
}

impl crate::core::FakeState for KlingState {
    const UNKNOWN_ENDPOINT_CODE: Option<&'static str> = Some("1202");
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
