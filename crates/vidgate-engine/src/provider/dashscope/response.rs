//! Reading DashScope answers (docs/upstreams.md §9.4, §9.5): `output.task_status` mapped
//! exactly (`PENDING`, `RUNNING`, `SUSPENDED` not terminal; `SUCCEEDED`, `FAILED`,
//! `CANCELED`, `UNKNOWN` terminal; any other value is an alarm and fails the task, never taken
//! for "running"), `output.video_url`, `output.code`/`message`, `usage.duration` read as a
//! number or a string (§9.8 trap 8), and the flat `{"request_id", "code", "message"}` body of
//! refused requests.

use serde::Deserialize;
use serde_json::Value;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, PolledResult, ProviderError};

/// `output` of a task (only the fields read; lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct WanOutput {
    #[serde(default)]
    pub task_id: String,
    #[serde(default)]
    pub task_status: String,
    #[serde(default)]
    pub video_url: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    /// `YYYY-MM-DD HH:mm:ss.SSS` at UTC+8 (§9.5), read by the lookup of a lost create.
    #[serde(default)]
    pub submit_time: String,
    /// The prompt as sent (§9.5), read by the lookup of a lost create.
    #[serde(default)]
    pub orig_prompt: String,
}

/// A create or poll answer.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct WanTask {
    #[serde(default)]
    pub output: WanOutput,
    #[serde(default)]
    pub usage: Option<Value>,
}

impl WanTask {
    /// The signed result URL of a succeeded task, as sent (never rebuilt).
    pub fn video_url(&self) -> Option<&str> {
        Some(self.output.video_url.as_str()).filter(|u| !u.is_empty())
    }

    /// The billed seconds, `usage.duration` (§9.5: includes input video seconds), whether
    /// sent as `10`, `10.0` or `"10"` (§9.8 trap 8); thousandths.
    pub fn billed_millis(&self) -> Option<u64> {
        let value = self.usage.as_ref()?.get("duration")?;
        let seconds = match value {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u64)
    }
}

/// Whether an error code is a moderation refusal (§9.4; §9.8 trap 13).
pub fn is_moderation(code: &str) -> bool {
    code.starts_with("DataInspection") || code == "IPInfringementSuspect"
}

/// What a poll found (`poll_at` is filled in by the caller); `answer` is the poll's body,
/// kept for the fetch so the URL it names is used at once (it expires, §9.5).
pub fn outcome(task: &WanTask, answer: &Answer, upstream: &str) -> PollOutcome {
    let failed = |message: &str| PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: message.into() };
    match task.output.task_status.as_str() {
        "PENDING" => PollOutcome::Queued { poll_at: 0 },
        // SUSPENDED is an SDK status of unknown cause (§9.5): not terminal.
        "RUNNING" | "SUSPENDED" => PollOutcome::Running { progress: 0, poll_at: 0 },
        "SUCCEEDED" if task.video_url().is_some() => PollOutcome::SucceededWith(PolledResult(answer.body.clone())),
        "SUCCEEDED" => failed("the upstream reported success without a video URL"),
        "FAILED" => failure(task),
        "CANCELED" => failed("the upstream job was cancelled there; nothing is billed"),
        // §9.8 trap 6: the id expired (24 h) or never existed; not "still running".
        "UNKNOWN" => failed("the upstream no longer knows the job (expired or never existed); nothing is billed"),
        other => {
            let job = &task.output.task_id;
            tracing::error!(upstream, job = %job, status = other, "unknown DashScope task status; the task fails");
            failed("the upstream reported a status vidgate does not know; nothing is billed")
        }
    }
}

fn failure(task: &WanTask) -> PollOutcome {
    let o = &task.output;
    tracing::info!(job = %o.task_id, code = %o.code, message = %o.message, "upstream task failed");
    if is_moderation(&o.code) {
        return PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream's content inspection blocked the video; nothing is billed".into(),
        };
    }
    // §9.8 trap 7: a failure may name no reason.
    let shown = if o.code.is_empty() { String::new() } else { format!(" ({})", o.code) };
    PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: format!("the upstream failed the job{shown}") }
}

/// The flat error body's `code` and `message`.
#[derive(Debug, Default, Deserialize)]
struct WanError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A refused request as a provider error. On a create: moderation codes are a content
/// refusal; 429 (`Throttling…`), 503 and `ModelUnavailable` were not processed and may be
/// sent again; `Arrearage` (an unpaid account, a 400, §9.8 trap 11) is a refusal that says
/// so; any other 5xx may have created a task (no idempotency key, §9.8 trap 12), so its
/// outcome is unknown.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let e: WanError = serde_json::from_slice(&answer.body).unwrap_or_default();
    let detail = format!("{} {}", e.code, e.message);
    let status = answer.status.as_u16();
    if call == Call::Submit {
        if is_moderation(&e.code) {
            return ProviderError::ContentFiltered(
                "the upstream's content inspection refused the prompt or image".into(),
            );
        }
        if e.code == "Arrearage" {
            return ProviderError::Refused(format!(
                "{}: the upstream account is in arrears (Arrearage)",
                answer.status
            ));
        }
        let not_processed = status == 429 || status == 503 || e.code == "ModelUnavailable";
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
        outcome(&a.json(Call::Read).unwrap(), &a, "wan")
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn the_seven_statuses_map_exactly_and_an_unknown_one_fails() {
        let status = |s: &str| poll(&format!(r#"{{"output":{{"task_id":"t","task_status":"{s}"}}}}"#));
        assert_eq!(status("PENDING"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(status("RUNNING"), PollOutcome::Running { progress: 0, poll_at: 0 });
        assert_eq!(status("SUSPENDED"), PollOutcome::Running { progress: 0, poll_at: 0 });
        let done = r#"{"output":{"task_id":"t","task_status":"SUCCEEDED","video_url":"https://oss/x.mp4?Expires=1"},
            "usage":{"duration":5,"SR":"720"}}"#;
        assert_eq!(poll(done), PollOutcome::SucceededWith(PolledResult(done.as_bytes().to_vec().into())));
        assert_eq!(code(status("SUCCEEDED")), TaskErrorCode::UpstreamError);
        let moderated = r#"{"output":{"task_status":"FAILED","code":"DataInspectionFailed","message":"m"}}"#;
        assert_eq!(code(poll(moderated)), TaskErrorCode::ContentFiltered);
        assert_eq!(code(status("FAILED")), TaskErrorCode::UpstreamError, "a failure without a reason");
        assert_eq!(code(status("CANCELED")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("UNKNOWN")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("DONE")), TaskErrorCode::UpstreamError);
    }

    #[test]
    fn billed_seconds_are_read_from_a_number_a_float_or_a_string() {
        let usage = |v: &str| serde_json::from_str::<WanTask>(&format!(r#"{{"usage":{{"duration":{v}}}}}"#)).unwrap();
        assert_eq!(usage("10").billed_millis(), Some(10_000));
        assert_eq!(usage("5.0").billed_millis(), Some(5_000));
        assert_eq!(usage(r#""4""#).billed_millis(), Some(4_000));
        assert_eq!(usage("null").billed_millis(), None);
        assert_eq!(WanTask::default().billed_millis(), None);
    }

    #[test]
    fn create_errors_split_into_moderation_arrears_resendable_and_unknown() {
        let e = |s, code: &str| {
            error(&answer(s, &format!(r#"{{"request_id":"r","code":"{code}","message":"m"}}"#)), Call::Submit)
        };
        assert!(matches!(e(400, "DataInspectionFailed"), ProviderError::ContentFiltered(_)));
        assert!(matches!(e(400, "Arrearage"), ProviderError::Refused(m) if m.contains("arrears")));
        assert!(matches!(e(429, "Throttling.RateQuota"), ProviderError::Busy { .. }));
        assert!(matches!(e(500, "ModelUnavailable"), ProviderError::Busy { .. }));
        assert!(matches!(e(500, "InternalError"), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(e(403, "AccessDenied"), ProviderError::Refused(_)));
        assert!(matches!(e(401, "InvalidApiKey"), ProviderError::Refused(_)));
        assert!(matches!(error(&answer(500, "{}"), Call::Read), ProviderError::Busy { .. }));
    }
}
