//! The contract's error codes (docs/api.md §10) and their HTTP status and `type`. This table is
//! the single status mapping: the HTTP edge asks a code for its status, nothing else does.

use std::fmt;

/// Every `code` a client can see in an error body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidJson,
    InvalidParam,
    UnknownParam,
    ModelNotFound,
    UnsupportedValue,
    InvalidApiKey,
    InsufficientBalance,
    QuotaExceeded,
    PermissionDenied,
    ModelNotAllowed,
    TaskNotFound,
    NotFound,
    DuplicateOutTaskId,
    TaskNotTerminal,
    FilesExpired,
    RequestTooLarge,
    UnsupportedMediaType,
    SourceImageUnreadable,
    RateLimitExceeded,
    ConcurrencyLimit,
    ModelUnavailable,
    /// The request body arrived slower than `server.body_min_bytes_per_sec` (408).
    RequestTimeout,
    /// Every connection the server may hold is in a request (503).
    ServerBusy,
    MethodNotAllowed,
    InternalError,
}

impl ErrorCode {
    /// The `code` string of the error body.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidJson => "invalid_json",
            InvalidParam => "invalid_param",
            UnknownParam => "unknown_param",
            ModelNotFound => "model_not_found",
            UnsupportedValue => "unsupported_value",
            InvalidApiKey => "invalid_api_key",
            InsufficientBalance => "insufficient_balance",
            QuotaExceeded => "quota_exceeded",
            PermissionDenied => "permission_denied",
            ModelNotAllowed => "model_not_allowed",
            TaskNotFound => "task_not_found",
            NotFound => "not_found",
            DuplicateOutTaskId => "duplicate_out_task_id",
            TaskNotTerminal => "task_not_terminal",
            FilesExpired => "files_expired",
            RequestTooLarge => "request_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            SourceImageUnreadable => "source_image_unreadable",
            RateLimitExceeded => "rate_limit_exceeded",
            ConcurrencyLimit => "concurrency_limit",
            ModelUnavailable => "model_unavailable",
            RequestTimeout => "request_timeout",
            ServerBusy => "server_busy",
            MethodNotAllowed => "method_not_allowed",
            InternalError => "internal_error",
        }
    }

    /// The HTTP status of docs/api.md §10.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidJson | InvalidParam | UnknownParam | ModelNotFound | UnsupportedValue => 400,
            InvalidApiKey => 401,
            InsufficientBalance | QuotaExceeded => 402,
            PermissionDenied | ModelNotAllowed => 403,
            TaskNotFound | NotFound => 404,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            DuplicateOutTaskId | TaskNotTerminal => 409,
            FilesExpired => 410,
            RequestTooLarge => 413,
            UnsupportedMediaType => 415,
            SourceImageUnreadable => 422,
            RateLimitExceeded | ConcurrencyLimit => 429,
            InternalError => 500,
            ModelUnavailable | ServerBusy => 503,
        }
    }

    /// The `type` string of the error body.
    pub fn error_type(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidApiKey => "authentication_error",
            InsufficientBalance | QuotaExceeded => "billing_error",
            PermissionDenied | ModelNotAllowed => "permission_error",
            TaskNotFound | NotFound | FilesExpired => "not_found_error",
            RateLimitExceeded | ConcurrencyLimit => "rate_limit_error",
            ModelUnavailable | ServerBusy | InternalError => "server_error",
            _ => "invalid_request_error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal of a client's request: the code, the field as the client sent it, and a
/// message meant for the client (never an internal detail).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RequestError {
    pub code: ErrorCode,
    pub param: Option<String>,
    pub message: String,
}

impl RequestError {
    /// An error about one field.
    pub fn param(code: ErrorCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        RequestError { code, param: Some(param.into()), message: message.into() }
    }

    /// An error about the request as a whole.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RequestError { code, param: None, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_contract_statuses() {
        assert_eq!(ErrorCode::UnsupportedValue.status(), 400);
        assert_eq!(ErrorCode::QuotaExceeded.status(), 402);
        assert_eq!(ErrorCode::DuplicateOutTaskId.status(), 409);
        assert_eq!(ErrorCode::SourceImageUnreadable.status(), 422);
        assert_eq!(ErrorCode::ModelUnavailable.status(), 503);
        assert_eq!(ErrorCode::FilesExpired.error_type(), "not_found_error");
    }
}
