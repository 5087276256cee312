//! The body of `POST /api/v3/contents/generations/tasks` (docs/upstreams.md §8.2), checked
//! and turned into what the fake will produce.
//!
//! Owns the create rules: the known body fields only; `model` one the fake serves; `content`
//! a non-empty array of `text` / `image_url` items, `image_url` with a role of `first_frame`,
//! `last_frame` or `reference_image`, whose `url` is https, a `data:image/…;base64,` URL or
//! `asset://`; first-frame, first+last and reference modes never mixed, `last_frame` only
//! with `first_frame`; `resolution`, `ratio` from the documented sets and the model's list;
//! `duration` an *integer* in the model's range; `seed` in [-1, 2^32-1]; booleans as
//! booleans. Prompt-suffix flags (`--rs 1080p`, `--dur 10`, …) are accepted, applied over the
//! body as the real service does, and noted: an adapter should send body fields only.
//! It must not touch state.

use serde_json::{Map, Value};

use super::models::ArkModel;
use crate::errors::Refusal;
use crate::media::ClipSpec;

const FIELDS: &[&str] = &[
    "model",
    "content",
    "resolution",
    "ratio",
    "duration",
    "frames",
    "seed",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
    "draft",
    "service_tier",
    "execution_expires_after",
    "callback_url",
    "tools",
    "safety_identifier",
    "priority",
];
const RATIOS: &[&str] = &["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"];
const ROLES: &[&str] = &["first_frame", "last_frame", "reference_image"];

/// A valid create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Create {
    pub(crate) model: String,
    pub(crate) prompt: String,
    pub(crate) resolution: String,
    pub(crate) ratio: String,
    pub(crate) duration: u32,
    pub(crate) seed: i64,
    pub(crate) generate_audio: bool,
    /// The `role` of every `image_url` item, in order.
    pub(crate) image_roles: Vec<String>,
    pub(crate) clip: ClipSpec,
    pub(crate) notes: Vec<String>,
}

fn invalid(param: &str, message: impl Into<String>) -> Refusal {
    Refusal::bad(message).code("InvalidParameter").param(param)
}

/// Checks a JSON create body against `models`.
pub(crate) fn from_json(body: &Map<String, Value>, models: &[ArkModel]) -> Result<Create, Refusal> {
    if let Some(key) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(key, format!("The parameter `{key}` specified in the request is not valid")));
    }
    let name = match body.get("model") {
        Some(Value::String(m)) => m.clone(),
        _ => return Err(Refusal::bad("The request is missing the `model` parameter").code("MissingParameter")),
    };
    let Some(model) = models.iter().find(|m| m.id == name) else {
        return Err(Refusal::not_found(format!(
            "The model or endpoint {name} does not exist or you do not have access to it"
        ))
        .code("InvalidEndpointOrModel.NotFound")
        .param("model"));
    };
    let (prompt, image_roles) = content(body.get("content"))?;
    let mut notes = Vec::new();
    let (prompt, flags) = split_flags(&prompt);
    for (flag, value) in &flags {
        notes.push(format!(
            "prompt flag --{flag} {value} overrides the body (docs/upstreams.md §8.2: send body fields only)"
        ));
    }
    let flag = |long: &str, short: &str| {
        flags.iter().find(|(f, _)| f == long || f == short).map(|(_, v)| Value::String(v.clone()))
    };
    let text = |name: &str, value: Option<&Value>, default: &str| -> Result<String, Refusal> {
        match value {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(invalid(name, format!("`{name}` must be a string, got {other}"))),
        }
    };
    let resolution = text("resolution", flag("resolution", "rs").as_ref().or(body.get("resolution")), "720p")?;
    if !model.resolutions.contains(&resolution.as_str()) {
        return Err(invalid("resolution", format!("resolution {resolution} is not supported by {name}")));
    }
    let default_ratio = if image_roles.is_empty() { "16:9" } else { "adaptive" };
    let ratio = text("ratio", flag("ratio", "rt").as_ref().or(body.get("ratio")), default_ratio)?;
    if !RATIOS.contains(&ratio.as_str()) {
        return Err(invalid("ratio", format!("ratio {ratio} is not one of {RATIOS:?}")));
    }
    let duration_flag = flag("duration", "dur").map(|v| v.as_str().and_then(|s| s.parse::<i64>().ok()));
    let duration = match (duration_flag, body.get("duration")) {
        (Some(Some(d)), _) => d,
        (Some(None), _) => return Err(invalid("duration", "--dur must be an integer")),
        (None, None) => 5,
        (None, Some(Value::Number(n))) if n.is_i64() => n.as_i64().unwrap_or(0),
        // Digest §3 and trap 6: `duration` is an integer; "5" or 5.0 is refused.
        (None, Some(other)) => return Err(invalid("duration", format!("`duration` must be an integer, got {other}"))),
    };
    if !(i64::from(model.min_seconds)..=i64::from(model.max_seconds)).contains(&duration) {
        return Err(invalid(
            "duration",
            format!("duration {duration} is out of range [{}, {}] for {name}", model.min_seconds, model.max_seconds),
        ));
    }
    let seed = match body.get("seed") {
        None => -1,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|s| (-1..=u32::MAX as i64).contains(&s)) => {
            n.as_i64().unwrap_or(-1)
        }
        Some(other) => {
            return Err(invalid("seed", format!("`seed` must be an integer in [-1, 4294967295], got {other}")));
        }
    };
    for key in ["camera_fixed", "watermark", "generate_audio", "return_last_frame", "draft"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_boolean()) {
            return Err(invalid(key, format!("`{key}` must be a boolean, got {v}")));
        }
    }
    // Trap 4 and 5: audio defaults to on and a dropped `false` is a silent default.
    if !body.contains_key("generate_audio") && model.audio {
        notes.push("generate_audio not sent: it defaults to true (docs/upstreams.md §8.7)".into());
    }
    if !body.contains_key("watermark") {
        notes.push("watermark not sent: one reseller says it defaults to true (docs/upstreams.md §8.2)".into());
    }
    let generate_audio = model.audio && body.get("generate_audio").and_then(Value::as_bool).unwrap_or(true);
    let (width, height) = frame(&resolution, &ratio);
    let clip = ClipSpec { width, height, duration_ms: duration as u64 * 1000, audio: generate_audio };
    Ok(Create {
        model: name,
        prompt,
        resolution,
        ratio,
        duration: duration as u32,
        seed,
        generate_audio,
        image_roles,
        clip,
        notes,
    })
}

/// The text and the image roles of `content`.
fn content(value: Option<&Value>) -> Result<(String, Vec<String>), Refusal> {
    let Some(Value::Array(items)) = value else {
        return Err(Refusal::bad("The request is missing the `content` parameter").code("MissingParameter"));
    };
    let (mut text, mut roles) = (None, Vec::new());
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("text") => match item.get("text").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && text.is_none() => text = Some(t.to_owned()),
                _ => return Err(invalid("content", "one non-empty `text` item is allowed")),
            },
            Some("image_url") => {
                let url = item.pointer("/image_url/url").and_then(Value::as_str).unwrap_or("");
                let known = url.starts_with("https://") || url.starts_with("asset://") || is_image_data_url(url);
                if !known {
                    return Err(invalid(
                        "content",
                        "image_url.url must be https, asset:// or data:image/<fmt>;base64,",
                    ));
                }
                let role = item.get("role").and_then(Value::as_str).unwrap_or("first_frame");
                if !ROLES.contains(&role) {
                    return Err(invalid("content", format!("role {role} is not one of {ROLES:?}")));
                }
                roles.push(role.to_owned());
            }
            _ => return Err(invalid("content", format!("content item type not supported here: {item}"))),
        }
    }
    let count = |r: &str| roles.iter().filter(|x| *x == r).count();
    let references = count("reference_image");
    if count("first_frame") > 1 || count("last_frame") > 1 || (references > 0 && references != roles.len()) {
        return Err(invalid("content", "first frame, first+last frame and reference images cannot be mixed"));
    }
    if count("last_frame") == 1 && count("first_frame") == 0 {
        return Err(invalid("content", "last_frame needs a first_frame"));
    }
    if references > 9 {
        return Err(invalid("content", "at most 9 reference images"));
    }
    Ok((text.unwrap_or_default(), roles))
}

fn is_image_data_url(url: &str) -> bool {
    url.strip_prefix("data:image/").and_then(|rest| rest.split_once(";base64,")).is_some_and(|(fmt, data)| {
        ["png", "jpeg", "jpg", "webp", "bmp", "tiff", "gif"].contains(&fmt) && !data.is_empty()
    })
}

/// The prompt without its `--name value` flags, and the flags.
pub(crate) fn split_flags(prompt: &str) -> (String, Vec<(String, String)>) {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let (mut kept, mut flags, mut i) = (Vec::new(), Vec::new(), 0);
    while i < words.len() {
        let name = words[i].strip_prefix("--").filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphabetic()));
        match (name, words.get(i + 1)) {
            (Some(name), Some(value)) => {
                flags.push((name.to_ascii_lowercase(), (*value).to_owned()));
                i += 2;
            }
            _ => {
                kept.push(words[i]);
                i += 1;
            }
        }
    }
    if flags.is_empty() { (prompt.to_owned(), flags) } else { (kept.join(" "), flags) }
}

/// The frame of a resolution and ratio (`adaptive` is taken as 16:9).
fn frame(resolution: &str, ratio: &str) -> (u32, u32) {
    let short = match resolution {
        "480p" => 480,
        "1080p" => 1080,
        _ => 720,
    };
    let long = short * 16 / 9;
    match ratio {
        "9:16" | "3:4" => (short, long),
        "1:1" => (short, short),
        _ => (long, short),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_flags_are_split_from_the_text() {
        let (text, flags) = split_flags("a cat --rs 1080p yawns --dur 10");
        assert_eq!(text, "a cat yawns");
        assert_eq!(flags, [("rs".to_owned(), "1080p".to_owned()), ("dur".to_owned(), "10".to_owned())]);
        assert_eq!(split_flags("plain -- text").0, "plain -- text");
    }
}
