//! Per-upstream throttling inside one process: a token bucket of requests per second and
//! a cap on requests in progress at once. The engine asks before each step; a step that
//! may not go now is put back with a time to come back, so it never holds a worker while
//! it waits and one slow or strict upstream cannot starve the others.
//!
//! The cap on upstream *jobs* in flight is the store's (`ProviderCaps`), across processes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket. A rate of 0 means unlimited.
    pub fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        TokenBucket { rate, burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Takes a token, or says how long until one is free (taking nothing).
    pub fn try_take(&self) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut state = self.state.lock().expect("bucket lock");
        let now = Instant::now();
        let (tokens, last) = *state;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            return Ok(());
        }
        *state = (tokens, now);
        Err(Duration::from_secs_f64((1.0 - tokens) / self.rate).max(Duration::from_millis(1)))
    }
}

/// The throttle of one upstream.
#[derive(Debug)]
pub struct Throttle {
    bucket: TokenBucket,
    requests: Arc<Semaphore>,
}

/// Held while a step talks to the upstream.
pub type Admission = OwnedSemaphorePermit;

/// How long a step waits to come back when every request slot is busy.
pub const BUSY_RETRY: Duration = Duration::from_millis(500);

impl Throttle {
    /// `requests_per_second` (0 = unlimited, bursts of up to one second's worth) and
    /// `max_concurrent` requests at once.
    pub fn new(requests_per_second: f64, max_concurrent: u32) -> Self {
        Throttle {
            bucket: TokenBucket::new(requests_per_second, requests_per_second.ceil()),
            requests: Arc::new(Semaphore::new(max_concurrent.max(1) as usize)),
        }
    }

    /// Lets a step go now, or says when to come back.
    pub fn admit(&self) -> Result<Admission, Duration> {
        let permit = self.requests.clone().try_acquire_owned().map_err(|_| BUSY_RETRY)?;
        self.bucket.try_take()?;
        Ok(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_refills_at_its_rate() {
        let b = TokenBucket::new(2.0, 2.0);
        assert_eq!(b.try_take(), Ok(()));
        assert_eq!(b.try_take(), Ok(()));
        assert_eq!(b.try_take(), Err(Duration::from_millis(500)));
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(b.try_take(), Err(Duration::from_millis(250)));
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(b.try_take(), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_rate_is_unlimited() {
        let b = TokenBucket::new(0.0, 1.0);
        for _ in 0..1000 {
            assert_eq!(b.try_take(), Ok(()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_progress_are_capped_and_freed_on_drop() {
        let t = Throttle::new(0.0, 2);
        let a = t.admit().unwrap();
        let _b = t.admit().unwrap();
        assert_eq!(t.admit().unwrap_err(), BUSY_RETRY);
        drop(a);
        assert!(t.admit().is_ok());
    }
}
