//! The vidgate fake's routes (docs/api.md §2): `POST /v1/videos/generations`,
//! `GET /v1/videos/tasks/{task_id}`, `POST /v1/tasks/cancel/{task_id}`, and the result files
//! under `/files/{task_id}/{video.mp4|audio.m4a|poster.png}` (no key, like signed URLs).
//!
//! Owns routing and the order of checks (key, content type, body, idempotency). It must not
//! hold protocol rules.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use super::request;
use super::response;
use super::state::{Submitted, Task, VidgateState};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::Refusal;
use crate::faults::Endpoint;
use crate::media;

pub(crate) fn router(state: Arc<VidgateState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route("/v1/videos/generations", post(submit).fallback(unknown_endpoint))
        .route("/v1/videos/tasks/{task_id}", get(poll).fallback(unknown_endpoint))
        .route("/v1/models/{id}", get(model).fallback(unknown_endpoint))
        .route("/v1/tasks/cancel/{task_id}", post(cancel).fallback(unknown_endpoint))
        .route("/files/{task_id}/{name}", get(file).fallback(unknown_endpoint))
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, redirecting: bool) -> Option<Endpoint> {
    match (method.as_str(), path) {
        ("POST", "/v1/videos/generations") => Some(Endpoint::Submit),
        ("GET", p) if p.starts_with("/v1/videos/tasks/") => Some(Endpoint::Poll),
        ("POST", p) if p.starts_with("/v1/tasks/cancel/") => Some(Endpoint::Delete),
        ("GET", p) if p.starts_with("/files/") && !redirecting => Some(Endpoint::Download),
        _ => None,
    }
}

fn task_not_found(id: &str) -> Refusal {
    Refusal::not_found(format!("no task {id}")).code("task_not_found")
}

async fn render(state: &VidgateState, task: &Task) -> Response {
    match response::task(state, task).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

async fn submit(
    State(state): State<Arc<VidgateState>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = (|| {
        state.check_key(&headers)?;
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(Refusal::protocol(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json")
                .code("unsupported_media_type"));
        }
        let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
        request::parse(&body, header_key, &state.models)
    })();
    let submit = match parsed {
        Ok(submit) => submit,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    let (prompt, key) = (submit.prompt.clone(), submit.out_task_id.clone());
    match state.submit(submit, || state.core.faults.job_script(&prompt)) {
        Submitted::New(task) => {
            state.core.journal.job_created(&prompt, key.as_deref());
            render(&state, &task).await
        }
        Submitted::Replayed(task) => {
            state.core.journal.replayed(&prompt, key.as_deref().unwrap_or_default());
            let mut response = render(&state, &task).await;
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Submitted::Conflict => {
            let refusal = Refusal::protocol(StatusCode::CONFLICT, "this out_task_id was used with another request")
                .code("duplicate_out_task_id")
                .param("out_task_id");
            state.core.refuse(&ctx, refusal)
        }
    }
}

/// `GET /v1/models/{id}` (docs/api.md §11): a model of the fake's catalog by id or alias,
/// else 404 `not_found`.
async fn model(
    State(state): State<Arc<VidgateState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let found = |()| {
        let named = |m: &&super::catalog::Model| m.id == id || m.aliases.contains(&id);
        state.models.iter().find(named).ok_or_else(|| Refusal::not_found(format!("no model {id}")).code("not_found"))
    };
    match state.check_key(&headers).and_then(found) {
        Ok(m) => Json(serde_json::json!({
            "id": m.id,
            "object": "model",
            "aliases": m.aliases,
            "durations": m.durations,
            "sizes": m.sizes,
            "native_audio": m.native_audio,
        }))
        .into_response(),
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

async fn poll(
    State(state): State<Arc<VidgateState>>,
    Extension(ctx): Extension<Ctx>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.check_key(&headers).and_then(|()| state.poll(&task_id).ok_or_else(|| task_not_found(&task_id))) {
        Ok(task) => {
            if task.completed_at.is_none() && task.outcome.renders() {
                media::warm(response::clip(&task));
            }
            render(&state, &task).await
        }
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

async fn cancel(
    State(state): State<Arc<VidgateState>>,
    Extension(ctx): Extension<Ctx>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.check_key(&headers).and_then(|()| state.cancel(&task_id).ok_or_else(|| task_not_found(&task_id))) {
        Ok(task) => render(&state, &task).await,
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

async fn file(
    State(state): State<Arc<VidgateState>>,
    Extension(ctx): Extension<Ctx>,
    Path((task_id, name)): Path<(String, String)>,
) -> Response {
    let task = state.get(&task_id).filter(|t| t.status() == "completed");
    let Some(task) = task else { return state.core.refuse(&ctx, Refusal::not_found("no such file").code("not_found")) };
    if state.files_expired() {
        let refusal = Refusal { status: StatusCode::GONE, ..Refusal::not_found("the files have expired") };
        return state.core.refuse(&ctx, refusal.code("files_expired"));
    }
    match response::file(&task, &name).await {
        Some(Ok((bytes, content_type))) => blobs::deliver(&state.core, bytes, content_type),
        Some(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        None => state.core.refuse(&ctx, Refusal::not_found("no such file").code("not_found")),
    }
}

impl crate::core::FakeState for VidgateState {
    const UNKNOWN_ENDPOINT_CODE: Option<&'static str> = Some("not_found");
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
