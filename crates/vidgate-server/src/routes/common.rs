//! What the submit and read handlers of every surface share: the submit body's schema,
//! rendering a task, the answer to a submit, and reading a task with `?wait=`.

use std::time::Duration;

use axum::Json;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use vidgate_domain::ErrorCode;
use vidgate_engine::clock::now_ms;
use vidgate_engine::gateway::Caller;
use vidgate_engine::view::{TaskObject, task_object};
use vidgate_store::Task;

use crate::AppState;
use crate::error::{HttpError, HttpResult};

/// The body of a submit (docs/api.md §4). Unknown fields are refused.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// A catalog id or alias (`GET /v1/models`).
    #[schema(min_length = 1)]
    model: String,
    /// Not blank; at most the model's `max_prompt_chars`.
    #[schema(min_length = 1, pattern = r"\S")]
    prompt: String,
    /// One of the model's durations.
    #[schema(minimum = 1)]
    duration_seconds: Option<u32>,
    /// `WIDTHxHEIGHT`, one of the model's sizes.
    #[schema(pattern = "^[0-9]+x[0-9]+$")]
    size: Option<String>,
    /// `720p` or `1080p`, with `aspect_ratio`, instead of `size`.
    #[schema(pattern = "^(720p|1080p|4k)$")]
    resolution: Option<String>,
    /// `16:9` or `9:16`.
    #[schema(pattern = "^(16:9|9:16)$")]
    aspect_ratio: Option<String>,
    /// Native audio (models that have it).
    audio: Option<bool>,
    /// An `https://` URL or a `data:image/(png|jpeg|webp);base64,…` URI; alias `image_init`.
    #[schema(pattern = "^(https://|data:)")]
    source_image: Option<String>,
    /// The same as `source_image`.
    #[schema(pattern = "^(https://|data:)")]
    image_init: Option<String>,
    /// The frame the video ends on (needs `source_image`); written as `source_image` is.
    #[schema(pattern = "^(https://|data:)")]
    last_frame: Option<String>,
    /// 1 to 3 reference images.
    #[schema(min_items = 1, max_items = 3)]
    reference_images: Option<Vec<ReferenceImage>>,
    #[schema(maximum = 4294967295_u64)]
    seed: Option<u32>,
    /// At most the model's `max_prompt_chars`.
    negative_prompt: Option<String>,
    /// Idempotency key, 1–128 of `[A-Za-z0-9._:-]`.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    out_task_id: Option<String>,
    /// `https://` webhook target, at most 2048 characters.
    #[schema(max_length = 2048, pattern = "^https?://")]
    callback_url: Option<String>,
    /// ≤ 16 pairs; keys 1–64 characters, values ≤ 512 characters.
    metadata: Option<std::collections::BTreeMap<String, String>>,
    /// Accepted and ignored.
    stream: Option<bool>,
}

/// Renders a task for a response.
pub fn render(state: &AppState, task: &Task) -> TaskObject {
    task_object(task, &state.gateway.urls, now_ms())
}

/// Answers a submit: 200 with the task, and `Idempotent-Replayed: true` on a replay.
pub fn submitted(state: &AppState, task: &Task, replayed: bool) -> Response {
    let mut response = Json(render(state, task)).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Reads a task, waiting up to `wait` seconds for a change.
pub async fn read_with_wait(state: &AppState, caller: &Caller, task_id: &str, wait: Option<&str>) -> HttpResult<Task> {
    let wait = parse_wait(wait, state.gateway.config.server.max_wait_secs)?;
    let task = state.gateway.task_for(caller, task_id).await?;
    match wait {
        Some(secs) if !task.status.is_terminal() => {
            Ok(state.gateway.wait_for_change(&task.id, task.version, Duration::from_secs(secs)).await?)
        }
        _ => Ok(task),
    }
}

fn parse_wait(wait: Option<&str>, max: u64) -> HttpResult<Option<u64>> {
    let Some(text) = wait else { return Ok(None) };
    match text.parse::<u64>() {
        Ok(n) if n >= 1 && n <= max => Ok(Some(n)),
        _ => Err(HttpError::param(
            ErrorCode::InvalidParam,
            "wait",
            format!("wait must be a whole number of seconds from 1 to {max}"),
        )),
    }
}

/// A reference image: an image written as `source_image` is (an `asset`), or an object.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ReferenceImage {
    /// An `https://` URL or a `data:image/…;base64,` URI.
    Image(String),
    Typed(TypedReferenceImage),
}

/// A reference image with its type.
#[allow(dead_code)]
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypedReferenceImage {
    #[schema(pattern = "^(https://|data:)")]
    image: String,
    /// `asset` (default: a subject to keep) or `style` (a look to follow).
    #[schema(pattern = "^(asset|style)$")]
    reference_type: Option<String>,
}
