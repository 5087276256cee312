//! `vidgate upstreams check`: whether an upstream takes its configured credentials and
//! knows its model id, asked without generating anything (docs/upstreams.md, "Checking
//! upstreams"). Each kind reads what its API offers: a model read where there is one
//! (Gemini `models.get`, OpenAI `GET /models/{id}`, another vidgate's `GET /v1/models`),
//! the token exchange (Vertex), or an authenticated read of a task id that cannot exist
//! (the task APIs): any answer but 401/403 there proves the key is accepted.
//!
//! Must not: send a submit, or put a credential or a response body in a verdict.

use reqwest::StatusCode;

use super::ProviderError;
use super::http::{self, Answer, Call, MAX_API_BODY};

/// A task id no upstream issues, read to check credentials without creating anything.
pub const PROBE_TASK_ID: &str = "vidgate-upstreams-check-0";

/// What a check found out about one thing (the credentials, the model id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted, with what proved it.
    Good(String),
    /// Refused: the upstream said no, and why.
    Bad(String),
    /// The check could not tell (the upstream did not answer, or answered an error that
    /// says nothing about this).
    Unknown(String),
    /// The upstream has no way to ask without generating; said why.
    NotChecked(String),
}

impl Verdict {
    /// The word the table prints.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Good(_) => "ok",
            Verdict::Bad(_) => "BAD",
            Verdict::Unknown(_) => "unknown",
            Verdict::NotChecked(_) => "not checked",
        }
    }

    /// What proved or refused it.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Good(d) | Verdict::Bad(d) | Verdict::Unknown(d) | Verdict::NotChecked(d) => d,
        }
    }
}

/// An upstream's check: its credentials and its model id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub credentials: Verdict,
    pub model: Verdict,
}

impl Check {
    /// Whether anything was refused.
    pub fn failed(&self) -> bool {
        matches!(self.credentials, Verdict::Bad(_)) || matches!(self.model, Verdict::Bad(_))
    }

    /// A kind that offers no check at all.
    pub fn unsupported(why: &str) -> Check {
        Check { credentials: Verdict::NotChecked(why.into()), model: Verdict::NotChecked(why.into()) }
    }

    /// The verdicts when the request could not be made or answered.
    pub fn unanswered(e: &ProviderError) -> Check {
        let why = format!("no answer: {e}");
        Check { credentials: Verdict::Unknown(why.clone()), model: Verdict::Unknown(why) }
    }
}

/// Sends a read for a check; `Err` is a check that could not be made.
pub async fn read(request: reqwest::RequestBuilder) -> Result<Answer, Check> {
    http::send(request, Call::Read, MAX_API_BODY).await.map_err(|e| Check::unanswered(&e))
}

/// The credentials' verdict from an answer: 401 and 403 refuse them, a 2xx and a 404 (or any
/// other client error about the request) accept them, 429 and 5xx say nothing.
pub fn credentials(answer: &Answer) -> Verdict {
    let status = answer.status;
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        Verdict::Bad(format!("{status}: {}", summary(answer)))
    } else if status.is_success() || (status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS) {
        Verdict::Good(format!("an authenticated read answered {status}"))
    } else {
        Verdict::Unknown(format!("{status}: {}", summary(answer)))
    }
}

/// The model's verdict from the answer of a model read (`GET …/models/{id}`): 2xx knows it,
/// 404 does not; anything else says nothing about the model.
pub fn model_read(answer: &Answer, model: &str) -> Verdict {
    match answer.status {
        s if s.is_success() => Verdict::Good(format!("the upstream knows {model}")),
        StatusCode::NOT_FOUND => Verdict::Bad(format!("the upstream does not know {model}: {}", summary(answer))),
        s => Verdict::Unknown(format!("{s}")),
    }
}

/// The verdict of a model id that only a submit would check.
pub fn model_not_checkable(kind: &str) -> Verdict {
    Verdict::NotChecked(format!("{kind} has no model read; the id is checked by the first submit"))
}

/// The upstream's error message, shortened (never the whole body).
pub fn summary(answer: &Answer) -> String {
    let text = String::from_utf8_lossy(&answer.body);
    let message = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| message_of(&v));
    http::truncate(message.as_deref().unwrap_or(text.trim()), 160).to_owned()
}

/// The message of the error shapes the upstreams use.
fn message_of(v: &serde_json::Value) -> Option<String> {
    let candidates = [
        v.pointer("/error/message"),
        v.pointer("/message"),
        v.pointer("/base_resp/status_msg"),
        v.pointer("/detail"),
        v.pointer("/error/code"),
        v.pointer("/code"),
    ];
    candidates.into_iter().flatten().find_map(|m| match m {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: bytes::Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn a_refused_key_is_bad_a_missing_task_proves_the_key_and_a_busy_upstream_says_nothing() {
        assert!(matches!(credentials(&answer(401, r#"{"error":{"message":"bad key"}}"#)), Verdict::Bad(m) if m.contains("bad key")));
        assert!(matches!(credentials(&answer(403, "{}")), Verdict::Bad(_)));
        assert!(matches!(credentials(&answer(404, "{}")), Verdict::Good(_)));
        assert!(matches!(credentials(&answer(200, "{}")), Verdict::Good(_)));
        assert!(matches!(credentials(&answer(429, "{}")), Verdict::Unknown(_)));
        assert!(matches!(credentials(&answer(503, "{}")), Verdict::Unknown(_)));
    }

    #[test]
    fn a_model_read_knows_the_model_only_on_success() {
        assert!(matches!(model_read(&answer(200, "{}"), "m"), Verdict::Good(_)));
        assert!(matches!(model_read(&answer(404, r#"{"message":"no such model"}"#), "m"), Verdict::Bad(m) if m.contains("no such model")));
        assert!(matches!(model_read(&answer(500, "{}"), "m"), Verdict::Unknown(_)));
    }

    #[test]
    fn a_summary_is_the_error_message_not_the_body() {
        let long = format!(r#"{{"base_resp":{{"status_code":1004,"status_msg":"login fail"}},"x":"{}"}}"#, "y".repeat(500));
        assert_eq!(summary(&answer(200, &long)), "login fail");
        assert_eq!(summary(&answer(500, "plain text")), "plain text");
    }
}
