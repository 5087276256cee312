//! Retries with exponential backoff. Only for calls that are safe to repeat; the caller
//! decides which (see the crate docs).

use std::future::Future;
use std::time::Duration;

use crate::{Error, Result};

/// How often and how patiently a retryable call is sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 4).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles each time (default 500 ms).
    pub base_delay: Duration,
    /// The longest wait between attempts, a `Retry-After` included (default 10 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The wait after failed attempt number `attempt` (1-based): the gateway's
    /// `Retry-After` if it sent one, else `base_delay × 2^(attempt-1)`; at most `max_delay`.
    pub fn delay(&self, attempt: u32, error: &Error) -> Duration {
        let backoff = self.base_delay.saturating_mul(1u32 << (attempt - 1).min(16));
        let wanted = error.api().and_then(|e| e.retry_after).unwrap_or(backoff);
        wanted.min(self.max_delay)
    }

    /// Runs `attempt` until it succeeds, fails with an error that is not retryable, or
    /// `max_attempts` are spent; the last error is returned.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut n = 1;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && n < self.max_attempts => {
                    tokio::time::sleep(self.delay(n, &e)).await;
                    n += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
