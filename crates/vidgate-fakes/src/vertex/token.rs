//! `POST /token`: the OAuth 2 token endpoint for the service-account JWT bearer grant
//! (RFC 7523: a form body `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…`)
//! answering `{access_token, expires_in, token_type}`, with RFC 6749 §5.2 errors.
//!
//! Owns the grant's form checks. The assertion's rules live in `account`; token bookkeeping in
//! `state`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::state::VertexState;
use crate::core::Ctx;
use crate::errors::Refusal;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(crate) async fn token(
    State(state): State<Arc<VertexState>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match check(&state, &headers, &body) {
        Err(refusal) => state.core.refuse(&ctx, refusal),
        Ok(()) => {
            let (access_token, expires_in) = state.issue_token();
            let body = json!({"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"});
            Json(body).into_response()
        }
    }
}

fn check(state: &VertexState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Refusal::bad(format!("the token request must be a form (got content type {content_type:?})"))
            .code("invalid_request"));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    match field("grant_type") {
        Some(JWT_BEARER) => {}
        other => {
            return Err(
                Refusal::bad(format!("grant_type must be {JWT_BEARER}, got {other:?}")).code("unsupported_grant_type")
            );
        }
    }
    let assertion =
        field("assertion").ok_or_else(|| Refusal::bad("the assertion is missing").code("invalid_request"))?;
    state
        .account
        .check(assertion)
        .map_err(|why| Refusal::protocol(StatusCode::BAD_REQUEST, format!("Invalid JWT: {why}")).code("invalid_grant"))
}
