//! `POST /v1/videos` (JSON or multipart) and `POST /v1/videos/{video_id}/remix`. Both
//! answer the video object with `openai-poll-after-ms`, which paces the SDK's poller, and
//! `Idempotent-Replayed: true` when the `Idempotency-Key` replayed an earlier task.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use vidgate_store::Task;

use super::body::OpenAiBody;
use super::object::{VideoObject, video_object};
use crate::AppState;
use crate::error::{ErrorBody, HttpResult};
use crate::extract::{ApiCaller, Path, idempotency_key};

/// How long the SDK's poller waits between reads of an unfinished video, milliseconds.
pub const POLL_AFTER_MS: u64 = 1000;

/// `input_reference` in JSON.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageReference {
    /// An `https://` URL or a `data:image/(png|jpeg|webp);base64,…` URI.
    #[schema(pattern = "^(https://|data:)")]
    image_url: String,
}

/// A create as JSON. Unknown fields are refused.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVideoJson {
    /// Not blank; at most the model's `max_prompt_chars`.
    #[schema(min_length = 1, pattern = r"\S")]
    prompt: String,
    /// A catalog id or alias; default `sora2`.
    #[schema(min_length = 1)]
    model: Option<String>,
    /// One of the model's durations, as a string (`"4"`); default the model's.
    #[schema(pattern = "^[0-9]+$")]
    seconds: Option<String>,
    /// `WIDTHxHEIGHT`, one of the model's sizes; default the model's.
    #[schema(pattern = "^[0-9]+x[0-9]+$")]
    size: Option<String>,
    input_reference: Option<ImageReference>,
    /// vidgate's: the frame the video ends on (needs `input_reference`), a URL or data URI.
    #[schema(pattern = "^(https://|data:)")]
    last_frame: Option<String>,
    /// vidgate's: 1 to 3 reference images, as on `POST /v1/videos/generations`.
    #[schema(min_items = 1, max_items = 3)]
    reference_images: Option<Vec<crate::routes::common::ReferenceImage>>,
    /// vidgate's: what the video should not show.
    negative_prompt: Option<String>,
}

/// A create as multipart/form-data (what openai-python 2.27.0 and later send).
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVideoForm {
    #[schema(min_length = 1, pattern = r"\S")]
    prompt: String,
    #[schema(min_length = 1)]
    model: Option<String>,
    #[schema(pattern = "^[0-9]+$")]
    seconds: Option<String>,
    #[schema(pattern = "^[0-9]+x[0-9]+$")]
    size: Option<String>,
    /// A PNG, JPEG or WebP file of at most `fetch.max_image_bytes`; the first frame.
    #[schema(value_type = Option<String>, format = Binary)]
    input_reference: Option<Vec<u8>>,
    /// vidgate's: a URL or data URI as text.
    last_frame: Option<String>,
    /// vidgate's: the JSON array as text.
    reference_images: Option<String>,
    negative_prompt: Option<String>,
}

/// A remix.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemixBody {
    /// The new prompt: not blank; at most the model's `max_prompt_chars`.
    #[schema(min_length = 1, pattern = r"\S")]
    prompt: String,
}

/// The video object of `task`, with the poller's pace while it is unfinished.
pub fn video_response(task: &Task, replayed: bool) -> Response {
    let mut response = Json(video_object(task)).into_response();
    let headers = response.headers_mut();
    if !task.status.is_terminal() {
        headers.insert("openai-poll-after-ms", HeaderValue::from(POLL_AFTER_MS));
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Create a video (OpenAI Videos API).
#[utoipa::path(post, path = "/v1/videos", tag = "openai videos",
    request_body(content((CreateVideoJson = "application/json"), (CreateVideoForm = "multipart/form-data"))),
    responses((status = 200, body = VideoObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    headers: HeaderMap,
    OpenAiBody(fields): OpenAiBody,
) -> HttpResult<Response> {
    let (task, replayed) = state.gateway.openai_create(&caller, &fields, idempotency_key(&headers)?).await?;
    Ok(video_response(&task, replayed))
}

/// Remix a video: a new video (billed as one) with the original's parameters and a new prompt.
#[utoipa::path(post, path = "/v1/videos/{video_id}/remix", tag = "openai videos", params(("video_id" = String, Path)),
    request_body(content((RemixBody = "application/json"), (RemixBody = "multipart/form-data"))),
    responses((status = 200, body = VideoObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn remix(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(video_id): Path<String>,
    headers: HeaderMap,
    OpenAiBody(fields): OpenAiBody,
) -> HttpResult<Response> {
    let (task, replayed) = state.gateway.openai_remix(&caller, &video_id, &fields, idempotency_key(&headers)?).await?;
    Ok(video_response(&task, replayed))
}
