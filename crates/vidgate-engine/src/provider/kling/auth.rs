//! The bearer a Kling call carries (docs/upstreams.md §10.2): the API key as it is, or an
//! HS256 JWT `{"iss": access key, "exp": now + ttl, "nbf": now − 5}` signed with the secret
//! key. A signed token is reused until a minute before its `exp` and then signed again, so
//! a poll made hours after the submit never carries an expired one (§10.8 trap 6).
//!
//! It must not send anything; the clock is passed in.

use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use vidgate_domain::secret::Secret;
use vidgate_domain::upstream::{KlingAuth, UpstreamConfig};

/// The official sample's token lifetime, seconds.
pub const DEFAULT_TTL_SECS: u64 = 1800;
/// A token is signed again when it has less than this left, seconds.
pub const REFRESH_MARGIN_SECS: u64 = 60;
/// `nbf` is set this far in the past, for clock skew (the official sample's 5 s).
const NBF_SKEW_SECS: u64 = 5;

/// How an entry authenticates.
pub enum Auth {
    ApiKey(Secret),
    Jwt { access_key: String, secret_key: Secret, ttl_secs: u64, cached: Mutex<Option<Signed>> },
}

/// A signed token and its `exp`.
#[derive(Clone)]
pub struct Signed {
    token: Secret,
    exp: u64,
}

impl Auth {
    /// From the entry's `auth` and its credentials (`ACCESS_KEY:SECRET_KEY` for `jwt`).
    pub fn from_config(u: &UpstreamConfig, key: Secret) -> Result<Auth, String> {
        if u.auth.unwrap_or_default() == KlingAuth::ApiKey {
            return Ok(Auth::ApiKey(key));
        }
        let Some((access, secret)) = key.expose().split_once(':') else {
            return Err(format!("upstream {}: credentials must be ACCESS_KEY:SECRET_KEY for auth = \"jwt\"", u.name));
        };
        if access.trim().is_empty() || secret.trim().is_empty() {
            return Err(format!("upstream {}: the access key or the secret key is empty", u.name));
        }
        Ok(Auth::Jwt {
            access_key: access.trim().to_owned(),
            secret_key: Secret::new(secret.trim()),
            ttl_secs: u.token_ttl_secs.unwrap_or(DEFAULT_TTL_SECS),
            cached: Mutex::new(None),
        })
    }

    /// The bearer to send at `now` (Unix seconds).
    pub fn bearer(&self, now: u64) -> Secret {
        let (access_key, secret_key, ttl_secs, cached) = match self {
            Auth::ApiKey(key) => return key.clone(),
            Auth::Jwt { access_key, secret_key, ttl_secs, cached } => (access_key, secret_key, ttl_secs, cached),
        };
        let mut cached = cached.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_ref() {
            Some(s) if now + REFRESH_MARGIN_SECS < s.exp => s.token.clone(),
            _ => {
                let exp = now + ttl_secs;
                let token = Secret::new(sign(access_key, secret_key.expose(), now, exp));
                *cached = Some(Signed { token: token.clone(), exp });
                token
            }
        }
    }

    /// Forgets the signed token (the upstream called it expired or not yet valid), so the
    /// next call signs a new one.
    pub fn forget(&self) {
        if let Auth::Jwt { cached, .. } = self {
            *cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// `base64url(header).base64url(payload).base64url(HMAC-SHA256)` (RFC 7519).
pub fn sign(access_key: &str, secret_key: &str, now: u64, exp: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({"iss": access_key, "exp": exp, "nbf": now.saturating_sub(NBF_SKEW_SECS)});
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(ttl: Option<u64>) -> Auth {
        let mut value = serde_json::json!({"name": "k", "kind": "kling", "model": "kling-v2-6"});
        if let Some(ttl) = ttl {
            value["token_ttl_secs"] = ttl.into();
        }
        let u: UpstreamConfig = serde_json::from_value(value).unwrap();
        Auth::from_config(&u, Secret::new("ak-1:sk-1")).unwrap()
    }

    fn claims(token: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn a_token_carries_iss_exp_and_nbf_and_is_signed_with_the_secret_key() {
        let token = sign("ak", "sk", 1_000, 2_800);
        assert_eq!(claims(&token), serde_json::json!({"iss": "ak", "exp": 2_800, "nbf": 995}));
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"sk").unwrap();
        mac.update(input.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap(), mac.finalize().into_bytes().to_vec());
        assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    }

    #[test]
    fn a_token_is_reused_until_a_minute_before_it_expires_then_signed_again() {
        let auth = jwt(Some(300));
        let first = auth.bearer(10_000);
        assert_eq!(claims(first.expose())["exp"], 10_300);
        assert_eq!(auth.bearer(10_239).expose(), first.expose());
        let second = auth.bearer(10_240);
        assert_eq!(claims(second.expose())["exp"], 10_540);
        auth.forget();
        assert_eq!(claims(auth.bearer(10_241).expose())["exp"], 10_541);
    }

    #[test]
    fn the_api_key_form_is_sent_as_it_is_and_jwt_credentials_need_both_keys() {
        let u: UpstreamConfig = serde_json::from_value(
            serde_json::json!({"name": "k", "kind": "kling", "model": "kling-v3", "auth": "api_key"}),
        )
        .unwrap();
        assert_eq!(Auth::from_config(&u, Secret::new("key-1")).unwrap().bearer(1).expose(), "key-1");
        assert_eq!(claims(jwt(None).bearer(0).expose())["exp"], 1800);
        let u: UpstreamConfig =
            serde_json::from_value(serde_json::json!({"name": "k", "kind": "kling", "model": "kling-v3"})).unwrap();
        assert!(Auth::from_config(&u, Secret::new("no-colon")).is_err());
        assert!(Auth::from_config(&u, Secret::new("ak:")).is_err());
    }
}
