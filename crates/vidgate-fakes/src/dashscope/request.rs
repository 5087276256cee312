//! The body of `POST /api/v1/services/aigc/video-generation/video-synthesis` (digest §3),
//! checked and turned into what the fake will produce.
//!
//! Owns the create rules: the body is exactly `{"model", "input", "parameters"}`; `model` one
//! the fake serves; `input` and `parameters` hold only the fields the model's request shape
//! takes (trap 3: `size` for 2.6-and-older text-to-video, `resolution` for image-to-video,
//! `resolution` + `ratio` and `media[]` for 2.7); `size` a `W*H` string with an asterisk from
//! the model's tiers; `duration` an *integer* the model makes; `seed` in [0, 2147483647];
//! booleans as booleans; image URLs http(s), `oss://` or `data:image/…;base64,`. Fields left
//! to their defaults where the default surprises (audio on, prompt rewrite on: traps 4, 5)
//! are noted. It must not touch state.

use serde_json::{Map, Value};

use super::models::{Shape, WanModel, tier_of};
use crate::errors::Refusal;
use crate::journal::JobGuides;
use crate::media::ClipSpec;

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) model: String,
    pub(crate) prompt: String,
    pub(crate) duration: u32,
    /// `480P`, `720P` or `1080P`.
    pub(crate) resolution: String,
    pub(crate) audio: bool,
    /// The image inputs by name (`img_url`, `first_frame`, …), in order.
    pub(crate) images: Vec<String>,
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

impl Create {
    /// The guide images for the journal: a first frame (`img_url`, `first_frame_url`, a
    /// `first_frame` or `first_clip` media item) and a last frame (`last_frame_url`, a
    /// `last_frame` media item).
    pub(crate) fn guides(&self) -> JobGuides {
        let has = |names: &[&str]| self.images.iter().any(|i| names.contains(&i.as_str()));
        JobGuides {
            image: has(&["img_url", "first_frame_url", "first_frame", "first_clip"]),
            last_frame: has(&["last_frame_url", "last_frame"]),
            reference_images: 0,
        }
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::bad(message).code("InvalidParameter")
}

/// Checks a JSON create body against `models`.
pub(crate) fn from_json(body: &Map<String, Value>, models: &[WanModel]) -> Result<Create, Refusal> {
    if let Some(key) = body.keys().find(|k| !["model", "input", "parameters"].contains(&k.as_str())) {
        return Err(invalid(format!("Unknown field {key}: the body is {{model, input, parameters}} (digest §3)")));
    }
    let name = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(Refusal::bad("Model not specified").code("BadRequest.EmptyModel")),
    };
    let Some(model) = models.iter().find(|m| m.id == name) else {
        return Err(Refusal::not_found(format!("Model not exist: {name}")).code("ModelNotFound"));
    };
    let input = match body.get("input") {
        Some(Value::Object(i)) if !i.is_empty() => i,
        _ => return Err(Refusal::bad("Input should not be empty").code("BadRequest.EmptyInput")),
    };
    let empty = Map::new();
    let params = match body.get("parameters") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(other) => return Err(invalid(format!("parameters must be an object, got {other}"))),
    };
    let mut notes = Vec::new();
    let (prompt, images) = read_input(model, input)?;
    let (resolution, (width, height)) = frame(model, params, input)?;
    let duration = duration(model, params)?;
    check_scalars(model, params, &mut notes)?;
    let audio = model.audio && params.get("audio").and_then(Value::as_bool).unwrap_or(true);
    let clip = ClipSpec { width, height, duration_ms: u64::from(duration) * 1000, audio };
    Ok(Create { model: name, prompt, duration, resolution, audio, images, clip, notes })
}

/// `input`'s fields for the model's shape (digest §3, `input` table; trap 3).
fn read_input(model: &WanModel, input: &Map<String, Value>) -> Result<(String, Vec<String>), Refusal> {
    let allowed: &[&str] = match model.shape {
        Shape::Size | Shape::Ratio if model.audio => &["prompt", "negative_prompt", "audio_url"],
        Shape::Size | Shape::Ratio => &["prompt", "negative_prompt"],
        Shape::ImgUrl => &["prompt", "negative_prompt", "img_url"],
        Shape::Frames => &["prompt", "negative_prompt", "first_frame_url", "last_frame_url"],
        Shape::Media => &["prompt", "negative_prompt", "media"],
    };
    if let Some(key) = input.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!("input.{key} is not taken by {} (digest §3, trap 3)", model.id)));
    }
    for key in ["prompt", "negative_prompt"] {
        if let Some(v) = input.get(key).filter(|v| !v.is_string()) {
            return Err(invalid(format!("input.{key} must be a string, got {v}")));
        }
    }
    let prompt = input.get("prompt").and_then(Value::as_str).unwrap_or("").to_owned();
    if prompt.is_empty() && model.shape != Shape::Media {
        return Err(invalid("input.prompt is required"));
    }
    let mut images = Vec::new();
    match model.shape {
        Shape::ImgUrl => images.push(image_url(input, "img_url")?),
        Shape::Frames => {
            images.push(image_url(input, "first_frame_url")?);
            images.push(image_url(input, "last_frame_url")?);
        }
        Shape::Media => images = media(input.get("media"))?,
        Shape::Size | Shape::Ratio => {}
    }
    Ok((prompt, images))
}

/// A required image URL field (digest §3: http(s), `oss://` or a base64 data URI); returns
/// the field's name.
fn image_url(input: &Map<String, Value>, key: &str) -> Result<String, Refusal> {
    let url = input.get(key).and_then(Value::as_str).unwrap_or("");
    if url.is_empty() {
        return Err(invalid(format!("input.{key} is required")));
    }
    if !is_image_url(url) {
        return Err(Refusal::bad(format!("input.{key} is not a valid URL or data URI")).code("InvalidURL"));
    }
    Ok(key.to_owned())
}

fn is_image_url(url: &str) -> bool {
    let data = url.strip_prefix("data:image/").and_then(|rest| rest.split_once(";base64,"));
    url.starts_with("https://") || url.starts_with("http://") || url.starts_with("oss://") || data.is_some()
}

/// 2.7 `media[]`: `{"type", "url"}` items in one of the valid combinations (digest §3).
fn media(value: Option<&Value>) -> Result<Vec<String>, Refusal> {
    let Some(Value::Array(items)) = value else { return Err(invalid("input.media is required")) };
    let mut types = Vec::new();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        let url = item.get("url").and_then(Value::as_str).unwrap_or("");
        if !is_image_url(url) && kind != "driving_audio" && kind != "first_clip" {
            return Err(Refusal::bad(format!("media item {item} has no valid url")).code("InvalidURL"));
        }
        types.push(kind.to_owned());
    }
    let valid: &[&[&str]] = &[
        &["first_frame"],
        &["first_frame", "driving_audio"],
        &["first_frame", "last_frame"],
        &["first_frame", "last_frame", "driving_audio"],
        &["first_clip"],
        &["first_clip", "last_frame"],
    ];
    let mut sorted = types.clone();
    sorted.sort_by_key(|t| ["first_frame", "first_clip", "last_frame", "driving_audio"].iter().position(|x| x == t));
    if !valid.iter().any(|combo| *combo == sorted.iter().map(String::as_str).collect::<Vec<_>>().as_slice()) {
        return Err(invalid(format!("media types {types:?} are not a valid combination (digest §3)")));
    }
    Ok(types)
}

/// The tier and the frame: `size` (`W*H`) on the size shape, `resolution` (+ `ratio` on
/// 2.7) on the others, never both (trap 3). Image-to-video follows the image's aspect.
fn frame(
    model: &WanModel,
    p: &Map<String, Value>,
    input: &Map<String, Value>,
) -> Result<(String, (u32, u32)), Refusal> {
    let text = |key: &str| -> Result<Option<&str>, Refusal> {
        match p.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(invalid(format!("parameters.{key} must be a string, got {other}"))),
        }
    };
    if model.shape == Shape::Size {
        if p.contains_key("resolution") || p.contains_key("ratio") {
            return Err(invalid(format!("{} takes parameters.size, not resolution or ratio (trap 3)", model.id)));
        }
        let default = if model.resolutions.contains(&"1080P") { "1920*1080" } else { "1280*720" };
        let size = text("size")?.unwrap_or(default);
        let tier = tier_of(size).filter(|t| model.resolutions.contains(t)).ok_or_else(|| {
            invalid(format!("size {size:?} is not one of {}'s W*H sizes (an asterisk, digest §3)", model.id))
        })?;
        let (w, h) = size.split_once('*').and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?))).unwrap_or((0, 0));
        return Ok((tier.to_owned(), (w, h)));
    }
    if p.contains_key("size") {
        return Err(invalid(format!("{} takes parameters.resolution, not size (trap 3)", model.id)));
    }
    if p.contains_key("ratio") && model.shape != Shape::Ratio {
        return Err(invalid(format!("{}: the ratio follows the input image (digest §1)", model.id)));
    }
    let resolution = text("resolution")?.unwrap_or(model.default_resolution);
    if !model.resolutions.contains(&resolution) {
        return Err(invalid(format!("resolution {resolution:?} is not one of {:?}", model.resolutions)));
    }
    let short: u32 = resolution.trim_end_matches('P').parse().unwrap_or(720);
    let long = short * 16 / 9;
    let portrait = match model.shape {
        Shape::Ratio => match text("ratio")?.unwrap_or("16:9") {
            "16:9" | "4:3" | "1:1" => false,
            "9:16" | "3:4" => true,
            other => return Err(invalid(format!("ratio {other:?} is not one of 16:9, 9:16, 1:1, 4:3, 3:4"))),
        },
        _ => first_image_is_portrait(input),
    };
    Ok((resolution.to_owned(), if portrait { (short, long) } else { (long, short) }))
}

/// Whether the first image, when it is a PNG data URI, is taller than wide (the output
/// follows the image's aspect, digest §1); anything else is taken as landscape.
fn first_image_is_portrait(input: &Map<String, Value>) -> bool {
    use base64::Engine as _;
    let url = ["img_url", "first_frame_url"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str))
        .or_else(|| input.get("media")?.get(0)?.get("url")?.as_str())
        .unwrap_or("");
    let Some(data) = url.strip_prefix("data:image/png;base64,") else { return false };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else { return false };
    // The PNG IHDR chunk: width and height as big-endian u32 at bytes 16 and 20.
    let be = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    matches!((be(16), be(20)), (Some(w), Some(h)) if h > w)
}

/// `duration`: an integer the model makes, 5 when absent (digest §3; trap 8 is about the
/// answer, the request takes an integer).
fn duration(model: &WanModel, p: &Map<String, Value>) -> Result<u32, Refusal> {
    let seconds = match p.get("duration") {
        None => 5,
        Some(Value::Number(n)) if n.is_u64() => n.as_u64().unwrap_or(0),
        Some(other) => return Err(invalid(format!("parameters.duration must be an integer, got {other}"))),
    };
    u32::try_from(seconds)
        .ok()
        .filter(|s| model.durations.contains(s))
        .ok_or_else(|| invalid(format!("duration {seconds} is not one of {:?} for {}", model.durations, model.id)))
}

/// `seed`, the booleans, and the notes on surprising defaults (traps 4, 5).
fn check_scalars(model: &WanModel, p: &Map<String, Value>, notes: &mut Vec<String>) -> Result<(), Refusal> {
    const KNOWN: &[&str] =
        &["size", "resolution", "ratio", "duration", "prompt_extend", "watermark", "seed", "audio", "shot_type"];
    if let Some(key) = p.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(format!("parameters.{key} is not a video-synthesis parameter (digest §3)")));
    }
    if let Some(seed) = p.get("seed") {
        let ok = seed.as_u64().is_some_and(|s| s <= 2_147_483_647);
        if !ok {
            return Err(invalid(format!("parameters.seed must be an integer in [0, 2147483647], got {seed}")));
        }
    }
    for key in ["prompt_extend", "watermark", "audio"] {
        if let Some(v) = p.get(key).filter(|v| !v.is_boolean()) {
            return Err(invalid(format!("parameters.{key} must be a boolean, got {v}")));
        }
    }
    if p.contains_key("audio") && !model.audio {
        notes.push(format!("parameters.audio sent to {}, which makes no audio (digest §1)", model.id));
    }
    if model.audio && !p.contains_key("audio") {
        notes.push("audio not sent: it defaults to on (digest trap 5)".into());
    }
    if !p.contains_key("prompt_extend") {
        notes.push("prompt_extend not sent: the prompt is rewritten by default (digest trap 4)".into());
    }
    Ok(())
}
