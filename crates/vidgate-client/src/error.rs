//! The client's errors: an answer in the contract's error shape, kept whole (HTTP status,
//! `code`, `param`, `message`, `type`, the `x-request-id`), or a failure to reach the
//! gateway, read its answer, or write a file.

use std::time::Duration;

/// An error answer from the gateway, as the contract shapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable code (`unsupported_value`, `task_not_found` …).
    pub code: String,
    /// The human message.
    pub message: String,
    /// The error class (`invalid_request_error` …).
    pub kind: String,
    /// The field, query parameter or header at fault, as the client sent it.
    pub param: Option<String>,
    /// The gateway's `x-request-id`, to find the request in its logs.
    pub request_id: Option<String>,
    /// `Retry-After`, when the gateway sent one.
    pub retry_after: Option<Duration>,
    /// `x-should-retry: false` was sent: the same request will be refused again.
    pub no_retry: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (HTTP {}", self.code, self.message, self.status)?;
        if let Some(p) = &self.param {
            write!(f, ", param {p}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, ", request {id}")?;
        }
        write!(f, ")")
    }
}

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway answered with an error.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The gateway could not be reached, or the connection broke.
    #[error("could not reach the gateway: {0}")]
    Transport(#[source] reqwest::Error),
    /// The answer was not what the contract says (not JSON, a missing field).
    #[error("unexpected answer from the gateway ({context}): {detail}")]
    Decode { context: String, detail: String },
    /// A credential this call needs was not given.
    #[error("{0} is required for this command (a flag or the environment variable)")]
    MissingCredential(&'static str),
    /// The event stream ended, again and again, before the task was terminal.
    #[error("the task stream of {task_id} broke {attempts} times in a row; last: {last}")]
    StreamBroken { task_id: String, attempts: u32, last: String },
    /// Writing a downloaded file failed.
    #[error("writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The base URL or a path was not a valid URL.
    #[error("invalid URL {0}")]
    Url(String),
}

impl Error {
    /// The contract's error, if the gateway sent one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether sending the same idempotent request again may succeed: a transport failure,
    /// 429, or a 5xx other than `model_unavailable` with no `x-should-retry: false`.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            Error::Api(e) => !e.no_retry && (e.status == 429 || (e.status >= 500 && e.code != "model_unavailable")),
            _ => false,
        }
    }
}

/// What a call answers.
pub type Result<T> = std::result::Result<T, Error>;
