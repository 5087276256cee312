//! Checking the bearer of a Kling call (digest §2): the API key as it is, or an HS256 JWT
//! whose header is `{"alg":"HS256","typ":"JWT"}`, whose `iss` is the access key, signed
//! with the secret key, with `nbf` ≤ now < `exp`. Codes: 1001 empty, 1002 invalid, 1003
//! not yet valid, 1004 expired, all 401 (digest §4).
//!
//! It must not touch state; the clock is passed in.

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::KlingConfig;
use crate::errors::Refusal;

fn refused(code: &'static str, why: &str) -> Refusal {
    Refusal::auth(StatusCode::UNAUTHORIZED, why).code(code)
}

/// The accepted bearer, or the refusal with its code.
pub(crate) fn check(config: &KlingConfig, headers: &HeaderMap, now: u64) -> Result<String, Refusal> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    let token = value.strip_prefix("Bearer ").unwrap_or("").trim();
    if token.is_empty() {
        return Err(refused("1001", "Authorization is empty"));
    }
    if token == config.api_key {
        return Ok(token.to_owned());
    }
    let claims = verify(config, token).ok_or_else(|| refused("1002", "Authorization is invalid"))?;
    let number = |key: &str| claims.get(key).and_then(Value::as_u64);
    if claims.get("iss").and_then(Value::as_str) != Some(config.access_key.as_str()) {
        return Err(refused("1002", "Authorization is invalid: iss is not the access key"));
    }
    let (Some(exp), Some(nbf)) = (number("exp"), number("nbf")) else {
        return Err(refused("1002", "Authorization is invalid: exp and nbf are required"));
    };
    if nbf > now {
        return Err(refused("1003", "Authorization is not yet valid"));
    }
    if exp <= now {
        return Err(refused("1004", "Authorization has expired"));
    }
    Ok(token.to_owned())
}

/// The claims of a token signed with the secret key, or `None`.
fn verify(config: &KlingConfig, token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return None;
    }
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(config.secret_key.as_bytes()).ok()?;
    mac.update(format!("{}.{payload}", token.split('.').next()?).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}
