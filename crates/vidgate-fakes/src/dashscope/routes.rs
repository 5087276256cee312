//! The DashScope fake's routes (digest §3–§6), under `/api/v1`:
//! `POST /services/aigc/video-generation/video-synthesis` (bearer key, JSON, and the
//! mandatory `X-DashScope-Async: enable`) and the same create on
//! `/services/aigc/image2video/video-synthesis`, the path integrators send the first-and-last
//! frame (kf2v) models to (docs/upstreams.md §9.3: the API reference names one create path, so
//! which models need which is UNCONFIRMED; both take every model and the path is recorded for
//! tests to check), `GET /tasks/{id}` and `POST /tasks/{id}/cancel`
//! (bearer key, no async header); the task list `GET /tasks?…` (`list`); and the signed OSS result URLs
//! (`/__fake/dashscope-oss/…?Expires&OSSAccessKeyId&Signature`), which take no credentials.
//!
//! Owns routing, the order of checks (key, async header, then body) and the JSON of a task.
//! Errors use the flat `{"request_id", "code", "message"}` body (digest §4).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request;
use super::state::{WanState, WanTask};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::{Refusal, Shape};
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const CREATE: &str = "/api/v1/services/aigc/video-generation/video-synthesis";
const CREATE_IMAGE2VIDEO: &str = "/api/v1/services/aigc/image2video/video-synthesis";
const TASKS: &str = "/api/v1/tasks/";
const LIST: &str = "/api/v1/tasks";
const OSS: &str = "/__fake/dashscope-oss/";
/// Result URLs are valid 24 h (digest §5).
const URL_TTL_SECS: u64 = 86_400;

pub(crate) fn router(state: Arc<WanState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route(CREATE, post(create).fallback(unknown_endpoint))
        .route(CREATE_IMAGE2VIDEO, post(create).fallback(unknown_endpoint))
        .route(LIST, get(super::list::list).fallback(unknown_endpoint))
        .route(&format!("{TASKS}{{id}}"), get(retrieve).fallback(unknown_endpoint))
        .route(&format!("{TASKS}{{id}}/cancel"), post(cancel).fallback(unknown_endpoint))
        .route(&format!("{OSS}{{file}}"), get(content))
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    let rest = path.strip_prefix(TASKS);
    match (method.as_str(), rest) {
        ("POST", None) if path == CREATE || path == CREATE_IMAGE2VIDEO => Some(Endpoint::Submit),
        // The list is a read like a poll (faults on `Endpoint::Poll` meet it too).
        ("GET", None) if path == LIST => Some(Endpoint::Poll),
        ("GET", Some(id)) if !id.is_empty() && !id.contains('/') => Some(Endpoint::Poll),
        ("POST", Some(r)) if r.ends_with("/cancel") => Some(Endpoint::Delete),
        ("GET", None) if path.starts_with(OSS) => Some(Endpoint::Download),
        _ => None,
    }
}

/// Digest §3 and trap 1: HTTP calls are async only; without the header the create is a 403.
fn check_async(headers: &HeaderMap) -> Result<(), Refusal> {
    match headers.get("x-dashscope-async").and_then(|v| v.to_str().ok()) {
        Some("enable") => Ok(()),
        _ => {
            let mut refusal = Refusal::bad("current user api does not support synchronous calls").code("AccessDenied");
            refusal.status = StatusCode::FORBIDDEN;
            Err(refusal)
        }
    }
}

async fn create(
    State(state): State<Arc<WanState>>,
    Extension(ctx): Extension<Ctx>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = state.check_key(&headers).and_then(|()| check_async(&headers)).and_then(|()| {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(Refusal::bad(format!("Content-Type must be application/json, got {content_type:?}")));
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => {
                state.record_body(uri.path(), Value::Object(map.clone()));
                request::from_json(&map, &state.models)
            }
            _ => Err(Refusal::bad("The request body is not valid JSON").code("InvalidParameter")),
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
    // Input moderation and an unpaid account are answers at create, 400 with nothing created
    // (digest §4, traps 11 and 13); the upstream's answer, not a protocol violation.
    if let Outcome::Error { code, message } = &outcome
        && let Some(code) = refused_at_create(code)
    {
        return Refusal::bad(message.clone()).code(code).into_response(Shape::DashScope);
    }
    state.core.journal.job_created(&create.prompt, None);
    state.core.journal.job_guides(&create.prompt, create.guides());
    let id = uuid_like();
    if outcome.renders() {
        media::warm(create.clip);
    }
    state.insert(WanTask {
        id: id.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        submitted_at: super::unix_now(),
        ended_at: 0,
        polled: false,
        done: false,
        cancelled: false,
    });
    Json(json!({"request_id": uuid_like(), "output": {"task_id": id, "task_status": "PENDING"}})).into_response()
}

/// Codes the create itself answers with a 400 (digest §4).
fn refused_at_create(code: &str) -> Option<&'static str> {
    ["DataInspectionFailed", "IPInfringementSuspect", "Arrearage"].into_iter().find(|c| *c == code)
}

/// A task id in DashScope's UUID form.
pub(super) fn uuid_like() -> String {
    let hex: String =
        ulid::Ulid::new().to_string().to_ascii_lowercase().chars().chain("0123456789ab".chars()).take(32).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

async fn retrieve(
    State(state): State<Arc<WanState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    if headers.contains_key("x-dashscope-async") {
        state.core.note(&ctx, "X-DashScope-Async sent on a GET (digest trap 1: create only)");
    }
    // Digest §5: an id never issued (or older than 24 h) is `UNKNOWN`, not a 404.
    let body = match state.poll(&id) {
        Some(task) => task_json(&state, &task),
        None => json!({"request_id": uuid_like(), "output": {"task_id": id, "task_status": "UNKNOWN"}}),
    };
    Json(body).into_response()
}

/// `YYYY-MM-DD HH:mm:ss.SSS` in UTC+8 without an offset (digest §5, trap 10).
pub(super) fn beijing_time(unix: u64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix as i64 + 8 * 3600).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    format!("{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.000", t.hour(), t.minute(), t.second())
}

/// The task body (digest §5). On image-to-video the usage numbers wobble the documented
/// way (trap 8): `duration` as a float and `SR` as a string.
fn task_json(state: &WanState, task: &WanTask) -> Value {
    let c = &task.create;
    let mut output = json!({
        "task_id": task.id, "task_status": task.status(),
        "submit_time": beijing_time(task.submitted_at), "orig_prompt": c.prompt,
    });
    if task.polled {
        output["scheduled_time"] = json!(beijing_time(task.submitted_at));
    }
    if task.done || task.cancelled {
        output["end_time"] = json!(beijing_time(task.ended_at));
    }
    let mut body = json!({"request_id": uuid_like()});
    match task.status() {
        "SUCCEEDED" => {
            let expires = super::unix_now() + URL_TTL_SECS;
            output["video_url"] = json!(format!(
                "{}{OSS}{}.mp4?Expires={expires}&OSSAccessKeyId=LTAI-fake&Signature={}-{}",
                state.core.base_url,
                task.id,
                state.signing_epoch(),
                &task.id[..8]
            ));
            output["actual_prompt"] = json!(c.prompt);
            let sr: u32 = c.resolution.trim_end_matches('P').parse().unwrap_or(720);
            let image = !c.images.is_empty();
            body["usage"] = json!({
                "duration": if image { json!(f64::from(c.duration)) } else { json!(c.duration) },
                "output_video_duration": c.duration, "input_video_duration": 0, "video_count": 1,
                "SR": if image { json!(sr.to_string()) } else { json!(sr) },
                "size": format!("{}*{}", c.clip.width, c.clip.height), "fps": 24, "audio": c.audio,
                "video_duration": 0, "video_ratio": "",
            });
        }
        "FAILED" => {
            // Trap 7: a failure may carry no code at all (`Outcome::Error` with an empty code).
            let (code, message) = match &task.outcome {
                Outcome::Error { code, message } => (code.clone(), message.clone()),
                _ => ("DataInspectionFailed".into(), "Output data may contain inappropriate content.".into()),
            };
            if !code.is_empty() {
                output["code"] = json!(code);
                output["message"] = json!(message);
            }
        }
        _ => {}
    }
    body["output"] = output;
    body
}

async fn cancel(
    State(state): State<Arc<WanState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    // Digest §6: PENDING tasks only; the answer's shape is UNCONFIRMED (`{request_id}` on
    // success, an error code otherwise). A refused cancel of a task that exists is the
    // upstream's answer, not a protocol violation.
    match state.cancel(&id) {
        Some(Ok(())) => Json(json!({"request_id": uuid_like()})).into_response(),
        Some(Err(status)) => Refusal::bad(format!("Failed to cancel the task: its status is {status}, not PENDING"))
            .code("UnsupportedOperation")
            .into_response(Shape::DashScope),
        None => state.core.refuse(&ctx, Refusal::not_found(format!("task {id} not found")).code("InvalidParameter")),
    }
}

/// A signed OSS URL: no credentials, the signature of the current epoch.
async fn content(
    State(state): State<Arc<WanState>>,
    Extension(ctx): Extension<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(Refusal::bad(
                "a signed OSS result URL was fetched with an Authorization header: the API key leaks to the \
                 storage host (digest §5: the URL is signed)",
            ));
        }
        let id = file.strip_suffix(".mp4").unwrap_or(&file);
        let signature = query.iter().find(|(k, _)| k == "Signature").map(|(_, v)| v.as_str()).unwrap_or("");
        let epoch = signature.split('-').next().and_then(|e| e.parse::<u64>().ok());
        if epoch != Some(state.epoch()) {
            return Err(Refusal::expired("Request has expired."));
        }
        let task = state
            .get(id)
            .filter(|t| t.status() == "SUCCEEDED")
            .ok_or_else(|| Refusal::not_found(format!("no result object for {id}")))?;
        media::job_video(&task.outcome, task.create.clip).await
    }
    .await;
    blobs::video_or_refusal(&state.core, &ctx, result)
}

impl crate::core::FakeState for WanState {
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
