//! Building DashScope video-synthesis requests (docs/upstreams.md §9.3):
//! `POST {base}/services/aigc/video-generation/video-synthesis` with
//! `{"model", "input", "parameters"}`, in the shape of the model's family (§9.8 trap 3):
//! text-to-video on 2.6 and older with `parameters.size` as `W*H` (an asterisk); 2.7
//! text-to-video with `resolution` (`720P`, upper-case P) and `ratio`; image-to-video on 2.6
//! and older with `input.img_url`, 2.7 with `input.media[{"type": "first_frame"}]`, both with
//! `resolution` (the ratio follows the image). With a last frame the entry's `keyframe_model`:
//! a kf2v id takes `input.first_frame_url` and `input.last_frame_url` on its own path
//! (`services/aigc/image2video/video-synthesis`, UNCONFIRMED, `keyframe_path`), 2.7 a
//! `last_frame` item after the `first_frame` one in `media[]`. `duration` an integer; `audio` sent on every
//! model that makes audio (on by default upstream, §9.8 trap 5); `prompt_extend` and
//! `watermark` always sent as `false` (a dropped `false` is the default `true` for the
//! rewrite, §9.8 trap 4): the clip delivered is the one asked for, not a rewritten prompt's.

use serde_json::{Value, json};
use url::Url;
use vidgate_domain::request::GuideRole;
use vidgate_domain::upstream::{AudioSupport, UpstreamConfig};
use vidgate_domain::wan;

use crate::provider::JobSpec;
use crate::provider::http::data_url;

/// The largest `seed` DashScope takes (§9.3).
const MAX_SEED: u32 = 2_147_483_647;

/// Whether a Wan id takes the 2.7 "new protocol" (`resolution` + `ratio`, `media[]`).
fn new_protocol(model: &str) -> bool {
    model.starts_with("wan2.7")
}

/// The model a job runs on: `keyframe_model` when the task has a last frame (the plan
/// routes one here only when the entry names it), `image_model` with a first frame,
/// `model` otherwise.
pub fn job_model<'a>(job: &JobSpec, u: &'a UpstreamConfig) -> &'a str {
    if last_frame(job).is_some() {
        &u.keyframe_model
    } else if job.source_image.is_some() {
        &u.image_model
    } else {
        &u.model
    }
}

fn last_frame(job: &JobSpec) -> Option<&vidgate_store::SourceImage> {
    job.guide_images.iter().find(|g| g.role == GuideRole::LastFrame).map(|g| &g.image)
}

/// The create body for a job on the entry's models ([`job_model`]); `None` for a size
/// DashScope has no name for (the plan never routes one here).
pub fn create_body(job: &JobSpec, u: &UpstreamConfig) -> Option<Value> {
    let p = &job.task.params;
    let (resolution, aspect) = p.size.resolution_and_aspect()?;
    let tier = resolution.as_str().to_ascii_uppercase();
    let model = job_model(job, u);
    let mut input = json!({"prompt": p.prompt});
    if let Some(negative) = p.negative_prompt.as_deref().filter(|n| !n.is_empty()) {
        input["negative_prompt"] = json!(negative);
    }
    let mut parameters = json!({"duration": job.upstream_seconds(), "prompt_extend": false, "watermark": false});
    let first = job.source_image.as_ref().zip(p.source_image.as_ref()).map(|(b, m)| data_url(&m.mime, b));
    let last = last_frame(job).map(|i| data_url(&i.mime, &i.bytes));
    match (first, last) {
        (Some(first), Some(last)) if wan::is_kf2v(model) => {
            input["first_frame_url"] = json!(first);
            input["last_frame_url"] = json!(last);
            parameters["resolution"] = json!(tier);
        }
        (Some(first), last) if new_protocol(model) => {
            let mut media = vec![json!({"type": "first_frame", "url": first})];
            media.extend(last.map(|url| json!({"type": "last_frame", "url": url})));
            input["media"] = json!(media);
            parameters["resolution"] = json!(tier);
        }
        (Some(first), _) => {
            input["img_url"] = json!(first);
            parameters["resolution"] = json!(tier);
        }
        (None, _) if new_protocol(model) => {
            parameters["resolution"] = json!(tier);
            parameters["ratio"] = json!(aspect.as_str());
        }
        (None, _) => parameters["size"] = json!(format!("{}*{}", p.size.width, p.size.height)),
    }
    if u.caps().audio != AudioSupport::None {
        parameters["audio"] = json!(job.upstream_audio());
    }
    if let Some(seed) = p.seed {
        parameters["seed"] = json!(seed.min(MAX_SEED));
    }
    Some(json!({"model": model, "input": input, "parameters": parameters}))
}

/// `{base}/services/aigc/video-generation/video-synthesis`, or for a kf2v model its own
/// path (`keyframe_path`, default `services/aigc/image2video/video-synthesis`, §9.3).
pub fn create_url(base: &Url, u: &UpstreamConfig, model: &str) -> Option<Url> {
    base.join(wan::create_path(u, model)).ok()
}

/// `{base}/tasks/{id}`, `None` for an id that is not one path segment.
pub fn task_url(base: &Url, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    let mut url = base.join("tasks").expect("a valid path");
    url.path_segments_mut().ok()?.push(id);
    Some(url)
}

/// `{base}/tasks/{id}/cancel`.
pub fn cancel_url(base: &Url, id: &str) -> Option<Url> {
    let mut url = task_url(base, id)?;
    url.path_segments_mut().ok()?.push("cancel");
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    fn entry(model: &str, image_model: &str) -> UpstreamConfig {
        let value = json!({"name": "wan", "kind": "dashscope", "model": model, "image_model": image_model});
        serde_json::from_value(value).unwrap()
    }

    fn with_image(mut j: JobSpec) -> JobSpec {
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        j
    }

    #[test]
    fn text_to_video_on_2_6_sends_a_w_star_h_size_an_integer_duration_and_explicit_false_values() {
        let mut j = job(5, "720x1280", true, Some(6));
        j.task.params.seed = Some(u32::MAX);
        assert_eq!(
            create_body(&j, &entry("wan2.6-t2v", "wan2.6-i2v")).unwrap(),
            json!({"model": "wan2.6-t2v", "input": {"prompt": "a red fox"},
                "parameters": {"size": "720*1280", "duration": 6, "audio": true, "prompt_extend": false,
                    "watermark": false, "seed": 2_147_483_647}})
        );
    }

    #[test]
    fn image_to_video_sends_img_url_before_2_7_and_a_first_frame_media_item_on_2_7_with_a_resolution() {
        let j = with_image(job(5, "1920x1080", false, Some(5)));
        let old = create_body(&j, &entry("wan2.6-t2v", "wan2.6-i2v")).unwrap();
        assert_eq!(old["model"], "wan2.6-i2v");
        assert_eq!(old["input"]["img_url"], "data:image/png;base64,AQID");
        assert_eq!((old["parameters"]["resolution"].clone(), old["parameters"].get("size")), (json!("1080P"), None));
        let new = create_body(&j, &entry("wan2.7-t2v", "wan2.7-i2v")).unwrap();
        assert_eq!(new["input"]["media"], json!([{"type": "first_frame", "url": "data:image/png;base64,AQID"}]));
        assert_eq!(new["parameters"]["audio"], false);
    }

    #[test]
    fn text_to_video_on_2_7_sends_resolution_and_ratio_and_silent_models_get_no_audio_field() {
        let j = job(5, "1280x720", false, Some(5));
        let new = create_body(&j, &entry("wan2.7-t2v", "")).unwrap();
        assert_eq!(
            (new["parameters"]["resolution"].clone(), new["parameters"]["ratio"].clone()),
            (json!("720P"), json!("16:9"))
        );
        let silent = create_body(&j, &entry("wan2.2-t2v-plus", "")).unwrap();
        assert_eq!(silent["parameters"].get("audio"), None);
    }

    fn with_last_frame(mut j: JobSpec) -> JobSpec {
        let image = vidgate_store::SourceImage { mime: "image/png".into(), sha256: "y".into(), bytes: vec![4, 5, 6] };
        j.guide_images = vec![vidgate_store::GuideImage { role: GuideRole::LastFrame, image }];
        j
    }

    fn keyframe_entry(model: &str, image_model: &str, keyframe_model: &str) -> UpstreamConfig {
        let mut u = entry(model, image_model);
        u.keyframe_model = keyframe_model.into();
        u
    }

    #[test]
    fn a_last_frame_goes_to_the_kf2v_model_as_first_and_last_frame_urls_on_its_own_path() {
        let j = with_last_frame(with_image(job(5, "1920x1080", false, Some(5))));
        let u = keyframe_entry("wan2.2-t2v-plus", "wan2.2-i2v-plus", "wan2.2-kf2v-flash");
        assert_eq!(
            create_body(&j, &u).unwrap(),
            json!({"model": "wan2.2-kf2v-flash",
                "input": {"prompt": "a red fox", "first_frame_url": "data:image/png;base64,AQID",
                    "last_frame_url": "data:image/png;base64,BAUG"},
                "parameters": {"resolution": "1080P", "duration": 5, "prompt_extend": false, "watermark": false}})
        );
        let base = Url::parse("https://dashscope.aliyuncs.com/api/v1/").unwrap();
        assert_eq!(
            create_url(&base, &u, job_model(&j, &u)).unwrap().path(),
            "/api/v1/services/aigc/image2video/video-synthesis"
        );
        assert_eq!(job_model(&with_image(job(5, "1920x1080", false, Some(5))), &u), "wan2.2-i2v-plus");
    }

    #[test]
    fn a_last_frame_on_2_7_is_a_last_frame_media_item_after_the_first() {
        let j = with_last_frame(with_image(job(5, "1280x720", true, Some(5))));
        let body = create_body(&j, &keyframe_entry("wan2.7-t2v", "wan2.7-i2v", "wan2.7-i2v")).unwrap();
        assert_eq!(
            body["input"]["media"],
            json!([{"type": "first_frame", "url": "data:image/png;base64,AQID"},
                {"type": "last_frame", "url": "data:image/png;base64,BAUG"}])
        );
        assert_eq!((body["model"].clone(), body["parameters"]["audio"].clone()), (json!("wan2.7-i2v"), json!(true)));
    }

    #[test]
    fn urls_hang_below_the_base_and_ids_stay_one_segment() {
        let base = Url::parse("https://dashscope.aliyuncs.com/api/v1/").unwrap();
        assert_eq!(
            create_url(&base, &entry("wan2.6-t2v", ""), "wan2.6-t2v").unwrap().as_str(),
            "https://dashscope.aliyuncs.com/api/v1/services/aigc/video-generation/video-synthesis"
        );
        assert_eq!(task_url(&base, "abc-1").unwrap().path(), "/api/v1/tasks/abc-1");
        assert_eq!(cancel_url(&base, "abc-1").unwrap().path(), "/api/v1/tasks/abc-1/cancel");
        assert_eq!(task_url(&base, "../x").unwrap().path(), "/api/v1/tasks/..%2Fx");
        assert_eq!(task_url(&base, ".."), None);
    }
}
