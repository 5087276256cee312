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
    /// Seconds (1 to `server.max_wait_secs`) to wait for a change (query only).
    #[serde(default)]
    #[param(required = false, value_type = Option<u64>, minimum = 1, maximum = 60)]
    pub wait: Option<String>,
}

/// The video's fields inside the `params` envelope of `POST /v1/tasks/submit`.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitParams {
    /// A catalog id or alias; here or at the top level, not both.
    #[schema(min_length = 1)]
    model: Option<String>,
    #[schema(min_length = 1, pattern = r"\S")]
    prompt: String,
    #[schema(minimum = 1)]
    duration_seconds: Option<u32>,
    #[schema(pattern = "^[0-9]+x[0-9]+$")]
    size: Option<String>,
    #[schema(pattern = "^(720p|1080p)$")]
    resolution: Option<String>,
    #[schema(pattern = "^(16:9|9:16)$")]
    aspect_ratio: Option<String>,
    audio: Option<bool>,
    #[schema(pattern = "^(https://|data:)")]
    source_image: Option<String>,
    #[schema(pattern = "^(https://|data:)")]
    image_init: Option<String>,
    #[schema(maximum = 4294967295_u64)]
    seed: Option<u32>,
    negative_prompt: Option<String>,
}

/// The envelope form of a submit: the video's fields in `params`, the task's at the top.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitEnvelope {
    params: SubmitParams,
    /// A catalog id or alias; here or in `params`, not both.
    #[schema(min_length = 1)]
    model: Option<String>,
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    out_task_id: Option<String>,
    #[schema(max_length = 2048, pattern = "^https?://")]
    callback_url: Option<String>,
    metadata: Option<std::collections::BTreeMap<String, String>>,
    stream: Option<bool>,
}

/// A submit on the async family: flat, or the `params` envelope.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TasksSubmitBody {
    Flat(SubmitBody),
    Envelope(SubmitEnvelope),
}

/// A task named by its id.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByTaskId {
    #[schema(min_length = 1)]
    task_id: String,
}

/// A task named by the client's `out_task_id`.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByOutTaskId {
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    out_task_id: String,
}

/// The body of a query or cancel: exactly one of `task_id` and `out_task_id`.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TaskRefBody {
    ById(ByTaskId),
    ByOutId(ByOutTaskId),
}

/// Submit a task (flat fields, or the same fields in a `params` object).
#[utoipa::path(post, path = "/v1/tasks/submit", tag = "async tasks", request_body = TasksSubmitBody,
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
#[utoipa::path(post, path = "/v1/tasks/query", tag = "async tasks", request_body = TaskRefBody,
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
#[utoipa::path(post, path = "/v1/tasks/cancel", tag = "async tasks", request_body = TaskRefBody,
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
