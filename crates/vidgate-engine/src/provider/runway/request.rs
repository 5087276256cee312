//! Building Runway create requests (docs/upstreams.md §13.3): `POST {base}/v1/text_to_video`
//! without an image and `POST {base}/v1/image_to_video` with one (§13.8 trap 4: the image
//! endpoint requires `promptImage`), camelCase JSON: `model`, `promptText`, `ratio` as pixels
//! `"W:H"` (trap 3), an integer `duration`; `promptImage` a `data:` URI (a plain string for a
//! first frame alone, `[{uri, position}]` with a last frame); `audio` only where the model
//! takes it, always sent there (on or off as planned); `negativePrompt` and `seed` only where
//! the model takes them; never an `outputFormat` (trap 11: the default is MP4).

use serde_json::{Value, json};
use url::Url;
use vidgate_domain::request::GuideRole;
use vidgate_domain::runway::{max_prompt_units, takes_audio, takes_negative_prompt, takes_seed};

use crate::provider::JobSpec;
use crate::provider::http::data_url;

/// The largest `promptImage` data URI, encoded (§13.3: 5 MB applies to the encoded string).
pub const MAX_DATA_URI_BYTES: usize = 5 * 1024 * 1024;

/// Which create endpoint a job goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    TextToVideo,
    ImageToVideo,
}

impl Endpoint {
    /// Image-to-video when the job has a first frame.
    pub fn of(job: &JobSpec) -> Endpoint {
        if job.source_image.is_some() && job.task.params.source_image.is_some() {
            Endpoint::ImageToVideo
        } else {
            Endpoint::TextToVideo
        }
    }
}

/// The create body for `job` on `model`, or why it cannot be sent (a prompt or an image
/// Runway would refuse, checked before anything is spent).
pub fn create_body(job: &JobSpec, model: &str) -> Result<Value, String> {
    let p = &job.task.params;
    let units = p.prompt.encode_utf16().count();
    if units == 0 || units > max_prompt_units(model) {
        return Err(format!("promptText must be 1 to {} UTF-16 units for {model}", max_prompt_units(model)));
    }
    let mut body = json!({
        "model": model,
        "promptText": p.prompt,
        "ratio": format!("{}:{}", p.size.width, p.size.height),
        "duration": job.upstream_seconds(),
    });
    if Endpoint::of(job) == Endpoint::ImageToVideo {
        body["promptImage"] = prompt_image(job)?;
    }
    if takes_audio(model) {
        body["audio"] = json!(job.upstream_audio());
    }
    if let Some(negative) = p.negative_prompt.as_deref().filter(|n| !n.is_empty() && takes_negative_prompt(model)) {
        body["negativePrompt"] = json!(negative);
    }
    if let Some(seed) = p.seed.filter(|_| takes_seed(model)) {
        body["seed"] = json!(seed);
    }
    Ok(body)
}

/// The first frame as a data URI string, or with a last frame both as `[{uri, position}]`.
fn prompt_image(job: &JobSpec) -> Result<Value, String> {
    let p = &job.task.params;
    let (bytes, meta) = job.source_image.as_ref().zip(p.source_image.as_ref()).ok_or("no first frame")?;
    let first = sized_data_url(&meta.mime, bytes)?;
    let Some(last) = job.guide_images.iter().find(|g| g.role == GuideRole::LastFrame) else {
        return Ok(json!(first));
    };
    let last = sized_data_url(&last.image.mime, &last.image.bytes)?;
    Ok(json!([{"uri": first, "position": "first"}, {"uri": last, "position": "last"}]))
}

fn sized_data_url(mime: &str, bytes: &[u8]) -> Result<String, String> {
    let url = data_url(mime, bytes);
    if url.len() > MAX_DATA_URI_BYTES {
        return Err("an image is larger than Runway's 5 MB data URI limit once encoded".into());
    }
    Ok(url)
}

/// `{base}/v1/text_to_video` or `{base}/v1/image_to_video`.
pub fn create_url(base: &Url, endpoint: Endpoint) -> Url {
    let path = match endpoint {
        Endpoint::TextToVideo => "v1/text_to_video",
        Endpoint::ImageToVideo => "v1/image_to_video",
    };
    base.join(path).expect("a valid path")
}

/// `{base}/v1/tasks/{id}` (GET and DELETE), `None` for an id that is not one path segment.
pub fn task_url(base: &Url, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    let mut url = base.join("v1/tasks").expect("a valid path");
    url.path_segments_mut().ok()?.push(id);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    fn with_image(mut j: JobSpec) -> JobSpec {
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        j
    }

    #[test]
    fn text_to_video_sends_a_pixel_ratio_an_integer_duration_and_no_audio_flag_on_gen4_5() {
        let mut j = job(5, "720x1280", false, Some(5));
        j.task.params.seed = Some(7);
        j.task.params.negative_prompt = Some("blur".into());
        assert_eq!(
            create_body(&j, "gen4.5").unwrap(),
            json!({"model": "gen4.5", "promptText": "a red fox", "ratio": "720:1280", "duration": 5, "seed": 7})
        );
        assert_eq!(Endpoint::of(&j), Endpoint::TextToVideo);
    }

    #[test]
    fn veo_3_1_gets_the_planned_length_its_audio_flag_and_the_negative_prompt() {
        let mut j = job(5, "1920x1080", false, Some(6));
        j.task.params.negative_prompt = Some("blur".into());
        let body = create_body(&j, "veo3.1").unwrap();
        assert_eq!(
            (body["duration"].clone(), body["audio"].clone(), body["negativePrompt"].clone()),
            (json!(6), json!(false), json!("blur"))
        );
        assert_eq!(body["ratio"], "1920:1080");
    }

    #[test]
    fn a_first_frame_is_a_data_uri_and_with_a_last_frame_both_are_positioned() {
        let j = with_image(job(5, "1280x720", false, Some(5)));
        assert_eq!(create_body(&j, "gen4.5").unwrap()["promptImage"], "data:image/png;base64,AQID");
        assert_eq!(Endpoint::of(&j), Endpoint::ImageToVideo);
        let mut j = j;
        let tail = vidgate_store::SourceImage { mime: "image/png".into(), sha256: "y".into(), bytes: vec![4, 5, 6] };
        j.guide_images = vec![vidgate_store::GuideImage { role: GuideRole::LastFrame, image: tail }];
        assert_eq!(
            create_body(&j, "veo3.1").unwrap()["promptImage"],
            json!([{"uri": "data:image/png;base64,AQID", "position": "first"},
                {"uri": "data:image/png;base64,BAUG", "position": "last"}])
        );
    }

    #[test]
    fn a_prompt_over_the_models_limit_and_an_oversized_image_are_refused_before_sending() {
        let mut j = job(5, "1280x720", false, Some(5));
        j.task.params.prompt = "é".repeat(1001);
        assert!(create_body(&j, "gen4.5").unwrap_err().contains("1 to 1000"));
        assert!(create_body(&j, "seedance2").is_ok());
        let mut big = with_image(job(5, "1280x720", false, Some(5)));
        big.source_image = Some(vec![0; 4 * 1024 * 1024]);
        assert!(create_body(&big, "gen4.5").unwrap_err().contains("5 MB"));
    }

    #[test]
    fn urls_hang_below_the_base_and_ids_stay_one_segment() {
        let base = Url::parse("https://api.dev.runwayml.com/").unwrap();
        assert_eq!(create_url(&base, Endpoint::TextToVideo).as_str(), "https://api.dev.runwayml.com/v1/text_to_video");
        assert_eq!(create_url(&base, Endpoint::ImageToVideo).path(), "/v1/image_to_video");
        assert_eq!(task_url(&base, "63fd").unwrap().path(), "/v1/tasks/63fd");
        assert_eq!(task_url(&base, "../x").unwrap().path(), "/v1/tasks/..%2Fx");
        assert_eq!(task_url(&base, ".."), None);
    }
}
