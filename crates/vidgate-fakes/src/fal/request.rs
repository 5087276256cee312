//! Checking a submit body against its endpoint's schema (digest §1, §3): the prompt, the
//! length in the endpoint's own type (trap 6: `"8s"`, `"5"`, `6`, a frame count), the image
//! in the endpoint's own field (trap 7) as a URL or `data:image/…` URI, the resolution and
//! aspect values, and `generate_audio` (defaults to true when omitted, trap 8: noted). A
//! refused field answers 422 `{"detail": [{"loc": ["body", field], "msg", "type"}]}`.
//!
//! Owns what a valid body is and what clip it makes. It must not hold state.

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::models::{FalEndpoint, Length};
use crate::errors::Refusal;
use crate::media::ClipSpec;

/// A valid submit.
#[derive(Debug, Clone)]
pub(crate) struct Create {
    pub(crate) prompt: String,
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

fn invalid(field: &str, msg: impl Into<String>) -> Refusal {
    Refusal::protocol(StatusCode::UNPROCESSABLE_ENTITY, msg).param(field).code("value_error")
}

/// The clip length in ms the body asks for.
fn length_ms(body: &Map<String, Value>, e: &FalEndpoint, notes: &mut Vec<String>) -> Result<u64, Refusal> {
    let f = e.length_field.as_str();
    let Some(value) = body.get(f) else {
        notes.push(format!("{f} omitted: the endpoint's default is used"));
        return Ok(match &e.length {
            Length::Frames { fps, .. } => u64::from(e.default_length) * 1000 / u64::from(*fps),
            Length::Digits { auto_seconds: Some(s), .. } if e.default_length == 0 => u64::from(*s) * 1000,
            _ => u64::from(e.default_length) * 1000,
        });
    };
    let seconds = match &e.length {
        Length::Suffixed(values) => value
            .as_str()
            .and_then(|t| t.strip_suffix('s'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| values.contains(n))
            .ok_or_else(|| invalid(f, format!("{f} must be one of {values:?} as \"<n>s\", got {value}")))?,
        Length::Digits { values, auto_seconds } => match value.as_str() {
            Some("auto") if auto_seconds.is_some() => auto_seconds.unwrap_or(5),
            Some(t) => t
                .parse::<u32>()
                .ok()
                .filter(|n| values.contains(n) && !t.starts_with('0'))
                .ok_or_else(|| invalid(f, format!("{f} must be a string of {values:?}, got {value}")))?,
            None => return Err(invalid(f, format!("{f} must be a string, got {value}"))),
        },
        Length::Integer(values) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| values.contains(n))
            .ok_or_else(|| invalid(f, format!("{f} must be an integer of {values:?}, got {value}")))?,
        Length::Frames { min, max, fps_field, fps } => {
            let frames = value
                .as_u64()
                .filter(|n| (u64::from(*min)..=u64::from(*max)).contains(n))
                .ok_or_else(|| invalid(f, format!("{f} must be an integer {min}..={max}, got {value}")))?;
            let rate = match body.get(fps_field) {
                None => u64::from(*fps),
                Some(v) => v
                    .as_u64()
                    .filter(|r| (4..=60).contains(r))
                    .ok_or_else(|| invalid(fps_field, format!("{fps_field} must be an integer 4..=60")))?,
            };
            return Ok((frames * 1000).div_ceil(rate));
        }
    };
    Ok(u64::from(seconds) * 1000)
}

/// The first frame's pixel size, from a `data:image/…;base64,` URI (a plain URL is taken
/// as 16:9).
fn image_size(field: &str, value: &Value) -> Result<(u32, u32), Refusal> {
    let text = value.as_str().ok_or_else(|| invalid(field, format!("{field} must be a string")))?;
    if text.starts_with("https://") || text.starts_with("http://") {
        return Ok((1280, 720));
    }
    let b64 = text
        .strip_prefix("data:image/")
        .and_then(|rest| rest.split_once(";base64,"))
        .map(|(_, b64)| b64)
        .ok_or_else(|| invalid(field, format!("{field} must be a URL or a data:image/...;base64, URI")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| invalid(field, format!("{field}: the data URI is not base64")))?;
    let img = image::load_from_memory(&bytes).map_err(|_| invalid(field, format!("{field}: not an image")))?;
    Ok((img.width(), img.height()))
}

/// The frame for a short side and an aspect (`16:9`, `9:16`, `1:1`, …).
fn frame(short: u32, aspect: &str) -> (u32, u32) {
    let (a, b) = aspect
        .split_once(':')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .unwrap_or((16, 9));
    let long = (short * a.max(b) / a.min(b)).div_ceil(2) * 2;
    if a >= b { (long, short) } else { (short, long) }
}

/// Checks a submit body against `e`.
pub(crate) fn from_json(body: &Map<String, Value>, e: &FalEndpoint) -> Result<Create, Refusal> {
    let mut notes = Vec::new();
    let prompt = body.get("prompt").and_then(Value::as_str).filter(|p| !p.trim().is_empty());
    let prompt = prompt.ok_or_else(|| invalid("prompt", "prompt is required"))?.to_owned();
    let ms = length_ms(body, e, &mut notes)?;
    let short = match &e.resolution_field {
        Some(f) => match body.get(f) {
            None => e.resolutions.first().map_or(720, |r| r.1),
            Some(v) => e
                .resolutions
                .iter()
                .find(|(name, _)| Some(name.as_str()) == v.as_str())
                .map(|r| r.1)
                .ok_or_else(|| invalid(f, format!("{f} must be one of {:?}, got {v}", e.resolutions)))?,
        },
        None => e.fixed_short_side,
    };
    let mut aspect = "16:9".to_owned();
    if let Some(f) = &e.aspect_field
        && let Some(v) = body.get(f)
    {
        let a = v.as_str().filter(|a| e.aspects.iter().any(|x| x == a));
        aspect = a.ok_or_else(|| invalid(f, format!("{f} must be one of {:?}, got {v}", e.aspects)))?.to_owned();
    }
    if let Some(f) = &e.image_field {
        let (w, h) = image_size(f, body.get(f).ok_or_else(|| invalid(f, format!("{f} is required")))?)?;
        if aspect == "auto" || e.aspect_field.as_ref().is_none_or(|a| !body.contains_key(a)) {
            aspect = if w >= h { "16:9".into() } else { "9:16".into() };
        }
    }
    let audio = match &e.audio_field {
        Some(f) => match body.get(f) {
            None => {
                notes.push(format!("{f} omitted: defaults to true, billed at the audio rate (trap 8)"));
                true
            }
            Some(v) => v.as_bool().ok_or_else(|| invalid(f, format!("{f} must be a boolean")))?,
        },
        None => false,
    };
    let known = |k: &str| {
        k == "prompt"
            || k == e.length_field
            || matches!(&e.length, Length::Frames { fps_field, .. } if fps_field == k)
            || [&e.image_field, &e.resolution_field, &e.aspect_field, &e.audio_field]
                .iter()
                .any(|f| f.as_deref() == Some(k))
            || e.other_fields.iter().any(|f| f == k)
    };
    for key in body.keys().filter(|k| !known(k)) {
        notes.push(format!("{key} is not in {}'s schema (ignored)", e.id));
    }
    let (width, height) = frame(short, &aspect);
    Ok(Create { prompt, clip: ClipSpec { width, height, duration_ms: ms, audio }, notes })
}
