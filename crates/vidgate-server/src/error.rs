//! Errors as HTTP responses: `{"error": {"message", "type", "code", "param"}}` with the
//! status of the code (docs/api.md §10). 402 and 409 answers say `x-should-retry: false` (the
//! `openai` SDK retries 409 otherwise); 429 answers carry `Retry-After`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vidgate_domain::ErrorCode;
use vidgate_engine::gateway::ApiError;

/// The error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The error object.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    pub param: Option<String>,
}

/// The response type of handlers that can fail.
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl From<vidgate_domain::RequestError> for HttpError {
    fn from(e: vidgate_domain::RequestError) -> Self {
        HttpError(e.into())
    }
}

impl HttpError {
    /// An error without a field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError(ApiError::new(code, message))
    }

    /// An error about one field or header.
    pub fn param(code: ErrorCode, param: &str, message: impl Into<String>) -> Self {
        HttpError(vidgate_domain::RequestError::param(code, param, message).into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let ApiError { error, retry_after_secs } = self.0;
        let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Refusals leave no trace but this line (with the request id from the span).
        tracing::info!(
            status = status.as_u16(),
            code = error.code.as_str(),
            param = error.param.as_deref(),
            "request refused"
        );
        let body = ErrorBody {
            error: ErrorDetail {
                message: error.message,
                kind: error.code.error_type().to_owned(),
                code: error.code.as_str().to_owned(),
                param: error.param,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if matches!(status.as_u16(), 402 | 409) {
            headers.insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if let Some(secs) = retry_after_secs {
            headers.insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

/// Handler result.
pub type HttpResult<T> = Result<T, HttpError>;
