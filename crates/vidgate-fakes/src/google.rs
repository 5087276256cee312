//! Request checks the two Veo fakes share: JSON objects with known keys only, the image object
//! `{bytesBase64Encoded | gcsUri, mimeType}` with `inlineData` refused (docs/upstreams.md §1.2, §5.6),
//! enumerated string values, `durationSeconds`, and the frame size of a resolution and aspect
//! ratio.
//!
//! Owns the wording of Google's 400s. It must not know which of the two platforms asks; the
//! callers pass what differs (gcsUri allowed, strings accepted).

use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::errors::Refusal;

/// A JSON object, or Google's 400 for a body that is not one.
pub(crate) fn parse_object(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Refusal::bad("Invalid JSON payload received. The request body must be a JSON object.")),
        Err(e) => Err(Refusal::bad(format!("Invalid JSON payload received. {e}"))),
    }
}

/// Refuses the first key of `obj` not in `allowed`; `why` may explain a known-but-refused key.
pub(crate) fn known_keys(
    obj: &Map<String, Value>,
    allowed: &[&str],
    at: &str,
    why: impl Fn(&str) -> Option<String>,
) -> Result<(), Refusal> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(Refusal::bad(why(key).unwrap_or_else(|| {
            format!("Invalid JSON payload received. Unknown name \"{key}\" at '{at}': Cannot find field.")
        }))),
    }
}

/// `obj[key]` as an object, or a 400 naming `at`.
pub(crate) fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Refusal> {
    value.as_object().ok_or_else(|| Refusal::bad(format!("'{at}' must be a JSON object")))
}

/// `obj[key]` as one of `allowed` strings, if present.
pub(crate) fn one_of<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    allowed: &[&str],
    at: &str,
) -> Result<Option<&'a str>, Refusal> {
    let Some(value) = obj.get(key) else { return Ok(None) };
    match value.as_str() {
        Some(s) if allowed.contains(&s) => Ok(Some(s)),
        _ => Err(Refusal::bad(format!("'{at}.{key}' must be one of {allowed:?}, got {value}"))),
    }
}

/// `obj[key]` as a boolean, if present.
pub(crate) fn boolean(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<bool>, Refusal> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(Refusal::bad(format!("'{at}.{key}' must be a JSON boolean, got {v}"))),
    }
}

/// `obj[key]` as a string, if present.
pub(crate) fn string<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<Option<&'a str>, Refusal> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Refusal::bad(format!("'{at}.{key}' must be a JSON string, got {v}"))),
    }
}

/// `obj[key]` as an integer in `range`, if present.
pub(crate) fn integer(
    obj: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
    at: &str,
) -> Result<Option<u64>, Refusal> {
    let Some(value) = obj.get(key) else { return Ok(None) };
    match value.as_u64() {
        Some(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(Refusal::bad(format!("'{at}.{key}' must be a JSON integer in {range:?}, got {value}"))),
    }
}

/// How `durationSeconds` was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationForm {
    Integer,
    String,
}

/// `parameters.durationSeconds` in {4, 6, 8}: a JSON integer, or (when `strings_ok`) "4"/"6"/"8".
pub(crate) fn duration(params: &Map<String, Value>, strings_ok: bool) -> Result<Option<(u32, DurationForm)>, Refusal> {
    let Some(value) = params.get("durationSeconds") else { return Ok(None) };
    let (n, form) = match value {
        Value::Number(n) => (n.as_u64(), DurationForm::Integer),
        Value::String(s) if strings_ok => (s.parse::<u64>().ok(), DurationForm::String),
        Value::String(_) => {
            return Err(Refusal::bad(format!(
                "'parameters.durationSeconds' must be a JSON integer (docs/upstreams.md §2.2), got the string {value}"
            )));
        }
        _ => (None, DurationForm::Integer),
    };
    match n {
        Some(n @ (4 | 6 | 8)) => Ok(Some((n as u32, form))),
        _ => Err(Refusal::bad(format!("'parameters.durationSeconds' must be 4, 6 or 8, got {value}"))),
    }
}

/// Checks an image object: `{bytesBase64Encoded, mimeType}` (or `{gcsUri, mimeType}` when
/// `gcs_ok`); `inlineData` gets the API's documented refusal.
pub(crate) fn image(value: &Value, at: &str, gcs_ok: bool) -> Result<(), Refusal> {
    let obj = object(value, at)?;
    if obj.contains_key("inlineData") {
        return Err(Refusal::bad("`inlineData` isn't supported by this model."));
    }
    if !gcs_ok && obj.contains_key("gcsUri") {
        return Err(Refusal::bad(format!("'{at}.gcsUri' is not supported by the Gemini API (docs/upstreams.md §1.2)")));
    }
    let allowed: &[&str] =
        if gcs_ok { &["bytesBase64Encoded", "gcsUri", "mimeType"] } else { &["bytesBase64Encoded", "mimeType"] };
    known_keys(obj, allowed, at, |_| None)?;
    one_of(obj, "mimeType", &["image/jpeg", "image/png", "image/webp"], at)?
        .ok_or_else(|| Refusal::bad(format!("'{at}.mimeType' is required")))?;
    match (string(obj, "bytesBase64Encoded", at)?, string(obj, "gcsUri", at)?) {
        (Some(b64), None) => match STANDARD.decode(b64) {
            Ok(bytes) if !bytes.is_empty() => Ok(()),
            _ => Err(Refusal::bad(format!("'{at}.bytesBase64Encoded' is not non-empty standard base64"))),
        },
        (None, Some(uri)) if uri.starts_with("gs://") => Ok(()),
        (None, Some(uri)) => Err(Refusal::bad(format!("'{at}.gcsUri' must be a gs:// URI, got {uri:?}"))),
        _ => Err(Refusal::bad(format!("'{at}' needs exactly one of bytesBase64Encoded and gcsUri"))),
    }
}

/// Frame size of a Veo output.
/// What images an accepted instance carries besides its prompt.
pub(crate) fn job_guides(instance: &serde_json::Map<String, Value>) -> crate::journal::JobGuides {
    crate::journal::JobGuides {
        image: instance.contains_key("image"),
        last_frame: instance.contains_key("lastFrame"),
        reference_images: instance.get("referenceImages").and_then(Value::as_array).map_or(0, Vec::len),
    }
}

pub(crate) fn frame_size(resolution: &str, aspect: &str) -> (u32, u32) {
    let (long, short) = match resolution {
        "1080p" => (1920, 1080),
        "4k" => (3840, 2160),
        _ => (1280, 720),
    };
    if aspect == "9:16" { (short, long) } else { (long, short) }
}

/// A new operation or file id: lowercase letters and digits (what the SDK's `[a-z0-9]+` reads).
pub(crate) fn new_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inline_data_gets_the_documented_message() {
        let err = image(&json!({"inlineData": {"data": "AA==", "mimeType": "image/png"}}), "instances[0].image", true)
            .unwrap_err();
        assert_eq!(err.reason, "`inlineData` isn't supported by this model.");
        assert_eq!(err.status.as_u16(), 400);
    }

    #[test]
    fn an_image_needs_a_mime_type_and_exactly_one_source() {
        assert!(image(&json!({"bytesBase64Encoded": "AAAA", "mimeType": "image/png"}), "i", false).is_ok());
        assert!(image(&json!({"gcsUri": "gs://b/o.png", "mimeType": "image/png"}), "i", true).is_ok());
        assert!(image(&json!({"gcsUri": "gs://b/o.png", "mimeType": "image/png"}), "i", false).is_err());
        assert!(image(&json!({"bytesBase64Encoded": "AAAA"}), "i", true).is_err());
        assert!(image(&json!({"bytesBase64Encoded": "AAAA", "mimeType": "image/gif"}), "i", true).is_err());
        assert!(image(&json!({"bytesBase64Encoded": "%%%", "mimeType": "image/png"}), "i", true).is_err());
    }

    #[test]
    fn duration_strings_pass_only_where_allowed() {
        let p = |v: Value| json!({"durationSeconds": v}).as_object().unwrap().clone();
        assert_eq!(duration(&p(json!(6)), false).unwrap(), Some((6, DurationForm::Integer)));
        assert_eq!(duration(&p(json!("8")), true).unwrap(), Some((8, DurationForm::String)));
        assert!(duration(&p(json!("8")), false).is_err());
        assert!(duration(&p(json!(5)), true).is_err());
        assert!(duration(&p(json!(8.5)), true).is_err());
    }

    #[test]
    fn frame_sizes_follow_resolution_and_aspect() {
        assert_eq!(frame_size("720p", "16:9"), (1280, 720));
        assert_eq!(frame_size("1080p", "9:16"), (1080, 1920));
        assert_eq!(frame_size("4k", "16:9"), (3840, 2160));
    }
}
