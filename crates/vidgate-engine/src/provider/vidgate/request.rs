//! Building requests to another vidgate (docs/api.md §4, §5, §6): `POST
//! {base}/v1/videos/generations` with the task's own id as `out_task_id`, so sending it
//! again returns the same upstream task instead of a second one; `GET
//! {base}/v1/videos/tasks/{id}`; `POST {base}/v1/tasks/cancel/{id}`.

use std::collections::BTreeMap;

use serde::Serialize;
use url::Url;

use crate::provider::JobSpec;
use crate::provider::http::data_url;

/// The submit body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Generation {
    pub model: String,
    pub prompt: String,
    pub duration_seconds: u32,
    pub size: String,
    pub audio: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_image: Option<String>,
    pub out_task_id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The body for a job; `model` is the upstream's model id (empty: the task's own).
pub fn generation(job: &JobSpec, model: &str) -> Generation {
    let t = &job.task;
    let p = &t.params;
    let source_image = match (&job.source_image, &p.source_image) {
        (Some(bytes), Some(meta)) => Some(data_url(&meta.mime, bytes)),
        _ => None,
    };
    Generation {
        model: if model.is_empty() { t.model.clone() } else { model.to_owned() },
        prompt: p.prompt.clone(),
        duration_seconds: job.upstream_seconds(),
        size: p.size.to_string(),
        audio: job.upstream_audio(),
        seed: p.seed,
        negative_prompt: p.negative_prompt.clone(),
        source_image,
        out_task_id: t.id.to_string(),
        // Metadata is the client's; it travels on so a chained gateway can be searched by it.
        metadata: p.metadata.clone(),
    }
}

/// `{base}/v1/videos/generations`.
pub fn submit_url(base: &Url) -> Url {
    base.join("v1/videos/generations").expect("a valid path")
}

/// `{base}/v1/videos/tasks/{id}`.
pub fn task_url(base: &Url, id: &str) -> Option<Url> {
    segment_url(base, "v1/videos/tasks/", id)
}

/// `{base}/v1/tasks/cancel/{id}`.
pub fn cancel_url(base: &Url, id: &str) -> Option<Url> {
    segment_url(base, "v1/tasks/cancel/", id)
}

fn segment_url(base: &Url, prefix: &str, id: &str) -> Option<Url> {
    if id.is_empty() || id == "." || id == ".." {
        return None;
    }
    let mut url = base.join(prefix).ok()?;
    url.path_segments_mut().ok()?.pop_if_empty().push(id);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn the_task_id_is_the_out_task_id_so_a_resend_is_the_same_job() {
        let mut j = job(10, "1920x1080", true, Some(10));
        j.task.params.metadata.insert("k".into(), "v".into());
        let body = serde_json::to_value(generation(&j, "")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model": "veo3.1", "prompt": "a red fox", "duration_seconds": 10, "size": "1920x1080",
                "audio": true, "out_task_id": j.task.id.to_string(), "metadata": {"k": "v"}})
        );
        assert_eq!(generation(&j, "upstream-model").model, "upstream-model");
    }

    #[test]
    fn urls_hang_below_the_base() {
        let base = Url::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(submit_url(&base).as_str(), "http://127.0.0.1:9000/v1/videos/generations");
        assert_eq!(task_url(&base, "task_01").unwrap().as_str(), "http://127.0.0.1:9000/v1/videos/tasks/task_01");
        assert_eq!(cancel_url(&base, "task_01").unwrap().as_str(), "http://127.0.0.1:9000/v1/tasks/cancel/task_01");
        assert_eq!(task_url(&base, ".."), None);
    }
}
