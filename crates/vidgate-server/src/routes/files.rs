//! Signed file URLs: `GET /files/{task_id}/{name}?exp=&sig=`. No credentials: the signature
//! is the credential. Served with the file's type, `ETag` (files never change), and
//! single-range `Range` requests; 410 once retention has removed the files.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vidgate_domain::{ErrorCode, TaskId};
use vidgate_engine::files::{FILE_NAMES, MediaError};
use vidgate_engine::signer::SignatureError;
use vidgate_engine::view::UrlMinter;
use vidgate_store::Task;

use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{Path, Query};

/// The signature of a file URL.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    exp: Option<String>,
    sig: Option<String>,
}

/// Download a task's file through a signed URL (as handed out in the task object).
#[utoipa::path(get, path = "/files/{task_id}/{name}", tag = "files",
    params(("task_id" = String, Path, min_length = 1), ("name" = String, Path, pattern = "^(video\\.mp4|audio\\.m4a|thumbnail\\.png|spritesheet\\.png)$"),
        ("exp" = i64, Query, description = "expiry, unix seconds (from the signed URL)"),
        ("sig" = String, Query, description = "the URL's signature (from the signed URL)")),
    responses((status = 200, description = "the file's bytes (`video/mp4`, `audio/mp4` or `image/png`)", content_type = "application/octet-stream"),
        (status = 206, description = "the requested range"), (status = 304, description = "`If-None-Match` matched the `ETag`"),
        (status = 403, body = ErrorBody, description = "a missing, tampered or expired signature"),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "removed after the retention period"),
        (status = 416, description = "the range is outside the file")))]
pub async fn serve_file(
    State(state): State<AppState>,
    method: Method,
    Path((task_id, name)): Path<(String, String)>,
    Query(sig): Query<Signature>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let gw = &state.gateway;
    let not_found = || HttpError::new(ErrorCode::NotFound, "no such file");
    let path = UrlMinter::file_path(&task_id, &name);
    match gw.urls.signer.verify(&path, sig.exp.as_deref(), sig.sig.as_deref(), vidgate_engine::clock::now_ms() / 1000) {
        Ok(()) => {}
        Err(SignatureError::Expired) => {
            return Err(HttpError::new(
                ErrorCode::PermissionDenied,
                "this link has expired; poll the task for a fresh one",
            ));
        }
        Err(_) => return Err(HttpError::new(ErrorCode::PermissionDenied, "this link's signature is not valid")),
    }
    if !FILE_NAMES.contains(&name.as_str()) {
        return Err(not_found());
    }
    let id: TaskId = task_id.parse().map_err(|_| not_found())?;
    let task = gw.task_behind_signed_link(&id).await?.ok_or_else(not_found)?;
    send_file(&state, &task, &name, &method, &headers).await
}

/// Answers with one of `task`'s files (only [`FILE_NAMES`] are ever served): its type, `ETag`, a single
/// `Range`, or 304 for a matching `If-None-Match`; 410 once retention removed the files,
/// 404 when the file does not exist. Shared by the signed URLs and the OpenAI content route.
pub async fn send_file(
    state: &AppState,
    task: &Task,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
) -> HttpResult<Response> {
    let not_found = || HttpError::new(ErrorCode::NotFound, "no such file");
    if !FILE_NAMES.contains(&name) {
        return Err(not_found());
    }
    if task.files_expired {
        return Err(HttpError::new(
            ErrorCode::FilesExpired,
            "the files of this task were removed after the retention period",
        ));
    }
    let media = &state.gateway.engine.files;
    let size = media.size(&task.id, name).await.map_err(|e| media_error(&task.id, e))?;
    let etag = format!("\"{}-{}-{}\"", task.id, name, size);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse_range(r, size));
    let (status, start, len) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Some(None) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut()
                .insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"));
            return Ok(r);
        }
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, vidgate_engine::files::content_type(name))
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "private, max-age=3600");
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + len - 1));
    }
    if *method == Method::HEAD {
        return Ok(builder.body(Body::empty()).expect("valid response"));
    }
    let stream = media.read(&task.id, name, start, len).await.map_err(|e| media_error(&task.id, e))?;
    Ok(builder.body(Body::from_stream(stream)).expect("valid response"))
}

/// A media store failure as an answer: a missing file is 404; anything else (the backend
/// failing) is logged and answered as an internal error.
fn media_error(task: &vidgate_domain::TaskId, e: MediaError) -> HttpError {
    match e {
        MediaError::NotFound { .. } => HttpError::new(ErrorCode::NotFound, "no such file"),
        e => {
            tracing::error!(task = %task, error = %e, "reading a stored file failed");
            HttpError::new(ErrorCode::InternalError, "the file could not be read; try again later")
        }
    }
}

/// One `bytes=` range against a file of `size` bytes: `Some((first, last))` inclusive, or
/// `None` when it cannot be satisfied. Several ranges are answered with the first one.
pub fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?.split(',').next()?.trim();
    let (a, b) = spec.split_once('-')?;
    if size == 0 {
        return None;
    }
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 {
                return None;
            }
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=0-5000", 1000), Some((0, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }
}
