//! Redirect targets: bytes parked under a random path (`/__fake/blobs/{id}`) that needs no
//! credentials, like the signed URL a real download redirect leads to.
//!
//! Owns the redirect response and the blob route. It must not decide when to redirect.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

use crate::core::{Core, HasCore};

/// Where parked bytes are served.
pub(crate) const BLOB_PREFIX: &str = "/__fake/blobs/";

/// Parked bytes with their content type.
#[derive(Debug, Default)]
pub(crate) struct Blobs {
    map: Mutex<HashMap<String, (Bytes, &'static str)>>,
}

impl Blobs {
    fn put(&self, bytes: Bytes, content_type: &'static str) -> String {
        let id = ulid::Ulid::new().to_string().to_lowercase();
        self.map.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), (bytes, content_type));
        id
    }

    fn get(&self, id: &str) -> Option<(Bytes, &'static str)> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }
}

/// A 200 with the bytes.
pub(crate) fn bytes_response(bytes: Bytes, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], bytes).into_response()
}

/// The bytes, directly or through a 302 to a parked copy, as the fake's redirect setting says.
pub(crate) fn deliver(core: &Core, bytes: Bytes, content_type: &'static str) -> Response {
    if !core.faults.redirect_downloads() {
        return bytes_response(bytes, content_type);
    }
    let id = core.blobs.put(bytes, content_type);
    let location = format!("{}{BLOB_PREFIX}{id}", core.base_url);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// A download's answer: the MP4 `found` (through [`deliver`]), or its refusal recorded
/// against the request.
pub(crate) fn video_or_refusal(
    core: &Core,
    ctx: &crate::core::Ctx,
    found: Result<Bytes, crate::errors::Refusal>,
) -> Response {
    match found {
        Ok(bytes) => deliver(core, bytes, "video/mp4"),
        Err(refusal) => core.refuse(ctx, refusal),
    }
}

/// `GET /__fake/blobs/{id}`, for any fake whose state holds a core.
pub(crate) fn routes<S: HasCore>() -> Router<S> {
    Router::new().route("/__fake/blobs/{id}", get(blob::<S>))
}

async fn blob<S: HasCore>(State(state): State<S>, Path(id): Path<String>) -> Response {
    match state.core().blobs.get(&id) {
        Some((bytes, content_type)) => bytes_response(bytes, content_type),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
