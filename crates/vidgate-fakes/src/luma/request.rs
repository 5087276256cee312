//! The create bodies of Luma's two APIs (digest §3), checked and turned into what the fake
//! will produce.
//!
//! Agents (`POST /v1/generations`, §3a): only the documented fields; `type: "video"` and
//! `model: "ray-3.2"` both present (trap 8: the defaults make an image job); `prompt`
//! 1..6000 chars; `aspect_ratio` one of ray-3.2's six; `video.duration` the *string*
//! `"5s"` or `"10s"` (trap 2); `video.resolution` `540p`, `720p` or `1080p`;
//! `start_frame`/`end_frame` ImageRefs with exactly one of `url`, `data` + `media_type`,
//! `generation_id`; `loop` not with `10s` or `hdr` (trap 7); a 10 s image-anchored job is
//! noted (UNCONFIRMED). Dream Machine (`POST /generations/video`, §3b): `model` one of the
//! three ids; `duration` `"5s"` or `"9s"` (`ray-1-6`: `"5s"`); `resolution`, `aspect_ratio`
//! from its lists; `keyframes` frames `{type: image, url}` (a URL only, trap 6) or
//! `{type: generation, id}`. It must not touch state.

use serde_json::{Map, Value};

use crate::errors::Refusal;
use crate::media::ClipSpec;

const AGENTS_FIELDS: &[&str] = &["prompt", "type", "model", "aspect_ratio", "video", "source", "user_id"];
const VIDEO_FIELDS: &[&str] =
    &["duration", "resolution", "start_frame", "end_frame", "loop", "hdr", "exr_export", "edit", "source_position"];
const RAY32_RATIOS: &[&str] = &["9:16", "3:4", "1:1", "4:3", "16:9", "21:9"];
const DREAM_FIELDS: &[&str] = &[
    "model",
    "prompt",
    "generation_type",
    "aspect_ratio",
    "duration",
    "resolution",
    "loop",
    "keyframes",
    "concepts",
    "callback_url",
];
const DREAM_RATIOS: &[&str] = &["1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"];
/// The Dream Machine ids (digest §1).
pub(crate) const DREAM_MODELS: &[&str] = &["ray-2", "ray-flash-2", "ray-1-6"];

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) model: String,
    pub(crate) prompt: String,
    pub(crate) images: usize,
    pub(crate) clip: ClipSpec,
    /// The request as received, echoed by Dream Machine (`request`).
    pub(crate) echo: Value,
    pub(crate) notes: Vec<String>,
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::bad(message)
}

fn str_of<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn unknown(body: &Map<String, Value>, fields: &[&str]) -> Result<(), Refusal> {
    match body.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(bad(format!("unknown field {k:?}"))),
        None => Ok(()),
    }
}

/// The clip for a resolution name and an aspect ratio: the short side is the resolution.
fn clip(resolution: &str, aspect: &str, seconds: u32) -> Result<ClipSpec, Refusal> {
    let short: u32 = match resolution {
        "540p" => 540,
        "720p" => 720,
        "1080p" => 1080,
        "4k" => 2160,
        other => return Err(bad(format!("resolution {other:?} is not one of the documented values"))),
    };
    let (w, h) = aspect
        .split_once(':')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .unwrap_or((16, 9));
    let even = |x: u32| x / 2 * 2;
    let (width, height) = if w >= h { (even(short * w / h), short) } else { (short, even(short * h / w)) };
    Ok(ClipSpec { width, height, duration_ms: u64::from(seconds) * 1000, audio: false })
}

/// An Agents ImageRef: exactly one of `url`, `data` (with `media_type`), `generation_id`.
fn image_ref(v: &Value, name: &str) -> Result<(), Refusal> {
    let o = v.as_object().ok_or_else(|| bad(format!("video.{name} must be an ImageRef object")))?;
    let set = ["url", "data", "generation_id"].iter().filter(|k| o.contains_key(**k)).count();
    if set != 1 {
        return Err(bad(format!("video.{name} must have exactly one of url, data, generation_id")));
    }
    if o.contains_key("data") && !o.get("media_type").is_some_and(Value::is_string) {
        return Err(bad(format!("video.{name}.media_type is required with data")));
    }
    Ok(())
}

/// Checks an Agents create body.
pub(crate) fn agents(body: &Map<String, Value>) -> Result<Create, Refusal> {
    unknown(body, AGENTS_FIELDS)?;
    if str_of(body, "type") != Some("video") || str_of(body, "model") != Some("ray-3.2") {
        return Err(bad(
            "type must be \"video\" and model \"ray-3.2\": the defaults make an image job (digest trap 8)",
        ));
    }
    let prompt = str_of(body, "prompt").unwrap_or("").to_owned();
    if prompt.is_empty() || prompt.chars().count() > 6000 {
        return Err(bad("prompt must be 1 to 6000 characters"));
    }
    let aspect = str_of(body, "aspect_ratio").unwrap_or("16:9");
    if !RAY32_RATIOS.contains(&aspect) {
        return Err(bad(format!("aspect_ratio {aspect:?} is not one ray-3.2 makes")));
    }
    let video = body.get("video").and_then(Value::as_object).ok_or_else(|| bad("video options are required"))?;
    unknown(video, VIDEO_FIELDS)?;
    let seconds = match video.get("duration") {
        Some(Value::String(d)) if d == "5s" => 5,
        Some(Value::String(d)) if d == "10s" => 10,
        other => {
            return Err(bad(format!("video.duration must be \"5s\" or \"10s\" (a string, trap 2), got {other:?}")));
        }
    };
    let resolution = video.get("resolution").and_then(Value::as_str).unwrap_or("720p");
    if resolution == "4k" {
        return Err(bad("video.resolution 4k is not offered"));
    }
    let mut images = 0;
    for name in ["start_frame", "end_frame"] {
        if let Some(v) = video.get(name) {
            image_ref(v, name)?;
            images += 1;
        }
    }
    let looped = video.get("loop").and_then(Value::as_bool).unwrap_or(false);
    if looped && (seconds == 10 || video.get("hdr").and_then(Value::as_bool).unwrap_or(false)) {
        return Err(bad("loop is not supported with duration 10s or hdr (digest trap 7)"));
    }
    let mut notes = Vec::new();
    if images > 0 && seconds == 10 {
        notes.push("a 10 s image-anchored generation: may be refused or made 5 s (UNCONFIRMED, digest trap 7)".into());
    }
    let clip = clip(resolution, aspect, seconds)?;
    Ok(Create { model: "ray-3.2".into(), prompt, images, clip, echo: Value::Object(body.clone()), notes })
}

/// Checks a Dream Machine create body.
pub(crate) fn dream_machine(body: &Map<String, Value>) -> Result<Create, Refusal> {
    unknown(body, DREAM_FIELDS)?;
    let model = str_of(body, "model").filter(|m| DREAM_MODELS.contains(m)).ok_or_else(|| bad("model is required"))?;
    if body.get("generation_type").is_some_and(|t| t != "video") {
        return Err(bad("generation_type must be video"));
    }
    let prompt = str_of(body, "prompt").unwrap_or("").to_owned();
    let aspect = str_of(body, "aspect_ratio").unwrap_or("16:9");
    if !DREAM_RATIOS.contains(&aspect) {
        return Err(bad(format!("aspect_ratio {aspect:?} is not one of {DREAM_RATIOS:?}")));
    }
    let seconds = match (body.get("duration"), model) {
        (Some(Value::String(d)), _) if d == "5s" => 5,
        (Some(Value::String(d)), m) if d == "9s" && m != "ray-1-6" => 9,
        (other, _) => return Err(bad(format!("duration must be \"5s\" or \"9s\" (a string, trap 2), got {other:?}"))),
    };
    let resolution = str_of(body, "resolution").unwrap_or("720p");
    let mut images = 0;
    if let Some(frames) = body.get("keyframes") {
        let frames = frames.as_object().ok_or_else(|| bad("keyframes must be an object"))?;
        for (name, frame) in frames {
            let kind = frame.get("type").and_then(Value::as_str);
            let ok = match kind {
                Some("image") => frame.get("url").and_then(Value::as_str).is_some_and(|u| u.starts_with("http")),
                Some("generation") => frame.get("id").is_some_and(Value::is_string),
                _ => false,
            };
            if !["frame0", "frame1"].contains(&name.as_str()) || !ok {
                return Err(bad(format!("keyframes.{name} must be an image URL or a generation (trap 6)")));
            }
            images += 1;
        }
    }
    let clip = clip(resolution, aspect, seconds)?;
    Ok(Create { model: model.into(), prompt, images, clip, echo: Value::Object(body.clone()), notes: Vec::new() })
}
