//! Vertex AI credentials: a service-account JSON key turned into an RS256-signed JWT
//! assertion and exchanged for an OAuth access token (scope `cloud-platform`), cached and
//! refreshed a few minutes before it expires, one refresh at a time however many tasks
//! ask at once (docs/upstreams.md §2.1). Tokens last about an hour, so long polls and
//! downloads simply ask again and get a fresh one when it is due.
//!
//! RSA signing is ring's (already in the build for TLS, constant-time). Must not: print
//! the key or a token (they live in `Secret`s), or send the assertion anywhere but the
//! token endpoint.

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use tokio::sync::Mutex;
use vidgate_domain::secret::Secret;
use vidgate_store::Millis;

use crate::provider::ProviderError;

/// The OAuth scope Vertex AI (and Cloud Storage reads) need.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Google's token endpoint, when the key names none.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// A token is refreshed when it has less than this left, ms.
pub const REFRESH_MARGIN_MS: Millis = 5 * 60 * 1000;
/// Lifetime asked for in the assertion, seconds (Google's maximum).
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// The fields of a service-account key file that matter here.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: Secret,
    #[serde(default)]
    pub private_key_id: String,
    #[serde(default)]
    pub token_uri: String,
    #[serde(default)]
    pub project_id: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey").field("client_email", &self.client_email).finish_non_exhaustive()
    }
}

/// Signs assertions for one service account.
pub struct Signer {
    key: ServiceAccountKey,
    pair: RsaKeyPair,
}

/// Why a key could not be used (start-up errors; never contain the key).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the service-account key is not JSON with client_email and private_key: {0}")]
    Json(String),
    #[error("the service-account private_key is not a PEM RSA key")]
    Pem,
}

impl Signer {
    /// A signer from the key file's JSON text.
    pub fn from_json(text: &str) -> Result<Signer, KeyError> {
        let key: ServiceAccountKey = serde_json::from_str(text).map_err(|e| KeyError::Json(e.to_string()))?;
        let der = pem_body(key.private_key.expose()).ok_or(KeyError::Pem)?;
        let pair = RsaKeyPair::from_pkcs8(&der).or_else(|_| RsaKeyPair::from_der(&der)).map_err(|_| KeyError::Pem)?;
        Ok(Signer { key, pair })
    }

    /// The key's fields.
    pub fn key(&self) -> &ServiceAccountKey {
        &self.key
    }

    /// The JWT assertion for `audience` (the token URL) issued at `now_secs`.
    pub fn assertion(&self, audience: &str, now_secs: i64) -> Result<String, ProviderError> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.key.private_key_id});
        let claims = serde_json::json!({
            "iss": self.key.client_email,
            "scope": SCOPE,
            "aud": audience,
            "iat": now_secs,
            "exp": now_secs + ASSERTION_LIFETIME_SECS,
        });
        let encode = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signing_input = format!("{}.{}", encode(&header), encode(&claims));
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| ProviderError::Refused("signing the service-account assertion failed".into()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    #[cfg(test)]
    fn public_key_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair as _;
        self.pair.public_key().as_ref().to_vec()
    }
}

fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// An access token and when it expires.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub value: Secret,
    pub expires_at: Millis,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    #[serde(default = "default_expires_in")]
    pub expires_in: i64,
}

fn default_expires_in() -> i64 {
    3600
}

/// One cached token; refreshes are single-flight (the lock is held while refreshing, and
/// whoever waited finds the fresh token).
#[derive(Default)]
pub struct TokenCache {
    slot: Mutex<Option<AccessToken>>,
}

impl TokenCache {
    /// The cached token while it has more than [`REFRESH_MARGIN_MS`] left at `now`,
    /// otherwise a new one from `refresh`.
    pub async fn get<F, Fut>(&self, now: Millis, refresh: F) -> Result<AccessToken, ProviderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, ProviderError>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.expires_at - REFRESH_MARGIN_MS > now) {
            return Ok(t.clone());
        }
        let fresh = refresh().await?;
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets the token (the upstream answered 401 with it).
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    pub(crate) fn test_key_json() -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": "proj-1",
            "private_key_id": "kid-1",
            "private_key": include_str!("../../../testdata/test-service-account.pem"),
            "client_email": "vg@proj-1.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string()
    }

    fn segment(jwt: &str, i: usize) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn the_assertion_carries_the_documented_claims_and_a_valid_rs256_signature() {
        let signer = Signer::from_json(&test_key_json()).unwrap();
        let jwt = signer.assertion("https://oauth2.googleapis.com/token", 1_700_000_000).unwrap();
        assert_eq!(segment(&jwt, 0), serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"}));
        assert_eq!(
            segment(&jwt, 1),
            serde_json::json!({
                "iss": "vg@proj-1.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_700_000_000,
                "exp": 1_700_003_600,
            })
        );
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signer.public_key_der(),
        );
        key.verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap()).expect("signature verifies");
    }

    #[test]
    fn a_bad_key_says_so_without_printing_it() {
        let err = Signer::from_json(
            r#"{"client_email":"a","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#,
        )
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "the service-account private_key is not a PEM RSA key");
        assert!(format!("{:?}", Signer::from_json(&test_key_json()).unwrap().key()).contains("client_email"));
        assert!(!format!("{:?}", Signer::from_json(&test_key_json()).unwrap().key()).contains("PRIVATE"));
    }

    #[tokio::test]
    async fn the_token_is_cached_until_five_minutes_before_it_expires_and_refreshed_once() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicU32::new(0));
        let refresh = |calls: Arc<AtomicU32>, expires_at: Millis| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(AccessToken { value: Secret::new(format!("t{}", calls.load(Ordering::SeqCst))), expires_at })
        };
        let mut waiters = Vec::new();
        for _ in 0..20 {
            let (cache, calls) = (cache.clone(), calls.clone());
            waiters.push(tokio::spawn(async move {
                cache.get(0, || refresh(calls, 3_600_000)).await.unwrap().value.expose().to_owned()
            }));
        }
        for w in waiters {
            assert_eq!(w.await.unwrap(), "t1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "single-flight");
        let still = cache.get(3_600_000 - REFRESH_MARGIN_MS - 1, || refresh(calls.clone(), 0)).await.unwrap();
        assert_eq!(still.value.expose(), "t1");
        let fresh = cache.get(3_600_000 - REFRESH_MARGIN_MS, || refresh(calls.clone(), 7_200_000)).await.unwrap();
        assert_eq!(fresh.value.expose(), "t2");
        cache.invalidate().await;
        let again = cache.get(0, || refresh(calls.clone(), 7_200_000)).await.unwrap();
        assert_eq!(again.value.expose(), "t3");
    }
}
