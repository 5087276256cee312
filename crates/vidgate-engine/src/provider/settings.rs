//! What every real upstream provider shares from its `[[upstreams]]` entry: timeouts,
//! the result size cap, the polling schedule and deadline from the expected latency, the
//! throttle, and the small job state (`submitted_at`) the schedule needs after a restart.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::throttle::Throttle;
use super::{JobRef, ProviderError, Submitted, schedule};

/// One upstream's knobs.
#[derive(Debug)]
pub struct Settings {
    pub name: String,
    pub timeout: Duration,
    pub download_timeout: Duration,
    pub expected_ms: Millis,
    pub deadline_ms: Millis,
    pub max_result_bytes: u64,
    pub throttle: Throttle,
}

/// The state every real upstream job keeps on its task (providers may add fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    pub submitted_at: Millis,
}

impl Settings {
    /// From config; `max_result_bytes` is `files.max_result_bytes`.
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Self {
        Settings {
            name: u.name.clone(),
            timeout: Duration::from_secs(u.timeout_secs),
            download_timeout: Duration::from_secs(u.download_timeout_secs),
            expected_ms: (u.expected_latency_secs * 1000) as Millis,
            deadline_ms: (u.deadline_secs * 1000) as Millis,
            max_result_bytes,
            throttle: Throttle::new(u.requests_per_second, u.max_concurrent_requests),
        }
    }

    /// A job this submit started: counted (`vidgate_provider_jobs_total`) and
    /// [`Self::submitted`].
    pub fn started(&self, job_id: String, now: Millis) -> Submitted {
        metrics::counter!("vidgate_provider_jobs_total", "provider" => self.name.clone()).increment(1);
        self.submitted(job_id, now)
    }

    /// An accepted job: polled first by the schedule, failed at the deadline.
    pub fn submitted(&self, job_id: String, now: Millis) -> Submitted {
        let state = JobState { submitted_at: now };
        Submitted {
            job: JobRef { job_id, state: serde_json::to_value(state).expect("serializes") },
            running: true,
            poll_at: schedule::next_poll(now, now, self.expected_ms),
            deadline_at: now + self.deadline_ms,
        }
    }

    /// When to poll next, and a progress guess from the time elapsed (at most 90).
    pub fn next_poll(&self, job: &JobRef, now: Millis) -> (Millis, u8) {
        let submitted_at = serde_json::from_value::<JobState>(job.state.clone()).map(|s| s.submitted_at).unwrap_or(now);
        let elapsed = (now - submitted_at).max(0);
        let progress = (elapsed * 90 / self.expected_ms.max(1)).min(90) as u8;
        (schedule::next_poll(submitted_at, now, self.expected_ms), progress)
    }

    /// The largest answer that may carry a result inline as base64.
    pub fn inline_cap(&self) -> usize {
        (self.max_result_bytes.saturating_mul(4) / 3).saturating_add(1 << 20).min(usize::MAX as u64) as usize
    }
}

/// A base URL that joins relative paths below it (a trailing slash added).
pub fn base_url(text: &str) -> Result<Url, String> {
    let with_slash = if text.ends_with('/') { text.to_owned() } else { format!("{text}/") };
    Url::parse(&with_slash).map_err(|e| format!("{text}: {e}"))
}

/// Errors of a request that cannot have created a job (a token, a read) as errors a
/// submit may safely retry or fail over on.
pub fn never_sent(e: ProviderError) -> ProviderError {
    match e {
        ProviderError::OutcomeUnknown(m) => ProviderError::Unreachable(m),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_guessed_from_the_time_elapsed_and_capped() {
        let u: UpstreamConfig =
            serde_json::from_value(serde_json::json!({"name": "v", "kind": "vidgate", "expected_latency_secs": 100}))
                .unwrap();
        let s = Settings::from_config(&u, 1000);
        let submitted = s.submitted("op".into(), 1_000);
        assert_eq!(submitted.poll_at, 51_000);
        assert_eq!(submitted.deadline_at, 1_000 + 1_200_000);
        assert_eq!(s.next_poll(&submitted.job, 51_000), (76_000, 45));
        assert_eq!(s.next_poll(&submitted.job, 500_000).1, 90);
    }

    #[test]
    fn base_urls_get_a_trailing_slash() {
        assert_eq!(
            base_url("http://127.0.0.1:9/vertex").unwrap().join("v1/x").unwrap().as_str(),
            "http://127.0.0.1:9/vertex/v1/x"
        );
    }
}
