//! Building MiniMax v2 requests (docs/upstreams.md §11.3): `POST {base}/v2/video_generation`
//! with `{"model", "content", "resolution", "duration", "generate_audio"}` and, on text only,
//! `ratio` (§11.8 trap 8: the default `adaptive` is refused without an image). `content` is one
//! `text` item and, for image-to-video, one `image_url` item with role `first_frame` (a data
//! URI). `duration` a JSON integer (trap 7); `resolution` MiniMax's own name (`768P`, `2K`,
//! `480P`, upper-case); `generate_audio` always sent, since a dropped `false` is the default
//! `true` (trap 9). No callback (trap 11: vidgate polls).

use serde_json::{Value, json};
use url::Url;
use vidgate_domain::catalog::Size;

use crate::provider::JobSpec;
use crate::provider::http::data_url;

/// MiniMax's resolution name for a frame, read from its short side (§11.1): 768 → `768P`,
/// 1440 → `2K`, 480 → `480P`; `None` for a size the v2 models do not make.
pub fn resolution(size: Size) -> Option<&'static str> {
    match size.width.min(size.height) {
        480 => Some("480P"),
        768 => Some("768P"),
        1440 => Some("2K"),
        _ => None,
    }
}

/// The create body for a job on `model`; `None` for a size MiniMax has no name for (the
/// plan never routes one here).
pub fn create_body(job: &JobSpec, model: &str) -> Option<Value> {
    let p = &job.task.params;
    let mut content = vec![json!({"type": "text", "text": p.prompt})];
    let mut body = json!({
        "model": model,
        "resolution": resolution(p.size)?,
        "duration": job.upstream_seconds(),
        "generate_audio": job.upstream_audio(),
    });
    match job.source_image.as_ref().zip(p.source_image.as_ref()) {
        // With a frame the ratio is ignored upstream and follows the image (§11.3), which
        // the client has fitted to the frame.
        Some((bytes, meta)) => {
            content.push(json!({"type": "image_url", "image_url": {"url": data_url(&meta.mime, bytes)},
                "role": "first_frame"}));
        }
        None => body["ratio"] = json!(if p.size.width >= p.size.height { "16:9" } else { "9:16" }),
    }
    body["content"] = Value::Array(content);
    Some(body)
}

/// `{base}/v2/video_generation`.
pub fn create_url(base: &Url) -> Url {
    base.join("v2/video_generation").expect("a valid path")
}

/// `{base}/v2/query/video_generation/{id}` (the id in the path, trap 5), `None` for an id
/// that is not one path segment.
pub fn query_url(base: &Url, id: &str) -> Option<Url> {
    segment(base.join("v2/query/video_generation").expect("a valid path"), id)
}

/// `{base}/v2/video_generation/{id}` (DELETE, §11.6).
pub fn delete_url(base: &Url, id: &str) -> Option<Url> {
    segment(create_url(base), id)
}

fn segment(mut url: Url, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    url.path_segments_mut().ok()?.push(id);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn text_to_video_sends_an_integer_duration_a_concrete_ratio_and_explicit_audio() {
        let j = job(5, "768x1344", false, Some(5));
        assert_eq!(
            create_body(&j, "MiniMax-H3").unwrap(),
            json!({"model": "MiniMax-H3", "content": [{"type": "text", "text": "a red fox"}],
                "resolution": "768P", "duration": 5, "ratio": "9:16", "generate_audio": false})
        );
        let two_k = create_body(&job(6, "2560x1440", true, Some(6)), "MiniMax-H3").unwrap();
        assert_eq!((two_k["resolution"].clone(), two_k["ratio"].clone()), (json!("2K"), json!("16:9")));
        assert_eq!(create_body(&job(5, "1280x720", true, Some(5)), "MiniMax-H3"), None);
    }

    #[test]
    fn image_to_video_sends_a_first_frame_item_and_no_ratio() {
        let mut j = job(5, "1344x768", true, Some(5));
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        let body = create_body(&j, "MiniMax-H3").unwrap();
        assert_eq!(
            body["content"][1],
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AQID"}, "role": "first_frame"})
        );
        assert_eq!((body.get("ratio"), body["generate_audio"].clone()), (None, json!(true)));
    }

    #[test]
    fn urls_hang_below_the_base_and_ids_stay_one_segment() {
        let base = Url::parse("https://api.minimax.io/").unwrap();
        assert_eq!(create_url(&base).as_str(), "https://api.minimax.io/v2/video_generation");
        assert_eq!(query_url(&base, "176").unwrap().path(), "/v2/query/video_generation/176");
        assert_eq!(delete_url(&base, "176").unwrap().path(), "/v2/video_generation/176");
        assert_eq!(query_url(&base, "../x").unwrap().path(), "/v2/query/video_generation/..%2Fx");
        assert_eq!(query_url(&base, ".."), None);
    }
}
