//! Reading ModelArk answers (docs/upstreams.md §8.3, §8.5): the task
//! object's six statuses mapped exactly (`queued`, `running`, `succeeded`, `failed`,
//! `expired`, `cancelled`; any other value is an alarm and fails the task, it is never taken
//! for "running"), its `error`, `content.video_url` and `usage.completion_tokens`, and the
//! `{"error": {"code", "message"}}` envelope of refused requests.

use serde::Deserialize;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, PolledResult, ProviderError};

/// `error` of a failed task or a refused request.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ArkError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// `content` of a succeeded task.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ArkContent {
    #[serde(default)]
    pub video_url: String,
}

/// `usage` of a succeeded task: the billed tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct ArkUsage {
    #[serde(default)]
    pub completion_tokens: u64,
}

/// The task object (only the fields read; lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ArkTask {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub error: Option<ArkError>,
    #[serde(default)]
    pub content: Option<ArkContent>,
    #[serde(default)]
    pub usage: Option<ArkUsage>,
}

impl ArkTask {
    /// The pre-signed result URL of a succeeded task, as sent (never rebuilt).
    pub fn video_url(&self) -> Option<&str> {
        self.content.as_ref().map(|c| c.video_url.as_str()).filter(|u| !u.is_empty())
    }
}

/// Whether an error code is a moderation refusal (input at submit, output after running).
pub fn is_moderation(code: &str) -> bool {
    code.contains("SensitiveContentDetected") || code.contains("PolicyViolation")
}

/// What a poll found (`poll_at` is filled in by the caller); `answer` is the poll's body,
/// kept for the fetch so the URL it names is used before it expires.
pub fn outcome(task: &ArkTask, answer: &Answer, upstream: &str) -> PollOutcome {
    match task.status.as_str() {
        "queued" => PollOutcome::Queued { poll_at: 0 },
        "running" => PollOutcome::Running { progress: 0, poll_at: 0 },
        "succeeded" if task.video_url().is_some() => PollOutcome::SucceededWith(PolledResult(answer.body.clone())),
        "succeeded" => PollOutcome::Failed {
            code: TaskErrorCode::UpstreamError,
            message: "the upstream reported success without a video URL".into(),
        },
        "failed" => failed(task),
        // Expired before it ran (`execution_expires_after`): not charged upstream, not billed.
        "expired" => PollOutcome::Failed {
            code: TaskErrorCode::UpstreamError,
            message: "the upstream let the job expire before running it; nothing is billed".into(),
        },
        "cancelled" => PollOutcome::Failed {
            code: TaskErrorCode::UpstreamError,
            message: "the upstream job was cancelled there; nothing is billed".into(),
        },
        other => {
            tracing::error!(upstream, job = %task.id, status = other, "unknown ModelArk task status; the task fails");
            PollOutcome::Failed {
                code: TaskErrorCode::UpstreamError,
                message: "the upstream reported a status vidgate does not know; nothing is billed".into(),
            }
        }
    }
}

fn failed(task: &ArkTask) -> PollOutcome {
    let error = task.error.clone().unwrap_or_default();
    tracing::info!(job = %task.id, code = %error.code, message = %error.message, "upstream task failed");
    if is_moderation(&error.code) {
        return PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream's safety filter blocked the video; nothing is billed".into(),
        };
    }
    let shown = if error.code.is_empty() { String::new() } else { format!(" ({})", error.code) };
    PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: format!("the upstream failed the job{shown}") }
}

/// A refused request as a provider error. On a create, a moderation code is a content
/// refusal; 429, 503 and `ServerOverloaded` / `InvalidEndpoint.ClosedEndpoint` were not
/// processed and may be sent again; any other 5xx may have created a task (the service has
/// no idempotency key), so its outcome is unknown.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let e = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| serde_json::from_value::<ArkError>(v.get("error")?.clone()).ok())
        .unwrap_or_default();
    let detail = format!("{} {}", e.code, e.message);
    let status = answer.status.as_u16();
    if call == Call::Submit {
        if is_moderation(&e.code) {
            return ProviderError::ContentFiltered("the upstream's safety filter refused the prompt or image".into());
        }
        let not_processed = status == 429
            || status == 503
            || e.code == "ServerOverloaded"
            || e.code == "InvalidEndpoint.ClosedEndpoint";
        if not_processed {
            return ProviderError::Busy {
                message: format!("{}: {detail}", answer.status),
                retry_after_ms: answer.retry_after_ms(),
            };
        }
        if status >= 500 {
            return ProviderError::OutcomeUnknown(format!("{}: {}", answer.status, http::truncate(&detail, 500)));
        }
    }
    http::status_error(answer.status, answer.retry_after_ms(), &detail, call)
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

    fn poll(body: &str) -> PollOutcome {
        let a = answer(200, body);
        outcome(&a.json(Call::Read).unwrap(), &a, "ark")
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn the_six_statuses_map_exactly_and_an_unknown_one_fails() {
        assert_eq!(poll(r#"{"status":"queued"}"#), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(poll(r#"{"status":"running"}"#), PollOutcome::Running { progress: 0, poll_at: 0 });
        let done = r#"{"id":"cgt-1","status":"succeeded",
            "content":{"video_url":"https://x/v.mp4?X-Tos-Signature=a%2Fb"},
            "usage":{"completion_tokens":108900,"total_tokens":108900}}"#;
        assert_eq!(poll(done), PollOutcome::SucceededWith(PolledResult(done.as_bytes().to_vec().into())));
        assert_eq!(code(poll(r#"{"status":"succeeded","content":{}}"#)), TaskErrorCode::UpstreamError);
        let moderated = r#"{"status":"failed","error":{"code":"OutputVideoSensitiveContentDetected","message":"no"}}"#;
        assert_eq!(code(poll(moderated)), TaskErrorCode::ContentFiltered);
        assert_eq!(
            code(poll(r#"{"status":"failed","error":{"code":"InternalServiceError"}}"#)),
            TaskErrorCode::UpstreamError
        );
        assert_eq!(code(poll(r#"{"status":"expired"}"#)), TaskErrorCode::UpstreamError);
        assert_eq!(code(poll(r#"{"status":"cancelled"}"#)), TaskErrorCode::UpstreamError);
        assert_eq!(code(poll(r#"{"status":"processing"}"#)), TaskErrorCode::UpstreamError);
    }

    #[test]
    fn submit_errors_split_into_moderation_resendable_and_unknown() {
        let e = |s, code: &str| {
            error(&answer(s, &format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#)), Call::Submit)
        };
        assert!(matches!(e(400, "InputTextSensitiveContentDetected"), ProviderError::ContentFiltered(_)));
        assert!(matches!(e(429, "RateLimitExceeded.EndpointRPMExceeded"), ProviderError::Busy { .. }));
        assert!(matches!(e(503, "ServerOverloaded"), ProviderError::Busy { .. }));
        assert!(matches!(e(500, "InternalServiceError"), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(e(403, "AccountOverdueError"), ProviderError::Refused(_)));
        assert!(matches!(e(400, "InvalidParameter"), ProviderError::Refused(_)));
        assert!(matches!(error(&answer(500, "{}"), Call::Read), ProviderError::Busy { .. }));
    }
}
