//! Reading MiniMax answers (docs/upstreams.md §11.4, §11.5): the v2 task's `status` mapped
//! exactly (`queued`, `running` not terminal; `succeeded`, `failed`, `cancelled`, `expired`
//! terminal; any other value is an alarm and fails the task, never taken for "running",
//! trap 18), `content.url`, `error.code`, `usage.output_seconds`; and errors, whether the v2
//! envelope `{"error": {"type", "message": "… (<code>)"}}` (trap 16) or a `base_resp` with a
//! non-zero `status_code` inside an HTTP 200 (trap 2), classified by MiniMax's status code.

use serde::Deserialize;
use serde_json::Value;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, PolledResult, ProviderError};

/// The v2 task object (only the fields read; lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct H3Task {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub content: Option<Value>,
    #[serde(default)]
    pub usage: Option<Value>,
    #[serde(default)]
    pub error: Option<Value>,
}

/// A query answer: `{"task": {...}}` (the official script also reads a top-level `status`,
/// §11.5; only `task` is documented).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Query {
    #[serde(default)]
    pub task: H3Task,
}

impl H3Task {
    /// The time-limited result URL of a succeeded task, as sent.
    pub fn video_url(&self) -> Option<&str> {
        self.content.as_ref()?.get("url")?.as_str().filter(|u| !u.is_empty())
    }

    /// The seconds MiniMax bills for the output, `usage.output_seconds` (§11.5: the requested
    /// seconds, not the longer delivered length); whole seconds.
    pub fn output_seconds(&self) -> Option<u64> {
        self.usage.as_ref()?.get("output_seconds")?.as_f64().filter(|s| s.is_finite() && *s >= 0.0).map(|s| s as u64)
    }

    /// `error.code` of a failed task, as a number whether sent as `1027` or `"1027"`.
    fn error_code(&self) -> Option<i64> {
        match self.error.as_ref()?.get("code")? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// What MiniMax's status codes mean to vidgate (§11.4; trap 13 for 1002/1039/1041).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// 1002, 1039, 1041: rate, token or concurrency limit; back off.
    RateLimited,
    /// 1026, 1027: input or output flagged sensitive.
    Moderation,
    /// 1008, 2056: no balance or plan usage left.
    Balance,
    /// 1004, 2049, 2061: authentication, or a model the key's plan lacks.
    Auth,
    /// 1000, 1001, 1024, 1033: the upstream's own failure or timeout.
    Server,
    /// 1042, 2013 and anything else: the request was refused.
    Invalid,
}

/// The class of a status code.
pub fn class(code: i64) -> Class {
    match code {
        1002 | 1039 | 1041 => Class::RateLimited,
        1026 | 1027 => Class::Moderation,
        1008 | 2056 => Class::Balance,
        1004 | 2049 | 2061 => Class::Auth,
        1000 | 1001 | 1024 | 1033 => Class::Server,
        _ => Class::Invalid,
    }
}

/// What a poll found (`poll_at` is filled in by the caller); `answer` is the poll's body,
/// kept for the fetch so the URL it names is used at once (it expires, trap 15).
pub fn outcome(task: &H3Task, answer: &Answer, upstream: &str) -> PollOutcome {
    let failed = |message: &str| PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: message.into() };
    match task.status.as_str() {
        "queued" => PollOutcome::Queued { poll_at: 0 },
        "running" => PollOutcome::Running { progress: 0, poll_at: 0 },
        "succeeded" if task.video_url().is_some() => PollOutcome::SucceededWith(PolledResult(answer.body.clone())),
        "succeeded" => failed("the upstream reported success without a video URL"),
        "failed" => failure(task),
        "cancelled" => failed("the upstream job was cancelled there; nothing is billed"),
        "expired" => failed("the upstream job expired; nothing is billed"),
        other => {
            tracing::error!(upstream, job = %task.id, status = other, "unknown MiniMax task status; the task fails");
            failed("the upstream reported a status vidgate does not know; nothing is billed")
        }
    }
}

fn failure(task: &H3Task) -> PollOutcome {
    let code = task.error_code();
    tracing::info!(job = %task.id, code = ?code, error = ?task.error, "upstream task failed");
    if code.map(class) == Some(Class::Moderation) {
        return PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream flagged the content as sensitive; nothing is billed".into(),
        };
    }
    let shown = code.map(|c| format!(" ({c})")).unwrap_or_default();
    PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: format!("the upstream failed the job{shown}") }
}

/// The code and text of an error answer: the v2 envelope's trailing `(<code>)`, else a
/// `base_resp`'s non-zero `status_code`.
pub fn error_code(body: &[u8]) -> Option<(i64, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if let Some(message) = value.pointer("/error/message").and_then(Value::as_str) {
        let code = message.trim_end().strip_suffix(')').and_then(|m| m.rsplit_once('(')).map(|(_, c)| c.trim());
        return Some((code.and_then(|c| c.parse().ok()).unwrap_or(0), message.to_owned()));
    }
    let base = value.get("base_resp")?;
    let code = base.get("status_code")?.as_i64().filter(|c| *c != 0)?;
    Some((code, base.get("status_msg").and_then(Value::as_str).unwrap_or("").to_owned()))
}

/// A refused request as a provider error, classed by MiniMax's code where it names one and
/// by the HTTP status otherwise. On a create, a 5xx without a MiniMax code (a proxy's page)
/// may hide a created task (no idempotency key, trap 14), so its outcome is unknown; an
/// answer with a code created none, and the server and rate-limit classes may be sent again; moderation is a content refusal; balance and
/// auth are refusals that say so.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let (code, detail) = error_code(&answer.body).unwrap_or((0, String::from_utf8_lossy(&answer.body).into()));
    let detail = http::truncate(&detail, 500).to_owned();
    let status = answer.status;
    let retry_after_ms = answer.retry_after_ms();
    let busy = |message: String| ProviderError::Busy { message, retry_after_ms };
    match (code != 0).then(|| class(code)) {
        Some(Class::RateLimited) => busy(format!("{status}: rate limited ({code})")),
        Some(Class::Moderation) if call == Call::Submit => {
            ProviderError::ContentFiltered(format!("the upstream flagged the input as sensitive ({code})"))
        }
        Some(Class::Balance) => {
            ProviderError::Refused(format!("{status}: the upstream account has no balance ({code})"))
        }
        Some(Class::Auth) => {
            ProviderError::Refused(format!("{status}: the upstream refused the key ({code}): {detail}"))
        }
        // An error body naming a code is MiniMax's answer: no task id came back, so none
        // was created; it may be sent again.
        Some(Class::Server) => busy(format!("{status}: {detail}")),
        _ if call == Call::Submit && status.is_server_error() && status.as_u16() != 503 => {
            ProviderError::OutcomeUnknown(format!("{status}: {detail}"))
        }
        _ => http::status_error(status, retry_after_ms, &detail, call),
    }
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
        let q: Query = a.json(Call::Read).unwrap();
        outcome(&q.task, &a, "mm")
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn the_statuses_map_exactly_and_an_unknown_one_fails() {
        let status = |s: &str| poll(&format!(r#"{{"task":{{"id":"t","status":"{s}"}}}}"#));
        assert_eq!(status("queued"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(status("running"), PollOutcome::Running { progress: 0, poll_at: 0 });
        let done = r#"{"task":{"id":"t","status":"succeeded","content":{"url":"https://cdn/x.mp4"},"duration":5.167,
            "usage":{"output_seconds":5,"total_seconds":5}}}"#;
        assert_eq!(poll(done), PollOutcome::SucceededWith(PolledResult(done.as_bytes().to_vec().into())));
        assert_eq!(code(status("succeeded")), TaskErrorCode::UpstreamError);
        let flagged = r#"{"task":{"status":"failed","error":{"code":1027,"message":"m"}}}"#;
        assert_eq!(code(poll(flagged)), TaskErrorCode::ContentFiltered);
        let flagged_text = r#"{"task":{"status":"failed","error":{"code":"1026","message":"m"}}}"#;
        assert_eq!(code(poll(flagged_text)), TaskErrorCode::ContentFiltered);
        assert_eq!(code(status("failed")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("cancelled")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("expired")), TaskErrorCode::UpstreamError);
        assert_eq!(code(status("Success")), TaskErrorCode::UpstreamError, "a v1 status on the v2 query");
    }

    #[test]
    fn the_billed_seconds_are_the_output_seconds_not_the_delivered_length() {
        let q: Query = serde_json::from_str(r#"{"task":{"duration":5.167,"usage":{"output_seconds":5}}}"#).unwrap();
        assert_eq!(q.task.output_seconds(), Some(5));
        assert_eq!(H3Task::default().output_seconds(), None);
    }

    #[test]
    fn errors_are_classed_by_the_code_at_the_end_of_the_message_or_in_base_resp() {
        let v2 = |s, t: &str, c: u32| answer(s, &format!(r#"{{"error":{{"type":"{t}","message":"m ({c})"}}}}"#));
        assert!(matches!(error(&v2(429, "rate_limit_error", 1002), Call::Submit), ProviderError::Busy { .. }));
        assert!(matches!(error(&v2(400, "bad_request_error", 1041), Call::Submit), ProviderError::Busy { .. }));
        assert!(matches!(error(&v2(422, "x", 1026), Call::Submit), ProviderError::ContentFiltered(_)));
        let broke = error(&v2(402, "insufficient_balance_error", 1008), Call::Submit);
        assert!(matches!(&broke, ProviderError::Refused(m) if m.contains("no balance")), "{broke:?}");
        assert!(matches!(error(&v2(401, "authorized_error", 1004), Call::Submit), ProviderError::Refused(_)));
        assert!(matches!(error(&v2(500, "server_error", 1000), Call::Submit), ProviderError::Busy { .. }));
        assert!(matches!(error(&v2(500, "server_error", 1000), Call::Read), ProviderError::Busy { .. }));
        assert!(matches!(error(&v2(400, "bad_request_error", 2013), Call::Submit), ProviderError::Refused(_)));
        let in_200 =
            answer(200, r#"{"task_id":"","base_resp":{"status_code":1008,"status_msg":"insufficient balance"}}"#);
        assert_eq!(error_code(&in_200.body), Some((1008, "insufficient balance".into())));
        assert_eq!(error_code(br#"{"task_id":"1","base_resp":{"status_code":0}}"#), None);
        assert!(matches!(error(&answer(502, "<html>"), Call::Submit), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(error(&answer(503, "{}"), Call::Submit), ProviderError::Busy { .. }));
    }
}
