//! Signed, expiring URLs: `…{path}?exp=<unix seconds>&sig=<base64url HMAC-SHA256>` over
//! `GET\n{path}\n{exp}`. The path names the task and the file, so a signature for one file
//! opens nothing else; checking is constant-time.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Signs and checks URLs with the database's signing key.
#[derive(Clone)]
pub struct UrlSigner {
    /// The MAC with the key already absorbed: every read mints URLs, and cloning this costs
    /// less than keying a new one each time.
    keyed: HmacSha256,
}

/// Why a signed URL was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Invalid,
    Expired,
}

impl UrlSigner {
    /// A signer with this key.
    pub fn new(key: &[u8]) -> Self {
        UrlSigner { keyed: HmacSha256::new_from_slice(key).expect("HMAC takes any key length") }
    }

    fn mac(&self, path: &str, exp: i64) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(b"GET\n");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(exp.to_string().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The query string (`exp=…&sig=…`) that opens `path` until `exp`.
    pub fn query(&self, path: &str, exp: i64) -> String {
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.mac(path, exp));
        format!("exp={exp}&sig={sig}")
    }

    /// Checks a signature at time `now` (unix seconds).
    pub fn verify(&self, path: &str, exp: Option<&str>, sig: Option<&str>, now: i64) -> Result<(), SignatureError> {
        let (Some(exp), Some(sig)) = (exp, sig) else { return Err(SignatureError::Missing) };
        let exp: i64 = exp.parse().map_err(|_| SignatureError::Invalid)?;
        let given =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).map_err(|_| SignatureError::Invalid)?;
        if !bool::from(given.ct_eq(&self.mac(path, exp))) {
            return Err(SignatureError::Invalid);
        }
        if exp < now {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(q: &str) -> (String, String) {
        let mut exp = String::new();
        let mut sig = String::new();
        for kv in q.split('&') {
            let (k, v) = kv.split_once('=').unwrap();
            if k == "exp" { exp = v.into() } else { sig = v.into() }
        }
        (exp, sig)
    }

    #[test]
    fn a_signed_path_verifies_until_it_expires() {
        let s = UrlSigner::new(b"k");
        let (exp, sig) = parts(&s.query("/files/task_1/video.mp4", 100));
        assert_eq!(s.verify("/files/task_1/video.mp4", Some(&exp), Some(&sig), 100), Ok(()));
        assert_eq!(s.verify("/files/task_1/video.mp4", Some(&exp), Some(&sig), 101), Err(SignatureError::Expired));
    }

    #[test]
    fn the_signature_is_the_hmac_of_method_path_and_expiry_on_separate_lines() {
        let mut expected = HmacSha256::new_from_slice(b"k").unwrap();
        expected.update(b"GET\n/files/task_1/video.mp4\n1800000000");
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(expected.finalize().into_bytes());
        let s = UrlSigner::new(b"k");
        assert_eq!(s.query("/files/task_1/video.mp4", 1_800_000_000), format!("exp=1800000000&sig={expected}"));
        assert_eq!(
            s.query("/files/task_1/video.mp4", 1_800_000_000),
            s.query("/files/task_1/video.mp4", 1_800_000_000)
        );
    }

    #[test]
    fn a_signature_opens_only_its_own_path_and_expiry() {
        let s = UrlSigner::new(b"k");
        let (exp, sig) = parts(&s.query("/files/task_1/video.mp4", 100));
        assert_eq!(s.verify("/files/task_2/video.mp4", Some(&exp), Some(&sig), 0), Err(SignatureError::Invalid));
        assert_eq!(s.verify("/files/task_1/video.mp4", Some("200"), Some(&sig), 0), Err(SignatureError::Invalid));
        assert_eq!(
            UrlSigner::new(b"other").verify("/files/task_1/video.mp4", Some(&exp), Some(&sig), 0),
            Err(SignatureError::Invalid)
        );
        assert_eq!(s.verify("/files/task_1/video.mp4", None, Some(&sig), 0), Err(SignatureError::Missing));
    }
}
