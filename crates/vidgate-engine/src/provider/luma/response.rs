//! Reading Luma generations (docs/upstreams.md §14.4–§14.5). The two APIs' `state` values,
//! mapped exactly per API: Agents `queued`, `processing`, `completed`, `failed`; Dream
//! Machine `queued`, `dreaming`, `completed`, `failed` (trap 1: the other API's running state
//! is as unknown as any other); any other value fails the task and is logged. The result is Agents `output[].url` (the `video` item) or Dream Machine
//! `assets.video`. Moderation is Agents `failure_code: "content_moderated"`; unknown codes
//! are a generic upstream failure (trap 10). Errors read `detail` (Dream Machine) or any
//! `error`/`message` text (the Agents error body is UNCONFIRMED).

use serde::Deserialize;
use serde_json::Value;
use vidgate_domain::luma::LumaApi;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::http::{self, Answer, Call};
use crate::provider::{PollOutcome, PolledResult, ProviderError};

/// One Agents output item.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Output {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: String,
}

/// Dream Machine `assets`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Assets {
    #[serde(default)]
    pub video: Option<String>,
}

/// A generation of either API (only the fields read; lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Generation {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub failure_code: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub output: Vec<Output>,
    #[serde(default)]
    pub assets: Option<Assets>,
}

impl Generation {
    /// The signed URL of the finished video, as sent: the `video` output item (Agents) or
    /// `assets.video` (Dream Machine).
    pub fn video_url(&self) -> Option<&str> {
        let agents = self.output.iter().find(|o| o.kind == "video" || o.kind.is_empty()).map(|o| o.url.as_str());
        let dream = self.assets.as_ref().and_then(|a| a.video.as_deref());
        agents.or(dream).filter(|u| !u.is_empty())
    }

    /// Whether it is still waiting or running (the only state a Dream Machine DELETE may
    /// meet: on a finished one it removes the record).
    pub fn is_unfinished(&self) -> bool {
        matches!(self.state.as_str(), "queued" | "processing" | "dreaming")
    }
}

/// What a poll found (`poll_at` is filled in by the caller); `answer` is the poll's body,
/// kept for the fetch so the URL it names is used at once (1 h on Agents, trap 3).
pub fn outcome(g: &Generation, answer: &Answer, api: LumaApi, upstream: &str) -> PollOutcome {
    let failed = |message: &str| PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: message.into() };
    let running = if api == LumaApi::Agents { "processing" } else { "dreaming" };
    match g.state.as_str() {
        "queued" => PollOutcome::Queued { poll_at: 0 },
        state if state == running => PollOutcome::Running { progress: 0, poll_at: 0 },
        "completed" if g.video_url().is_some() => PollOutcome::SucceededWith(PolledResult(answer.body.clone())),
        "completed" => failed("the upstream reported success without a video URL"),
        "failed" => failure(g),
        other => {
            tracing::error!(upstream, job = %g.id, state = other, "unknown Luma generation state; the task fails");
            failed("the upstream reported a status vidgate does not know; nothing is billed")
        }
    }
}

fn failure(g: &Generation) -> PollOutcome {
    let code = g.failure_code.as_deref().unwrap_or("");
    let reason = g.failure_reason.as_deref().unwrap_or("");
    tracing::info!(job = %g.id, code, reason, "upstream generation failed");
    if code == "content_moderated" {
        return PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream's moderation blocked the video; nothing is billed".into(),
        };
    }
    let shown = if code.is_empty() { String::new() } else { format!(" ({code})") };
    PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message: format!("the upstream failed the job{shown}") }
}

/// The error text of a refused request: `detail`, `error` (a string or `{message}`) or
/// `message`.
fn error_text(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let text =
        v.get("detail").or_else(|| v.get("message")).or_else(|| v.get("error").map(|e| e.get("message").unwrap_or(e)));
    match text {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A refused request as a provider error. On a create: 429 and 503 were not processed and
/// may be sent again; any other 5xx may have created a generation, and with no idempotency
/// key (trap 9) its outcome is unknown.
pub fn error(answer: &Answer, call: Call) -> ProviderError {
    let text = error_text(&answer.body);
    let status = answer.status.as_u16();
    if call == Call::Submit && status >= 500 && status != 503 {
        return ProviderError::OutcomeUnknown(format!("{}: {}", answer.status, http::truncate(&text, 500)));
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

    fn poll_on(api: LumaApi, body: &str) -> PollOutcome {
        let a = answer(200, body);
        outcome(&a.json(Call::Read).unwrap(), &a, api, "luma")
    }

    fn poll(body: &str) -> PollOutcome {
        poll_on(LumaApi::Agents, body)
    }

    fn code(o: PollOutcome) -> TaskErrorCode {
        match o {
            PollOutcome::Failed { code, .. } => code,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn both_apis_states_map_exactly_and_an_unknown_one_fails() {
        let state = |s: &str| poll(&format!(r#"{{"id":"g","state":"{s}"}}"#));
        let dream = |s: &str| poll_on(LumaApi::DreamMachine, &format!(r#"{{"id":"g","state":"{s}"}}"#));
        assert_eq!(state("queued"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(dream("queued"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(state("processing"), PollOutcome::Running { progress: 0, poll_at: 0 });
        assert_eq!(dream("dreaming"), PollOutcome::Running { progress: 0, poll_at: 0 });
        // Each API's running state is unknown to the other (trap 1).
        assert_eq!(code(state("dreaming")), TaskErrorCode::UpstreamError);
        assert_eq!(code(dream("processing")), TaskErrorCode::UpstreamError);
        let agents = r#"{"id":"g","state":"completed","output":[{"type":"video","url":"https://cdn/x.mp4?X-Amz-Expires=3600"}]}"#;
        assert_eq!(poll(agents), PollOutcome::SucceededWith(PolledResult(agents.as_bytes().to_vec().into())));
        let dream =
            r#"{"id":"g","state":"completed","assets":{"video":"https://cdn/v.mp4","image":"https://cdn/t.jpg"}}"#;
        assert_eq!(poll(dream), PollOutcome::SucceededWith(PolledResult(dream.as_bytes().to_vec().into())));
        assert_eq!(code(state("completed")), TaskErrorCode::UpstreamError);
        let moderated = r#"{"state":"failed","failure_code":"content_moderated","failure_reason":"r"}"#;
        assert_eq!(code(poll(moderated)), TaskErrorCode::ContentFiltered);
        assert_eq!(
            code(poll(r#"{"state":"failed","failure_code":"a_code_from_the_future"}"#)),
            TaskErrorCode::UpstreamError
        );
        assert_eq!(code(poll(r#"{"state":"failed","failure_reason":"boom"}"#)), TaskErrorCode::UpstreamError);
        assert_eq!(code(state("dreamt")), TaskErrorCode::UpstreamError);
    }

    #[test]
    fn create_errors_read_detail_and_split_into_refused_resendable_and_unknown() {
        let e = |s| error(&answer(s, r#"{"detail":"Invalid API key is provided"}"#), Call::Submit);
        assert!(matches!(e(401), ProviderError::Refused(m) if m.contains("Invalid API key")));
        assert!(matches!(e(429), ProviderError::Busy { .. }));
        assert!(matches!(e(503), ProviderError::Busy { .. }));
        assert!(matches!(e(500), ProviderError::OutcomeUnknown(_)));
        let agents = error(&answer(400, r#"{"error":{"message":"bad duration"}}"#), Call::Submit);
        assert!(matches!(agents, ProviderError::Refused(m) if m.contains("bad duration")));
    }
}
