//! Reading Runway answers (docs/upstreams.md §13.4–§13.5): the create's `{"id"}`, the task's
//! `status` mapped exactly (`PENDING` and `THROTTLED` queued, §13.8 trap 8: throttling is
//! queueing, not failure; `RUNNING` with `progress` 0..1; `SUCCEEDED` with `output[]`;
//! `FAILED` with `failureCode`; `CANCELLED`, also spelled `CANCELED`, trap 6); any other
//! value fails the task and is logged, never taken for "running". `cost.credits` of a
//! finished task is the measured cost. Refusals carry `{"error": "<text>"}`.

use serde::Deserialize;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, PolledResult, ProviderError};

/// A create answer: the task id only (§13.4).
#[derive(Debug, Default, Deserialize)]
pub struct Created {
    #[serde(default)]
    pub id: String,
}

/// Credits of a task (`cost` or `estimatedCost`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub struct Credits {
    #[serde(default)]
    pub credits: Option<f64>,
}

/// A task answer (only the fields read; lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunwayTask {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: Option<f64>,
    #[serde(default)]
    pub output: Vec<String>,
    #[serde(default)]
    pub failure: String,
    #[serde(default)]
    pub failure_code: String,
    #[serde(default)]
    pub cost: Option<Credits>,
}

impl RunwayTask {
    /// The first output URL of a succeeded task, as sent (signed; never rebuilt).
    pub fn video_url(&self) -> Option<&str> {
        self.output.first().map(String::as_str).filter(|u| !u.is_empty())
    }

    /// Whether the task can still be cancelled: DELETE on any other task deletes it and its
    /// output (§13.6, §13.8 trap 5).
    pub fn is_unfinished(&self) -> bool {
        matches!(self.status.as_str(), "PENDING" | "THROTTLED" | "RUNNING")
    }

    /// `cost.credits` of a finished task, in thousandths of a credit.
    pub fn credit_millis(&self) -> Option<u64> {
        let credits = self.cost?.credits?;
        (credits.is_finite() && credits >= 0.0).then(|| (credits * 1000.0).round() as u64)
    }
}

/// Whether a failure code is a moderation block (§13.5: `SAFETY.INPUT.*`, `SAFETY.OUTPUT.*`;
/// the suffix is diagnostic only).
pub fn is_moderation(code: &str) -> bool {
    code == "SAFETY" || code.starts_with("SAFETY.")
}

/// What a poll found (`poll_at` is filled in by the caller); `answer` is the poll's body,
/// kept for the fetch so the URL it names is used at once (it expires, trap 9).
pub fn outcome(task: &RunwayTask, answer: &Answer, upstream: &str) -> PollOutcome {
    let failed = |message: &str| PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: message.into() };
    match task.status.as_str() {
        "PENDING" | "THROTTLED" => PollOutcome::Queued { poll_at: 0 },
        "RUNNING" => {
            let progress = task.progress.filter(|p| p.is_finite()).map_or(0.0, |p| p.clamp(0.0, 0.99));
            PollOutcome::Running { progress: (progress * 100.0) as u8, poll_at: 0 }
        }
        "SUCCEEDED" if task.video_url().is_some() => PollOutcome::SucceededWith(PolledResult(answer.body.clone())),
        "SUCCEEDED" => failed("the upstream reported success without an output URL"),
        "FAILED" => failure(task),
        "CANCELLED" | "CANCELED" => failed("the upstream job was cancelled there; nothing is billed"),
        other => {
            tracing::error!(upstream, job = %task.id, status = other, "unknown Runway task status; the task fails");
            failed("the upstream reported a status vidgate does not know; nothing is billed")
        }
    }
}

fn failure(task: &RunwayTask) -> PollOutcome {
    // `failure` is human text not meant for end users (§13.5): logged, never returned.
    tracing::info!(job = %task.id, code = %task.failure_code, failure = %task.failure, "upstream task failed");
    if is_moderation(&task.failure_code) {
        return PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream's moderation blocked the video; nothing is billed".into(),
        };
    }
    let shown = if task.failure_code.is_empty() { String::new() } else { format!(" ({})", task.failure_code) };
    PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: format!("the upstream failed the job{shown}") }
}

/// The error body, `{"error": "<text>"}` (§13.4).
#[derive(Debug, Default, Deserialize)]
struct RunwayError {
    #[serde(default)]
    error: String,
}

/// A refused request as a provider error. On a create: 429 (rate or the daily quota,
/// trap 8) and 503 (load shedding) were not processed and may be sent again; any other 5xx
/// may have created a task, and with no idempotency key (trap 7) its outcome is unknown.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let e: RunwayError = serde_json::from_slice(&answer.body).unwrap_or_default();
    let status = answer.status.as_u16();
    if call == Call::Submit && status >= 500 && status != 503 {
        return ProviderError::OutcomeUnknown(format!("{}: {}", answer.status, http::truncate(&e.error, 500)));
    }
    http::status_error(answer.status, answer.retry_after_ms(), &e.error, call)
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
        outcome(&a.json(Call::Read).unwrap(), &a, "runway")
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn the_six_statuses_map_exactly_throttled_is_queued_and_an_unknown_one_fails() {
        let status = |s: &str| poll(&format!(r#"{{"id":"t","status":"{s}","estimatedCost":{{"credits":60}}}}"#));
        assert_eq!(status("PENDING"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(status("THROTTLED"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(poll(r#"{"status":"RUNNING","progress":0.42}"#), PollOutcome::Running { progress: 42, poll_at: 0 });
        assert_eq!(status("RUNNING"), PollOutcome::Running { progress: 0, poll_at: 0 });
        let done = r#"{"id":"t","status":"SUCCEEDED","cost":{"credits":60},"output":["https://cdn/x.mp4?_jwt=e"]}"#;
        assert_eq!(poll(done), PollOutcome::SucceededWith(PolledResult(done.as_bytes().to_vec().into())));
        assert_eq!(code(status("SUCCEEDED")), TaskErrorCode::UpstreamError, "success without output");
        let blocked = r#"{"status":"FAILED","failure":"f","failureCode":"SAFETY.INPUT.TEXT","cost":{"credits":0}}"#;
        assert_eq!(code(poll(blocked)), TaskErrorCode::ContentFiltered);
        let internal = r#"{"status":"FAILED","failure":"f","failureCode":"INTERNAL.BAD_OUTPUT.CODE01"}"#;
        assert_eq!(code(poll(internal)), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("CANCELLED")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("CANCELED")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("DONE")), TaskErrorCode::UpstreamError);
    }

    #[test]
    fn credits_are_read_from_cost_and_only_unfinished_tasks_may_be_deleted() {
        let task = |body: &str| serde_json::from_str::<RunwayTask>(body).unwrap();
        assert_eq!(task(r#"{"status":"SUCCEEDED","cost":{"credits":320}}"#).credit_millis(), Some(320_000));
        assert_eq!(task(r#"{"status":"PENDING","estimatedCost":{"credits":60}}"#).credit_millis(), None);
        for s in ["PENDING", "THROTTLED", "RUNNING"] {
            assert!(task(&format!(r#"{{"status":"{s}"}}"#)).is_unfinished());
        }
        for s in ["SUCCEEDED", "FAILED", "CANCELLED"] {
            assert!(!task(&format!(r#"{{"status":"{s}"}}"#)).is_unfinished());
        }
    }

    #[test]
    fn create_errors_split_into_refused_resendable_and_unknown() {
        let e = |s| error(&answer(s, r#"{"error":"Invalid parameter 'promptText'"}"#), Call::Submit);
        assert!(matches!(e(400), ProviderError::Refused(m) if m.contains("promptText")));
        assert!(matches!(e(401), ProviderError::Refused(_)));
        assert!(matches!(e(429), ProviderError::Busy { .. }));
        assert!(matches!(e(503), ProviderError::Busy { .. }));
        assert!(matches!(e(502), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(e(500), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(error(&answer(502, "{}"), Call::Read), ProviderError::Busy { .. }));
    }
}
