//! The test service account of the Vertex fake: an RSA key pair generated once per process,
//! its Google-format key file, and the RS256 check of the JWT assertion the token endpoint
//! receives.
//!
//! Owns what a valid assertion is (docs/upstreams.md §2.1 says only "service account (JWT assertion
//! → token endpoint)", with scope `cloud-platform`; the rest is Google's documented
//! service-account flow): header `alg: RS256` (`kid`, if sent, the key id), claims `iss` = the
//! account's email, `scope` containing cloud-platform, `aud` = the token URI, integer `iat` and
//! `exp` with `iat < exp <= iat + 3600`, `iat` not ahead of now by more than 60 s, `exp` not
//! past, and a signature made by the account's private key. It must not issue tokens.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use serde_json::{Value, json};

/// The OAuth scope Vertex AI needs (docs/upstreams.md §2.1).
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Keygen takes about half a second unoptimised; every fake in a process shares one key.
fn key() -> &'static rsa::PrivateKey {
    static KEY: OnceLock<rsa::PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::PrivateKey::new(&mut rand::rng(), 2048).expect("RSA key generation"))
}

/// A service account whose key file an adapter can be configured with.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    /// `client_email`, the `iss` of its assertions.
    pub client_email: String,
    /// `private_key_id`, the `kid` its assertions may carry.
    pub private_key_id: String,
    /// `project_id`, the only project the fake serves.
    pub project_id: String,
    /// `token_uri`, the fake's token endpoint and the `aud` of assertions.
    pub token_uri: String,
}

impl ServiceAccount {
    /// The private key as PKCS#8 PEM, as in Google's key files.
    pub fn private_key_pem(&self) -> String {
        key().to_pkcs8_pem(LineEnding::LF).expect("PEM encoding").to_string()
    }

    /// The key file, in the JSON format Google issues service-account keys in.
    pub fn key_file_json(&self) -> String {
        json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem(),
            "client_email": self.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "http://127.0.0.1/unused-auth-uri",
            "token_uri": self.token_uri,
        })
        .to_string()
    }

    /// A valid assertion issued at `iat` (unix seconds) for an hour, signed with the account's
    /// key: for tests that reach the fake without an adapter.
    pub fn assertion(&self, iat: u64) -> String {
        let claims = json!({
            "iss": self.client_email,
            "scope": CLOUD_PLATFORM_SCOPE,
            "aud": self.token_uri,
            "iat": iat,
            "exp": iat + 3600,
        });
        self.sign(&json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id}), &claims)
    }

    /// Signs any header and claims with the account's key (to build deliberately bad assertions).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = SigningKey::<Sha256>::new(key().clone()).sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// Checks an assertion; the error says which rule it broke.
    pub(crate) fn check(&self, jwt: &str) -> Result<(), String> {
        let parts: Vec<&str> = jwt.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err("the assertion is not a JWS compact serialisation (three dot-separated parts)".into());
        };
        self.check_header(&decode_json(header, "header")?)?;
        self.check_claims(&decode_json(claims, "claims")?, unix_now())?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| "the signature is not base64url".to_owned())?;
        let signature = Signature::try_from(signature.as_slice()).map_err(|e| format!("bad signature: {e}"))?;
        VerifyingKey::<Sha256>::new(key().to_public_key())
            .verify(format!("{header}.{claims}").as_bytes(), &signature)
            .map_err(|_| "the RS256 signature does not verify with the service account's public key".into())
    }

    fn check_header(&self, header: &Value) -> Result<(), String> {
        if header["alg"] != "RS256" {
            return Err(format!("header alg must be RS256, got {}", header["alg"]));
        }
        match &header["kid"] {
            Value::Null => Ok(()),
            kid if *kid == self.private_key_id.as_str() => Ok(()),
            kid => Err(format!("header kid {kid} is not the key's private_key_id")),
        }
    }

    fn check_claims(&self, claims: &Value, now: u64) -> Result<(), String> {
        if claims["iss"] != self.client_email.as_str() {
            return Err(format!("iss must be the client_email, got {}", claims["iss"]));
        }
        let scope = claims["scope"].as_str().ok_or("the scope claim is missing")?;
        if !scope.split(' ').any(|s| s == CLOUD_PLATFORM_SCOPE) {
            return Err(format!("scope must include {CLOUD_PLATFORM_SCOPE}, got {scope:?}"));
        }
        if claims["aud"] != self.token_uri.as_str() {
            return Err(format!("aud must be the token_uri {}, got {}", self.token_uri, claims["aud"]));
        }
        let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
            return Err("iat and exp must be integer unix seconds".into());
        };
        if exp <= iat || exp - iat > 3600 {
            return Err(format!("exp - iat must be in 1..=3600 s, got {}", exp as i64 - iat as i64));
        }
        if iat > now + 60 {
            return Err(format!("iat {iat} is in the future (now {now})"));
        }
        if exp < now {
            return Err(format!("the assertion expired at {exp} (now {now})"));
        }
        Ok(())
    }
}

fn decode_json(part: &str, what: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| format!("the {what} is not base64url without padding"))?;
    serde_json::from_slice(&bytes).map_err(|_| format!("the {what} is not JSON"))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> ServiceAccount {
        ServiceAccount {
            client_email: "sa@p.iam.gserviceaccount.com".into(),
            private_key_id: "kid1".into(),
            project_id: "p".into(),
            token_uri: "http://127.0.0.1:1/token".into(),
        }
    }

    fn claims(iat: u64) -> Value {
        json!({"iss": "sa@p.iam.gserviceaccount.com", "scope": CLOUD_PLATFORM_SCOPE,
               "aud": "http://127.0.0.1:1/token", "iat": iat, "exp": iat + 3600})
    }

    #[test]
    fn a_signed_assertion_for_now_passes() {
        assert_eq!(account().check(&account().assertion(unix_now())), Ok(()));
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let jwt = account().assertion(unix_now());
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        let mut c = claims(unix_now());
        c["scope"] = json!(format!("{CLOUD_PLATFORM_SCOPE} extra"));
        parts[1] = URL_SAFE_NO_PAD.encode(c.to_string());
        let err = account().check(&parts.join(".")).unwrap_err();
        assert_eq!(err, "the RS256 signature does not verify with the service account's public key");
    }

    #[test]
    fn each_claim_rule_names_what_it_refused() {
        let now = 1_800_000_000;
        let a = account();
        let with = |k: &str, v: Value| {
            let mut c = claims(now);
            c[k] = v;
            a.check_claims(&c, now).unwrap_err()
        };
        assert!(with("iss", json!("x@y")).starts_with("iss must be"));
        assert!(with("scope", json!("https://www.googleapis.com/auth/devstorage.read_only")).starts_with("scope"));
        assert!(with("aud", json!("https://oauth2.googleapis.com/token")).starts_with("aud must be"));
        assert_eq!(with("exp", json!(now + 3601)), "exp - iat must be in 1..=3600 s, got 3601");
        assert_eq!(with("iat", json!("1800000000")), "iat and exp must be integer unix seconds");
        assert_eq!(
            a.check_claims(&claims(now + 61), now).unwrap_err(),
            "iat 1800000061 is in the future (now 1800000000)"
        );
        assert_eq!(
            a.check_claims(&claims(now - 3601), now).unwrap_err(),
            "the assertion expired at 1799999999 (now 1800000000)"
        );
    }

    #[test]
    fn a_non_rs256_header_is_refused() {
        assert_eq!(
            account().check_header(&json!({"alg": "HS256"})).unwrap_err(),
            "header alg must be RS256, got \"HS256\""
        );
        assert_eq!(account().check_header(&json!({"alg": "RS256", "kid": "kid1"})), Ok(()));
    }
}
