//! MiniMax's v1 video API, the Hailuo 2.3 and 02 models (docs/upstreams.md §11.5): building
//! `POST {base}/v1/video_generation` (`model`, `prompt`, `duration` 6 or 10 as a JSON integer,
//! `resolution` `768P`/`1080P`, `prompt_optimizer`, a data-URI `first_frame_image` and, on
//! Hailuo-02, a data-URI `last_frame_image`),
//! the query `GET {base}/v1/query/video_generation?task_id=` with its five statuses, and
//! `GET {base}/v1/files/retrieve?file_id=` naming the time-limited `file.download_url`.
//! `file_id` is a string in the query and a number in the retrieve (§11.8 trap 4): both are
//! read. Errors come as an HTTP 200 with a non-zero `base_resp.status_code` (trap 2) and are
//! classed by `response::error`. It must not send anything: `client` does.

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;
use vidgate_domain::catalog::Size;
use vidgate_domain::request::GuideRole;
use vidgate_domain::task::TaskErrorCode;

use super::response::{Class, class};
use crate::provider::http::data_url;
use crate::provider::{JobSpec, PollOutcome, PolledResult};

/// Records in a job's state that the v1 API created it (§11.5: every later call follows it).
pub fn record(state: &mut Value) {
    if let Value::Object(map) = state {
        map.insert("api".into(), json!("v1"));
    }
}

/// Whether a job's state says the v1 API created it; a state without the record (every job
/// created before v1 was built) is a v2 one.
pub fn created_on_v1(state: &Value) -> bool {
    state.get("api").and_then(Value::as_str) == Some("v1")
}

/// The v1 resolution name of a frame (§11.5): 768 → `768P`, 1080 → `1080P`.
pub fn resolution(size: Size) -> Option<&'static str> {
    match size.width.min(size.height) {
        768 => Some("768P"),
        1080 => Some("1080P"),
        _ => None,
    }
}

/// The v1 create body for a job on `model`; `None` for a size v1 has no name for. The
/// prompt optimizer is off: the client's prompt is sent as written.
pub fn create_body(job: &JobSpec, model: &str) -> Option<Value> {
    let p = &job.task.params;
    let mut body = json!({
        "model": model,
        "prompt": p.prompt,
        "duration": job.upstream_seconds(),
        "resolution": resolution(p.size)?,
        "prompt_optimizer": false,
    });
    if let Some((bytes, meta)) = job.source_image.as_ref().zip(p.source_image.as_ref()) {
        body["first_frame_image"] = json!(data_url(&meta.mime, bytes));
    }
    // Hailuo-02 only (§11.5); the plan routes a last frame nowhere else.
    if let Some(last) = job.guide_images.iter().find(|g| g.role == GuideRole::LastFrame) {
        body["last_frame_image"] = json!(data_url(&last.image.mime, &last.image.bytes));
    }
    Some(body)
}

/// `{base}/v1/video_generation`.
pub fn create_url(base: &Url) -> Url {
    base.join("v1/video_generation").expect("a valid path")
}

/// `{base}/v1/query/video_generation?task_id={id}` (not `/v1/video_generation/query`, trap 5).
pub fn query_url(base: &Url, id: &str) -> Url {
    let mut url = base.join("v1/query/video_generation").expect("a valid path");
    url.query_pairs_mut().append_pair("task_id", id);
    url
}

/// `{base}/v1/files/retrieve?file_id={id}`.
pub fn retrieve_url(base: &Url, file_id: &str) -> Url {
    let mut url = base.join("v1/files/retrieve").expect("a valid path");
    url.query_pairs_mut().append_pair("file_id", file_id);
    url
}

/// A v1 query answer (only the fields read; lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct V1Query {
    #[serde(default)]
    pub task_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub file_id: Option<Value>,
    #[serde(default)]
    pub base_resp: Option<Value>,
}

/// An id sent as a JSON string or a number (trap 4), as text; `None` when empty or absent.
pub fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl V1Query {
    /// The result's `file_id`, as text.
    pub fn file_id(&self) -> Option<String> {
        id_text(self.file_id.as_ref())
    }

    fn status_code(&self) -> Option<i64> {
        self.base_resp.as_ref()?.get("status_code")?.as_i64().filter(|c| *c != 0)
    }
}

/// `file.download_url` of a retrieve answer.
pub fn download_url(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.pointer("/file/download_url")?.as_str().filter(|u| !u.is_empty()).map(str::to_owned)
}

/// What a v1 poll found (`poll_at` filled in by the caller): `Preparing` and `Queueing` are
/// queued, `Processing` running, `Success` with a `file_id` done (the answer kept for the
/// fetch), `Fail` a failure classed by `base_resp.status_code` (1026/1027 moderation); any
/// other status fails the task (trap 18).
pub fn outcome(query: &V1Query, body: &[u8], upstream: &str) -> PollOutcome {
    let failed = |message: &str| PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: message.into() };
    match query.status.as_str() {
        "Preparing" | "Queueing" => PollOutcome::Queued { poll_at: 0 },
        "Processing" => PollOutcome::Running { progress: 0, poll_at: 0 },
        "Success" if query.file_id().is_some() => PollOutcome::SucceededWith(PolledResult(body.to_vec().into())),
        "Success" => failed("the upstream reported success without a file id"),
        "Fail" => {
            let code = query.status_code();
            tracing::info!(job = %query.task_id, code = ?code, "upstream task failed");
            if code.map(class) == Some(Class::Moderation) {
                return PollOutcome::Failed {
                    code: TaskErrorCode::ContentFiltered,
                    message: "the upstream flagged the content as sensitive; nothing is billed".into(),
                };
            }
            let shown = code.map(|c| format!(" ({c})")).unwrap_or_default();
            failed(&format!("the upstream failed the job{shown}"))
        }
        other => {
            tracing::error!(upstream, job = %query.task_id, status = other, "unknown MiniMax v1 status; the task fails");
            failed("the upstream reported a status vidgate does not know; nothing is billed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    fn poll(body: &str) -> PollOutcome {
        outcome(&serde_json::from_str(body).unwrap(), body.as_bytes(), "mm")
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn the_create_body_has_an_integer_duration_the_resolution_name_and_no_audio_field() {
        let j = job(6, "1366x768", false, Some(6));
        assert_eq!(
            create_body(&j, "MiniMax-Hailuo-2.3").unwrap(),
            json!({"model": "MiniMax-Hailuo-2.3", "prompt": "a red fox", "duration": 6, "resolution": "768P",
                "prompt_optimizer": false})
        );
        assert_eq!(create_body(&job(6, "1920x1080", false, Some(6)), "m").unwrap()["resolution"], json!("1080P"));
        assert_eq!(create_body(&job(6, "1280x720", false, Some(6)), "m"), None);
    }

    #[test]
    fn first_and_last_frames_are_data_uris_in_their_own_fields() {
        let mut j = job(6, "1366x768", false, Some(6));
        j.source_image = Some(vec![1, 2, 3]);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        let image = vidgate_store::SourceImage { mime: "image/png".into(), sha256: "y".into(), bytes: vec![4, 5, 6] };
        j.guide_images = vec![vidgate_store::GuideImage { role: GuideRole::LastFrame, image }];
        let body = create_body(&j, "MiniMax-Hailuo-02").unwrap();
        assert_eq!(
            (body["first_frame_image"].clone(), body["last_frame_image"].clone()),
            (json!("data:image/png;base64,AQID"), json!("data:image/png;base64,BAUG"))
        );
    }

    #[test]
    fn the_five_statuses_map_exactly_and_an_unknown_or_v2_one_fails() {
        let status = |s: &str| poll(&format!(r#"{{"task_id":"t","status":"{s}","file_id":""}}"#));
        assert_eq!(status("Preparing"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(status("Queueing"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(status("Processing"), PollOutcome::Running { progress: 0, poll_at: 0 });
        assert_eq!(code(status("Success")), TaskErrorCode::UpstreamError, "no file id");
        assert_eq!(code(status("succeeded")), TaskErrorCode::UpstreamError);
        let done = r#"{"task_id":"t","status":"Success","file_id":"176844028768320","base_resp":{"status_code":0}}"#;
        assert_eq!(poll(done), PollOutcome::SucceededWith(PolledResult(done.as_bytes().to_vec().into())));
        let flagged = r#"{"task_id":"t","status":"Fail","base_resp":{"status_code":1027,"status_msg":"m"}}"#;
        assert_eq!(code(poll(flagged)), TaskErrorCode::ContentFiltered);
        assert_eq!(code(status("Fail")), TaskErrorCode::UpstreamError);
    }

    #[test]
    fn the_protocol_is_read_from_the_job_state_and_a_state_without_it_is_v2() {
        let mut state = json!({"submitted_at": 5});
        assert!(!created_on_v1(&state));
        record(&mut state);
        assert_eq!(state, json!({"submitted_at": 5, "api": "v1"}));
        assert!(created_on_v1(&state));
        assert!(!created_on_v1(&json!({"submitted_at": 5, "api": "v2"})));
    }

    #[test]
    fn a_file_id_is_read_as_a_string_or_a_number() {
        let q = |b: &str| serde_json::from_str::<V1Query>(b).unwrap().file_id();
        assert_eq!(q(r#"{"file_id":"176844028768320"}"#), Some("176844028768320".into()));
        assert_eq!(q(r#"{"file_id":176844028768320}"#), Some("176844028768320".into()));
        assert_eq!(q(r#"{"file_id":""}"#), None);
        let retrieved = br#"{"file":{"file_id":176844028768320,"download_url":"https://cdn/x.mp4"}}"#;
        assert_eq!(download_url(retrieved), Some("https://cdn/x.mp4".into()));
    }

    #[test]
    fn the_query_and_retrieve_take_their_ids_in_the_query_string() {
        let base = Url::parse("https://api.minimax.io/").unwrap();
        assert_eq!(create_url(&base).as_str(), "https://api.minimax.io/v1/video_generation");
        assert_eq!(
            query_url(&base, "17&x").as_str(),
            "https://api.minimax.io/v1/query/video_generation?task_id=17%26x"
        );
        assert_eq!(retrieve_url(&base, "176").as_str(), "https://api.minimax.io/v1/files/retrieve?file_id=176");
    }
}
