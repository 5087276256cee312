//! The body of `POST /v1/videos/generations` (docs/api.md §4), checked with §10's codes and
//! normalised into the fields that make up the idempotency fingerprint.
//!
//! Owns the submit rules and the fingerprint (canonical model id, prompt, duration, size,
//! audio, source image, seed, negative_prompt, callback_url, metadata; defaults written out,
//! `resolution` + `aspect_ratio` folded into `size`). A URL `source_image` is not fetched:
//! the fake fingerprints the URL itself. It must not touch state.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::catalog::Model;
use crate::errors::Refusal;

const FIELDS: &[&str] = &[
    "model",
    "prompt",
    "duration_seconds",
    "size",
    "resolution",
    "aspect_ratio",
    "audio",
    "source_image",
    "image_init",
    "seed",
    "negative_prompt",
    "out_task_id",
    "callback_url",
    "metadata",
    "stream",
];

/// A valid submit, normalised.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Submit {
    pub(crate) model: Model,
    pub(crate) prompt: String,
    pub(crate) duration_seconds: u32,
    pub(crate) size: String,
    pub(crate) audio: bool,
    pub(crate) seed: Option<u64>,
    pub(crate) out_task_id: Option<String>,
    pub(crate) metadata: Value,
    /// Hex SHA-256 of the normalised request (not of the key).
    pub(crate) fingerprint: String,
}

fn invalid(param: &str, message: impl Into<String>) -> Refusal {
    Refusal::bad(message).code("invalid_param").param(param)
}

fn unsupported(param: &str, message: impl Into<String>) -> Refusal {
    Refusal::bad(message).code("unsupported_value").param(param)
}

/// Checks `body` (with the `Idempotency-Key` header, if sent) against `models`.
pub(crate) fn parse(body: &[u8], header_key: Option<&str>, models: &[Model]) -> Result<Submit, Refusal> {
    let body: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(Refusal::bad("the body must be a JSON object").code("invalid_json")),
    };
    if let Some(key) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Refusal::bad(format!("unknown parameter: {key}")).code("unknown_param").param(key.as_str()));
    }
    let name = text(&body, "model")?.ok_or_else(|| invalid("model", "model is required"))?;
    let model = models
        .iter()
        .find(|m| m.id == name || m.aliases.iter().any(|a| *a == name))
        .ok_or_else(|| Refusal::bad(format!("no such model: {name}")).code("model_not_found").param("model"))?;
    let prompt = text(&body, "prompt")?.filter(|p| !p.trim().is_empty());
    let prompt = prompt.ok_or_else(|| invalid("prompt", "prompt is required and must not be blank"))?;
    if prompt.chars().count() > model.max_prompt_chars {
        return Err(invalid("prompt", format!("prompt is longer than {} characters", model.max_prompt_chars)));
    }
    let duration_seconds = duration(&body, model)?;
    let size = size(&body, model)?;
    let audio = flag(&body, "audio")?.unwrap_or(false);
    if audio && !model.native_audio {
        return Err(unsupported("audio", format!("{} has no native audio", model.id)));
    }
    let image = source_image(&body, model)?;
    let seed = seed(&body)?;
    let negative = text(&body, "negative_prompt")?;
    if negative.is_some_and(|n| n.chars().count() > model.max_prompt_chars) {
        return Err(invalid("negative_prompt", "negative_prompt is too long"));
    }
    let callback = callback_url(&body)?;
    let metadata = metadata(&body)?;
    flag(&body, "stream")?;
    let out_task_id = out_task_id(&body, header_key)?;
    let canonical = json!([model.id, prompt, duration_seconds, size, audio, image, seed, negative, callback, metadata]);
    let fingerprint = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
    Ok(Submit {
        model: model.clone(),
        prompt: prompt.to_owned(),
        duration_seconds,
        size,
        audio,
        seed,
        out_task_id,
        metadata,
        fingerprint,
    })
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(key, format!("{key} must be a string"))),
    }
}

fn flag(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(key, format!("{key} must be a boolean"))),
    }
}

fn duration(body: &Map<String, Value>, model: &Model) -> Result<u32, Refusal> {
    let Some(value) = body.get("duration_seconds").filter(|v| !v.is_null()) else {
        return Ok(model.default_duration);
    };
    let seconds = value.as_u64().ok_or_else(|| invalid("duration_seconds", "duration_seconds must be an integer"))?;
    match u32::try_from(seconds) {
        Ok(s) if model.durations.contains(&s) => Ok(s),
        _ => Err(unsupported("duration_seconds", format!("{} offers {:?} seconds", model.id, model.durations))),
    }
}

fn size(body: &Map<String, Value>, model: &Model) -> Result<String, Refusal> {
    let explicit = text(body, "size")?;
    let resolution = text(body, "resolution")?;
    let aspect = text(body, "aspect_ratio")?;
    let derived = match (resolution, aspect) {
        (None, None) => None,
        (r, a) => {
            let (long, short) = match r.unwrap_or("720p") {
                "720p" => (1280, 720),
                "1080p" => (1920, 1080),
                other => return Err(invalid("resolution", format!("resolution must be 720p or 1080p, got {other}"))),
            };
            match a.unwrap_or("16:9") {
                "16:9" => Some(format!("{long}x{short}")),
                "9:16" => Some(format!("{short}x{long}")),
                other => {
                    return Err(invalid("aspect_ratio", format!("aspect_ratio must be 16:9 or 9:16, got {other}")));
                }
            }
        }
    };
    let size = match (explicit, derived) {
        (Some(s), Some(d)) if s != d => {
            return Err(invalid("size", format!("size {s} contradicts resolution/aspect_ratio ({d})")));
        }
        (Some(s), _) => s.to_owned(),
        (None, Some(d)) => d,
        (None, None) => model.sizes[0].clone(),
    };
    let well_formed = size.split_once('x').is_some_and(|(w, h)| w.parse::<u32>().is_ok() && h.parse::<u32>().is_ok());
    if !well_formed {
        return Err(invalid("size", format!("size must be WIDTHxHEIGHT, got {size}")));
    }
    if !model.sizes.contains(&size) {
        return Err(unsupported("size", format!("{} offers sizes {:?}", model.id, model.sizes)));
    }
    Ok(size)
}

/// What the fingerprint holds for the source image: the SHA-256 of data: bytes, or the URL.
fn source_image(body: &Map<String, Value>, model: &Model) -> Result<Option<String>, Refusal> {
    let (param, value) = match (text(body, "source_image")?, text(body, "image_init")?) {
        (Some(_), Some(_)) => return Err(invalid("image_init", "send source_image or image_init, not both")),
        (Some(v), None) => ("source_image", v),
        (None, Some(v)) => ("image_init", v),
        (None, None) => return Ok(None),
    };
    if !model.image_to_video {
        return Err(unsupported(param, format!("{} takes no image input", model.id)));
    }
    if value.starts_with("https://") {
        return Ok(Some(value.to_owned()));
    }
    let data = ["png", "jpeg", "webp"].iter().find_map(|t| value.strip_prefix(&format!("data:image/{t};base64,")));
    let bytes = data.and_then(|d| STANDARD.decode(d).ok()).filter(|b| !b.is_empty() && b.len() <= 10 << 20);
    let bytes =
        bytes.ok_or_else(|| invalid(param, "must be an https:// URL or a data:image/(png|jpeg|webp);base64 URI"))?;
    Ok(Some(hex::encode(Sha256::digest(&bytes))))
}

fn seed(body: &Map<String, Value>) -> Result<Option<u64>, Refusal> {
    match body.get("seed") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n <= u64::from(u32::MAX) => Ok(Some(n)),
            _ => Err(invalid("seed", "seed must be an integer in 0..=4294967295")),
        },
    }
}

fn callback_url(body: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    match text(body, "callback_url")? {
        Some(url) if !url.starts_with("https://") => {
            Err(invalid("callback_url", "callback_url must be an https:// URL"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

fn metadata(body: &Map<String, Value>) -> Result<Value, Refusal> {
    let Some(value) = body.get("metadata").filter(|v| !v.is_null()) else { return Ok(json!({})) };
    let map = value.as_object().ok_or_else(|| invalid("metadata", "metadata must be an object"))?;
    let ok = map.len() <= 16
        && map.iter().all(|(k, v)| k.chars().count() <= 64 && v.as_str().is_some_and(|s| s.chars().count() <= 512));
    if !ok {
        return Err(invalid("metadata", "metadata: at most 16 pairs, keys ≤ 64 chars, string values ≤ 512 chars"));
    }
    Ok(value.clone())
}

fn out_task_id(body: &Map<String, Value>, header: Option<&str>) -> Result<Option<String>, Refusal> {
    let field = text(body, "out_task_id")?;
    let key = match (field, header) {
        (Some(f), Some(h)) if f != h => {
            return Err(invalid("Idempotency-Key", "Idempotency-Key and out_task_id differ"));
        }
        (f, h) => f.or(h),
    };
    let valid =
        |k: &str| (1..=128).contains(&k.len()) && k.chars().all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c));
    match key {
        Some(k) if !valid(k) => Err(invalid("out_task_id", "out_task_id must be 1-128 chars of [A-Za-z0-9._:-]")),
        other => Ok(other.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vidgate::catalog::default_models;

    fn parse_json(body: Value) -> Result<Submit, Refusal> {
        parse(body.to_string().as_bytes(), None, &default_models())
    }

    #[test]
    fn defaults_and_aliases_normalise_to_the_same_fingerprint() {
        let a = parse_json(json!({"model": "veo-3.1", "prompt": "p"})).unwrap();
        let b = parse_json(json!({"model": "veo3.1", "prompt": "p", "duration_seconds": 5,
                                   "resolution": "720p", "aspect_ratio": "16:9", "audio": false}))
        .unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!((a.duration_seconds, a.size.as_str(), a.audio), (5, "1280x720", false));
    }

    #[test]
    fn unknown_fields_and_unoffered_values_get_their_codes() {
        let code = |body: Value| parse_json(body).unwrap_err().code;
        assert_eq!(code(json!({"model": "veo3.1", "prompt": "p", "seconds": 5})), Some("unknown_param"));
        assert_eq!(code(json!({"model": "veo9", "prompt": "p"})), Some("model_not_found"));
        assert_eq!(code(json!({"model": "veo3.1", "prompt": "p", "duration_seconds": 6})), Some("unsupported_value"));
        assert_eq!(code(json!({"model": "veo3.1-fast", "prompt": "p", "audio": true})), Some("unsupported_value"));
        assert_eq!(code(json!({"model": "veo3.1", "prompt": "  "})), Some("invalid_param"));
        assert_eq!(
            code(json!({"model": "veo3.1", "prompt": "p", "size": "1280x720", "resolution": "1080p"})),
            Some("invalid_param")
        );
    }

    #[test]
    fn the_header_key_and_the_field_must_agree() {
        let body = json!({"model": "veo3.1", "prompt": "p", "out_task_id": "a"}).to_string();
        assert_eq!(parse(body.as_bytes(), Some("a"), &default_models()).unwrap().out_task_id.as_deref(), Some("a"));
        assert_eq!(
            parse(body.as_bytes(), Some("b"), &default_models()).unwrap_err().param.as_deref(),
            Some("Idempotency-Key")
        );
    }
}
