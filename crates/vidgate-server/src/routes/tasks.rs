//! The async task family (the hosted system's `/v1/tasks/*`): submit (flat or `params`
//! envelope), query by `task_id` or `out_task_id` (body or query string), cancel by path or
//! body. Exactly one identifier must be given; on the cancel path the path id wins over a
//! body id.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use vidgate_domain::ErrorCode;
use vidgate_engine::gateway::{Caller, SubmitSurface};
use vidgate_engine::view::TaskObject;
use vidgate_store::Task;

use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{ApiCaller, JsonObject, read_body};
use crate::routes::videos::{SubmitBody, idempotency_key, read_with_wait, render, submitted};

/// Which task: exactly one of the two.
#[derive(Deserialize, IntoParams, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    pub task_id: Option<String>,
    pub out_task_id: Option<String>,
    /// Seconds (1–60) to wait for a change (query only).
    #[serde(default)]
    #[param(required = false)]
    pub wait: Option<String>,
}

/// Submit a task (flat fields, or the same fields in a `params` object).
#[utoipa::path(post, path = "/v1/tasks/submit", tag = "async tasks", request_body = SubmitBody,
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
        state.gateway.submit_json(&caller, &body, idempotency_key(&headers), SubmitSurface::TasksSubmit).await?;
    Ok(submitted(&state, &task, replayed))
}

async fn resolve(state: &AppState, caller: &Caller, r: &TaskRef) -> HttpResult<Task> {
    match (&r.task_id, &r.out_task_id) {
        (Some(id), None) => Ok(state.gateway.task_for(caller, id).await?),
        (None, Some(out)) => Ok(state.gateway.task_by_out_id(caller, out).await?),
        (Some(_), Some(_)) => {
            Err(HttpError::param(ErrorCode::InvalidParam, "out_task_id", "give task_id or out_task_id, not both"))
        }
        (None, None) => Err(HttpError::param(ErrorCode::InvalidParam, "task_id", "task_id or out_task_id is required")),
    }
}

fn typed_ref(body: serde_json::Value) -> HttpResult<TaskRef> {
    let r: TaskRef = crate::routes::admin::typed(body)?;
    if r.wait.is_some() {
        return Err(HttpError::param(ErrorCode::UnknownParam, "wait", "wait is a query parameter"));
    }
    Ok(r)
}

/// Query a task by a JSON body.
#[utoipa::path(post, path = "/v1/tasks/query", tag = "async tasks", request_body = TaskRef,
    responses((status = 200, body = TaskObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn query_body(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<TaskObject>> {
    let r = typed_ref(body)?;
    let task = resolve(&state, &caller, &r).await?;
    Ok(Json(render(&state, &task)))
}

/// Query a task by the query string (`?wait=N` long-polls).
#[utoipa::path(get, path = "/v1/tasks/query", tag = "async tasks", params(TaskRef),
    responses((status = 200, body = TaskObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn query_get(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(r): Query<TaskRef>,
) -> HttpResult<Json<TaskObject>> {
    let task = resolve(&state, &caller, &r).await?;
    let task = read_with_wait(&state, &caller, task.id.as_str(), r.wait.as_deref()).await?;
    Ok(Json(render(&state, &task)))
}

/// Cancel a task by path; a body, if any, is ignored for the id (the path wins).
#[utoipa::path(post, path = "/v1/tasks/cancel/{task_id}", tag = "async tasks", params(("task_id" = String, Path)),
    responses((status = 200, body = TaskObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn cancel_path(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(task_id): Path<String>,
) -> HttpResult<Json<TaskObject>> {
    let task = state.gateway.cancel(&caller, &task_id).await?;
    Ok(Json(render(&state, &task)))
}

/// Cancel a task named in the body (`task_id` or `out_task_id`).
#[utoipa::path(post, path = "/v1/tasks/cancel", tag = "async tasks", request_body = TaskRef,
    responses((status = 200, body = TaskObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn cancel_body(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    req: axum::extract::Request,
) -> HttpResult<Json<TaskObject>> {
    let bytes = read_body(req, state.gateway.config.server.body_limit_bytes).await?;
    let body: serde_json::Value = if bytes.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| HttpError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?
    };
    if !body.is_object() {
        return Err(HttpError::new(ErrorCode::InvalidJson, "the body must be a JSON object"));
    }
    let r = typed_ref(body)?;
    let task = resolve(&state, &caller, &r).await?;
    let task = state.gateway.cancel_task(task).await?;
    Ok(Json(render(&state, &task)))
}
