//! Building ModelArk content-generation requests (docs/upstreams.md §8.2):
//! `POST {base}/contents/generations/tasks` with the `content` array (the text, then the
//! task's source image as an `image_url` item with role `first_frame`, its last frame with
//! role `last_frame` and its reference images with role `reference_image`, each a `data:`
//! URL; docs/upstreams.md §8.2),
//! `resolution` (`720p`/`1080p`), `ratio` (`16:9`/`9:16`), an integer `duration`, `seed`
//! (-1 for random), and `watermark` and `generate_audio` always sent, `false` included
//! (audio defaults to on upstream; a dropped `false` is a silent default).
//!
//! Prompt-suffix flags (`--rs 1080p`, `--dur 10`, …) override body fields upstream, so the
//! delivered clip would differ from the one planned and held for: the adapter strips every
//! known flag with its value from the text it sends (docs/upstreams.md §8.2, §8.7).

use serde_json::{Value, json};
use url::Url;
use vidgate_domain::request::GuideRole;

use crate::provider::JobSpec;
use crate::provider::http::data_url;

/// The text flags ModelArk reads from a prompt (short and long forms).
pub const PROMPT_FLAGS: &[&str] = &[
    "rs",
    "resolution",
    "rt",
    "ratio",
    "dur",
    "duration",
    "fps",
    "framespersecond",
    "frames",
    "wm",
    "watermark",
    "seed",
    "cf",
    "camerafixed",
];

/// `prompt` without any `--flag value` pair ModelArk would read as a parameter (flag names
/// compared without case); other text, `--` included, is kept as it is.
pub fn strip_prompt_flags(prompt: &str) -> String {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let is_flag =
        |w: &str| w.strip_prefix("--").is_some_and(|n| PROMPT_FLAGS.iter().any(|f| f.eq_ignore_ascii_case(n)));
    if !words.iter().any(|w| is_flag(w)) {
        return prompt.to_owned();
    }
    let (mut kept, mut i) = (Vec::new(), 0);
    while i < words.len() {
        if is_flag(words[i]) {
            i += 2;
        } else {
            kept.push(words[i]);
            i += 1;
        }
    }
    kept.join(" ")
}

/// The create body for a job on upstream model `model`; `None` for a size ModelArk has no
/// name for (the plan never routes one here).
pub fn create_body(job: &JobSpec, model: &str) -> Option<Value> {
    let p = &job.task.params;
    let (resolution, aspect) = p.size.resolution_and_aspect()?;
    let mut content = vec![json!({"type": "text", "text": strip_prompt_flags(&p.prompt)})];
    if let (Some(bytes), Some(meta)) = (&job.source_image, &p.source_image) {
        content.push(
            json!({"type": "image_url", "image_url": {"url": data_url(&meta.mime, bytes)}, "role": "first_frame"}),
        );
    }
    // The plan sends a last frame only with a first frame, and references only alone
    // (the modes exclude each other upstream), never a style reference.
    for g in &job.guide_images {
        let role = match g.role {
            GuideRole::LastFrame => "last_frame",
            GuideRole::Asset | GuideRole::Style => "reference_image",
        };
        let url = data_url(&g.image.mime, &g.image.bytes);
        content.push(json!({"type": "image_url", "image_url": {"url": url}, "role": role}));
    }
    Some(json!({
        "model": model,
        "content": content,
        "resolution": resolution.as_str(),
        "ratio": aspect.as_str(),
        "duration": job.upstream_seconds(),
        "seed": p.seed.map_or(-1, i64::from),
        "watermark": false,
        "generate_audio": job.upstream_audio(),
    }))
}

/// `{base}/contents/generations/tasks`.
pub fn tasks_url(base: &Url) -> Url {
    base.join("contents/generations/tasks").expect("a valid path")
}

/// `{base}/contents/generations/tasks/{id}`, `None` for an id that is not one path segment.
pub fn task_url(base: &Url, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    let mut url = tasks_url(base);
    url.path_segments_mut().ok()?.push(id);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn every_known_prompt_flag_is_stripped_with_its_value_and_other_text_is_kept() {
        assert_eq!(strip_prompt_flags("a cat --rs 1080p yawns --DUR 10 --wm true"), "a cat yawns");
        assert_eq!(strip_prompt_flags("a -- b --cf false --seed 11"), "a -- b");
        assert_eq!(strip_prompt_flags("keep  my   spacing"), "keep  my   spacing");
        assert_eq!(strip_prompt_flags("an em --dash of --style"), "an em --dash of --style");
    }

    #[test]
    fn the_body_has_the_content_array_an_integer_duration_and_explicit_false_values() {
        let mut j = job(5, "720x1280", false, Some(6));
        j.task.params.prompt = "a red fox --rs 1080p".into();
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        assert_eq!(
            create_body(&j, "seedance-1-5-pro-251215").unwrap(),
            json!({"model": "seedance-1-5-pro-251215",
                "content": [{"type": "text", "text": "a red fox"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AQID"}, "role": "first_frame"}],
                "resolution": "720p", "ratio": "9:16", "duration": 6, "seed": -1, "watermark": false,
                "generate_audio": false})
        );
    }

    #[test]
    fn a_last_frame_and_reference_images_follow_the_text_with_their_roles() {
        let guide = |role, byte: u8| vidgate_store::GuideImage {
            role,
            image: vidgate_store::SourceImage { mime: "image/png".into(), sha256: "s".into(), bytes: vec![byte] },
        };
        let mut j = job(5, "1280x720", false, Some(5));
        j.source_image = Some(vec![1]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        j.guide_images = vec![guide(GuideRole::LastFrame, 2)];
        let roles = |body: Value| -> Vec<(String, String)> {
            body["content"].as_array().unwrap()[1..]
                .iter()
                .map(|c| (c["role"].as_str().unwrap().to_owned(), c["image_url"]["url"].as_str().unwrap().to_owned()))
                .collect()
        };
        assert_eq!(
            roles(create_body(&j, "seedance-1-5-pro-251215").unwrap()),
            [
                ("first_frame".into(), "data:image/png;base64,AQ==".into()),
                ("last_frame".into(), "data:image/png;base64,Ag==".into())
            ]
        );
        let mut r = job(5, "1280x720", false, Some(5));
        r.guide_images = vec![guide(GuideRole::Asset, 3), guide(GuideRole::Asset, 4)];
        let body = create_body(&r, "dreamina-seedance-2-0-260128").unwrap();
        assert_eq!(roles(body).iter().map(|(role, _)| role.as_str()).collect::<Vec<_>>(), ["reference_image"; 2]);
    }

    #[test]
    fn urls_hang_below_the_base_and_ids_stay_one_segment() {
        let base = Url::parse("https://ark.ap-southeast.bytepluses.com/api/v3/").unwrap();
        assert_eq!(
            tasks_url(&base).as_str(),
            "https://ark.ap-southeast.bytepluses.com/api/v3/contents/generations/tasks"
        );
        assert_eq!(task_url(&base, "cgt-1").unwrap().path(), "/api/v3/contents/generations/tasks/cgt-1");
        assert_eq!(task_url(&base, "../x").unwrap().path(), "/api/v3/contents/generations/tasks/..%2Fx");
        assert_eq!(task_url(&base, ".."), None);
    }
}
