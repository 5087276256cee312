//! The body of Gemini API `predictLongRunning`, checked against docs/upstreams.md §1.2 and the Veo
//! 3.1 column of §1.3, and turned into what the fake will produce.
//!
//! Owns the Gemini rules: `instances[0]` holds `prompt`, `image`, `lastFrame`,
//! `referenceImages` and `video` (a `uri` of an earlier output only); image objects are
//! `{bytesBase64Encoded, mimeType}`; `parameters` holds `aspectRatio`, `resolution`,
//! `durationSeconds`, `negativePrompt`, `personGeneration`, `sampleCount` (1) and
//! `enhancePrompt`; the Vertex-only fields are refused; `seed` and string `durationSeconds`
//! are UNCONFIRMED, so accepted and noted. It must not build responses.

use serde_json::{Map, Value};

use crate::errors::Refusal;
use crate::google::{self, DurationForm, boolean, integer, known_keys, object, one_of, string};
use crate::media::ClipSpec;

const TOP: &[&str] = &["instances", "parameters", "webhookConfig"];
const INSTANCE: &[&str] = &["prompt", "image", "lastFrame", "referenceImages", "video"];
const PARAMETERS: &[&str] = &[
    "aspectRatio",
    "resolution",
    "durationSeconds",
    "negativePrompt",
    "personGeneration",
    "sampleCount",
    "enhancePrompt",
    "seed",
];
/// Fields the SDK refuses in Gemini API mode (docs/upstreams.md §1.2); `seed` is listed there too
/// but the docs say Veo 3 takes it, so it is accepted and noted.
const VERTEX_ONLY: &[&str] =
    &["generateAudio", "storageUri", "fps", "pubsubTopic", "mask", "compressionQuality", "labels", "resizeMode"];

/// Extension adds this much to the input video (docs/upstreams.md §1.3).
const EXTENSION_MS: u64 = 7000;
/// The longest video that can be extended (docs/upstreams.md §1.3).
const MAX_EXTENSION_INPUT_MS: u64 = 141_000;
/// Extensions one chain may have (docs/upstreams.md §1.3: "up to 20 times").
const MAX_EXTENSIONS: u32 = 20;

/// An earlier output of this fake, as an extension finds it by its URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) clip: ClipSpec,
    /// Extensions already in it (0: a generated clip).
    pub(crate) extensions: u32,
    /// The length of the clip its chain started from.
    pub(crate) base_ms: u64,
}

/// What an extension request continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extension {
    /// `instances[0].video.uri` as sent.
    pub(crate) uri: String,
    pub(crate) source: Source,
}

/// A valid request, as the fake will honour it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Generate {
    pub(crate) prompt: String,
    pub(crate) clip: ClipSpec,
    /// The earlier output an extension continues.
    pub(crate) extension: Option<Extension>,
    /// UNCONFIRMED points the request relied on.
    pub(crate) notes: Vec<String>,
    /// The images it carries besides the prompt.
    pub(crate) guides: crate::journal::JobGuides,
}

/// What kind of generation the instance asks for; it decides `personGeneration` and 8 s rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Image,
    Interpolation,
    References,
    Extension(Source),
}

/// Checks the body for `model`; `video_of` finds an earlier output by its URI (`None`: not
/// one of this fake's outputs, or older than 2 days).
pub(crate) fn parse(
    body: &Map<String, Value>,
    model: &str,
    video_of: impl Fn(&str) -> Option<Source>,
) -> Result<Generate, Refusal> {
    known_keys(body, TOP, "", |_| None)?;
    if let Some(webhook) = body.get("webhookConfig") {
        webhook_config(webhook)?;
    }
    let instance = match body.get("instances").and_then(Value::as_array).map(Vec::as_slice) {
        Some([instance]) => object(instance, "instances[0]")?,
        _ => return Err(Refusal::bad("'instances' must be an array with exactly one instance")),
    };
    let (prompt, mode, uri) = instance_fields(instance, &video_of)?;
    let empty = Value::Object(Map::new());
    let params = object(body.get("parameters").unwrap_or(&empty), "parameters")?;
    let mut notes = Vec::new();
    if let Mode::Extension(source) = mode {
        extension_rules(model, source, &mut notes)?;
    }
    let clip = parameters(params, model, mode, &mut notes)?;
    let extension = match mode {
        Mode::Extension(source) => Some(Extension { uri: uri.unwrap_or_default(), source }),
        _ => None,
    };
    Ok(Generate { prompt, clip, extension, notes, guides: google::job_guides(instance) })
}

/// What the Veo 3.1 column of §1.3 says about extending `source` on `model`.
fn extension_rules(model: &str, source: Source, notes: &mut Vec<String>) -> Result<(), Refusal> {
    if !model.starts_with("veo-3.1") {
        return Err(Refusal::bad(format!("video extension is supported by Veo 3.1 models only, not {model}")));
    }
    if source.extensions >= MAX_EXTENSIONS {
        return Err(Refusal::bad(format!(
            "a video can be extended up to {MAX_EXTENSIONS} times (docs/upstreams.md §1.3)"
        )));
    }
    if source.base_ms != 8000 {
        // "Must be 8 with extension" may bind the clip a chain starts from as well as the
        // extension request; which one is not said (docs/upstreams.md §1.3), so this is accepted.
        notes.push(format!(
            "extending a chain whose first clip is {} ms, not 8 s: whether \"must be 8 with extension\" \
             binds the first clip is unclear (§1.3)",
            source.base_ms
        ));
    }
    Ok(())
}

fn webhook_config(value: &Value) -> Result<(), Refusal> {
    let obj = object(value, "webhookConfig")?;
    known_keys(obj, &["uris", "user_metadata"], "webhookConfig", |_| None)?;
    match obj.get("uris").and_then(Value::as_array) {
        Some(uris) if uris.iter().all(Value::is_string) => Ok(()),
        _ => Err(Refusal::bad("'webhookConfig.uris' must be an array of strings")),
    }
}

fn vertex_only(key: &str) -> Option<String> {
    VERTEX_ONLY
        .contains(&key)
        .then(|| format!("`{key}` is a Vertex AI-only field; the Gemini API does not take it (docs/upstreams.md §1.2)"))
}

fn instance_fields(
    instance: &Map<String, Value>,
    video_of: &impl Fn(&str) -> Option<Source>,
) -> Result<(String, Mode, Option<String>), Refusal> {
    known_keys(instance, INSTANCE, "instances[0]", vertex_only)?;
    let prompt = string(instance, "prompt", "instances[0]")?
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| Refusal::bad("'instances[0].prompt' is required and must be a non-empty string"))?;
    for field in ["image", "lastFrame"] {
        if let Some(value) = instance.get(field) {
            google::image(value, &format!("instances[0].{field}"), false)?;
        }
    }
    let mode = match (instance.get("image"), instance.get("lastFrame"), instance.get("referenceImages")) {
        (None, Some(_), _) => {
            return Err(Refusal::bad("'instances[0].lastFrame' must be combined with 'image' (interpolation)"));
        }
        (Some(_), Some(_), _) => Mode::Interpolation,
        (_, _, Some(refs)) => {
            reference_images(refs)?;
            Mode::References
        }
        (Some(_), None, None) => Mode::Image,
        (None, None, None) => Mode::Text,
    };
    match instance.get("video") {
        None => Ok((prompt.to_owned(), mode, None)),
        Some(_) if mode != Mode::Text => Err(Refusal::bad("'instances[0].video' (extension) takes no images")),
        Some(video) => {
            let (uri, source) = extension_source(video, video_of)?;
            Ok((prompt.to_owned(), Mode::Extension(source), Some(uri)))
        }
    }
}

fn reference_images(refs: &Value) -> Result<(), Refusal> {
    let list = refs
        .as_array()
        .filter(|l| (1..=3).contains(&l.len()))
        .ok_or_else(|| Refusal::bad("'instances[0].referenceImages' must be an array of 1 to 3 reference images"))?;
    for (i, item) in list.iter().enumerate() {
        let at = format!("instances[0].referenceImages[{i}]");
        let obj = object(item, &at)?;
        known_keys(obj, &["image", "referenceType"], &at, |_| None)?;
        google::image(obj.get("image").unwrap_or(&Value::Null), &format!("{at}.image"), false)?;
        one_of(obj, "referenceType", &["asset"], &at)?;
    }
    Ok(())
}

/// The earlier output an extension continues (docs/upstreams.md §1.2: a Files-API `uri` only).
fn extension_source(video: &Value, video_of: &impl Fn(&str) -> Option<Source>) -> Result<(String, Source), Refusal> {
    let obj = object(video, "instances[0].video")?;
    if obj.contains_key("bytesBase64Encoded") || obj.contains_key("encodedVideo") {
        return Err(Refusal::bad("video parameter is not supported in Gemini API (send the `uri` of a Veo output)"));
    }
    known_keys(obj, &["uri"], "instances[0].video", |_| None)?;
    let uri = string(obj, "uri", "instances[0].video")?.unwrap_or("");
    let source = video_of(uri).ok_or_else(|| {
        Refusal::bad(format!("'instances[0].video.uri' {uri:?} is not a Veo output of the last 2 days"))
    })?;
    let clip = source.clip;
    let p720 = (clip.width.min(clip.height), clip.width.max(clip.height)) == (720, 1280);
    if !p720 || clip.duration_ms > MAX_EXTENSION_INPUT_MS {
        return Err(Refusal::bad("an extended video must be a 720p 16:9 or 9:16 Veo output of at most 141 s"));
    }
    Ok((uri.to_owned(), source))
}

fn parameters(
    params: &Map<String, Value>,
    model: &str,
    mode: Mode,
    notes: &mut Vec<String>,
) -> Result<ClipSpec, Refusal> {
    known_keys(params, PARAMETERS, "parameters", vertex_only)?;
    if integer(params, "seed", 0..=u64::from(u32::MAX), "parameters")?.is_some() {
        notes.push("parameters.seed sent over REST to the Gemini API (UNCONFIRMED, docs/upstreams.md §1.2)".into());
    }
    let seconds = match google::duration(params, true)? {
        Some((n, DurationForm::String)) => {
            notes.push(format!("durationSeconds sent as the string \"{n}\" (UNCONFIRMED; send integers, §1.2)"));
            n
        }
        Some((n, DurationForm::Integer)) => n,
        None => 8,
    };
    let resolutions: &[&str] = if model.contains("-lite-") { &["720p", "1080p"] } else { &["720p", "1080p", "4k"] };
    let resolution = one_of(params, "resolution", resolutions, "parameters")?.unwrap_or("720p");
    let aspect = one_of(params, "aspectRatio", &["16:9", "9:16"], "parameters")?.unwrap_or("16:9");
    eight_second_rules(seconds, resolution, mode)?;
    person_generation(params, mode)?;
    integer(params, "sampleCount", 1..=1, "parameters")?;
    boolean(params, "enhancePrompt", "parameters")?;
    string(params, "negativePrompt", "parameters")?;
    Ok(match mode {
        // One stitched video: the input's frame and length plus 7 s (rendered afresh by the
        // fake; its frames are not the input's, its length and size are what a client sees).
        Mode::Extension(input) => {
            ClipSpec { duration_ms: input.clip.duration_ms + EXTENSION_MS, audio: true, ..input.clip }
        }
        _ => {
            let (width, height) = google::frame_size(resolution, aspect);
            ClipSpec { width, height, duration_ms: u64::from(seconds) * 1000, audio: true }
        }
    })
}

fn eight_second_rules(seconds: u32, resolution: &str, mode: Mode) -> Result<(), Refusal> {
    let why = match mode {
        _ if resolution != "720p" => Some(format!("resolution {resolution}")),
        Mode::Interpolation => Some("interpolation (image + lastFrame)".into()),
        Mode::References => Some("referenceImages".into()),
        Mode::Extension(_) => Some("extension".into()),
        Mode::Text | Mode::Image => None,
    };
    if let Some(why) = why.filter(|_| seconds != 8) {
        return Err(Refusal::bad(format!(
            "durationSeconds must be 8 with {why}, got {seconds} (docs/upstreams.md §1.3)"
        )));
    }
    if matches!(mode, Mode::Extension(_)) && resolution != "720p" {
        return Err(Refusal::bad("extension output is 720p only (docs/upstreams.md §1.3)"));
    }
    Ok(())
}

/// Veo 3.1: `allow_all` for text-to-video and extension, `allow_adult` for image inputs.
fn person_generation(params: &Map<String, Value>, mode: Mode) -> Result<(), Refusal> {
    let allowed: &[&str] = match mode {
        Mode::Text | Mode::Extension(_) => &["allow_all"],
        Mode::Image | Mode::Interpolation | Mode::References => &["allow_adult"],
    };
    one_of(params, "personGeneration", allowed, "parameters").map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MODEL: &str = "veo-3.1-generate-preview";
    const PNG: &str = "iVBORw0KGgo=";

    fn body(instance: Value, params: Value) -> Map<String, Value> {
        json!({"instances": [instance], "parameters": params}).as_object().unwrap().clone()
    }

    fn text(params: Value) -> Result<Generate, Refusal> {
        parse(&body(json!({"prompt": "a fox"}), params), MODEL, |_| None)
    }

    #[test]
    fn text_to_video_has_audio_and_defaults_to_eight_seconds_720p_landscape() {
        let g = text(json!({})).unwrap();
        assert_eq!(g.clip, ClipSpec { width: 1280, height: 720, duration_ms: 8000, audio: true });
        assert_eq!(g.notes, Vec::<String>::new());
    }

    #[test]
    fn a_string_duration_and_a_seed_are_accepted_but_noted() {
        let g = text(json!({"durationSeconds": "4", "seed": 12})).unwrap();
        assert_eq!(g.clip.duration_ms, 4000);
        assert_eq!(g.notes.len(), 2);
    }

    #[test]
    fn vertex_only_fields_are_refused_by_name() {
        let err = text(json!({"generateAudio": false})).unwrap_err();
        assert_eq!(
            err.reason,
            "`generateAudio` is a Vertex AI-only field; the Gemini API does not take it (docs/upstreams.md §1.2)"
        );
        assert!(text(json!({"storageUri": "gs://b/p"})).is_err());
    }

    #[test]
    fn high_resolutions_and_image_modes_need_eight_seconds() {
        assert!(text(json!({"resolution": "1080p", "durationSeconds": 6})).is_err());
        assert!(text(json!({"resolution": "1080p", "durationSeconds": 8})).is_ok());
        let img = json!({"bytesBase64Encoded": PNG, "mimeType": "image/png"});
        let interp = json!({"prompt": "p", "image": img, "lastFrame": img});
        assert!(parse(&body(interp.clone(), json!({"durationSeconds": 6})), MODEL, |_| None).is_err());
        assert!(parse(&body(interp, json!({"durationSeconds": 8})), MODEL, |_| None).is_ok());
    }

    #[test]
    fn person_generation_follows_the_mode() {
        assert!(text(json!({"personGeneration": "allow_all"})).is_ok());
        assert!(text(json!({"personGeneration": "allow_adult"})).is_err());
        let i2v = json!({"prompt": "p", "image": {"bytesBase64Encoded": PNG, "mimeType": "image/png"}});
        assert!(parse(&body(i2v.clone(), json!({"personGeneration": "allow_adult"})), MODEL, |_| None).is_ok());
        assert!(parse(&body(i2v, json!({"personGeneration": "allow_all"})), MODEL, |_| None).is_err());
    }

    #[test]
    fn lite_has_no_4k_and_only_one_sample_is_allowed() {
        let b = body(json!({"prompt": "p"}), json!({"resolution": "4k", "durationSeconds": 8}));
        assert!(parse(&b, "veo-3.1-lite-generate-preview", |_| None).is_err());
        assert_eq!(parse(&b, MODEL, |_| None).unwrap().clip.width, 3840);
        assert!(text(json!({"sampleCount": 2})).is_err());
    }

    #[test]
    fn an_extension_adds_seven_seconds_to_a_known_output_and_refuses_bytes() {
        let known = ClipSpec { width: 720, height: 1280, duration_ms: 8000, audio: true };
        let source = Source { clip: known, extensions: 0, base_ms: 8000 };
        let ext = |video: Value| {
            parse(&body(json!({"prompt": "p", "video": video}), json!({"durationSeconds": 8})), MODEL, |u| {
                (u == "U").then_some(source)
            })
        };
        let g = ext(json!({"uri": "U"})).unwrap();
        assert_eq!(g.clip, ClipSpec { duration_ms: 15000, ..known });
        assert_eq!(g.extension, Some(Extension { uri: "U".into(), source }));
        assert!(ext(json!({"uri": "other"})).is_err());
        assert!(ext(json!({"bytesBase64Encoded": "AAAA", "mimeType": "video/mp4"})).is_err());
    }

    fn extend(model: &str, source: Source, params: Value) -> Result<Generate, Refusal> {
        parse(&body(json!({"prompt": "p", "video": {"uri": "U"}}), params), model, |_| Some(source))
    }

    const HD: ClipSpec = ClipSpec { width: 1280, height: 720, duration_ms: 8000, audio: true };

    #[test]
    fn an_extension_must_say_eight_seconds_at_720p_on_veo_3_1() {
        let source = Source { clip: HD, extensions: 0, base_ms: 8000 };
        assert!(extend(MODEL, source, json!({})).is_ok(), "durationSeconds defaults to 8");
        let err = extend(MODEL, source, json!({"durationSeconds": 6})).unwrap_err();
        assert_eq!(err.reason, "durationSeconds must be 8 with extension, got 6 (docs/upstreams.md §1.3)");
        let err = extend(MODEL, source, json!({"durationSeconds": 8, "resolution": "1080p"})).unwrap_err();
        assert_eq!(err.reason, "extension output is 720p only (docs/upstreams.md §1.3)");
        let err = extend("veo-3.0-generate-preview", source, json!({})).unwrap_err();
        assert_eq!(err.reason, "video extension is supported by Veo 3.1 models only, not veo-3.0-generate-preview");
        let full_hd = Source { clip: ClipSpec { width: 1920, height: 1080, ..HD }, ..source };
        assert!(extend(MODEL, full_hd, json!({})).is_err());
    }

    #[test]
    fn a_chain_stops_at_twenty_extensions_or_141_seconds_of_input() {
        let twentieth = Source { clip: ClipSpec { duration_ms: 141_000, ..HD }, extensions: 19, base_ms: 8000 };
        assert_eq!(extend(MODEL, twentieth, json!({})).unwrap().clip.duration_ms, 148_000);
        // A 20-times-extended 8 s clip is 148 s, already over 141 s; the count is checked anyway.
        let done = Source { clip: ClipSpec { duration_ms: 141_000, ..HD }, extensions: 20, base_ms: 8000 };
        let err = extend(MODEL, done, json!({})).unwrap_err();
        assert_eq!(err.reason, "a video can be extended up to 20 times (docs/upstreams.md §1.3)");
        let long = Source { clip: ClipSpec { duration_ms: 142_000, ..HD }, extensions: 0, base_ms: 142_000 };
        assert!(extend(MODEL, long, json!({})).is_err());
    }

    #[test]
    fn extending_a_chain_that_started_shorter_than_eight_seconds_is_accepted_but_noted() {
        let source = Source { clip: ClipSpec { duration_ms: 4000, ..HD }, extensions: 0, base_ms: 4000 };
        let g = extend(MODEL, source, json!({})).unwrap();
        assert_eq!((g.clip.duration_ms, g.notes.len()), (11_000, 1));
    }
}
