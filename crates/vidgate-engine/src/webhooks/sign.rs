//! Standard Webhooks 1.0 signing: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes of the account's
//! `whsec_<base64>` secret. It owns the secret's decoding and the signature; it sends
//! nothing and never prints a key.

use std::fmt;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The prefix of a webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Standard base64 that accepts the secret with or without its `=` padding, as the
/// reference implementations do.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A stored secret that is not `whsec_` followed by non-empty base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the account's webhook secret is not whsec_ followed by base64")]
pub struct BadSecret;

/// The HMAC key of an account's webhook secret.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// The key of a `whsec_…` secret: the base64-decoded part after the prefix.
    pub fn from_secret(secret: &str) -> Result<SigningKey, BadSecret> {
        let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or(BadSecret)?;
        let key = LENIENT.decode(encoded).map_err(|_| BadSecret)?;
        if key.is_empty() {
            return Err(BadSecret);
        }
        Ok(SigningKey(key))
    }

    /// The `webhook-signature` value of one attempt: `v1,` + base64(HMAC-SHA256).
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks reference libraries (and their test suites).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn the_reference_example_signs_to_the_reference_signature() {
        let key = SigningKey::from_secret(SECRET).unwrap();
        let sig = key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn id_timestamp_and_body_each_change_the_signature() {
        let key = SigningKey::from_secret(SECRET).unwrap();
        let base = key.sign("msg_1", 100, b"{}");
        assert_ne!(base, key.sign("msg_2", 100, b"{}"));
        assert_ne!(base, key.sign("msg_1", 101, b"{}"));
        assert_ne!(base, key.sign("msg_1", 100, b"{ }"));
        assert_eq!(base, key.sign("msg_1", 100, b"{}"));
    }

    #[test]
    fn a_secret_without_prefix_or_base64_is_refused() {
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!", "WHSEC_MfKQ9r8G"] {
            assert_eq!(SigningKey::from_secret(bad).unwrap_err(), BadSecret, "{bad}");
        }
    }

    #[test]
    fn padding_is_optional() {
        let padded = SigningKey::from_secret("whsec_YWJjZA==").unwrap();
        let bare = SigningKey::from_secret("whsec_YWJjZA").unwrap();
        assert_eq!(padded.0, b"abcd");
        assert_eq!(bare.0, b"abcd");
    }

    #[test]
    fn a_key_never_prints() {
        assert_eq!(format!("{:?}", SigningKey::from_secret(SECRET).unwrap()), "SigningKey(***)");
    }
}
