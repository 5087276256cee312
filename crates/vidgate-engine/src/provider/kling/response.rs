//! Reading Kling answers (docs/upstreams.md §10.4, §10.5): the `{"code", "message",
//! "request_id", "data"}` envelope, where HTTP 200 with `code != 0` is an error (§10.8 trap
//! 3); the task as the legacy object (`task_id`, `task_status`, `task_status_msg`,
//! `task_result.videos[].url`, `final_unit_deduction`) or the new standard's array of
//! `{id, status, message, outputs[].url}` (trap 8); statuses mapped exactly: `submitted`
//! queued, `processing` running, `succeed` or `succeeded` done (trap 1), `failed` failed, any
//! other value an alarm that fails the task, never taken for "running".

use serde_json::Value;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, PolledResult, ProviderError};

/// A task as read from either shape (only the fields used).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KlingTask {
    pub id: String,
    pub status: String,
    /// Why it failed (`task_status_msg`, new `message`); the envelope's `message` says
    /// "SUCCEED" even then (trap 2).
    pub reason: String,
    pub video_url: Option<String>,
    /// `final_unit_deduction`, the units billed.
    pub units: Option<String>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

impl KlingTask {
    /// The task in `data`: an object (legacy, and a new create) or the first item of an
    /// array (new `GET /tasks`).
    pub fn from_data(data: &Value) -> Option<KlingTask> {
        let t = match data {
            Value::Array(items) => items.first()?,
            Value::Object(_) => data,
            _ => return None,
        };
        let legacy = t.get("task_id").is_some();
        let (id, status, reason, videos) = if legacy {
            let videos = t.pointer("/task_result/videos");
            (text(t, "task_id"), text(t, "task_status"), text(t, "task_status_msg"), videos)
        } else {
            (text(t, "id"), text(t, "status"), text(t, "message"), t.get("outputs"))
        };
        let video_url =
            videos.and_then(Value::as_array).and_then(|v| v.first()).map(|v| text(v, "url")).filter(|u| !u.is_empty());
        let units = t.get("final_unit_deduction").and_then(|u| match u {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        Some(KlingTask { id, status, reason, video_url, units })
    }

    /// The billed units in millionths.
    pub fn unit_micros(&self) -> Option<i64> {
        let units: f64 = self.units.as_deref()?.trim().parse().ok()?;
        (units.is_finite() && units >= 0.0).then(|| (units * 1e6).round() as i64)
    }
}

/// The task of a successful answer, or the error its `code` says.
pub fn task(answer: &Answer, call: Call) -> Result<KlingTask, ProviderError> {
    let body: Value = answer.json(call)?;
    if body.get("code").and_then(Value::as_i64) != Some(0) {
        return Err(error(answer, call));
    }
    KlingTask::from_data(body.get("data").unwrap_or(&Value::Null))
        .ok_or_else(|| ProviderError::Result("the answer carries no task".into()))
}

/// Whether a failed task's reason is the content review (trap 2; the digest's example is
/// "content risk control"). Both end unbilled; this only picks the error code.
pub fn is_moderation(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    ["risk control", "content security", "sensitive", "inappropriate"].iter().any(|w| r.contains(w))
}

/// What a poll found (`poll_at` is filled in by the caller); `answer` is the poll's body,
/// kept for the fetch so the URL it names is used at once.
pub fn outcome(task: &KlingTask, answer: &Answer, upstream: &str) -> PollOutcome {
    let failed = |code, message: &str| PollOutcome::Failed { code, message: message.into() };
    match task.status.as_str() {
        "submitted" => PollOutcome::Queued { poll_at: 0 },
        "processing" => PollOutcome::Running { progress: 0, poll_at: 0 },
        "succeed" | "succeeded" if task.video_url.is_some() => {
            PollOutcome::SucceededWith(PolledResult(answer.body.clone()))
        }
        "succeed" | "succeeded" => {
            failed(TaskErrorCode::UpstreamError, "the upstream reported success without a video URL")
        }
        "failed" => {
            tracing::info!(upstream, job = %task.id, reason = %task.reason, "upstream task failed");
            if is_moderation(&task.reason) {
                failed(
                    TaskErrorCode::ContentFiltered,
                    "the upstream's content review blocked the video; nothing is billed",
                )
            } else {
                failed(TaskErrorCode::UpstreamError, "the upstream failed the job; nothing is billed")
            }
        }
        other => {
            tracing::error!(upstream, job = %task.id, status = other, "unknown Kling task status; the task fails");
            failed(
                TaskErrorCode::UpstreamError,
                "the upstream reported a status vidgate does not know; nothing is billed",
            )
        }
    }
}

/// An error answer (any HTTP status, or 200 with `code != 0`) as a provider error, by its
/// `code` (§10.4): 1000–1004 credentials (1003 and 1004, a token not yet or no longer valid,
/// may pass with a new one); 1101 and 1102 an unpaid account or an empty resource pack (429s
/// that are money, not rate: refused, trap 3); 1300 and 1301 content review at submit;
/// 1302 and 1303 rate and concurrency (again later); 5001 unavailable (again later); on a
/// create, 5000, 5002 and any other 5xx may have made a task, so its outcome is unknown.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = body.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let message = text(&body, "message");
    let detail = format!("{}: code {code} {}", answer.status, http::truncate(&message, 300));
    let busy = |detail: String| ProviderError::Busy { message: detail, retry_after_ms: answer.retry_after_ms() };
    match code {
        1003 | 1004 => busy(detail),
        1000..=1004 | 1100 | 1103 | 1200..=1203 | 1304 => ProviderError::Refused(detail),
        1101 | 1102 => ProviderError::Refused(format!("{detail} (the upstream account has no balance left)")),
        1300 | 1301 if call == Call::Submit => {
            ProviderError::ContentFiltered("the upstream's content security refused the prompt or image".into())
        }
        1302 | 1303 | 5001 => busy(detail),
        _ if call == Call::Submit && (answer.status.is_server_error() || matches!(code, 5000 | 5002)) => {
            ProviderError::OutcomeUnknown(detail)
        }
        _ if answer.status.is_success() => ProviderError::Refused(detail),
        _ => http::status_error(answer.status, answer.retry_after_ms(), &detail, call),
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

    fn poll(data: &str) -> PollOutcome {
        let a = answer(200, &format!(r#"{{"code":0,"message":"SUCCEED","request_id":"r","data":{data}}}"#));
        outcome(&task(&a, Call::Read).unwrap(), &a, "kling")
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn the_statuses_map_exactly_in_both_shapes_and_an_unknown_one_fails() {
        let legacy = |s: &str| poll(&format!(r#"{{"task_id":"t","task_status":"{s}"}}"#));
        assert_eq!(legacy("submitted"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(legacy("processing"), PollOutcome::Running { progress: 0, poll_at: 0 });
        assert!(matches!(
            poll(
                r#"{"task_id":"t","task_status":"succeed","task_result":{"videos":[{"url":"https://cdn/x.mp4","duration":"5.041"}]}}"#
            ),
            PollOutcome::SucceededWith(_)
        ));
        assert!(matches!(
            poll(r#"[{"id":"t","status":"succeeded","outputs":[{"type":"video","url":"https://cdn/x.mp4"}]}]"#),
            PollOutcome::SucceededWith(_)
        ));
        assert_eq!(code(legacy("succeed")), TaskErrorCode::UpstreamError, "success without a URL");
        let risk =
            r#"{"task_id":"t","task_status":"failed","task_status_msg":"Failure to pass the content risk control"}"#;
        assert_eq!(code(poll(risk)), TaskErrorCode::ContentFiltered);
        assert_eq!(code(legacy("failed")), TaskErrorCode::UpstreamError);
        assert_eq!(code(legacy("cancelled")), TaskErrorCode::UpstreamError);
    }

    #[test]
    fn billed_units_are_read_from_a_string_or_a_number() {
        let units = |v: &str| {
            KlingTask::from_data(
                &serde_json::from_str(&format!(r#"{{"task_id":"t","final_unit_deduction":{v}}}"#)).unwrap(),
            )
            .unwrap()
            .unit_micros()
        };
        assert_eq!(units(r#""2.5""#), Some(2_500_000));
        assert_eq!(units("5"), Some(5_000_000));
        assert_eq!(units("null"), None);
    }

    #[test]
    fn error_codes_split_into_money_moderation_rate_and_unknown_even_inside_http_200() {
        let e = |status, code: i64| {
            error(&answer(status, &format!(r#"{{"code":{code},"message":"m","request_id":"r"}}"#)), Call::Submit)
        };
        assert!(matches!(e(429, 1102), ProviderError::Refused(m) if m.contains("no balance")));
        assert!(matches!(e(429, 1101), ProviderError::Refused(_)));
        assert!(matches!(e(400, 1301), ProviderError::ContentFiltered(_)));
        assert!(matches!(e(200, 1301), ProviderError::ContentFiltered(_)));
        assert!(matches!(e(429, 1302), ProviderError::Busy { .. }));
        assert!(matches!(e(429, 1303), ProviderError::Busy { .. }));
        assert!(matches!(e(503, 5001), ProviderError::Busy { .. }));
        assert!(matches!(e(500, 5000), ProviderError::OutcomeUnknown(_)));
        assert!(matches!(e(401, 1004), ProviderError::Busy { .. }));
        assert!(matches!(e(401, 1002), ProviderError::Refused(_)));
        assert!(matches!(e(200, 1201), ProviderError::Refused(_)));
        let read = error(&answer(500, r#"{"code":5000}"#), Call::Read);
        assert!(matches!(read, ProviderError::Busy { .. }));
    }
}
