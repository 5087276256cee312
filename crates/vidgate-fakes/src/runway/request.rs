//! The body of `POST /v1/text_to_video` and `POST /v1/image_to_video` (digest §3), checked
//! and turned into what the fake will produce.
//!
//! Owns the create rules: only the documented camelCase fields; `model` one the endpoint
//! serves (`gen4_turbo` is image-to-video only, trap 4); `promptText` required on
//! text-to-video and on gen4.5, 1..limit UTF-16 units; `ratio` one of the model's pixel
//! values, never an aspect ratio (trap 3); `duration` an integer the model makes;
//! `promptImage` required on image-to-video only, a string or `[{uri, position}]` with
//! `first` and an optional `last` where the model takes one (never `last` alone), each an
//! `https://` URL on a domain, a `runway://` upload or a `data:image/…;base64,` URI of at
//! most 5 MB encoded; `audio`, `negativePrompt`, `seed` only on models that take them;
//! `outputFormat` only `mp4` (trap 11). It must not touch state.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::models::RunwayModel;
use crate::errors::Refusal;
use crate::media::ClipSpec;

const FIELDS: &[&str] = &[
    "model",
    "promptText",
    "promptImage",
    "ratio",
    "duration",
    "seed",
    "audio",
    "negativePrompt",
    "contentModeration",
    "outputFormat",
];

/// The largest data URI, encoded (digest §3).
const MAX_DATA_URI: usize = 5 * 1024 * 1024;

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) model: RunwayModel,
    pub(crate) prompt: String,
    pub(crate) seconds: u32,
    pub(crate) audio: bool,
    pub(crate) images: usize,
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

impl Create {
    /// The credits the task costs (digest §7).
    pub(crate) fn credits(&self) -> u32 {
        let rate = if self.audio { self.model.credits_audio } else { self.model.credits };
        rate * self.seconds
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::bad(message)
}

/// Checks a create body for the endpoint (`image`: `/v1/image_to_video`).
pub(crate) fn from_json(body: &Map<String, Value>, image: bool, models: &[RunwayModel]) -> Result<Create, Refusal> {
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(format!("Invalid parameter '{unknown}'")));
    }
    let id = body.get("model").and_then(Value::as_str).ok_or_else(|| bad("Invalid parameter 'model'"))?;
    let model = *models.iter().find(|m| m.id == id).ok_or_else(|| bad(format!("Invalid parameter 'model': {id}")))?;
    if !image && !model.text {
        return Err(bad(format!("{id} does not support text_to_video (digest trap 4)")));
    }
    let prompt = match body.get("promptText") {
        Some(Value::String(p)) => p.clone(),
        None if image && model.id != "gen4.5" => String::new(),
        _ => return Err(bad("Invalid parameter 'promptText'")),
    };
    let units = prompt.encode_utf16().count();
    if (!image || model.id == "gen4.5" || body.contains_key("promptText")) && (units == 0 || units > model.max_prompt) {
        return Err(bad(format!("Invalid parameter 'promptText': 1 to {} characters", model.max_prompt)));
    }
    let ratios = if image { model.image_ratios } else { model.text_ratios };
    let ratio = body.get("ratio").and_then(Value::as_str).unwrap_or("");
    if !ratios.contains(&ratio) {
        return Err(bad(format!("Invalid parameter 'ratio': {ratio:?} is not one of {ratios:?} (digest trap 3)")));
    }
    let seconds = match body.get("duration") {
        Some(Value::Number(n)) => n.as_u64().and_then(|s| u32::try_from(s).ok()),
        _ => None,
    }
    .filter(|s| model.durations.contains(s))
    .ok_or_else(|| bad(format!("Invalid parameter 'duration': one of {:?} for {id}", model.durations)))?;
    let images = match (image, body.get("promptImage")) {
        (true, Some(value)) => prompt_images(value, &model)?,
        (true, None) => return Err(bad("Invalid parameter 'promptImage': required (digest trap 4)")),
        (false, Some(_)) => return Err(bad("Invalid parameter 'promptImage': not on text_to_video")),
        (false, None) => 0,
    };
    let mut notes = Vec::new();
    let audio = match body.get("audio") {
        Some(_) if !model.audio => return Err(bad(format!("Invalid parameter 'audio': {id} takes none"))),
        Some(Value::Bool(on)) => *on,
        Some(_) => return Err(bad("Invalid parameter 'audio': a boolean")),
        None if model.audio => {
            notes.push("audio left to its default, which is UNCONFIRMED (digest §3); the fake makes audio".into());
            true
        }
        None => false,
    };
    optional(body, "negativePrompt", model.negative_prompt, Value::is_string)?;
    optional(body, "seed", model.seed, |v| v.as_u64().is_some_and(|s| s <= u64::from(u32::MAX)))?;
    if body.get("outputFormat").is_some_and(|f| f != "mp4") {
        return Err(bad("outputFormat other than mp4 makes .mov or .zip results (digest trap 11)"));
    }
    let (w, h) = ratio.split_once(':').expect("ratios are W:H");
    let clip = ClipSpec {
        width: w.parse().expect("digits"),
        height: h.parse().expect("digits"),
        duration_ms: u64::from(seconds) * 1000,
        audio,
    };
    Ok(Create { model, prompt, seconds, audio, images, clip, notes })
}

fn optional(body: &Map<String, Value>, key: &str, taken: bool, valid: fn(&Value) -> bool) -> Result<(), Refusal> {
    match body.get(key) {
        None => Ok(()),
        Some(_) if !taken => Err(bad(format!("Invalid parameter '{key}': not taken by this model"))),
        Some(v) if valid(v) => Ok(()),
        Some(_) => Err(bad(format!("Invalid parameter '{key}'"))),
    }
}

/// `promptImage` as a string or `[{uri, position}]`; the number of images.
fn prompt_images(value: &Value, model: &RunwayModel) -> Result<usize, Refusal> {
    let items = match value {
        Value::String(uri) => return check_uri(uri).map(|()| 1),
        Value::Array(items) if !items.is_empty() && items.len() <= 2 => items,
        _ => return Err(bad("Invalid parameter 'promptImage'")),
    };
    let mut positions = Vec::new();
    for item in items {
        let uri = item.get("uri").and_then(Value::as_str).ok_or_else(|| bad("Invalid parameter 'promptImage.uri'"))?;
        check_uri(uri)?;
        positions.push(item.get("position").and_then(Value::as_str).unwrap_or(""));
    }
    match positions.as_slice() {
        ["first"] => Ok(1),
        ["first", "last"] if model.last_frame => Ok(2),
        _ => Err(bad(format!("Invalid parameter 'promptImage.position': {positions:?} for {}", model.id))),
    }
}

/// Digest §3 "Inputs": HTTPS on a domain, an upload URI, or a base64 image data URI ≤ 5 MB.
fn check_uri(uri: &str) -> Result<(), Refusal> {
    if uri.starts_with("runway://") {
        return Ok(());
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        let host = rest.split(['/', ':', '?']).next().unwrap_or("");
        if host.parse::<std::net::IpAddr>().is_ok() || host.is_empty() {
            return Err(bad("promptImage: the URL must name a domain, not an IP address"));
        }
        return Ok(());
    }
    let Some(data) = uri.strip_prefix("data:") else {
        return Err(bad("promptImage: Only HTTPS URLs are allowed."));
    };
    if uri.len() > MAX_DATA_URI {
        return Err(bad("promptImage: a data URI must be at most 5 MB"));
    }
    let (mime, b64) = data.split_once(";base64,").ok_or_else(|| bad("promptImage: Invalid data URI."))?;
    if !["image/png", "image/jpeg", "image/webp"].contains(&mime) {
        return Err(bad(format!("promptImage: {mime} is not a JPEG, PNG or WebP image")));
    }
    base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad("promptImage: Invalid data URI."))?;
    Ok(())
}
