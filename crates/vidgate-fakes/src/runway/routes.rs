//! The Runway fake's routes (digest §3–§6): `POST /v1/text_to_video` and
//! `POST /v1/image_to_video` (bearer key, `X-Runway-Version`, JSON), `GET /v1/tasks/{id}` and
//! `DELETE /v1/tasks/{id}` (the same headers, trap 2); and the signed CDN output URLs
//! (`/__fake/runway-cdn/{id}/video.mp4?_jwt=…`), which take no credentials.
//!
//! Owns routing, the order of checks (key and version, then body) and the JSON of a task.
//! Errors are `{"error": "<text>"}` (digest §4).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request;
use super::state::{RunwayState, Task};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::Refusal;
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const TEXT: &str = "/v1/text_to_video";
const IMAGE: &str = "/v1/image_to_video";
const TASKS: &str = "/v1/tasks/";
const CDN: &str = "/__fake/runway-cdn/";

pub(crate) fn router(state: Arc<RunwayState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route(TEXT, post(create_text).fallback(unknown_endpoint))
        .route(IMAGE, post(create_image).fallback(unknown_endpoint))
        .route(&format!("{TASKS}{{id}}"), get(retrieve).delete(delete).fallback(unknown_endpoint))
        .route(&format!("{CDN}{{id}}/video.mp4"), get(content))
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    let task = path.strip_prefix(TASKS).filter(|id| !id.is_empty() && !id.contains('/'));
    match (method.as_str(), task) {
        ("POST", None) if path == TEXT || path == IMAGE => Some(Endpoint::Submit),
        ("GET", Some(_)) => Some(Endpoint::Poll),
        ("DELETE", Some(_)) => Some(Endpoint::Delete),
        ("GET", None) if path.starts_with(CDN) => Some(Endpoint::Download),
        _ => None,
    }
}

async fn create_text(state: State<Arc<RunwayState>>, ctx: Extension<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    create(state, ctx, headers, body, false).await
}

async fn create_image(
    state: State<Arc<RunwayState>>,
    ctx: Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create(state, ctx, headers, body, true).await
}

async fn create(
    State(state): State<Arc<RunwayState>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
    image: bool,
) -> Response {
    let parsed = state.check_headers(&headers).and_then(|()| {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(Refusal::bad(format!("Content-Type must be application/json, got {content_type:?}")));
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => {
                state.record_body(Value::Object(map.clone()));
                request::from_json(&map, image, &state.models)
            }
            _ => Err(Refusal::bad("The request body is not valid JSON")),
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
    state.core.journal.job_created(&create.prompt, None);
    if outcome.renders() {
        media::warm(create.clip);
    }
    let id = uuid_like();
    state.insert(Task {
        id: id.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        created_at: iso_now(),
        throttled_polls: state.throttle_polls(),
        throttled_now: false,
        polled: false,
        done: false,
        deleted: false,
    });
    // Digest §4: only the id.
    Json(json!({"id": id})).into_response()
}

/// A task id in Runway's UUID form.
fn uuid_like() -> String {
    let hex: String =
        ulid::Ulid::new().to_string().to_ascii_lowercase().chars().chain("0123456789ab".chars()).take(32).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn iso_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

async fn retrieve(
    State(state): State<Arc<RunwayState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_headers(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    // Digest §4, §6: an unknown or deleted task is a 404 (the upstream's answer, not a
    // protocol violation, so it is not journalled as a rejection).
    match state.poll(&id) {
        Some(task) => Json(task_json(&state, &task)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "Task not found"}))).into_response(),
    }
}

/// The task body (digest §5).
fn task_json(state: &RunwayState, task: &Task) -> Value {
    let mut body = json!({"id": task.id, "createdAt": task.created_at, "status": task.status()});
    let credits = task.create.credits();
    match task.status() {
        "PENDING" | "THROTTLED" => body["estimatedCost"] = json!({"credits": f64::from(credits)}),
        "RUNNING" => {
            body["estimatedCost"] = json!({"credits": f64::from(credits)});
            body["progress"] = json!(f64::from(task.progress.percent()) / 100.0);
        }
        "SUCCEEDED" => {
            body["cost"] = json!({"credits": credits});
            body["output"] = json!([format!(
                "{}{CDN}{}/video.mp4?_jwt={}-{}",
                state.core.base_url,
                task.id,
                state.signing_epoch(),
                &task.id[..8]
            )]);
        }
        "FAILED" => {
            // Moderation of the input is not refunded (trap 12); other failures are.
            let (code, text) = match &task.outcome {
                Outcome::Error { code, message } => (code.clone(), message.clone()),
                _ => ("SAFETY.OUTPUT.VIDEO".into(), "The output did not pass moderation.".into()),
            };
            let charged = if code.starts_with("SAFETY.INPUT") { credits } else { 0 };
            body["failure"] = json!(text);
            if !code.is_empty() {
                body["failureCode"] = json!(code);
            }
            body["cost"] = json!({"credits": charged});
        }
        _ => body["cost"] = json!({"credits": 0}),
    }
    body
}

async fn delete(
    State(state): State<Arc<RunwayState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_headers(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    match state.delete(&id) {
        Some(deletion) => {
            if !matches!(deletion.status.as_str(), "PENDING" | "THROTTLED" | "RUNNING") {
                // Documented upstream behaviour, but it destroys a result (trap 5).
                let what = format!("DELETE of a {} task deleted it and its output (digest trap 5)", deletion.status);
                state.core.note(&ctx, what);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "Task not found"}))).into_response(),
    }
}

/// A signed CDN URL: no credentials, the `_jwt` of the current epoch, a task not deleted.
async fn content(
    State(state): State<Arc<RunwayState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(Refusal::bad(
                "a signed CDN output URL was fetched with an Authorization header: the API key leaks to the CDN",
            ));
        }
        let jwt = query.iter().find(|(k, _)| k == "_jwt").map(|(_, v)| v.as_str()).unwrap_or("");
        Refusal::unless_current(jwt, state.epoch(), "Access denied: the signature expired.")?;
        let task = state
            .get(&id)
            .filter(|t| t.status() == "SUCCEEDED")
            .ok_or_else(|| Refusal::not_found(format!("no output for {id}")))?;
        media::job_video(&task.outcome, task.create.clip).await
    }
    .await;
    blobs::video_or_refusal(&state.core, &ctx, result)
}

impl crate::core::FakeState for RunwayState {
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
