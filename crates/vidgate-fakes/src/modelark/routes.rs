//! The ModelArk fake's routes (docs/upstreams.md §8.2–§8.5), under `/api/v3`:
//! `POST /contents/generations/tasks`, `GET /contents/generations/tasks` (list),
//! `GET /contents/generations/tasks/{id}`, `DELETE /contents/generations/tasks/{id}`, all
//! with bearer auth; and the pre-signed result URLs (`/__fake/ark-content/…?X-Tos-…`), which
//! take no credentials and refuse a request that carries the API key.
//!
//! Owns routing, the order of checks (key, then body) and the JSON of a task. Errors use
//! the `{"error": {"code", "message", "param", "type"}}` envelope (docs/upstreams.md §8.5).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request;
use super::state::{ArkState, ArkTask};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::{Refusal, Shape};
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const TASKS: &str = "/api/v3/contents/generations/tasks";
const CONTENT: &str = "/__fake/ark-content/";

pub(crate) fn router(state: Arc<ArkState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route(TASKS, get(list).post(create).fallback(unknown_endpoint))
        .route(&format!("{TASKS}/{{id}}"), get(retrieve).delete(delete).fallback(unknown_endpoint))
        .route(&format!("{CONTENT}{{file}}"), get(content))
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    let id_path = path.strip_prefix(TASKS).and_then(|rest| rest.strip_prefix('/'));
    match (method.as_str(), id_path) {
        ("POST", None) if path == TASKS => Some(Endpoint::Submit),
        ("GET", Some(id)) if !id.is_empty() && !id.contains('/') => Some(Endpoint::Poll),
        ("DELETE", Some(_)) => Some(Endpoint::Delete),
        ("GET", None) if path.starts_with(CONTENT) => Some(Endpoint::Download),
        _ => None,
    }
}

async fn create(
    State(state): State<Arc<ArkState>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = state.check_key(&headers).and_then(|()| {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(Refusal::bad(format!("Content-Type must be application/json, got {content_type:?}")));
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => {
                state.record_body(Value::Object(map.clone()));
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
    // Moderation at submit (docs/upstreams.md §8.5): a 400 with the moderation code, nothing created. It
    // is the upstream's answer, not a protocol violation, so it is not journalled as one.
    if let Outcome::Error { code, .. } = &outcome
        && let Some(code) = submit_moderation(code)
    {
        let refusal =
            Refusal::bad("The request failed because the input text may contain sensitive information.").code(code);
        return refusal.into_response(Shape::OpenAi);
    }
    state.core.journal.job_created(&create.prompt, None);
    let now = super::unix_now();
    let id = format!("cgt-{}", crate::google::new_id());
    if outcome.renders() {
        media::warm(create.clip);
    }
    state.insert(ArkTask {
        id: id.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        created_at: now,
        updated_at: now,
        polled: false,
        done: false,
        cancelled: false,
    });
    Json(json!({"id": id})).into_response()
}

fn submit_moderation(code: &str) -> Option<&'static str> {
    [
        "InputTextSensitiveContentDetected",
        "InputImageSensitiveContentDetected",
        "SensitiveContentDetected",
        "SensitiveContentDetected.SevereViolation",
    ]
    .into_iter()
    .find(|c| *c == code)
}

async fn retrieve(
    State(state): State<Arc<ArkState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = state.check_key(&headers).and_then(|()| {
        state
            .poll(&id)
            .ok_or_else(|| Refusal::not_found(format!("The specified task {id} is not found")).code("ResourceNotFound"))
    });
    match result {
        Ok(task) => Json(task_json(&state, &task)).into_response(),
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

/// The task object (docs/upstreams.md §8.3).
fn task_json(state: &ArkState, task: &ArkTask) -> Value {
    let c = &task.create;
    let mut body = json!({
        "id": task.id, "model": c.model, "status": task.status(),
        "created_at": task.created_at, "updated_at": task.updated_at,
        "seed": if c.seed < 0 { 1276 } else { c.seed }, "resolution": c.resolution, "ratio": c.ratio,
        "duration": c.duration, "framespersecond": 24, "service_tier": "default",
        "execution_expires_after": 172800, "generate_audio": c.generate_audio, "draft": false,
    });
    match task.status() {
        "succeeded" => {
            let url = format!(
                "{}{CONTENT}{}.mp4?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Expires=86400&X-Tos-Signature={}-{}",
                state.core.base_url,
                task.id,
                state.signing_epoch(),
                &task.id[4..12.min(task.id.len())]
            );
            body["content"] = json!({"video_url": url});
            let tokens = task.tokens();
            body["usage"] = json!({"completion_tokens": tokens, "total_tokens": tokens});
        }
        "failed" => {
            body["error"] = match &task.outcome {
                Outcome::Error { code, message } => json!({"code": code, "message": message}),
                _ => json!({"code": "OutputVideoSensitiveContentDetected",
                    "message": "The request failed because the output video may contain sensitive information."}),
            };
        }
        _ => {}
    }
    body
}

async fn list(
    State(state): State<Arc<ArkState>>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let result = state.check_key(&headers).and_then(|()| {
        let number = |name: &str, default: usize| -> Result<usize, Refusal> {
            match query.iter().find(|(k, _)| k == name) {
                None => Ok(default),
                Some((_, v)) => v.parse().ok().filter(|n| *n >= 1 && *n <= 500).ok_or_else(|| {
                    Refusal::bad(format!("{name} must be a positive integer")).code("InvalidParameter").param(name)
                }),
            }
        };
        let (page, size) = (number("page_num", 1)?, number("page_size", 10)?);
        let values = |name: &str| query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        let (statuses, models, ids) = (values("filter.status"), values("filter.model"), values("filter.task_ids"));
        let mut tasks: Vec<ArkTask> = state
            .all()
            .into_iter()
            .filter(|t| statuses.is_empty() || statuses.iter().any(|s| s == t.status()))
            .filter(|t| models.is_empty() || models.contains(&t.create.model))
            .filter(|t| ids.is_empty() || ids.contains(&t.id))
            .collect();
        tasks.reverse();
        let total = tasks.len();
        let items: Vec<Value> = tasks.iter().skip((page - 1) * size).take(size).map(|t| task_json(&state, t)).collect();
        Ok(Json(json!({"total": total, "items": items})).into_response())
    });
    result.unwrap_or_else(|refusal| state.core.refuse(&ctx, refusal))
}

async fn delete(
    State(state): State<Arc<ArkState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.check_key(&headers).and_then(|()| state.delete(&id)) {
        Ok(()) => Json(json!({})).into_response(),
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

/// A pre-signed result URL: no credentials, the signature of the current epoch.
async fn content(
    State(state): State<Arc<ArkState>>,
    Extension(ctx): Extension<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(Refusal::bad(
                "a pre-signed result URL was fetched with an Authorization header: the API key leaks to the \
                 storage host (docs/upstreams.md §8.4: the URL is signed)",
            ));
        }
        let id = file.strip_suffix(".mp4").unwrap_or(&file);
        let signature = query.iter().find(|(k, _)| k == "X-Tos-Signature").map(|(_, v)| v.as_str()).unwrap_or("");
        let epoch = signature.split('-').next().and_then(|e| e.parse::<u64>().ok());
        if epoch != Some(state.epoch()) {
            return Err(Refusal::expired("Request has expired (the signed URL is no longer valid)"));
        }
        let task = state
            .get(id)
            .filter(|t| t.status() == "succeeded")
            .ok_or_else(|| Refusal::not_found(format!("no result object for {id}")))?;
        media::job_video(&task.outcome, task.create.clip).await
    }
    .await;
    blobs::video_or_refusal(&state.core, &ctx, result)
}

impl crate::core::FakeState for ArkState {
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
