//! Building OpenAI-Videos requests (docs/upstreams.md §3.1, §3.2): `POST {base}/videos` as JSON
//! (`seconds` a string, `size` `WxH`, the image as `input_reference.image_url`, a `data:`
//! URL, at exactly the frame size), `GET {base}/videos/{id}`, `GET {base}/videos/{id}/content?variant=video`. `base`
//! is the SDK's base URL, e.g. `https://api.example.com/v1`.

use serde::Serialize;
use url::Url;

use crate::provider::JobSpec;
use crate::provider::http::data_url;

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
        seconds: job.upstream_seconds().to_string(),
        size: p.size.to_string(),
        input_reference,
    }
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
