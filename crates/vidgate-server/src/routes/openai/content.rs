//! `GET /v1/videos/{video_id}/content?variant=video|thumbnail|spritesheet`: a completed
//! video's MP4 (`video/mp4`, the default), its poster or its spritesheet (`image/png`),
//! streamed with `Range` and `ETag` like the signed file URLs. An unfinished video is 409
//! `task_not_terminal` (poll, then download); a failed one, or a variant the video does not
//! have, is 404; files removed by retention are 410.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use vidgate_domain::ErrorCode;
use vidgate_domain::task::TaskStatus;
use vidgate_store::{StoredFile, Task};

use super::object::openai_status;
use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{ApiCaller, Path, Query};
use crate::routes::files::send_file;

/// Download a video's content.
#[utoipa::path(get, path = "/v1/videos/{video_id}/content", tag = "openai videos",
    params(("video_id" = String, Path),
        ("variant" = Option<String>, Query, pattern = "^(video|thumbnail|spritesheet)$", description = "`video` (default, video/mp4), `thumbnail` or `spritesheet` (image/png)")),
    responses((status = 200, description = "the file's bytes", content_type = "video/mp4"),
        (status = 206, description = "the requested range"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn download(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(video_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
) -> HttpResult<Response> {
    if let Some(other) = q.keys().filter(|k| *k != "variant").min() {
        return Err(HttpError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}")));
    }
    let variant = q.get("variant").map_or("video", String::as_str);
    let pick = variant_file(variant)?;
    let task = state.gateway.task_for(&caller, &video_id).await?;
    let file = content_of(&task, variant, pick)?;
    send_file(&state, &task, &file.name, &method, &headers).await
}

/// Which stored file a variant is.
type Pick = fn(&vidgate_store::TaskResult) -> Option<&StoredFile>;

fn variant_file(variant: &str) -> HttpResult<Pick> {
    match variant {
        "video" => Ok(|r| Some(&r.video)),
        "thumbnail" => Ok(|r| r.thumbnail.as_ref()),
        "spritesheet" => Ok(|r| r.spritesheet.as_ref()),
        _ => Err(HttpError::param(
            ErrorCode::InvalidParam,
            "variant",
            "variant must be \"video\", \"thumbnail\" or \"spritesheet\"",
        )),
    }
}

fn content_of<'t>(task: &'t Task, variant: &str, pick: Pick) -> HttpResult<&'t StoredFile> {
    match task.status {
        TaskStatus::Completed => {}
        TaskStatus::Queued | TaskStatus::Running => {
            let message =
                format!("video {} is {}; its content is ready once it completes", task.id, openai_status(task.status));
            return Err(HttpError::new(ErrorCode::TaskNotTerminal, message));
        }
        TaskStatus::Failed | TaskStatus::Cancelled => {
            return Err(HttpError::new(ErrorCode::NotFound, format!("video {} failed; it has no content", task.id)));
        }
    }
    task.result
        .as_ref()
        .and_then(pick)
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, format!("video {} has no {variant}", task.id)))
}
