//! Building Luma create requests (docs/upstreams.md §14.3). Agents API:
//! `POST {base}/generations` with `type: "video"` and `model` always sent (trap 8: the
//! default is an image job), `aspect_ratio` `16:9` or `9:16`, and the video options nested
//! under `video`: `duration` a string `"5s"`/`"10s"` (trap 2), `resolution` `"720p"` or
//! `"1080p"`, the first and last frames inline as `{data, media_type}` ImageRefs. Dream
//! Machine API: `POST {base}/generations/video` with a top-level string `duration`
//! (`"5s"`/`"9s"`), `resolution`, `aspect_ratio`, `generation_type: "video"`; text only
//! (its images must be public URLs, trap 6). `loop` is never sent (trap 7).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use url::Url;
use vidgate_domain::luma::LumaApi;
use vidgate_domain::request::GuideRole;

use crate::provider::JobSpec;

/// The create body for `job` on `model`; `None` for a size with no Luma name (the plan never
/// routes one here).
pub fn create_body(job: &JobSpec, api: LumaApi, model: &str) -> Option<Value> {
    let p = &job.task.params;
    let (resolution, aspect) = p.size.resolution_and_aspect()?;
    let duration = format!("{}s", job.upstream_seconds());
    Some(match api {
        LumaApi::Agents => {
            let mut video = json!({"duration": duration, "resolution": resolution.as_str()});
            if let Some((bytes, meta)) = job.source_image.as_ref().zip(p.source_image.as_ref()) {
                video["start_frame"] = image_ref(&meta.mime, bytes);
                if let Some(last) = job.guide_images.iter().find(|g| g.role == GuideRole::LastFrame) {
                    video["end_frame"] = image_ref(&last.image.mime, &last.image.bytes);
                }
            }
            json!({"type": "video", "model": model, "prompt": p.prompt, "aspect_ratio": aspect.as_str(), "video": video})
        }
        LumaApi::DreamMachine => json!({
            "model": model, "prompt": p.prompt, "generation_type": "video", "aspect_ratio": aspect.as_str(),
            "duration": duration, "resolution": resolution.as_str(),
        }),
    })
}

/// An inline ImageRef (§14.3a: `media_type` is required with `data`).
fn image_ref(mime: &str, bytes: &[u8]) -> Value {
    json!({"data": STANDARD.encode(bytes), "media_type": mime})
}

/// `{base}/generations` (Agents) or `{base}/generations/video` (Dream Machine).
pub fn create_url(base: &Url, api: LumaApi) -> Url {
    let path = match api {
        LumaApi::Agents => "generations",
        LumaApi::DreamMachine => "generations/video",
    };
    base.join(path).expect("a valid path")
}

/// `{base}/generations/{id}` (GET, and DELETE on Dream Machine), `None` for an id that is
/// not one path segment.
pub fn generation_url(base: &Url, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    let mut url = base.join("generations").expect("a valid path");
    url.path_segments_mut().ok()?.push(id);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn an_agents_create_is_a_typed_video_job_with_string_duration_nested_under_video() {
        let j = job(4, "720x1280", false, Some(5));
        assert_eq!(
            create_body(&j, LumaApi::Agents, "ray-3.2").unwrap(),
            json!({"type": "video", "model": "ray-3.2", "prompt": "a red fox", "aspect_ratio": "9:16",
                "video": {"duration": "5s", "resolution": "720p"}})
        );
    }

    #[test]
    fn agents_frames_are_inline_image_refs_with_their_media_type() {
        let mut j = job(5, "1920x1080", false, Some(5));
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        let tail = vidgate_store::SourceImage { mime: "image/jpeg".into(), sha256: "y".into(), bytes: vec![4, 5, 6] };
        j.guide_images = vec![vidgate_store::GuideImage { role: GuideRole::LastFrame, image: tail }];
        let video = create_body(&j, LumaApi::Agents, "ray-3.2").unwrap()["video"].clone();
        assert_eq!(
            video,
            json!({"duration": "5s", "resolution": "1080p", "start_frame": {"data": "AQID", "media_type": "image/png"},
                "end_frame": {"data": "BAUG", "media_type": "image/jpeg"}})
        );
    }

    #[test]
    fn a_dream_machine_create_has_top_level_string_duration_and_goes_to_generations_video() {
        let j = job(9, "1280x720", false, Some(9));
        assert_eq!(
            create_body(&j, LumaApi::DreamMachine, "ray-2").unwrap(),
            json!({"model": "ray-2", "prompt": "a red fox", "generation_type": "video", "aspect_ratio": "16:9",
                "duration": "9s", "resolution": "720p"})
        );
        let base = Url::parse("https://api.lumalabs.ai/dream-machine/v1/").unwrap();
        assert_eq!(create_url(&base, LumaApi::DreamMachine).path(), "/dream-machine/v1/generations/video");
        assert_eq!(generation_url(&base, "abc").unwrap().path(), "/dream-machine/v1/generations/abc");
        let agents = Url::parse("https://agents.lumalabs.ai/v1/").unwrap();
        assert_eq!(create_url(&agents, LumaApi::Agents).as_str(), "https://agents.lumalabs.ai/v1/generations");
        assert_eq!(generation_url(&agents, ".."), None);
    }
}
