//! `GET /v1/videos/{video_id}`, `GET /v1/videos` (a page, newest first by default, with
//! `limit` 1–100 (default 20), `order` `asc|desc` and an `after` cursor) and
//! `DELETE /v1/videos/{video_id}` (finished videos only; 409 `task_not_terminal` otherwise).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use vidgate_domain::ErrorCode;
use vidgate_store::ListOrder;

use super::create::video_response;
use super::object::{VideoDeleted, VideoList, VideoObject, video_object};
use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{ApiCaller, Path, Query};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// Retrieve a video.
#[utoipa::path(get, path = "/v1/videos/{video_id}", tag = "openai videos", params(("video_id" = String, Path)),
    responses((status = 200, body = VideoObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(video_id): Path<String>,
) -> HttpResult<Response> {
    let task = state.gateway.task_for(&caller, &video_id).await?;
    Ok(video_response(&task, false))
}

/// List videos.
#[utoipa::path(get, path = "/v1/videos", tag = "openai videos",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1 to 100, default 20"),
        ("order" = Option<String>, Query, pattern = "^(asc|desc)$", description = "`desc` (newest first, the default) or `asc`"),
        ("after" = Option<String>, Query, pattern = "^task_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$",
            description = "a video id: the page starts after it")),
    responses((status = 200, body = VideoList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(q): Query<HashMap<String, String>>,
) -> HttpResult<Json<VideoList>> {
    let (mut limit, mut order, mut after) = (DEFAULT_LIMIT, ListOrder::NewestFirst, None);
    let mut keys: Vec<&String> = q.keys().collect();
    keys.sort();
    for key in keys {
        let value = q[key].as_str();
        match key.as_str() {
            "limit" => limit = parse_limit(value)?,
            "order" => order = parse_order(value)?,
            "after" => after = Some(value),
            other => {
                return Err(HttpError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}")));
            }
        }
    }
    let (tasks, has_more) = state.gateway.list_page(&caller, limit, order, after).await?;
    let data: Vec<VideoObject> = tasks.iter().map(video_object).collect();
    let first_id = data.first().map(|v| v.id.clone());
    let last_id = data.last().map(|v| v.id.clone());
    Ok(Json(VideoList { object: "list", data, first_id, last_id, has_more }))
}

fn parse_limit(value: &str) -> HttpResult<u32> {
    value.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
        HttpError::param(
            ErrorCode::InvalidParam,
            "limit",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
        )
    })
}

fn parse_order(value: &str) -> HttpResult<ListOrder> {
    match value {
        "desc" => Ok(ListOrder::NewestFirst),
        "asc" => Ok(ListOrder::OldestFirst),
        _ => Err(HttpError::param(ErrorCode::InvalidParam, "order", "order must be \"asc\" or \"desc\"")),
    }
}

/// Delete a finished video and its files.
#[utoipa::path(delete, path = "/v1/videos/{video_id}", tag = "openai videos", params(("video_id" = String, Path)),
    responses((status = 200, body = VideoDeleted), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(video_id): Path<String>,
) -> HttpResult<Json<VideoDeleted>> {
    let task = state.gateway.delete_task(&caller, &video_id).await?;
    Ok(Json(VideoDeleted { id: task.id.to_string(), object: "video.deleted", deleted: true }))
}
