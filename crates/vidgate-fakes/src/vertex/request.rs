//! The body of Vertex `predictLongRunning`, checked against docs/upstreams.md §2.2 and turned into
//! what the fake will produce.
//!
//! Owns the Vertex parameter rules: one instance with a `prompt`; image objects with
//! `bytesBase64Encoded` or `gcsUri`; `durationSeconds` a *required* JSON integer in {4, 6, 8}
//! (8 with 1080p or reference images); `generateAudio` a *required* boolean (Veo 3);
//! `resolution` 720p/1080p; `aspectRatio` 16:9/9:16; `sampleCount` 1–4; `seed` a uint32;
//! `personGeneration`; `storageUri` a gs:// URI; no keys beyond the documented ones. It must
//! not build responses.

use serde_json::{Map, Value};

use crate::errors::Refusal;
use crate::google::{self, boolean, integer, known_keys, object, one_of, string};
use crate::media::ClipSpec;

const TOP: &[&str] = &["instances", "parameters"];
const INSTANCE: &[&str] = &["prompt", "image", "lastFrame", "video", "mask", "referenceImages"];
const PARAMETERS: &[&str] = &[
    "aspectRatio",
    "compressionQuality",
    "durationSeconds",
    "enhancePrompt",
    "generateAudio",
    "negativePrompt",
    "personGeneration",
    "resizeMode",
    "resolution",
    "sampleCount",
    "seed",
    "storageUri",
    "fps",
    "pubsubTopic",
];

/// A valid request, as the fake will honour it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Predict {
    pub(crate) prompt: String,
    pub(crate) clip: ClipSpec,
    pub(crate) samples: u32,
    /// `gs://bucket/prefix` without a trailing slash, when results go to GCS.
    pub(crate) storage_uri: Option<String>,
    /// The images it carries besides the prompt.
    pub(crate) guides: crate::journal::JobGuides,
}

/// Checks the body and says what to produce.
pub(crate) fn parse(body: &Map<String, Value>) -> Result<Predict, Refusal> {
    known_keys(body, TOP, "", |k| {
        (k == "webhookConfig")
            .then(|| "webhookConfig exists only on the Gemini API (docs/upstreams.md §1.2)".to_owned())
    })?;
    let instance = single_instance(body)?;
    let prompt = instance_fields(instance)?;
    let params = object(body.get("parameters").unwrap_or(&Value::Null), "parameters")?;
    known_keys(params, PARAMETERS, "parameters", |_| None)?;
    let (seconds, _) = google::duration(params, false)?.ok_or_else(|| {
        Refusal::bad(
            "'parameters.durationSeconds' is required (docs/upstreams.md §2.2: integer, documented as required)",
        )
    })?;
    let audio = boolean(params, "generateAudio", "parameters")?.ok_or_else(|| {
        Refusal::bad("'parameters.generateAudio' is required for Veo 3 models (docs/upstreams.md §2.2)")
    })?;
    let resolution = one_of(params, "resolution", &["720p", "1080p"], "parameters")?.unwrap_or("720p");
    let aspect = one_of(params, "aspectRatio", &["16:9", "9:16"], "parameters")?.unwrap_or("16:9");
    if resolution == "1080p" && seconds != 8 {
        return Err(Refusal::bad(format!("1080p requires durationSeconds 8, got {seconds}")));
    }
    if instance.contains_key("referenceImages") && seconds != 8 {
        return Err(Refusal::bad(format!("referenceImages require durationSeconds 8, got {seconds}")));
    }
    other_parameters(params)?;
    let samples = integer(params, "sampleCount", 1..=4, "parameters")?.unwrap_or(1) as u32;
    let storage_uri = storage_uri(params)?;
    let (width, height) = google::frame_size(resolution, aspect);
    let clip = ClipSpec { width, height, duration_ms: u64::from(seconds) * 1000, audio };
    Ok(Predict { prompt, clip, samples, storage_uri, guides: google::job_guides(instance) })
}

fn single_instance(body: &Map<String, Value>) -> Result<&Map<String, Value>, Refusal> {
    match body.get("instances").and_then(Value::as_array).map(Vec::as_slice) {
        Some([instance]) => object(instance, "instances[0]"),
        _ => Err(Refusal::bad("'instances' must be an array with exactly one instance")),
    }
}

/// Checks the instance and returns its prompt.
fn instance_fields(instance: &Map<String, Value>) -> Result<String, Refusal> {
    known_keys(instance, INSTANCE, "instances[0]", |_| None)?;
    let prompt = string(instance, "prompt", "instances[0]")?
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| Refusal::bad("'instances[0].prompt' is required and must be a non-empty string"))?;
    for field in ["image", "lastFrame"] {
        if let Some(value) = instance.get(field) {
            google::image(value, &format!("instances[0].{field}"), true)?;
        }
    }
    if instance.contains_key("lastFrame") && !instance.contains_key("image") {
        return Err(Refusal::bad("'instances[0].lastFrame' must be combined with 'image' (interpolation)"));
    }
    if let Some(refs) = instance.get("referenceImages") {
        reference_images(refs)?;
    }
    if let Some(video) = instance.get("video") {
        video_object(video)?;
    }
    Ok(prompt.to_owned())
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
        google::image(obj.get("image").unwrap_or(&Value::Null), &format!("{at}.image"), true)?;
        // Veo 3.1 has no style references on either platform (docs/upstreams.md §1.2).
        one_of(obj, "referenceType", &["asset"], &at)?;
    }
    Ok(())
}

fn video_object(video: &Value) -> Result<(), Refusal> {
    let obj = object(video, "instances[0].video")?;
    known_keys(obj, &["bytesBase64Encoded", "gcsUri", "mimeType"], "instances[0].video", |_| None)?;
    let mime = string(obj, "mimeType", "instances[0].video")?.unwrap_or("");
    if !mime.starts_with("video/") {
        return Err(Refusal::bad("'instances[0].video.mimeType' must be a video/* type"));
    }
    match (obj.get("bytesBase64Encoded"), obj.get("gcsUri")) {
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(Refusal::bad("'instances[0].video' needs exactly one of bytesBase64Encoded and gcsUri")),
    }
}

/// The parameters that do not change the output.
fn other_parameters(params: &Map<String, Value>) -> Result<(), Refusal> {
    integer(params, "seed", 0..=u64::from(u32::MAX), "parameters")?;
    one_of(params, "personGeneration", &["allow_adult", "dont_allow", "allow_all"], "parameters")?;
    one_of(params, "compressionQuality", &["optimized", "lossless"], "parameters")?;
    one_of(params, "resizeMode", &["pad", "crop"], "parameters")?;
    boolean(params, "enhancePrompt", "parameters")?;
    string(params, "negativePrompt", "parameters")?;
    Ok(())
}

fn storage_uri(params: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let Some(uri) = string(params, "storageUri", "parameters")? else { return Ok(None) };
    let rest = uri.strip_prefix("gs://").unwrap_or("");
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Refusal::bad(format!("'parameters.storageUri' must be gs://BUCKET/SUBDIR, got {uri:?}")));
    }
    Ok(Some(uri.trim_end_matches('/').to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(params: Value) -> Map<String, Value> {
        json!({"instances": [{"prompt": "a cat"}], "parameters": params}).as_object().unwrap().clone()
    }

    fn valid() -> Value {
        json!({"durationSeconds": 6, "generateAudio": false, "resolution": "720p", "aspectRatio": "9:16",
               "sampleCount": 2, "seed": 4294967295u64, "personGeneration": "allow_all"})
    }

    fn reason(params: Value) -> String {
        parse(&body(params)).unwrap_err().reason
    }

    #[test]
    fn a_documented_request_becomes_a_portrait_silent_six_second_job() {
        let p = parse(&body(valid())).unwrap();
        assert_eq!(p.clip, ClipSpec { width: 720, height: 1280, duration_ms: 6000, audio: false });
        assert_eq!((p.samples, p.storage_uri, p.prompt.as_str()), (2, None, "a cat"));
    }

    #[test]
    fn a_string_duration_is_refused_on_vertex() {
        let mut params = valid();
        params["durationSeconds"] = json!("6");
        assert_eq!(
            reason(params),
            "'parameters.durationSeconds' must be a JSON integer (docs/upstreams.md §2.2), got the string \"6\""
        );
    }

    #[test]
    fn required_duration_and_audio_are_enforced() {
        assert!(reason(json!({"generateAudio": true})).contains("durationSeconds' is required"));
        assert!(reason(json!({"durationSeconds": 8})).contains("generateAudio' is required"));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for (key, value) in [
            ("resolution", json!("1080p")),
            ("resolution", json!("4k")),
            ("aspectRatio", json!("1:1")),
            ("sampleCount", json!(5)),
            ("seed", json!(4294967296u64)),
            ("seed", json!(-1)),
            ("personGeneration", json!("everyone")),
            ("generateAudio", json!("true")),
            ("storageUri", json!("s3://b/p")),
            ("durationSeconds", json!(5)),
            ("unknownKnob", json!(1)),
        ] {
            let mut params = valid();
            params[key] = value.clone();
            assert!(parse(&body(params)).is_err(), "{key} = {value}");
        }
    }

    #[test]
    fn storage_uri_keeps_bucket_and_prefix_without_the_trailing_slash() {
        let mut params = valid();
        params["storageUri"] = json!("gs://bucket/out/");
        assert_eq!(parse(&body(params)).unwrap().storage_uri.as_deref(), Some("gs://bucket/out"));
    }

    #[test]
    fn webhook_config_is_gemini_only() {
        let mut b = body(valid());
        b.insert("webhookConfig".into(), json!({"uris": []}));
        assert_eq!(
            parse(&b).unwrap_err().reason,
            "webhookConfig exists only on the Gemini API (docs/upstreams.md §1.2)"
        );
    }
}
