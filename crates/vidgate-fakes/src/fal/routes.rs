//! The fal fake's routes (digest §3–§6), all behind `Authorization: Key …` except the CDN:
//! `POST /{endpoint id}` (submit, the model input itself), `GET /{owner}/{app}/requests/{id}/status`
//! (202 while queued or running, 200 when `COMPLETED`), `GET /{owner}/{app}/requests/{id}`
//! (the result: the raw model output, or the model's own error status), `PUT
//! /{owner}/{app}/requests/{id}/cancel`; and the public CDN files `/__fake/fal-cdn/{file}`.
//! Queue URLs keep only `owner/app` (trap 1): one with the endpoint's sub-path is a 404.
//!
//! Owns routing by hand (endpoint ids have any depth), the order of checks and the JSON of
//! a request.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request;
use super::state::{FalJob, FalState};
use crate::blobs;
use crate::core::{Ctx, faults_layer};
use crate::errors::Refusal;
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const CDN: &str = "/__fake/fal-cdn/";

pub(crate) fn router(state: Arc<FalState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .merge(blobs::routes())
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

/// `(owner/app, request id, what)` of a queue URL path (`what`: "", "status" or "cancel").
fn queue_path(path: &str) -> Option<(String, String, String)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let at = segments.iter().position(|s| *s == "requests")?;
    let id = segments.get(at + 1).filter(|s| !s.is_empty())?;
    let what = segments.get(at + 2).copied().unwrap_or("");
    (segments.len() <= at + 3).then(|| (segments[..at].join("/"), (*id).to_owned(), what.to_owned()))
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    if path.starts_with(CDN) {
        return (method == Method::GET).then_some(Endpoint::Download);
    }
    match (method.as_str(), queue_path(path).map(|q| q.2)) {
        ("POST", None) => Some(Endpoint::Submit),
        ("GET", Some(w)) if w == "status" => Some(Endpoint::Poll),
        ("GET", Some(w)) if w.is_empty() => Some(Endpoint::Retrieve),
        ("PUT", Some(w)) if w == "cancel" => Some(Endpoint::Delete),
        _ => None,
    }
}

async fn dispatch(State(state): State<Arc<FalState>>, Extension(ctx): Extension<Ctx>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if let Some(file) = path.strip_prefix(CDN) {
        return cdn(&state, &ctx, file, &parts.headers).await;
    }
    if let Err(refusal) = state.check_key(&parts.headers) {
        return state.core.refuse(&ctx, refusal);
    }
    let queue = queue_path(&path);
    match (parts.method.as_str(), queue) {
        ("POST", None) => {
            let bytes = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
            submit(&state, &ctx, path.trim_start_matches('/'), &parts.headers, bytes)
        }
        ("GET", Some((app, id, what))) if what == "status" => status(&state, &ctx, &app, &id),
        ("GET", Some((app, id, what))) if what.is_empty() => result(&state, &ctx, &app, &id),
        ("PUT", Some((app, id, what))) if what == "cancel" => cancel(&state, &ctx, &app, &id),
        _ => state.core.refuse(
            &ctx,
            Refusal::protocol(StatusCode::NOT_FOUND, format!("no such endpoint in the fake: {} {path}", parts.method)),
        ),
    }
}

fn submit(state: &FalState, ctx: &Ctx, endpoint_id: &str, headers: &HeaderMap, body: Bytes) -> Response {
    let Some(endpoint) = state.endpoint(endpoint_id) else {
        let refusal = Refusal::not_found(format!("Application '{endpoint_id}' not found"));
        return state.core.refuse(ctx, refusal);
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/json") {
        return state
            .core
            .refuse(ctx, Refusal::bad(format!("Content-Type must be application/json, got {content_type:?}")));
    }
    let parsed = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => {
            state.record_body(endpoint_id, Value::Object(map.clone()));
            request::from_json(&map, &endpoint)
        }
        _ => Err(Refusal::protocol(StatusCode::UNPROCESSABLE_ENTITY, "the body is not a JSON object")),
    };
    let create = match parsed {
        Ok(create) => create,
        Err(refusal) => return state.core.refuse(ctx, refusal),
    };
    for note in &create.notes {
        state.core.note(ctx, note.clone());
    }
    let (outcome, latency) = state.core.faults.job_script(&create.prompt);
    state.core.journal.job_created(&create.prompt, None);
    if outcome.renders() {
        media::warm(create.clip);
    }
    let id = uuid_like();
    let app = endpoint.app();
    let job = FalJob {
        id: id.clone(),
        app: app.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        polled: false,
        completed_at: None,
        cancelled: false,
    };
    let mut body = urls(&state.core.base_url, &app, &id);
    body["status"] = json!("IN_QUEUE");
    body["queue_position"] = json!(state.all().iter().filter(|j| j.status() == "IN_QUEUE").count());
    state.insert(job);
    ([("x-fal-request-id", id)], Json(body)).into_response()
}

/// The four fields every queue answer carries (digest §4: the URLs drop the sub-path).
fn urls(base: &str, app: &str, id: &str) -> Value {
    let response_url = format!("{base}/{app}/requests/{id}");
    json!({"request_id": id, "response_url": response_url, "status_url": format!("{response_url}/status"),
        "cancel_url": format!("{response_url}/cancel")})
}

/// The request, if `app` is the one its URLs name (trap 1: a URL rebuilt with the
/// endpoint's sub-path is a 404 and a protocol violation).
fn find(state: &FalState, app: &str, id: &str) -> Result<FalJob, Refusal> {
    match state.get(id) {
        Some(job) if job.app == app => Ok(job),
        Some(job) => Err(Refusal::protocol(
            StatusCode::NOT_FOUND,
            format!("queue URLs are /{}/requests/{id}/…, not /{app}/… (digest trap 1)", job.app),
        )),
        None => Err(Refusal::not_found(format!("Request {id} not found"))),
    }
}

fn status(state: &FalState, ctx: &Ctx, app: &str, id: &str) -> Response {
    if let Err(refusal) = find(state, app, id) {
        return state.core.refuse(ctx, refusal);
    }
    let job = state.poll(id).expect("found above");
    let mut body = urls(&state.core.base_url, &job.app, id);
    body["status"] = json!(job.status());
    body["logs"] = json!([]);
    match job.status() {
        "IN_QUEUE" => body["queue_position"] = json!(0),
        "COMPLETED" => {
            body["metrics"] = json!({"inference_time": 1.5});
            if let Some((_, error, error_type)) = failure(&job) {
                body["error"] = json!(error);
                body["error_type"] = json!(error_type);
            }
        }
        _ => {}
    }
    let code = if job.completed_at.is_some() { StatusCode::OK } else { StatusCode::ACCEPTED };
    (code, Json(body)).into_response()
}

/// How a completed request failed: the result's status, the status body's `error` and
/// `error_type` (digest §5, trap 2). `Outcome::Error` with a numeric code answers that
/// status with `{"detail": message}`; any other code a 422 of that `type`.
fn failure(job: &FalJob) -> Option<(StatusCode, String, String)> {
    if job.cancelled && job.completed_at.is_some() && !job.polled {
        return Some((StatusCode::BAD_REQUEST, "Request was cancelled".into(), "request_cancelled".into()));
    }
    match &job.outcome {
        Outcome::SafetyBlock => Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            "The content could not be processed because it contained material flagged by a content checker.".into(),
            "content_policy_violation".into(),
        )),
        Outcome::Error { code, message } => {
            let status = code.parse::<u16>().ok().and_then(|c| StatusCode::from_u16(c).ok());
            Some((status.unwrap_or(StatusCode::UNPROCESSABLE_ENTITY), message.clone(), code.clone()))
        }
        _ => None,
    }
}

fn result(state: &FalState, ctx: &Ctx, app: &str, id: &str) -> Response {
    let job = match find(state, app, id) {
        Ok(job) => job,
        Err(refusal) => return state.core.refuse(ctx, refusal),
    };
    if job.completed_at.is_none() {
        return (StatusCode::BAD_REQUEST, Json(json!({"detail": "Request is still in progress"}))).into_response();
    }
    // Digest §5: kept 6 min to 1 h; what an expired one answers is UNCONFIRMED (a 404 here).
    if !state.result_kept(&job) {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": format!("Request {id} not found")}))).into_response();
    }
    if let Some((status, message, error_type)) = failure(&job) {
        let body = if status == StatusCode::UNPROCESSABLE_ENTITY {
            json!({"detail": [{"loc": ["body", "prompt"], "msg": message, "type": error_type}]})
        } else {
            json!({"detail": message})
        };
        return (status, Json(body)).into_response();
    }
    let c = &job.create;
    let url = format!("{}{CDN}{id}_output.mp4", state.core.base_url);
    Json(json!({"video": {"url": url, "content_type": "video/mp4", "file_name": "output.mp4"},
        "seed": 443_600_358, "prompt": c.prompt}))
    .into_response()
}

fn cancel(state: &FalState, ctx: &Ctx, app: &str, id: &str) -> Response {
    if let Err(refusal) = find(state, app, id) {
        return state.core.refuse(ctx, refusal);
    }
    // Digest §6: the status names; the HTTP codes (202 / 400) are UNCONFIRMED.
    match state.cancel(id) {
        Some(Ok(())) => (StatusCode::ACCEPTED, Json(json!({"status": "CANCELLATION_REQUESTED"}))).into_response(),
        Some(Err(status)) => (StatusCode::BAD_REQUEST, Json(json!({"status": status}))).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"status": "NOT_FOUND"}))).into_response(),
    }
}

/// A public CDN file (digest §5, trap 13): no credentials; the key sent here is a leak.
async fn cdn(state: &FalState, ctx: &Ctx, file: &str, headers: &HeaderMap) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return state.core.refuse(ctx, Refusal::bad("a public CDN file was fetched with the fal key (trap 11/13)"));
    }
    let id = file.strip_suffix("_output.mp4").unwrap_or(file);
    let job = state.get(id).filter(|j| j.completed_at.is_some() && failure(j).is_none());
    let Some(job) = job.filter(|_| !state.cdn_gone()) else {
        return state.core.refuse(ctx, Refusal::not_found(format!("no CDN file {file}")));
    };
    if job.outcome == Outcome::CorruptMedia {
        return blobs::deliver(&state.core, media::corrupt(), "video/mp4");
    }
    match media::clip(job.create.clip).await {
        Ok(bytes) => blobs::deliver(&state.core, bytes, "video/mp4"),
        Err(e) => state.core.refuse(ctx, Refusal::protocol(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}

/// A request id in fal's UUID form.
fn uuid_like() -> String {
    let hex: String =
        ulid::Ulid::new().to_string().to_ascii_lowercase().chars().chain("0123456789ab".chars()).take(32).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
