//! The OpenAI Videos compatibility surface (`/v1/videos`), so that the official `openai`
//! SDKs work with their `base_url` pointed at vidgate (docs/upstreams.md §3, docs/openai-compat.md).
//! Thin handlers over the gateway's OpenAI operations; the tasks are the same tasks every
//! other surface reads.
//!
//! Layout: [`body`] reads a create or remix body (JSON or multipart/form-data); [`object`]
//! renders the OpenAI video object; [`create`] creates and remixes; [`read`] retrieves,
//! lists and deletes; [`content`] streams a video's files.

pub mod body;
pub mod content;
pub mod create;
pub mod object;
pub mod read;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::AppState;

/// The OpenAI routes. The bodies of create and remix are limited by [`body::OpenAiBody`]
/// itself (larger for multipart), so the router-wide default limit is lifted there.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/videos", post(create::create).layer(DefaultBodyLimit::disable()).get(read::list))
        .route("/v1/videos/{video_id}", get(read::retrieve).delete(read::delete))
        .route("/v1/videos/{video_id}/content", get(content::download))
        .route("/v1/videos/{video_id}/remix", post(create::remix).layer(DefaultBodyLimit::disable()))
}
