//! The error bodies of the four protocols, and [`Refusal`], a rejected request on its way to one.
//!
//! Owns the documented envelopes: Google `{"error": {"code", "message", "status"}}`
//! (docs/upstreams.md §1.7, §2.3), OAuth 2 `{"error", "error_description"}` (RFC 6749 §5.2, for the
//! token endpoint, which docs/upstreams.md does not detail), OpenAI `{"error": {"message", "type",
//! "param", "code"}}` (§3.4), vidgate's same-looking envelope (docs/api.md §10) and DashScope's flat
//! `{"request_id", "code", "message"}` (§9.4) and Kling's numeric `{"code", "message", "request_id"}` (§10.4). It must not
//! decide what is refused.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::journal::RejectionKind;

/// Which envelope a fake answers errors in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Google,
    OAuth,
    OpenAi,
    Vidgate,
    /// DashScope's flat `{"request_id", "code", "message"}` (docs/upstreams.md §9.4).
    DashScope,
    /// MiniMax v2's `{"error": {"type", "message": "… (<code>)"}}` (docs/upstreams.md §11.4).
    Minimax,
    /// Kling's `{"code": <number>, "message", "request_id"}` (docs/upstreams.md §10.4); the
    /// refusal's `code` is the number as text.
    Kling,
    /// ComfyUI's `{"error": {type, message, details, extra_info}, "node_errors": {}}`
    /// (docs/upstreams.md §15.3); the refusal's `code` is the type.
    Comfyui,
    /// fal's `{"detail": "..."}`, or for a refused field `{"detail": [{"loc": ["body",
    /// <param>], "msg", "type": <code>}]}` (docs/upstreams.md §12.4).
    Fal,
    /// Runway's `{"error": "<text>"}` (docs/upstreams.md §13.4).
    Runway,
    /// Luma's `{"detail": "<text>"}` (docs/upstreams.md §14.4; the Dream Machine shape, used
    /// for the Agents API too, whose error body is UNCONFIRMED).
    Luma,
}

/// A request the fake refuses: what to answer and how to record it.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) kind: RejectionKind,
    pub(crate) reason: String,
    /// OpenAI / vidgate `code`, OAuth `error`.
    pub(crate) code: Option<&'static str>,
    /// OpenAI / vidgate `param`.
    pub(crate) param: Option<String>,
}

impl Refusal {
    /// A protocol violation answered with `status`.
    pub(crate) fn protocol(status: StatusCode, reason: impl Into<String>) -> Self {
        Self { status, kind: RejectionKind::Protocol, reason: reason.into(), code: None, param: None }
    }

    /// A protocol violation answered with 400.
    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, reason)
    }

    /// Refused credentials.
    pub(crate) fn auth(status: StatusCode, reason: impl Into<String>) -> Self {
        Self { kind: RejectionKind::Auth, ..Self::protocol(status, reason) }
    }

    /// 404 for something well named that does not exist.
    pub(crate) fn not_found(reason: impl Into<String>) -> Self {
        Self { kind: RejectionKind::NotFound, ..Self::protocol(StatusCode::NOT_FOUND, reason) }
    }

    /// A signed result URL past its lifetime: the CDN's 403 with `reason`.
    pub(crate) fn expired(reason: impl Into<String>) -> Self {
        Self { status: StatusCode::FORBIDDEN, ..Self::not_found(reason) }
    }

    /// Refuses a presigned URL whose `signature` (`"<epoch>-…"`) was not made in the fake's
    /// current signing `epoch` ([`Refusal::expired`] with `reason`).
    pub(crate) fn unless_current(signature: &str, epoch: u64, reason: &str) -> Result<(), Self> {
        let signed_in = signature.split('-').next().and_then(|e| e.parse::<u64>().ok());
        if signed_in == Some(epoch) { Ok(()) } else { Err(Self::expired(reason)) }
    }

    pub(crate) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub(crate) fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The body in `shape`.
    pub(crate) fn into_response(self, shape: Shape) -> Response {
        let body = match shape {
            Shape::Google => google_body(self.status, &self.reason),
            Shape::OAuth => json!({"error": self.code.unwrap_or("invalid_request"), "error_description": self.reason}),
            Shape::OpenAi | Shape::Vidgate => json!({"error": {
                "message": self.reason,
                "type": error_type(shape, self.status),
                "param": self.param,
                "code": self.code,
            }}),
            Shape::DashScope => json!({
                "request_id": crate::google::new_id(),
                "code": self.code.unwrap_or("InvalidParameter"),
                "message": self.reason,
            }),
            Shape::Minimax => json!({"error": {
                "type": minimax_type(self.status),
                "message": format!("{} ({})", self.reason, self.code.unwrap_or("2013")),
            }}),
            Shape::Kling => json!({
                "code": self.code.and_then(|c| c.parse::<u32>().ok()).unwrap_or(1200),
                "message": self.reason,
                "request_id": crate::google::new_id(),
            }),
            Shape::Comfyui => json!({
                "error": {"type": self.code.unwrap_or("error"), "message": self.reason, "details": "", "extra_info": {}},
                "node_errors": {},
            }),
            Shape::Fal => match &self.param {
                Some(param) => json!({"detail": [{"loc": ["body", param], "msg": self.reason,
                    "type": self.code.unwrap_or("value_error")}]}),
                None => json!({"detail": self.reason}),
            },
            Shape::Runway => json!({"error": self.reason}),
            Shape::Luma => json!({"detail": self.reason}),
        };
        let mut response = (self.status, Json(body)).into_response();
        if shape == Shape::Vidgate && matches!(self.status.as_u16(), 402 | 409) {
            // docs/api.md §7: the `openai` SDK retries 409, so these say not to.
            response.headers_mut().insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}

/// `{"error": {"code", "message", "status"}}` with the google.rpc status name for `status`.
pub(crate) fn google_body(status: StatusCode, message: &str) -> Value {
    json!({"error": {"code": status.as_u16(), "message": message, "status": google_status(status)}})
}

/// The google.rpc.Code name Google's HTTP mapping gives `status`.
pub(crate) fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

/// The v2 error `type` of an HTTP status (docs/upstreams.md §11.4).
fn minimax_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 | 403 => "authorized_error",
        402 => "insufficient_balance_error",
        422 => "unprocessable_entity_error",
        429 => "rate_limit_error",
        500.. => "server_error",
        _ => "bad_request_error",
    }
}

fn error_type(shape: Shape, status: StatusCode) -> &'static str {
    match (shape, status.as_u16()) {
        (Shape::Vidgate, 401) => "authentication_error",
        (Shape::Vidgate, 402) => "billing_error",
        (Shape::Vidgate, 403) => "permission_error",
        (Shape::Vidgate, 404 | 410) => "not_found_error",
        (_, 429) => "rate_limit_error",
        (_, 500..) => "server_error",
        _ => "invalid_request_error",
    }
}

/// A fault's answer: `status` in `shape`, nothing processed.
pub(crate) fn fault_status(shape: Shape, status: StatusCode) -> Response {
    let (message, code) = match status.as_u16() {
        429 => ("Resource has been exhausted (injected fault).", "rate_limit_exceeded"),
        503 => ("The service is currently unavailable (injected fault).", "model_unavailable"),
        _ => ("Internal error (injected fault).", "internal_error"),
    };
    let code = match shape {
        Shape::OAuth if status.is_server_error() || status.as_u16() == 429 => "temporarily_unavailable",
        Shape::OAuth => "invalid_grant",
        Shape::DashScope => match status.as_u16() {
            429 => "Throttling.RateQuota",
            503 => "ModelUnavailable",
            _ => "InternalError",
        },
        Shape::Minimax => match status.as_u16() {
            429 => "1002",
            _ => "1000",
        },
        // Digest §4: 1302 rate, 5001 unavailable, 5002 timeout, 5000 server error.
        Shape::Kling => match status.as_u16() {
            429 => "1302",
            503 => "5001",
            504 => "5002",
            _ => "5000",
        },
        // Digest §4: infrastructure errors name an `error_type` (rendered as `detail` here).
        Shape::Fal => match status.as_u16() {
            503 => "runner_scheduling_failure",
            504 => "request_timeout",
            _ => "internal_error",
        },
        _ => code,
    };
    let refusal = Refusal::protocol(status, message).code(code);
    refusal.into_response(shape)
}

/// A fault's 429 with `Retry-After`.
pub(crate) fn rate_limited(shape: Shape, retry_after_secs: u64) -> Response {
    let mut response = fault_status(shape, StatusCode::TOO_MANY_REQUESTS);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}
