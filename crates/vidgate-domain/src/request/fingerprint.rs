//! The idempotency fingerprint: a SHA-256 over the normalised typed request, so that two
//! spellings of one request (`size` vs `resolution` + `aspect_ratio`, an omitted default vs
//! the default written out) have the same fingerprint, and any real difference does not.

use sha2::{Digest, Sha256};

use super::SubmitRequest;

/// The fingerprint, hex. `image_sha256` is the hash of the source image's bytes (after a
/// URL was fetched), so the same picture sent as a URL or a data URI is the same request;
/// `guides` the role and hash of each guide image, in order (left out when empty, so
/// fingerprints of requests without them are what they always were).
pub fn fingerprint(req: &SubmitRequest, image_sha256: Option<&str>, guides: &[(&str, &str)]) -> String {
    let mut canonical = serde_json::json!({
        "model": req.model,
        "prompt": req.prompt,
        "duration_seconds": req.duration_seconds,
        "size": req.size.to_string(),
        "audio": req.audio,
        "source_image_sha256": image_sha256,
        "seed": req.seed,
        "negative_prompt": req.negative_prompt,
        "callback_url": req.callback_url.as_ref().map(|u| u.as_str()),
        "metadata": req.metadata,
    });
    if !guides.is_empty() {
        canonical["guide_images"] = serde_json::json!(guides);
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Size;

    fn req() -> SubmitRequest {
        SubmitRequest {
            model: "veo3.1".into(),
            prompt: "rain".into(),
            duration_seconds: 5,
            size: Size::new(1280, 720),
            audio: false,
            source_image: None,
            seed: None,
            negative_prompt: None,
            guides: Default::default(),
            out_task_id: Some("a".into()),
            callback_url: None,
            metadata: Default::default(),
        }
    }

    #[test]
    fn the_idempotency_key_itself_is_not_part_of_the_fingerprint() {
        let mut other = req();
        other.out_task_id = Some("b".into());
        assert_eq!(fingerprint(&req(), None, &[]), fingerprint(&other, None, &[]));
    }

    #[test]
    fn any_real_difference_changes_the_fingerprint() {
        let base = fingerprint(&req(), None, &[]);
        let mut r = req();
        r.prompt = "snow".into();
        assert_ne!(fingerprint(&r, None, &[]), base);
        let mut r = req();
        r.seed = Some(1);
        assert_ne!(fingerprint(&r, None, &[]), base);
        assert_ne!(fingerprint(&req(), Some("ab"), &[]), base);
        let last = fingerprint(&req(), Some("ab"), &[("last_frame", "cd")]);
        assert_ne!(last, fingerprint(&req(), Some("ab"), &[]));
        assert_ne!(last, fingerprint(&req(), Some("ab"), &[("asset", "cd")]));
    }
}
