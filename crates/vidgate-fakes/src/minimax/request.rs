//! The body of `POST /v2/video_generation` (digest §3a), checked and turned into what the
//! fake will produce.
//!
//! Owns the create rules: `model` one of the v2 ids of digest §1; `content` an array with
//! exactly one non-empty `text` item (≤ 7000 characters) and `image_url` items whose `role`
//! is `first_frame`, `last_frame` or `reference_image` (at most one of each frame; frames and
//! references mutually exclusive, §3a); `resolution` one the model makes (upper-case, §1);
//! `duration` a JSON *integer* in the model's range (trap 7: `"5"` and `5.0` are refused);
//! `ratio` from the documented list and, on text only, present and not `adaptive` (trap 8);
//! `generate_audio` and `aigc_watermark` booleans. Leaving `generate_audio` out (audio on,
//! trap 9) is noted. It must not touch state.

use base64::Engine;
use serde_json::{Map, Value};

use crate::errors::Refusal;
use crate::journal::JobGuides;
use crate::media::ClipSpec;

/// One v2 model of digest §1: its whole-second range and its resolutions (first the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H3Model {
    /// The id in the `model` field (case-sensitive).
    pub id: &'static str,
    /// Shortest and longest `duration`.
    pub seconds: (u32, u32),
    /// `resolution` values, the default first.
    pub resolutions: &'static [&'static str],
}

/// The v2 models of digest §1 (the `-Max-Turbo` and `-Fast` ids are unconfirmed there and
/// served as listed).
pub const MODELS: [H3Model; 4] = [
    H3Model { id: "MiniMax-H3", seconds: (4, 15), resolutions: &["768P", "2K"] },
    H3Model { id: "MiniMax-H3-Max", seconds: (5, 15), resolutions: &["768P", "480P"] },
    H3Model { id: "MiniMax-H3-Max-Turbo", seconds: (5, 15), resolutions: &["768P", "480P"] },
    H3Model { id: "MiniMax-H3-Fast", seconds: (5, 15), resolutions: &["480P"] },
];

const RATIOS: [&str; 7] = ["adaptive", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16"];

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) model: String,
    pub(crate) prompt: String,
    /// The requested whole seconds (what `usage.output_seconds` bills, §5a).
    pub(crate) duration: u32,
    pub(crate) resolution: String,
    pub(crate) ratio: String,
    pub(crate) audio: bool,
    /// The roles of the image items, in order.
    pub(crate) images: Vec<String>,
    /// What the result will be: its length is the delivered one (§7), not the requested one.
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

impl Create {
    /// The guide images for the journal, from the image roles (v2 `role`, v1 the
    /// `first_frame_image` and `last_frame_image` fields).
    pub(crate) fn guides(&self) -> JobGuides {
        let count = |role: &str| self.images.iter().filter(|r| *r == role).count();
        JobGuides {
            image: count("first_frame") > 0,
            last_frame: count("last_frame") > 0,
            reference_images: count("reference_image"),
        }
    }
}

/// `invalid params` (2013, §4) in the v2 envelope.
fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::bad(format!("invalid params, {}", message.into())).code("2013")
}

/// Checks a JSON create body; `delivered_ms` is the length the fake delivers for a duration.
pub(crate) fn from_json(body: &Map<String, Value>, delivered_ms: impl Fn(u32) -> u64) -> Result<Create, Refusal> {
    const FIELDS: [&str; 9] = [
        "model",
        "content",
        "resolution",
        "duration",
        "ratio",
        "generate_audio",
        "callback_url",
        "aigc_watermark",
        "extra",
    ];
    if let Some(key) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!("unknown field {key} (digest §3a)")));
    }
    let name = body.get("model").and_then(Value::as_str).unwrap_or("");
    let model = MODELS.iter().find(|m| m.id == name).ok_or_else(|| invalid(format!("unknown model {name:?}")))?;
    let (prompt, images, first_frame) = content(body.get("content"))?;
    let resolution = match body.get("resolution") {
        None => model.resolutions[0].to_owned(),
        Some(Value::String(r)) if model.resolutions.contains(&r.as_str()) => r.clone(),
        Some(other) => return Err(invalid(format!("resolution {other} is not one {} makes", model.id))),
    };
    let duration = match body.get("duration") {
        // Trap 7: an integer only; `"5"` and `5.0` are refused.
        Some(Value::Number(n)) if n.is_u64() => n.as_u64().unwrap_or(0) as u32,
        Some(other) => return Err(invalid(format!("duration must be an integer, got {other}"))),
        None => return Err(invalid("duration is required")),
    };
    if duration < model.seconds.0 || duration > model.seconds.1 {
        let (lo, hi) = model.seconds;
        return Err(invalid(format!("duration must be an integer from {lo} to {hi}")));
    }
    let frames = images.iter().any(|r| r.ends_with("_frame"));
    let ratio = match body.get("ratio") {
        None => "adaptive".to_owned(),
        Some(Value::String(r)) if RATIOS.contains(&r.as_str()) => r.clone(),
        Some(other) => return Err(invalid(format!("ratio {other} is not one of {RATIOS:?}"))),
    };
    if ratio == "adaptive" && images.is_empty() {
        return Err(invalid("text-only generation needs a concrete ratio, not adaptive (trap 8)"));
    }
    let mut notes = Vec::new();
    let audio = match body.get("generate_audio") {
        None => {
            notes.push("generate_audio left out: the video has audio (trap 9)".to_owned());
            true
        }
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(invalid(format!("generate_audio must be a boolean, got {other}"))),
    };
    if body.get("aigc_watermark").is_some_and(|w| !w.is_boolean()) {
        return Err(invalid("aigc_watermark must be a boolean"));
    }
    // With frames the ratio is ignored and the video follows the image (§3a).
    let landscape = match (frames, first_frame) {
        (true, Some((w, h))) => w >= h,
        _ => !matches!(ratio.as_str(), "3:4" | "9:16"),
    };
    let (long, short) = match resolution.as_str() {
        "2K" => (2560, 1440),
        "480P" => (832, 480),
        _ => (1344, 768),
    };
    let (width, height) = if landscape { (long, short) } else { (short, long) };
    let clip = ClipSpec { width, height, duration_ms: delivered_ms(duration), audio };
    Ok(Create { model: name.to_owned(), prompt, duration, resolution, ratio, audio, images, clip, notes })
}

type Content = (String, Vec<String>, Option<(u32, u32)>);

/// `content` (§3a): the prompt, the image roles, and the first frame's size when it is a
/// data URI the fake can read.
fn content(value: Option<&Value>) -> Result<Content, Refusal> {
    let items = value.and_then(Value::as_array).ok_or_else(|| invalid("content must be an array"))?;
    let (mut texts, mut roles, mut first) = (Vec::new(), Vec::<String>::new(), None);
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("text") => texts.push(item.get("text").and_then(Value::as_str).unwrap_or("").to_owned()),
            Some("image_url") => {
                let role = item.get("role").and_then(Value::as_str).unwrap_or("");
                if !["first_frame", "last_frame", "reference_image"].contains(&role) {
                    return Err(invalid(format!(
                        "image_url role {role:?} is not first_frame, last_frame or reference_image"
                    )));
                }
                let url = item.pointer("/image_url/url").and_then(Value::as_str).unwrap_or("");
                if !(url.starts_with("http") || url.starts_with("data:image/") || url.starts_with("mm_file://")) {
                    return Err(invalid("image_url.url must be an http(s) URL, a data URI or mm_file://"));
                }
                if role == "first_frame" {
                    first = data_uri_size(url);
                }
                roles.push(role.to_owned());
            }
            Some("video_url" | "audio_url") => roles.push("reference_media".to_owned()),
            other => return Err(invalid(format!("content item type {other:?} is unknown"))),
        }
    }
    match texts.as_slice() {
        [t] if !t.is_empty() && t.chars().count() <= 7000 => {}
        _ => return Err(invalid("content needs exactly one non-empty text item of at most 7000 characters")),
    }
    let count = |r: &str| roles.iter().filter(|x| *x == r).count();
    if count("first_frame") > 1 || count("last_frame") > 1 {
        return Err(invalid("at most one first_frame and one last_frame"));
    }
    let frames = count("first_frame") + count("last_frame");
    if frames > 0 && roles.len() > frames {
        return Err(invalid("keyframe roles and reference roles are mutually exclusive"));
    }
    Ok((texts.remove(0), roles, first))
}

fn data_uri_size(url: &str) -> Option<(u32, u32)> {
    let b64 = url.split_once(";base64,")?.1;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    vidgate_media::decode_image_dimensions(&bytes).ok()
}

/// What MiniMax-H3 delivers for `seconds` (digest §7): frames in 17n + 5 at 24 fps, the first
/// count covering the request (5 s: 124 frames, 5.167 s).
pub(crate) fn h3_length_ms(seconds: u32) -> u64 {
    let mut frames = 5u64;
    while frames < u64::from(seconds) * 24 {
        frames += 17;
    }
    (frames * 1000 + 12) / 24
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value) -> Result<Create, Refusal> {
        from_json(body.as_object().unwrap(), h3_length_ms)
    }

    #[test]
    fn a_5_s_request_delivers_124_frames_at_24_fps() {
        assert_eq!(h3_length_ms(5), 5167);
        let c = check(json!({"model": "MiniMax-H3", "content": [{"type": "text", "text": "fox"}],
            "duration": 5, "ratio": "9:16", "generate_audio": false}))
        .unwrap();
        assert_eq!((c.clip.width, c.clip.height, c.clip.duration_ms, c.audio), (768, 1344, 5167, false));
    }

    #[test]
    fn string_durations_adaptive_text_only_and_2k_on_max_are_refused() {
        let text = json!([{"type": "text", "text": "fox"}]);
        assert!(check(json!({"model": "MiniMax-H3", "content": text, "duration": "5", "ratio": "16:9"})).is_err());
        assert!(check(json!({"model": "MiniMax-H3", "content": text, "duration": 5.0, "ratio": "16:9"})).is_err());
        assert!(check(json!({"model": "MiniMax-H3", "content": text, "duration": 5})).is_err());
        assert!(check(json!({"model": "MiniMax-H3", "content": text, "duration": 3, "ratio": "16:9"})).is_err());
        let max =
            json!({"model": "MiniMax-H3-Max", "content": text, "duration": 5, "ratio": "16:9", "resolution": "2K"});
        assert!(check(max).is_err());
    }
}
