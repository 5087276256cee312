//! Building OpenAI-Videos requests (docs/upstreams.md §3.1, §3.2): `POST {base}/videos` as JSON
//! (`seconds` a string, `size` `WxH`, the image as `input_reference.image_url`, a `data:`
//! URL, at exactly the frame size), `GET {base}/videos/{id}`, `GET {base}/videos/{id}/content?variant=video`. `base`
//! is the SDK's base URL, e.g. `https://api.example.com/v1`.

use serde::Serialize;
use url::Url;
use vidgate_media::MediaError;
use vidgate_store::SourceImageRef;

use crate::provider::JobSpec;
use crate::provider::http::data_url;
use crate::provider::veo::upstream_seconds;

/// `input_reference` in the JSON body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputReference {
    pub image_url: String,
}

/// `CreateVideoJsonBody`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreateVideo {
    pub model: String,
    pub prompt: String,
    pub seconds: String,
    pub size: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_reference: Option<InputReference>,
}

/// The body for a job on upstream model `model`.
pub fn create_body(job: &JobSpec, model: &str) -> CreateVideo {
    let p = &job.task.params;
    let input_reference = match (&job.source_image, &p.source_image) {
        (Some(bytes), Some(meta)) => Some(InputReference { image_url: data_url(&meta.mime, bytes) }),
        _ => None,
    };
    CreateVideo {
        model: model.to_owned(),
        prompt: p.prompt.clone(),
        seconds: upstream_seconds(job).to_string(),
        size: p.size.to_string(),
        input_reference,
    }
}

/// The job with a source image OpenAI takes: `input_reference` must match `size` (docs/upstreams.md
/// §3.2), so an image of another size is cover-fitted to the frame (as the sandbox fits its
/// first frame) and sent as a PNG. `None` when the job has no image or it already fits. CPU
/// work: call it off the async threads.
pub fn fit_source_image(job: &JobSpec) -> Result<Option<JobSpec>, MediaError> {
    let (Some(bytes), Some(meta)) = (&job.source_image, &job.task.params.source_image) else { return Ok(None) };
    let size = job.task.params.size;
    if vidgate_media::decode_image_dimensions(bytes)? == (size.width, size.height) {
        return Ok(None);
    }
    let mut fitted = job.clone();
    fitted.source_image = Some(vidgate_media::cover_png(bytes, size.width, size.height)?);
    fitted.task.params.source_image = Some(SourceImageRef { mime: "image/png".into(), ..meta.clone() });
    Ok(Some(fitted))
}

/// `{base}/videos`.
pub fn create_url(base: &Url) -> Url {
    base.join("videos").expect("a valid path")
}

/// `{base}/videos/{id}`, `None` for an id that is not one path segment.
pub fn video_url(base: &Url, id: &str) -> Option<Url> {
    let mut url = base.join("videos/").ok()?;
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    url.path_segments_mut().ok()?.pop_if_empty().push(id);
    Some(url)
}

/// `{base}/videos/{id}/content?variant=video`.
pub fn content_url(base: &Url, id: &str) -> Option<Url> {
    let mut url = video_url(base, id)?;
    url.path_segments_mut().ok()?.push("content");
    url.query_pairs_mut().append_pair("variant", "video");
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn seconds_is_a_string_of_the_planned_length_and_the_image_a_data_url() {
        let mut j = job(5, "1280x720", false, Some(8));
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        assert_eq!(
            serde_json::to_value(create_body(&j, "sora-2")).unwrap(),
            serde_json::json!({"model": "sora-2", "prompt": "a red fox", "seconds": "8", "size": "1280x720",
                "input_reference": {"image_url": "data:image/png;base64,AQID"}})
        );
    }

    /// A PNG of `width` x `height`, scaled up from a one-pixel PNG.
    fn png(width: u32, height: u32) -> Vec<u8> {
        use base64::Engine as _;
        let one_pixel =
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
        let bytes = base64::engine::general_purpose::STANDARD.decode(one_pixel).unwrap();
        vidgate_media::cover_png(&bytes, width, height).unwrap()
    }

    fn with_image(mut j: JobSpec, bytes: Vec<u8>, mime: &str) -> JobSpec {
        j.source_image = Some(bytes);
        j.task.params.source_image = Some(SourceImageRef { sha256: "x".into(), mime: mime.into() });
        j
    }

    #[test]
    fn a_source_image_of_another_size_is_fitted_to_the_frame_as_a_png() {
        let j = with_image(job(5, "1280x720", false, Some(8)), png(640, 480), "image/png");
        let fitted = fit_source_image(&j).unwrap().expect("refitted");
        assert_eq!(vidgate_media::decode_image_dimensions(fitted.source_image.as_ref().unwrap()).unwrap(), (1280, 720));
        assert_eq!(fitted.task.params.source_image.unwrap().mime, "image/png");
    }

    #[test]
    fn a_source_image_of_the_frame_size_or_none_is_sent_as_it_is() {
        let j = with_image(job(5, "720x1280", false, Some(8)), png(720, 1280), "image/png");
        assert!(fit_source_image(&j).unwrap().is_none());
        assert!(fit_source_image(&job(5, "720x1280", false, Some(8))).unwrap().is_none());
    }

    #[test]
    fn urls_hang_below_the_base_and_ids_stay_one_segment() {
        let base = Url::parse("https://api.example.com/v1/").unwrap();
        assert_eq!(create_url(&base).as_str(), "https://api.example.com/v1/videos");
        assert_eq!(video_url(&base, "video_68d7").unwrap().as_str(), "https://api.example.com/v1/videos/video_68d7");
        assert_eq!(
            content_url(&base, "video_68d7").unwrap().as_str(),
            "https://api.example.com/v1/videos/video_68d7/content?variant=video"
        );
        assert_eq!(video_url(&base, "../admin").unwrap().as_str(), "https://api.example.com/v1/videos/..%2Fadmin");
        assert_eq!(video_url(&base, ".."), None);
    }
}
