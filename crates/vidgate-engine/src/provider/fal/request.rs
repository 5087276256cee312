//! Building fal queue requests (docs/upstreams.md §12.3): `POST {base}/{endpoint id}` with
//! the model's input JSON itself (no wrapper), shaped by the endpoint's [`FalModel`]
//! mapping: the length in the endpoint's own encoding (trap 6), the image in its own field
//! (trap 7) as a `data:` URI, the audio switch always sent where there is one (it defaults to
//! on upstream, trap 8); and the check that a URL the queue handed back is on the queue's
//! own origin before the key goes with it (trap 11).

use serde_json::{Map, Value, json};
use url::Url;
use vidgate_domain::fal::FalModel;
use vidgate_domain::upstream::{AudioSupport, UpstreamConfig};

use crate::provider::JobSpec;
use crate::provider::http::data_url;

/// The endpoint a job goes to: the entry's `image_model` when the task has a first frame
/// and the entry names one, else its `model`.
pub fn endpoint<'a>(job: &JobSpec, u: &'a UpstreamConfig) -> &'a str {
    if job.source_image.is_some() && !u.image_model.is_empty() { &u.image_model } else { &u.model }
}

/// The input JSON for a job on `model`; `None` for a size with no resolution name (the plan
/// never routes one here).
pub fn body(job: &JobSpec, model: &FalModel) -> Option<Value> {
    let p = &job.task.params;
    let (resolution, aspect) = p.size.resolution_and_aspect()?;
    let mut input: Map<String, Value> = model.extra.clone().into_iter().collect();
    let mut set = |field: &str, value: Value| {
        if !field.is_empty() {
            input.insert(field.to_owned(), value);
        }
    };
    set(&model.prompt_field, json!(p.prompt));
    let seconds = job.upstream_seconds();
    set(&model.duration_field, model.duration_value(seconds));
    set(&model.fps_field, json!(model.fps));
    set(&model.resolution_field, json!(model.resolution_value(resolution.as_str())));
    if let Some((bytes, meta)) = job.source_image.as_ref().zip(p.source_image.as_ref()) {
        set(&model.image_field, json!(data_url(&meta.mime, bytes)));
    } else {
        // An image-to-video endpoint follows the image's aspect; text-to-video is told.
        set(&model.aspect_ratio_field, json!(aspect.as_str()));
    }
    if model.audio == AudioSupport::Switchable {
        set(&model.audio_field, json!(job.upstream_audio()));
    }
    if let Some(negative) = p.negative_prompt.as_deref().filter(|n| !n.is_empty()) {
        set(&model.negative_prompt_field, json!(negative));
    }
    if let Some(seed) = p.seed {
        set(&model.seed_field, json!(seed));
    }
    Some(Value::Object(input))
}

/// `{base}/{endpoint id}`.
pub fn submit_url(base: &Url, endpoint: &str) -> Url {
    // Endpoint ids are checked at start-up to be plain `owner/app[/path]` segments.
    base.join(endpoint).expect("a valid endpoint path")
}

/// A URL the queue handed back (status, result, cancel), if it is on the queue's own origin:
/// the key is sent with it, so a URL elsewhere is never followed (trap 11).
pub fn queue_url(base: &Url, text: &str) -> Option<Url> {
    let url = Url::parse(text).ok()?;
    let same = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    same.then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;
    use vidgate_domain::fal::shipped;

    fn with_image(mut j: JobSpec) -> JobSpec {
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        j
    }

    #[test]
    fn veo_gets_an_s_suffixed_length_its_resolution_and_aspect_an_explicit_audio_switch_and_no_auto_fix() {
        let mut j = job(5, "1280x720", true, Some(6));
        j.task.params.seed = Some(7);
        assert_eq!(
            body(&j, &shipped()["fal-ai/veo3.1"]).unwrap(),
            json!({"prompt": "a red fox", "duration": "6s", "resolution": "720p", "aspect_ratio": "16:9",
                "generate_audio": true, "seed": 7, "auto_fix": false})
        );
    }

    #[test]
    fn kling_image_to_video_sends_start_image_url_a_string_length_and_no_aspect() {
        let j = with_image(job(5, "1920x1080", false, Some(5)));
        assert_eq!(
            body(&j, &shipped()["fal-ai/kling-video/v3/pro/image-to-video"]).unwrap(),
            json!({"prompt": "a red fox", "start_image_url": "data:image/png;base64,AQID", "duration": "5",
                "generate_audio": false})
        );
    }

    #[test]
    fn frame_counted_and_integer_lengths_and_renamed_resolutions_are_encoded_per_model() {
        let wan = body(&job(5, "720x1280", false, Some(5)), &shipped()["fal-ai/wan/v2.2-a14b/text-to-video"]).unwrap();
        assert_eq!((wan["num_frames"].clone(), wan["frames_per_second"].clone()), (json!(81), json!(16)));
        assert_eq!((wan.get("duration"), wan.get("generate_audio")), (None, None));
        let ltx = body(&job(6, "3840x2160", true, Some(6)), &shipped()["fal-ai/ltx-2.3/text-to-video"]).unwrap();
        assert_eq!((ltx["duration"].clone(), ltx["resolution"].clone()), (json!(6), json!("2160p")));
    }

    #[test]
    fn only_urls_on_the_queue_origin_are_followed() {
        let base = Url::parse("https://queue.fal.run/").unwrap();
        assert_eq!(submit_url(&base, "fal-ai/veo3.1/image-to-video").path(), "/fal-ai/veo3.1/image-to-video");
        assert!(queue_url(&base, "https://queue.fal.run/fal-ai/veo3.1/requests/r1/status").is_some());
        assert!(queue_url(&base, "https://evil.example/fal-ai/veo3.1/requests/r1").is_none());
        assert!(queue_url(&base, "http://queue.fal.run/x").is_none());
        assert!(queue_url(&base, "not a url").is_none());
    }
}
