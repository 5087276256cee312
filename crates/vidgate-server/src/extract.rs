//! What handlers take from a request: the caller (API key, checked against the key's IP
//! allow-list), the admin token, a JSON body (size limit, content type, valid JSON object),
//! the `Idempotency-Key` header, and the request id every response carries.
//!
//! Every refusal here is in the contract's error shape, never axum's plain text: handlers
//! take [`Path`] and [`Query`] from this module, not from `axum::extract`, and bodies are
//! read by [`body`].

pub mod body;
mod path;
mod query;

pub use path::Path;
pub use query::{Query, check_pairs, named_refusal};

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use vidgate_domain::ErrorCode;
use vidgate_engine::clock::now_ms;
use vidgate_engine::gateway::Caller;

use crate::AppState;
use crate::error::HttpError;

/// The API key of a request: `x-api-key` wins over `Authorization: Bearer`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get("x-api-key") {
        return v.to_str().ok().map(str::trim);
    }
    let auth = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The client's address: the peer, or the `X-Forwarded-For` entry added by a trusted proxy.
pub fn client_ip(parts: &Parts, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    // The last entry is the one our trusted proxy added; skip further trusted hops.
    let hops: Vec<IpAddr> =
        forwarded.map(|f| f.split(',').filter_map(|h| h.trim().parse().ok()).collect()).unwrap_or_default();
    hops.into_iter().rev().find(|ip| !trusted.contains(ip)).or(Some(peer))
}

/// An authenticated API caller.
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let gw = &state.gateway;
        let caller = gw.authenticate(presented_key(&parts.headers), now_ms()).await?;
        if !caller.key.limits.ip_allow.is_empty() {
            let ip = client_ip(parts, &gw.config.server.trusted_proxies);
            if !ip.is_some_and(|ip| vidgate_engine::ipnet::allowed(&caller.key.limits.ip_allow, ip)) {
                return Err(HttpError::new(ErrorCode::PermissionDenied, "this key may not be used from this address"));
            }
        }
        if let Some(slot) = parts.extensions.get::<crate::limits::CallerSlot>() {
            slot.fill(&caller);
        }
        Ok(ApiCaller(caller))
    }
}

/// Without any key presented, `None` (for endpoints that also take a signed link);
/// otherwise checked exactly as [`ApiCaller`].
impl OptionalFromRequestParts<AppState> for ApiCaller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, HttpError> {
        if presented_key(&parts.headers).is_none() {
            return Ok(None);
        }
        <ApiCaller as FromRequestParts<AppState>>::from_request_parts(parts, state).await.map(Some)
    }
}

/// The admin token was presented.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|a| {
            let (scheme, token) = a.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        if state.gateway.is_admin(token) {
            Ok(Admin)
        } else {
            Err(HttpError::new(ErrorCode::InvalidApiKey, "missing or invalid admin token"))
        }
    }
}

/// A JSON object body, within the configured size limit, read strictly ([`body`]).
pub struct JsonObject(pub serde_json::Value);

impl FromRequest<AppState> for JsonObject {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        check_json_content_type(req.headers())?;
        let bytes = read_body(req, state.gateway.config.server.body_limit_bytes).await?;
        Ok(JsonObject(body::parse_json_object(&bytes)?))
    }
}

/// A JSON object body that may also be empty (read as `{}`), for endpoints whose body is
/// optional; otherwise exactly as [`JsonObject`].
pub struct OptionalJsonObject(pub serde_json::Value);

impl FromRequest<AppState> for OptionalJsonObject {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        check_json_content_type(req.headers())?;
        let bytes = read_body(req, state.gateway.config.server.body_limit_bytes).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonObject(serde_json::json!({})));
        }
        Ok(OptionalJsonObject(body::parse_json_object(&bytes)?))
    }
}

/// Refuses a content type other than JSON with 415; no content type is read as JSON.
fn check_json_content_type(headers: &HeaderMap) -> Result<(), HttpError> {
    let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) else { return Ok(()) };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(HttpError::param(
            ErrorCode::UnsupportedMediaType,
            "content-type",
            format!("this endpoint takes application/json, not {}", vidgate_domain::request::echo(essence)),
        ));
    }
    Ok(())
}

/// Reads a whole JSON body within `limit` ([`body::read_limited`]).
pub async fn read_body(req: Request, limit: usize) -> Result<bytes::Bytes, HttpError> {
    body::read_limited(req, limit, ErrorCode::InvalidJson).await
}

/// The `Idempotency-Key` header, if any. Sent twice with different values it is ambiguous
/// and refused (400 `invalid_param`); the same value twice is that one key.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, HttpError> {
    // A value that is not visible ASCII becomes a NUL, which the key rule refuses.
    let mut values = headers.get_all("idempotency-key").iter().map(|v| v.to_str().unwrap_or("\u{0}").trim());
    let Some(first) = values.next() else { return Ok(None) };
    if values.any(|v| v != first) {
        return Err(HttpError::param(
            ErrorCode::InvalidParam,
            "Idempotency-Key",
            "the Idempotency-Key header is given more than once with different values; send one",
        ));
    }
    Ok(Some(first))
}

/// Gives every request an id (a sane incoming `x-request-id` is kept), puts it in the
/// logs' span and on the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let incoming = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).filter(|v| {
        !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b))
    });
    let id = incoming.map(str::to_owned).unwrap_or_else(|| format!("req_{}", ulid::Ulid::new()));
    let value = HeaderValue::from_str(&id).expect("request ids are header-safe");
    req.headers_mut().insert("x-request-id", value.clone());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut response = tracing::Instrument::instrument(next.run(req), span).await;
    response.headers_mut().insert("x-request-id", value);
    response
}
