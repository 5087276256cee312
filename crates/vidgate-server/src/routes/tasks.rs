//! The async task family (the hosted system's `/v1/tasks/*`): submit (flat or `params`
//! envelope), query by `task_id` or `out_task_id` (body or query string), cancel by path,
//! body or query string. Exactly one identifier must be given; on the cancel path the path
//! id wins over a body id. A malformed `out_task_id` is 400 `invalid_param` (the submit's
//! rule), never a 404.

use axum::Json;
use axum::extract::State;
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
use crate::extract::{ApiCaller, JsonObject, OptionalJsonObject, Path, Query, idempotency_key};
use crate::routes::common::{SubmitBody, read_with_wait, render, submitted};

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
    #[schema(pattern = "^(720p|1080p|4k)$")]
    resolution: Option<String>,
    #[schema(pattern = "^(16:9|9:16)$")]
    aspect_ratio: Option<String>,
    audio: Option<bool>,
    #[schema(pattern = "^(https://|data:)")]
    source_image: Option<String>,
    #[schema(pattern = "^(https://|data:)")]
    image_init: Option<String>,
    #[schema(pattern = "^(https://|data:)")]
    last_frame: Option<String>,
    #[schema(min_items = 1, max_items = 3)]
    reference_images: Option<Vec<super::common::ReferenceImage>>,
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
        state.gateway.submit_json(&caller, &body, idempotency_key(&headers)?, SubmitSurface::TasksSubmit).await?;
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

/// The task reference of a query or cancel body: only `task_id` and `out_task_id`, each a
/// string (or `null`, the same as leaving it out). Every refusal names its field; the
/// first key in byte order at fault wins.
fn typed_ref(body: serde_json::Value) -> HttpResult<TaskRef> {
    let serde_json::Value::Object(fields) = body else {
        return Err(HttpError::new(ErrorCode::InvalidJson, "the body must be a JSON object"));
    };
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    let mut r = TaskRef::default();
    for key in keys {
        let value = &fields[key];
        let slot = match key.as_str() {
            "task_id" => &mut r.task_id,
            "out_task_id" => &mut r.out_task_id,
            "wait" => {
                let message = "wait is a query parameter (GET /v1/tasks/query?wait=N), not a body field";
                return Err(HttpError::param(ErrorCode::UnknownParam, "wait", message));
            }
            other => {
                let other = vidgate_domain::request::echo(other);
                return Err(HttpError::param(ErrorCode::UnknownParam, &other, format!("unknown parameter {other}")));
            }
        };
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => *slot = Some(text.clone()),
            _ => return Err(HttpError::param(ErrorCode::InvalidParam, key, format!("{key} must be a string"))),
        }
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

/// Cancel a task named in the body or the query string (`task_id` or `out_task_id`, in one
/// of the two places); an empty body names none.
#[utoipa::path(post, path = "/v1/tasks/cancel", tag = "async tasks", request_body = TaskRefBody,
    params(TaskRef),
    responses((status = 200, body = TaskObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn cancel_body(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(from_query): Query<TaskRef>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> HttpResult<Json<TaskObject>> {
    if from_query.wait.is_some() {
        return Err(HttpError::param(ErrorCode::UnknownParam, "wait", "wait is only for GET /v1/tasks/query"));
    }
    let from_body = typed_ref(body)?;
    let names = |r: &TaskRef| r.task_id.is_some() || r.out_task_id.is_some();
    let r = match (names(&from_query), names(&from_body)) {
        (true, true) => {
            let message = "name the task in the body or in the query string, not both";
            let param = if from_body.task_id.is_some() { "task_id" } else { "out_task_id" };
            return Err(HttpError::param(ErrorCode::InvalidParam, param, message));
        }
        (true, false) => from_query,
        _ => from_body,
    };
    let task = resolve(&state, &caller, &r).await?;
    let task = state.gateway.cancel_task(task).await?;
    Ok(Json(render(&state, &task)))
}
