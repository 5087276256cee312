//! One webhook POST: the signed headers, the body, and what the receiver's answer (or the
//! lack of one) means. It owns the mapping of answers onto verdicts; it does not decide
//! when to retry (`retry.rs`) or record anything (`mod.rs`).

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use url::Url;

use super::retry::parse_retry_after;
use crate::net::UrlRejected;

/// The `User-Agent` of every webhook.
pub const WEBHOOK_USER_AGENT: &str = concat!("vidgate-webhooks/", env!("CARGO_PKG_VERSION"));

/// At most this much of a receiver's answer is read (and thrown away).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The Standard Webhooks headers of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The message id, the same on every attempt.
    pub id: String,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    /// `v1,<base64>`.
    pub signature: String,
}

/// Why an attempt got no HTTP answer, as recorded and listed (never an address or a
/// transport message: those go to the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The timeout ran out (connecting, waiting or reading).
    Timeout,
    /// No connection (refused, reset, DNS failure, TLS).
    Connect,
    /// The guard refused the target: not `https`, or a private, loopback or link-local
    /// address (in the URL or in its DNS answer).
    TargetRefused,
    /// The account's secret is unusable (cannot sign).
    InvalidSecret,
    /// The task is gone (cannot render the body).
    TaskMissing,
}

impl FailureKind {
    /// The spelling in `/deliveries`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Connect => "connect",
            FailureKind::TargetRefused => "target_refused",
            FailureKind::InvalidSecret => "invalid_secret",
            FailureKind::TaskMissing => "task_missing",
        }
    }
}

/// What an attempt's result means for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// 410 Gone, or a failure no retry can fix.
    GiveUp,
    /// Anything else; the receiver may have asked for a minimum wait.
    Retry { retry_after: Option<Duration> },
}

/// The result of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub http_status: Option<u16>,
    pub failure: Option<FailureKind>,
    pub verdict: Verdict,
}

impl Answer {
    /// An attempt that got no HTTP answer.
    pub fn failed(kind: FailureKind) -> Answer {
        let verdict = match kind {
            FailureKind::TaskMissing => Verdict::GiveUp,
            _ => Verdict::Retry { retry_after: None },
        };
        Answer { http_status: None, failure: Some(kind), verdict }
    }

    /// What a receiver's status means (Standard Webhooks): 2xx delivered, 410 stop, and
    /// everything else, 3xx included, a failure to retry.
    pub fn status(code: u16, retry_after: Option<Duration>) -> Answer {
        let verdict = match code {
            200..=299 => Verdict::Delivered,
            410 => Verdict::GiveUp,
            _ => Verdict::Retry { retry_after },
        };
        Answer { http_status: Some(code), failure: None, verdict }
    }
}

/// POSTs `body` to `url` with `client` (guarded, no redirects) and reads at most
/// [`MAX_ANSWER_BYTES`] of the answer. `url` must have passed `check_url`.
pub async fn post(client: &reqwest::Client, url: &Url, headers: &SignedHeaders, body: Vec<u8>, now_ms: i64) -> Answer {
    let sent = client
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, WEBHOOK_USER_AGENT)
        .header("webhook-id", &headers.id)
        .header("webhook-timestamp", headers.timestamp.to_string())
        .header("webhook-signature", &headers.signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => {
            let e = e.without_url(); // the query string may hold the receiver's own token
            let kind = classify(&e);
            tracing::info!(host = url.host_str(), error = ?e, kind = kind.as_str(), "webhook attempt failed");
            return Answer::failed(kind);
        }
    };
    let code = response.status().as_u16();
    let retry_after =
        response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, now_ms));
    // The answer's status is what counts; the body is drained only so the connection can be
    // reused, and only up to the cap.
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > MAX_ANSWER_BYTES {
            break;
        }
    }
    Answer::status(code, retry_after)
}

fn classify(err: &reqwest::Error) -> FailureKind {
    // The guard's resolver fails with a `UrlRejected` deep in the error chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(inner) = source {
        if inner.downcast_ref::<UrlRejected>().is_some() {
            return FailureKind::TargetRefused;
        }
        source = inner.source();
    }
    if err.is_timeout() {
        FailureKind::Timeout
    } else if err.is_builder() {
        // The client's `https_only` refusing an `http` URL.
        FailureKind::TargetRefused
    } else {
        FailureKind::Connect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2xx_delivers_a_410_gives_up_and_everything_else_retries() {
        let verdicts: Vec<Verdict> = [200, 204, 299, 410, 301, 307, 400, 404, 429, 500, 503]
            .iter()
            .map(|c| Answer::status(*c, None).verdict)
            .collect();
        let retry = Verdict::Retry { retry_after: None };
        assert_eq!(
            verdicts,
            [
                Verdict::Delivered,
                Verdict::Delivered,
                Verdict::Delivered,
                Verdict::GiveUp,
                retry,
                retry,
                retry,
                retry,
                retry,
                retry,
                retry
            ]
        );
    }

    #[test]
    fn a_missing_task_gives_up_and_other_failures_retry() {
        assert_eq!(Answer::failed(FailureKind::TaskMissing).verdict, Verdict::GiveUp);
        for kind in [FailureKind::Timeout, FailureKind::Connect, FailureKind::TargetRefused, FailureKind::InvalidSecret]
        {
            assert_eq!(Answer::failed(kind).verdict, Verdict::Retry { retry_after: None }, "{kind:?}");
        }
    }
}
