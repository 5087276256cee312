//! Path parameters whose every refusal is in the contract's error shape: axum's own
//! `Path` answers a percent-encoded segment that is not UTF-8 (`/v1/videos/tasks/%ff%fe`)
//! with a plain-text 400; this one answers 400 `invalid_param` naming the path parameter,
//! and does the same for a parameter holding a NUL (`%00`), which no id or name can hold.

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use vidgate_domain::ErrorCode;

use crate::error::HttpError;

/// The route's path parameters, as axum's `Path` reads them.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => {
                refuse_nul(parts, state).await?;
                Ok(Path(value))
            }
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(refusal(e.into_kind())),
            Err(e) => {
                // Only a route without the parameters its handler asks for gets here: a bug.
                tracing::error!(error = %e.body_text(), "a handler asked for path parameters its route lacks");
                Err(HttpError::new(ErrorCode::InternalError, "the request could not be routed"))
            }
        }
    }
}

async fn refuse_nul<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<(), HttpError> {
    let Ok(raw) = RawPathParams::from_request_parts(parts, state).await else { return Ok(()) };
    match raw.iter().find(|(_, value)| value.contains('\0')) {
        Some((key, _)) => {
            let message = format!("the path parameter {key} contains a NUL character");
            Err(HttpError::param(ErrorCode::InvalidParam, key, message))
        }
        None => Ok(()),
    }
}

fn refusal(kind: ErrorKind) -> HttpError {
    match kind {
        ErrorKind::InvalidUtf8InPathParam { key } => {
            let message = format!("the path parameter {key} is not valid UTF-8 once percent-decoded");
            HttpError::param(ErrorCode::InvalidParam, &key, message)
        }
        ErrorKind::ParseErrorAtKey { key, expected_type, .. } => {
            HttpError::param(ErrorCode::InvalidParam, &key, format!("the path parameter {key} must be {expected_type}"))
        }
        ErrorKind::DeserializeError { key, message, .. } => HttpError::param(ErrorCode::InvalidParam, &key, message),
        ErrorKind::ParseError { expected_type, .. } | ErrorKind::ParseErrorAtIndex { expected_type, .. } => {
            HttpError::new(ErrorCode::InvalidParam, format!("a path parameter must be {expected_type}"))
        }
        other => {
            // The route and its handler's type disagree (a bug), not the client.
            tracing::error!(error = %other, "path parameters could not be read");
            HttpError::new(ErrorCode::InternalError, "the request could not be routed")
        }
    }
}
