//! Reading fal queue answers (docs/upstreams.md §12.4, §12.5): the submit's `request_id` and
//! its status, result and cancel URLs (kept as sent, never rebuilt: they drop the endpoint's
//! sub-path, trap 1); the three statuses `IN_QUEUE`, `IN_PROGRESS`, `COMPLETED` (there is no
//! failure status, trap 2); the raw model output of the result (`video.url`, trap 3); and the
//! errors: `{"detail": [...]}` or `{"detail": "..."}` with `content_policy_violation`, the
//! 403 balance lock (trap 10), and ingress errors that are not JSON (trap 15).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, ProviderError};

/// The submit's answer (only the fields read).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Queued {
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub status_url: String,
    #[serde(default)]
    pub response_url: String,
    #[serde(default)]
    pub cancel_url: String,
}

/// What a fal job keeps on its task: the schedule's `submitted_at` and the queue's URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FalState {
    #[serde(default)]
    pub submitted_at: vidgate_store::Millis,
    #[serde(default)]
    pub status_url: String,
    #[serde(default)]
    pub response_url: String,
    #[serde(default)]
    pub cancel_url: String,
}

/// A status answer (only the fields read).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub status: String,
    /// Newer `COMPLETED` bodies name a failure here (trap 2).
    #[serde(default)]
    pub error: Option<Value>,
}

/// Where the result's video is (`video.url`), as sent.
pub fn video_url(result: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(result).ok()?;
    value.get("video")?.get("url")?.as_str().filter(|u| !u.is_empty()).map(str::to_owned)
}

/// Whether an error body is a moderation refusal: a `detail[].type` (or the whole body)
/// naming `content_policy_violation`.
fn is_moderation(body: &Value) -> bool {
    let typed = |d: &Value| d.get("type").and_then(Value::as_str) == Some("content_policy_violation");
    match body.get("detail") {
        Some(Value::Array(items)) => items.iter().any(typed),
        _ => body.get("error_type").and_then(Value::as_str) == Some("content_policy_violation"),
    }
}

/// The `detail` text of an error body, for logs.
fn detail(answer: &Answer) -> String {
    let text = String::from_utf8_lossy(&answer.body);
    http::truncate(&text, 300).to_owned()
}

/// What a non-2xx result fetch after `COMPLETED` means (trap 2: failures show only here).
/// `Err` only for an ingress error (not JSON, no `error` on the status): the request did not
/// reach the result store, so the poll is made again while the result is kept.
pub fn result_failure(answer: &Answer, status: &Status) -> Result<PollOutcome, ProviderError> {
    let code = answer.status.as_u16();
    let body: Option<Value> = serde_json::from_slice(&answer.body).ok();
    if code >= 500 && body.is_none() && status.error.is_none() {
        return Err(ProviderError::Busy { message: format!("result fetch: {}", answer.status), retry_after_ms: None });
    }
    tracing::info!(status = code, detail = %detail(answer), "fal result answered an error");
    if body.as_ref().is_some_and(is_moderation) {
        let message = "the upstream's content policy refused the video; nothing is billed".into();
        return Ok(PollOutcome::Failed { code: TaskErrorCode::ContentFiltered, message });
    }
    let message = match code {
        // The queue keeps a result 6 min (≥ 10 KB) to 1 h (§12.5, trap 4).
        404 | 410 => "the upstream no longer holds the finished job's result (it keeps it for minutes only); \
                      nothing is billed"
            .to_owned(),
        _ => format!("the upstream failed the job ({code}); nothing is billed"),
    };
    Ok(PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message })
}

/// A refused request as a provider error. On a submit: a moderation 422 is a content
/// refusal; 429 was not queued and may be sent again; the 403 balance lock says so (trap
/// 10); any 5xx may have queued a job (ingress or gateway errors, no idempotency key, trap
/// 5), so its outcome is unknown.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let status = answer.status.as_u16();
    let text = detail(answer);
    if call == Call::Submit {
        let body: Option<Value> = serde_json::from_slice(&answer.body).ok();
        if body.as_ref().is_some_and(is_moderation) {
            return ProviderError::ContentFiltered("the upstream's content policy refused the prompt or image".into());
        }
        if status == 403 && text.contains("locked") {
            return ProviderError::Refused(format!("403: the fal account is locked (balance or billing): {text}"));
        }
        if status == 429 {
            return ProviderError::Busy { message: format!("429: {text}"), retry_after_ms: answer.retry_after_ms() };
        }
        if status >= 500 {
            return ProviderError::OutcomeUnknown(format!("{}: {text}", answer.status));
        }
    }
    http::status_error(answer.status, answer.retry_after_ms(), &text, call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.as_bytes().to_vec().into(),
        }
    }

    fn failed_code(o: Result<PollOutcome, ProviderError>) -> TaskErrorCode {
        match o {
            Ok(PollOutcome::Failed { code, .. }) => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn result_errors_are_task_failures_except_an_ingress_error_without_a_body() {
        let ok = Status::default();
        let moderated = r#"{"detail":[{"loc":["body","prompt"],"msg":"m","type":"content_policy_violation"}]}"#;
        assert_eq!(failed_code(result_failure(&answer(422, moderated), &ok)), TaskErrorCode::ContentFiltered);
        let invalid = r#"{"detail":[{"loc":["body"],"msg":"m","type":"value_error"}]}"#;
        assert_eq!(failed_code(result_failure(&answer(422, invalid), &ok)), TaskErrorCode::UpstreamError);
        assert_eq!(failed_code(result_failure(&answer(404, "{}"), &ok)), TaskErrorCode::UpstreamError);
        let model_500 = r#"{"detail":"CUDA out of memory"}"#;
        assert_eq!(failed_code(result_failure(&answer(500, model_500), &ok)), TaskErrorCode::UpstreamError);
        assert!(matches!(
            result_failure(&answer(502, "<html>bad gateway</html>"), &ok),
            Err(ProviderError::Busy { .. })
        ));
        let errored = Status { status: "COMPLETED".into(), error: Some("boom".into()) };
        assert!(result_failure(&answer(502, "<html></html>"), &errored).is_ok());
    }

    #[test]
    fn submit_errors_split_into_moderation_balance_lock_resendable_and_unknown() {
        let moderated = r#"{"detail":[{"msg":"m","type":"content_policy_violation"}]}"#;
        assert!(matches!(error(&answer(422, moderated), Call::Submit), ProviderError::ContentFiltered(_)));
        let locked = r#"{"detail":"User is locked. Reason: Exhausted balance."}"#;
        assert!(matches!(error(&answer(403, locked), Call::Submit), ProviderError::Refused(m) if m.contains("locked")));
        assert!(matches!(error(&answer(429, "{}"), Call::Submit), ProviderError::Busy { .. }));
        assert!(matches!(error(&answer(502, "<html>"), Call::Submit), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(error(&answer(401, "{}"), Call::Submit), ProviderError::Refused(_)));
        assert!(matches!(error(&answer(503, "{}"), Call::Read), ProviderError::Busy { .. }));
    }

    #[test]
    fn the_video_url_is_read_from_the_raw_model_output() {
        let out =
            br#"{"video":{"url":"https://v3b.fal.media/files/b/x_output.mp4","content_type":"video/mp4"},"seed":1}"#;
        assert_eq!(video_url(out).as_deref(), Some("https://v3b.fal.media/files/b/x_output.mp4"));
        assert_eq!(video_url(br#"{"status":"COMPLETED","response":{"video":{"url":"u"}}}"#), None);
    }
}
