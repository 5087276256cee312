//! The seed's video-task protocol: `POST /v1/videos/generations` and
//! `GET /v1/videos/tasks/{task_id}` (with `?wait=N` long-poll).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use vidgate_engine::gateway::SubmitSurface;
use vidgate_engine::view::TaskObject;

use crate::AppState;
use crate::error::{ErrorBody, HttpResult};
use crate::extract::{ApiCaller, JsonObject, Path, Query, idempotency_key};
use crate::routes::common::{SubmitBody, read_with_wait, render, submitted};

/// `?wait=N`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Seconds (1 to `server.max_wait_secs`) to wait for the task to change.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 60)]
    wait: Option<String>,
}

/// Submit a video generation task.
#[utoipa::path(post, path = "/v1/videos/generations", tag = "video tasks", request_body = SubmitBody,
    responses((status = 200, body = TaskObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> HttpResult<Response> {
    let (task, replayed) =
        state.gateway.submit_json(&caller, &body, idempotency_key(&headers)?, SubmitSurface::VideoGenerations).await?;
    Ok(submitted(&state, &task, replayed))
}

/// Read a task; `?wait=N` returns as soon as it changes, or after N seconds.
#[utoipa::path(get, path = "/v1/videos/tasks/{task_id}", tag = "video tasks", params(("task_id" = String, Path), WaitQuery),
    responses((status = 200, body = TaskObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_task(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(task_id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> HttpResult<Json<TaskObject>> {
    let task = read_with_wait(&state, &caller, &task_id, q.wait.as_deref()).await?;
    Ok(Json(render(&state, &task)))
}
