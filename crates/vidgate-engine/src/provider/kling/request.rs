//! Building Kling create requests on the legacy endpoints (docs/upstreams.md §10.3):
//! `POST {base}/v1/videos/text2video` or `/v1/videos/image2video` with `model_name`,
//! `prompt`, `negative_prompt`, `mode` (`std` 720p, `pro` 1080p), `duration` as a *string*
//! (`"5"`), `aspect_ratio` on text-to-video only (image-to-video follows the first frame,
//! §10.8 trap 12), `sound` `on`/`off` on models that make audio, `image` and `image_tail`
//! as raw Base64 without a `data:` prefix (trap 5), `multi_shot: false` on 3.0 (its default
//! is several shots, trap 9), and the vidgate task id as `external_task_id` (trap 7).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use url::Url;
use vidgate_domain::catalog::Resolution;
use vidgate_domain::kling::makes_audio;
use vidgate_domain::request::GuideRole;
use vidgate_domain::upstream::{AudioSupport, UpstreamConfig};

use crate::provider::JobSpec;

/// Which legacy endpoint a job uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Text2Video,
    Image2Video,
}

impl Endpoint {
    /// The endpoint of a job: image-to-video when it has a first frame.
    pub fn of(job: &JobSpec) -> Endpoint {
        if job.task.params.source_image.is_some() { Endpoint::Image2Video } else { Endpoint::Text2Video }
    }

    fn path(self) -> &'static str {
        match self {
            Endpoint::Text2Video => "v1/videos/text2video",
            Endpoint::Image2Video => "v1/videos/image2video",
        }
    }
}

/// The create body; `None` for a size Kling has no mode for (the plan never routes one here).
pub fn create_body(job: &JobSpec, u: &UpstreamConfig) -> Option<Value> {
    let p = &job.task.params;
    let (resolution, aspect) = p.size.resolution_and_aspect()?;
    let mode = match resolution {
        Resolution::P720 => "std",
        Resolution::P1080 => "pro",
        _ => return None,
    };
    let mut body = json!({
        "model_name": u.model,
        "prompt": p.prompt,
        "mode": mode,
        "duration": job.upstream_seconds().to_string(),
        "external_task_id": job.task.id.to_string(),
    });
    if let Some(negative) = p.negative_prompt.as_deref().filter(|n| !n.is_empty()) {
        body["negative_prompt"] = json!(negative);
    }
    // Turbo always makes audio and documents no switch.
    if makes_audio(&u.model) && u.caps().audio == AudioSupport::Switchable {
        body["sound"] = json!(if job.upstream_audio() { "on" } else { "off" });
    }
    if u.model.starts_with("kling-v3") {
        body["multi_shot"] = json!(false);
    }
    match &job.source_image {
        Some(bytes) if p.source_image.is_some() => {
            body["image"] = json!(STANDARD.encode(bytes));
            if let Some(tail) = job.guide_images.iter().find(|g| g.role == GuideRole::LastFrame) {
                body["image_tail"] = json!(STANDARD.encode(&tail.image.bytes));
            }
        }
        _ => body["aspect_ratio"] = json!(aspect.as_str()),
    }
    Some(body)
}

/// `{base}/v1/videos/text2video` or `…/image2video`.
pub fn create_url(base: &Url, endpoint: Endpoint) -> Url {
    base.join(endpoint.path()).expect("a valid path")
}

/// `{base}/v1/videos/{endpoint}/{id}`, `None` for an id that is not one path segment.
pub fn task_url(base: &Url, endpoint: Endpoint, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    let mut url = create_url(base, endpoint);
    url.path_segments_mut().ok()?.push(id);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    fn entry(model: &str) -> UpstreamConfig {
        serde_json::from_value(json!({"name": "kling", "kind": "kling", "model": model})).unwrap()
    }

    fn with_image(mut j: JobSpec) -> JobSpec {
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        j
    }

    #[test]
    fn text_to_video_sends_a_string_duration_the_mode_the_aspect_and_the_sound_switch() {
        let mut j = job(5, "1080x1920", true, Some(10));
        j.task.params.negative_prompt = Some("blur".into());
        let id = j.task.id.to_string();
        assert_eq!(
            create_body(&j, &entry("kling-v2-6")).unwrap(),
            json!({"model_name": "kling-v2-6", "prompt": "a red fox", "negative_prompt": "blur", "mode": "pro",
                "duration": "10", "aspect_ratio": "9:16", "sound": "on", "external_task_id": id})
        );
        let silent = create_body(&job(5, "1280x720", false, Some(5)), &entry("kling-v2-5-turbo")).unwrap();
        assert_eq!((silent["mode"].clone(), silent.get("sound")), (json!("std"), None));
        let v3 = create_body(&job(5, "1280x720", false, Some(7)), &entry("kling-v3")).unwrap();
        assert_eq!(
            (v3["sound"].clone(), v3["multi_shot"].clone(), v3["duration"].clone()),
            (json!("off"), json!(false), json!("7"))
        );
    }

    #[test]
    fn image_to_video_sends_raw_base64_frames_and_no_aspect_ratio() {
        let mut j = with_image(job(5, "1920x1080", false, Some(5)));
        let tail = vidgate_store::SourceImage { mime: "image/png".into(), sha256: "y".into(), bytes: vec![4, 5, 6] };
        j.guide_images = vec![vidgate_store::GuideImage { role: GuideRole::LastFrame, image: tail }];
        let body = create_body(&j, &entry("kling-v3")).unwrap();
        assert_eq!((body["image"].clone(), body["image_tail"].clone()), (json!("AQID"), json!("BAUG")));
        assert_eq!(body.get("aspect_ratio"), None);
        assert_eq!(Endpoint::of(&j), Endpoint::Image2Video);
    }

    #[test]
    fn urls_hang_below_the_host_and_ids_stay_one_segment() {
        let base = Url::parse("https://api-singapore.klingai.com/").unwrap();
        assert_eq!(
            create_url(&base, Endpoint::Image2Video).as_str(),
            "https://api-singapore.klingai.com/v1/videos/image2video"
        );
        assert_eq!(task_url(&base, Endpoint::Text2Video, "86728").unwrap().path(), "/v1/videos/text2video/86728");
        assert_eq!(task_url(&base, Endpoint::Text2Video, "../x").unwrap().path(), "/v1/videos/text2video/..%2Fx");
        assert_eq!(task_url(&base, Endpoint::Text2Video, ".."), None);
    }
}
