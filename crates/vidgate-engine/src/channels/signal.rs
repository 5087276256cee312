//! What an upstream call's outcome says about the upstream's health (docs/channels.md):
//! a breakage (no answer, a 5xx, a timeout, an unknown outcome), a rate limit (429, also a
//! quota or balance refusal with 429: a cool-down, not a breakage), refused credentials
//! (401/403), or nothing about health (a
//! refusal of this request, filtered content, this process's own throttle).
//!
//! Adapters put the HTTP status first in their messages (`429 Too Many Requests: …`, see
//! `provider::http::status_error`); that leading status is what is read here.

use crate::provider::ProviderError;

/// What one outcome says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    Success,
    Breakage(String),
    RateLimited { retry_after_ms: Option<u64>, why: String },
    AuthFailed(String),
    Neutral,
}

impl Signal {
    /// The signal of a failed call.
    pub fn of(e: &ProviderError) -> Signal {
        let why = || {
            super::summary(&format!("{}: {}", crate::provider::failure::kind(e), crate::provider::failure::cause(e)))
        };
        match e {
            ProviderError::Unreachable(_) | ProviderError::OutcomeUnknown(_) => Signal::Breakage(why()),
            ProviderError::Busy { message, retry_after_ms } => match leading_status(message) {
                Some(429) => Signal::RateLimited { retry_after_ms: *retry_after_ms, why: why() },
                _ => Signal::Breakage(why()),
            },
            ProviderError::Refused(message) => match leading_status(message) {
                Some(401 | 403) => Signal::AuthFailed(why()),
                // A quota or balance refusal (Kling's 429 codes): a cool-down of the configured length.
                Some(429) => Signal::RateLimited { retry_after_ms: None, why: why() },
                _ => Signal::Neutral,
            },
            ProviderError::ContentFiltered(_) | ProviderError::Result(_) | ProviderError::Throttled { .. } => {
                Signal::Neutral
            }
        }
    }
}

impl Signal {
    /// The outcome's name in metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Signal::Success => "success",
            Signal::Breakage(_) => "breakage",
            Signal::RateLimited { .. } => "rate_limited",
            Signal::AuthFailed(_) => "auth_failed",
            Signal::Neutral => "other",
        }
    }
}

/// The HTTP status a message starts with.
fn leading_status(message: &str) -> Option<u16> {
    let digits = message.get(..3)?;
    let after = message[3..].chars().next();
    (digits.bytes().all(|b| b.is_ascii_digit()) && after.is_none_or(|c| !c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_health_signals() {
        let busy = |m: &str, r| ProviderError::Busy { message: m.into(), retry_after_ms: r };
        assert!(matches!(
            Signal::of(&busy("429 Too Many Requests: slow", Some(30_000))),
            Signal::RateLimited { retry_after_ms: Some(30_000), .. }
        ));
        assert!(matches!(Signal::of(&busy("503 Service Unavailable: x", None)), Signal::Breakage(_)));
        assert!(matches!(Signal::of(&busy("timed out", None)), Signal::Breakage(_)));
        assert!(matches!(
            Signal::of(&ProviderError::Refused("401 Unauthorized: bad key".into())),
            Signal::AuthFailed(_)
        ));
        assert!(matches!(Signal::of(&ProviderError::Refused("403 Forbidden: no".into())), Signal::AuthFailed(_)));
        assert_eq!(Signal::of(&ProviderError::Refused("400 Bad Request: prompt".into())), Signal::Neutral);
        assert_eq!(Signal::of(&ProviderError::Refused("4011 things".into())), Signal::Neutral);
        let no_balance = ProviderError::Refused("429 Too Many Requests: code 1102 no balance".into());
        assert!(matches!(Signal::of(&no_balance), Signal::RateLimited { retry_after_ms: None, .. }));
        assert!(matches!(Signal::of(&ProviderError::Unreachable("connect failed".into())), Signal::Breakage(_)));
        assert!(matches!(Signal::of(&ProviderError::OutcomeUnknown("reset".into())), Signal::Breakage(_)));
        assert_eq!(Signal::of(&ProviderError::Throttled { retry_after_ms: 5 }), Signal::Neutral);
    }
}
