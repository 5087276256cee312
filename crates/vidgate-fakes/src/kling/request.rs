//! The body of the legacy creates `POST /v1/videos/text2video` and `/v1/videos/image2video`
//! (digest §3b), checked and turned into what the fake will produce.
//!
//! Owns the create rules: only the documented fields; `model_name` a legacy id (default
//! `kling-v1`); `prompt`, `negative_prompt` ≤ 2500 chars; `cfg_scale` 0–1 on v1.x only;
//! `mode` `std` (720p) or `pro` (1080p); `sound` `on`/`off` on v2.6 and later only, and on
//! 2.6 `on` only at `pro` (1080p, digest §7); `aspect_ratio` `16:9`, `9:16`, `1:1` on
//! text-to-video only (trap 12); `duration` a *string*, `"5"` or `"10"` (`"3"`…`"15"` on
//! v3) (trap 4); `image` required on image-to-video and `image_tail` only with it, each a
//! URL or raw Base64 with no `data:` prefix (trap 5), at least 300 px a side; `multi_shot`
//! a boolean (noted when a v3 create leaves its default of several shots, trap 9);
//! `external_task_id` a string. It must not touch state.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::errors::Refusal;
use crate::media::ClipSpec;

/// The legacy `model_name`s of digest §1 (Turbo's is UNCONFIRMED there).
pub(crate) const MODELS: &[&str] = &[
    "kling-v3",
    "kling-3.0-turbo",
    "kling-v2-6",
    "kling-v2-5-turbo",
    "kling-v2-1",
    "kling-v2-1-master",
    "kling-v2-master",
    "kling-v1-6",
    "kling-v1-5",
    "kling-v1",
];

const FIELDS: &[&str] = &[
    "model_name",
    "prompt",
    "negative_prompt",
    "cfg_scale",
    "mode",
    "sound",
    "aspect_ratio",
    "duration",
    "image",
    "image_tail",
    "camera_control",
    "static_mask",
    "dynamic_masks",
    "multi_shot",
    "shot_type",
    "multi_prompt",
    "callback_url",
    "external_task_id",
    "watermark_info",
];

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) model: String,
    pub(crate) image_to_video: bool,
    pub(crate) prompt: String,
    pub(crate) seconds: u32,
    pub(crate) pro: bool,
    pub(crate) audio: bool,
    pub(crate) last_frame: bool,
    pub(crate) external_task_id: Option<String>,
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

/// 400 with code 1201, an invalid parameter value (digest §4).
fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::bad(message).code("1201")
}

fn string<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Refusal> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!("{key} must be a string, got {other}"))),
    }
}

/// Checks a create body; `image_to_video` is the endpoint it came to.
pub(crate) fn from_json(body: &Map<String, Value>, image_to_video: bool) -> Result<Create, Refusal> {
    if let Some(key) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!("unknown field {key} (digest §3b)")));
    }
    let model = string(body, "model_name")?.unwrap_or("kling-v1").to_owned();
    if !MODELS.contains(&model.as_str()) {
        return Err(Refusal::not_found(format!("model_name {model} not found (digest §1, trap 14)")).code("1203"));
    }
    let v3 = model.starts_with("kling-v3") || model.starts_with("kling-3.0");
    let prompt = string(body, "prompt")?.unwrap_or("").to_owned();
    if prompt.is_empty() && !image_to_video {
        return Err(invalid("prompt is required on text-to-video"));
    }
    for key in ["prompt", "negative_prompt"] {
        if string(body, key)?.is_some_and(|p| p.chars().count() > 2500) {
            return Err(invalid(format!("{key} is longer than 2500 characters")));
        }
    }
    if let Some(cfg) = body.get("cfg_scale") {
        let ok = model.starts_with("kling-v1") && cfg.as_f64().is_some_and(|c| (0.0..=1.0).contains(&c));
        if !ok {
            return Err(invalid(format!("cfg_scale {cfg} is taken in [0, 1] by kling-v1.x only")));
        }
    }
    let pro = match string(body, "mode")?.unwrap_or("std") {
        "std" => false,
        "pro" => true,
        other => return Err(invalid(format!("mode {other:?} is not std or pro"))),
    };
    let audio = sound(&model, body, pro)?;
    let seconds = duration(body, v3)?;
    let mut notes = Vec::new();
    let portrait = frame(body, image_to_video)?;
    let last_frame = images(body, image_to_video)?;
    match body.get("multi_shot") {
        Some(v) if !v.is_boolean() => return Err(invalid(format!("multi_shot must be a boolean, got {v}"))),
        None if v3 => notes.push("multi_shot not sent to kling-v3: it makes several shots by default (trap 9)".into()),
        _ => {}
    }
    let external_task_id = string(body, "external_task_id")?.map(str::to_owned);
    let (w, h) = if pro { (1920, 1080) } else { (1280, 720) };
    let (width, height) = if portrait { (h, w) } else { (w, h) };
    // Output `duration` is a little over the asked length ("5.041", trap 4).
    let clip = ClipSpec { width, height, duration_ms: u64::from(seconds) * 1000 + 41, audio };
    Ok(Create { model, image_to_video, prompt, seconds, pro, audio, last_frame, external_task_id, clip, notes })
}

/// `sound`: v2.6 and later; 2.6 makes audio at 1080p (`pro`) only; Turbo always has audio.
fn sound(model: &str, body: &Map<String, Value>, pro: bool) -> Result<bool, Refusal> {
    let takes = model == "kling-v2-6" || model == "kling-v3";
    let on = match string(body, "sound")? {
        None => model == "kling-3.0-turbo",
        Some(_) if !takes => return Err(invalid(format!("sound is taken by kling-v2-6 and later, not {model}"))),
        Some("on") => true,
        Some("off") => false,
        Some(other) => return Err(invalid(format!("sound {other:?} is not on or off"))),
    };
    if on && model == "kling-v2-6" && !pro {
        return Err(invalid("kling-v2-6 makes sound at 1080p only: mode must be pro"));
    }
    Ok(on)
}

/// `duration`: a string of whole seconds (trap 4), default "5".
fn duration(body: &Map<String, Value>, v3: bool) -> Result<u32, Refusal> {
    let text = match body.get("duration") {
        None => "5",
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(invalid(format!("duration must be a string such as \"5\", got {other} (trap 4)"))),
    };
    let seconds: u32 = text.parse().map_err(|_| invalid(format!("duration {text:?} is not whole seconds")))?;
    let ok = if v3 { (3..=15).contains(&seconds) } else { seconds == 5 || seconds == 10 };
    if !ok {
        return Err(invalid(format!("duration {text:?} is not one this model makes")));
    }
    Ok(seconds)
}

/// `aspect_ratio` on text-to-video only; whether the clip is portrait (image-to-video: the
/// first frame's aspect, digest §3a, trap 12).
fn frame(body: &Map<String, Value>, image_to_video: bool) -> Result<bool, Refusal> {
    if image_to_video {
        if body.contains_key("aspect_ratio") {
            return Err(invalid("image-to-video takes no aspect_ratio: the first frame decides (trap 12)"));
        }
        let (w, h) = string(body, "image")?.and_then(png_size).unwrap_or((1280, 720));
        return Ok(h > w);
    }
    match string(body, "aspect_ratio")?.unwrap_or("16:9") {
        "16:9" | "1:1" => Ok(false),
        "9:16" => Ok(true),
        other => Err(invalid(format!("aspect_ratio {other:?} is not 16:9, 9:16 or 1:1"))),
    }
}

/// `image` (required on image-to-video) and `image_tail` (only with it); whether a last
/// frame came.
fn images(body: &Map<String, Value>, image_to_video: bool) -> Result<bool, Refusal> {
    if !image_to_video {
        if body.contains_key("image") || body.contains_key("image_tail") {
            return Err(invalid("image and image_tail go to /v1/videos/image2video"));
        }
        return Ok(false);
    }
    let image = string(body, "image")?.ok_or_else(|| invalid("image is required on image-to-video"))?;
    check_image("image", image)?;
    if let Some(tail) = string(body, "image_tail")? {
        check_image("image_tail", tail)?;
        return Ok(true);
    }
    Ok(false)
}

/// A URL, or raw Base64 with no `data:` prefix (trap 5); a PNG at least 300 px a side.
fn check_image(key: &str, value: &str) -> Result<(), Refusal> {
    if value.starts_with("https://") || value.starts_with("http://") {
        return Ok(());
    }
    if value.starts_with("data:") {
        return Err(invalid(format!("{key} must be raw Base64 without a data: prefix (trap 5)")));
    }
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value) else {
        return Err(invalid(format!("{key} is neither a URL nor Base64")));
    };
    match png_dims(&bytes) {
        Some((w, h)) if w < 300 || h < 300 => Err(invalid(format!("{key}: {w}x{h} is under 300 px a side"))),
        _ => Ok(()),
    }
}

fn png_size(base64: &str) -> Option<(u32, u32)> {
    png_dims(&base64::engine::general_purpose::STANDARD.decode(base64).ok()?)
}

/// A PNG's IHDR width and height (big-endian at bytes 16 and 20).
fn png_dims(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG") {
        return None;
    }
    let be = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    Some((be(16)?, be(20)?))
}

/// Units per second billed on success (digest §7; UNCONFIRMED digits, used for the fake's
/// `final_unit_deduction` only).
pub(crate) fn units_per_second(c: &Create) -> f64 {
    match (c.model.as_str(), c.pro, c.audio) {
        ("kling-v3", false, false) => 0.6,
        ("kling-v3", true, false) => 0.8,
        ("kling-v3", false, true) => 0.9,
        ("kling-v3", true, true) => 1.2,
        ("kling-3.0-turbo", pro, _) => {
            if pro {
                1.0
            } else {
                0.8
            }
        }
        ("kling-v2-6", true, true) => 1.0,
        (_, true, _) => 0.5,
        _ => 0.3,
    }
}
