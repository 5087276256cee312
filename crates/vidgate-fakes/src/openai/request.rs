//! The body of `POST /v1/videos`, JSON or multipart (docs/upstreams.md §3.2, §3.6), checked and
//! turned into what the fake will produce.
//!
//! Owns the create rules: `prompt` 1–32000 chars; `model` one the fake serves (default
//! `sora-2`); `seconds` a *string*, "4"/"8"/"12" per the spec (default "4") or "16"/"20" per
//! the guide (accepted and noted); `size` per model (sora-2: 720x1280 and 1280x720; sora-2-pro
//! also 1024x1792, 1792x1024, 1920x1080, 1080x1920; default 720x1280); `input_reference` a
//! jpeg/png/webp file that matches `size` (multipart), or `{image_url}` / `{file_id}` (JSON).
//! It must not touch state.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use crate::errors::Refusal;
use crate::media::ClipSpec;

const JSON_FIELDS: &[&str] = &["prompt", "model", "seconds", "size", "input_reference", "characters"];
const SPEC_SECONDS: &[&str] = &["4", "8", "12"];
const GUIDE_SECONDS: &[&str] = &["16", "20"];
const SORA_2_SIZES: &[&str] = &["720x1280", "1280x720"];
const ALL_SIZES: &[&str] = &["720x1280", "1280x720", "1024x1792", "1792x1024", "1920x1080", "1080x1920"];

/// A form field as received: text, or a file with its content type.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    Text(String),
    File { content_type: String, bytes: Vec<u8> },
}

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) prompt: String,
    pub(crate) model: String,
    pub(crate) seconds: String,
    pub(crate) size: String,
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

fn invalid(param: &str, message: impl Into<String>) -> Refusal {
    Refusal::bad(message).code("invalid_value").param(param)
}

/// A JSON body (`CreateVideoJsonBody`).
pub(crate) fn from_json(body: &Map<String, Value>, models: &[String]) -> Result<Create, Refusal> {
    if let Some(key) = body.keys().find(|k| !JSON_FIELDS.contains(&k.as_str())) {
        return Err(Refusal::bad(format!("Unrecognized request argument supplied: {key}"))
            .code("unknown_parameter")
            .param(key.as_str()));
    }
    let text = |name: &str| -> Result<Option<String>, Refusal> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Refusal::bad(format!("Invalid type for '{name}': expected a string, but got {other}."))
                .code("invalid_type")
                .param(name)),
        }
    };
    let mut create = fields(text("prompt")?, text("model")?, text("seconds")?, text("size")?, models)?;
    if let Some(reference) = body.get("input_reference") {
        json_reference(reference, &create.size, &mut create.notes)?;
    }
    if body.contains_key("characters") {
        create
            .notes
            .push("characters sent: in the guide, not in the SDK or spec types (docs/upstreams.md §3.2)".into());
    }
    Ok(create)
}

/// A multipart body (`CreateVideoMultipartBody`), as the SDK ≥ 2.27 always sends.
pub(crate) fn from_form(parts: Vec<(String, Field)>, models: &[String]) -> Result<Create, Refusal> {
    let mut text = std::collections::HashMap::new();
    let mut reference = None;
    for (name, field) in parts {
        match (name.as_str(), field) {
            ("prompt" | "model" | "seconds" | "size", Field::Text(value)) => {
                text.insert(name, value);
            }
            ("input_reference", Field::File { content_type, bytes }) => reference = Some((content_type, bytes)),
            (other, _) => {
                return Err(Refusal::bad(format!("Unrecognized or mistyped form field: {other}"))
                    .code("unknown_parameter")
                    .param(other));
            }
        }
    }
    let create =
        fields(text.remove("prompt"), text.remove("model"), text.remove("seconds"), text.remove("size"), models)?;
    if let Some((content_type, bytes)) = reference {
        image_matches(&content_type, &bytes, &create.size)?;
    }
    Ok(create)
}

fn fields(
    prompt: Option<String>,
    model: Option<String>,
    seconds: Option<String>,
    size: Option<String>,
    models: &[String],
) -> Result<Create, Refusal> {
    let prompt = prompt.unwrap_or_default();
    if prompt.is_empty() || prompt.chars().count() > 32000 {
        return Err(invalid("prompt", "'prompt' is required and must be 1 to 32000 characters"));
    }
    let model = model.unwrap_or_else(|| "sora-2".into());
    if !models.contains(&model) {
        return Err(invalid("model", format!("Invalid value for 'model': {model:?} is not served here")));
    }
    let mut notes = Vec::new();
    let seconds = seconds.unwrap_or_else(|| "4".into());
    if GUIDE_SECONDS.contains(&seconds.as_str()) {
        notes.push(format!("seconds \"{seconds}\" is in the guide but not in the spec enum (docs/upstreams.md §3.2)"));
    } else if !SPEC_SECONDS.contains(&seconds.as_str()) {
        return Err(invalid(
            "seconds",
            format!("Invalid value for 'seconds': expected one of 4, 8, 12, got {seconds:?}"),
        ));
    }
    let size = size.unwrap_or_else(|| "720x1280".into());
    let sizes = if model.starts_with("sora-2-pro") || !model.starts_with("sora-2") { ALL_SIZES } else { SORA_2_SIZES };
    if !sizes.contains(&size.as_str()) {
        return Err(invalid("size", format!("Invalid value for 'size': {model} supports {sizes:?}, got {size:?}")));
    }
    let (width, height) = parse_size(&size);
    let duration_ms = seconds.parse::<u64>().unwrap_or(4) * 1000;
    let clip = ClipSpec { width, height, duration_ms, audio: true };
    Ok(Create { prompt, model, seconds, size, clip, notes })
}

fn parse_size(size: &str) -> (u32, u32) {
    let (w, h) = size.split_once('x').unwrap_or(("720", "1280"));
    (w.parse().unwrap_or(720), h.parse().unwrap_or(1280))
}

fn json_reference(value: &Value, size: &str, notes: &mut Vec<String>) -> Result<(), Refusal> {
    let obj = value.as_object().ok_or_else(|| invalid("input_reference", "'input_reference' must be an object"))?;
    match (obj.get("image_url").and_then(Value::as_str), obj.get("file_id").and_then(Value::as_str), obj.len()) {
        (Some(url), None, 1) => match url.strip_prefix("data:") {
            Some(data) => {
                let (meta, b64) = data.split_once(',').unwrap_or(("", ""));
                let bytes =
                    STANDARD.decode(b64).map_err(|_| invalid("input_reference", "bad base64 in the data: URL"))?;
                image_matches(meta.trim_end_matches(";base64"), &bytes, size)
            }
            None if url.starts_with("https://") => {
                notes.push("input_reference.image_url is an https URL; the fake does not fetch it".into());
                Ok(())
            }
            None => Err(invalid("input_reference", "'input_reference.image_url' must be an https or data: URL")),
        },
        (None, Some(id), 1) if id.starts_with("file-") => Ok(()),
        _ => Err(invalid("input_reference", "'input_reference' needs exactly one of image_url and file_id")),
    }
}

/// The reference image must be jpeg/png/webp and exactly `size` (docs/upstreams.md §3.2).
fn image_matches(content_type: &str, bytes: &[u8], size: &str) -> Result<(), Refusal> {
    if !["image/jpeg", "image/png", "image/webp"].contains(&content_type) {
        return Err(invalid(
            "input_reference",
            format!("input_reference must be jpeg, png or webp, got {content_type:?}"),
        ));
    }
    let (w, h) = vidgate_media::decode_image_dimensions(bytes)
        .map_err(|e| invalid("input_reference", format!("input_reference is not a readable image: {e}")))?;
    if parse_size(size) != (w, h) {
        return Err(invalid("input_reference", format!("input_reference is {w}x{h}; it must match size {size}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn models() -> Vec<String> {
        vec!["sora-2".into(), "sora-2-pro".into()]
    }

    fn create(body: Value) -> Result<Create, Refusal> {
        from_json(body.as_object().unwrap(), &models())
    }

    #[test]
    fn defaults_are_sora_2_four_seconds_portrait_with_audio() {
        let c = create(json!({"prompt": "p"})).unwrap();
        assert_eq!((c.model.as_str(), c.seconds.as_str(), c.size.as_str()), ("sora-2", "4", "720x1280"));
        assert_eq!(c.clip, ClipSpec { width: 720, height: 1280, duration_ms: 4000, audio: true });
    }

    #[test]
    fn integer_seconds_are_refused_as_an_invalid_type() {
        let err = create(json!({"prompt": "p", "seconds": 8})).unwrap_err();
        assert_eq!((err.code, err.param.as_deref()), (Some("invalid_type"), Some("seconds")));
    }

    #[test]
    fn guide_only_seconds_pass_with_a_note_and_others_fail() {
        assert_eq!(create(json!({"prompt": "p", "seconds": "20"})).unwrap().notes.len(), 1);
        assert!(create(json!({"prompt": "p", "seconds": "5"})).is_err());
    }

    #[test]
    fn full_hd_needs_sora_2_pro() {
        assert!(create(json!({"prompt": "p", "size": "1920x1080"})).is_err());
        let c = create(json!({"prompt": "p", "size": "1920x1080", "model": "sora-2-pro"})).unwrap();
        assert_eq!((c.clip.width, c.clip.height), (1920, 1080));
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = create(json!({"prompt": "p", "duration": 4})).unwrap_err();
        assert_eq!(err.reason, "Unrecognized request argument supplied: duration");
    }

    #[test]
    fn a_json_reference_needs_exactly_one_source() {
        assert!(create(json!({"prompt": "p", "input_reference": {"file_id": "file-1"}})).is_ok());
        assert!(
            create(json!({"prompt": "p", "input_reference": {"file_id": "file-1", "image_url": "https://x"}})).is_err()
        );
        assert!(create(json!({"prompt": "p", "input_reference": {"image_url": "http://x"}})).is_err());
    }
}
