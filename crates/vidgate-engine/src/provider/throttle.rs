//! Per-upstream throttling inside one process, per HTTP request: a token bucket of requests
//! per second and a cap on requests in progress at once (a download holds its slot while
//! it streams; each redirect hop is a request of its own). Upstream rate limits count
//! requests, and one engine step may make several (a Vertex token refresh, the operation
//! read, a Cloud Storage download; a Gemini download following redirects).
//!
//! The engine runs each step's provider calls inside [`scope`] with the upstream's
//! throttle; [`super::http`] asks [`request`] before every request it sends. A request
//! waits at most [`MAX_WAIT`] for its slot; longer, and it fails with
//! [`ProviderError::Throttled`] without being sent, so the engine puts the step back
//! instead of parking a worker on one slow or strict upstream while others have work.
//!
//! The cap on upstream *jobs* in flight is the store's (`ProviderCaps`), across processes.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::ProviderError;

/// The longest a request waits for its slot before its step is put back.
pub const MAX_WAIT: Duration = Duration::from_secs(1);

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

/// The throttle of one upstream (cheap to clone; clones share their limits).
#[derive(Clone, Debug)]
pub struct Throttle {
    bucket: Arc<TokenBucket>,
    requests: Arc<Semaphore>,
}

/// Held while one request to the upstream is in progress.
pub type RequestSlot = OwnedSemaphorePermit;

/// How long a step waits to come back when every request slot stayed busy.
pub const BUSY_RETRY: Duration = Duration::from_millis(500);

impl Throttle {
    /// `requests_per_second` (0 = unlimited, bursts of up to one second's worth) and
    /// `max_concurrent` requests in progress at once.
    pub fn new(requests_per_second: f64, max_concurrent: u32) -> Self {
        Throttle {
            bucket: Arc::new(TokenBucket::new(requests_per_second, requests_per_second.ceil())),
            requests: Arc::new(Semaphore::new(max_concurrent.max(1) as usize)),
        }
    }

    /// A slot for one request, waiting at most `max_wait` for it; otherwise how long
    /// the caller should stay away. A request that got no token gives its slot back.
    pub async fn acquire(&self, max_wait: Duration) -> Result<RequestSlot, Duration> {
        let deadline = Instant::now() + max_wait;
        let slot = tokio::time::timeout_at(deadline, self.requests.clone().acquire_owned())
            .await
            .map_err(|_| BUSY_RETRY)?
            .expect("the semaphore is never closed");
        loop {
            match self.bucket.try_take() {
                Ok(()) => return Ok(slot),
                Err(wait) if Instant::now() + wait <= deadline => tokio::time::sleep(wait).await,
                Err(wait) => return Err(wait),
            }
        }
    }
}

tokio::task_local! {
    /// The throttle the requests of the current step share.
    static SCOPE: Throttle;
}

/// Runs `f` (a step's provider calls) with every request it sends through
/// [`super::http`] counted against `throttle`.
pub async fn scope<F: Future>(throttle: Option<&Throttle>, f: F) -> F::Output {
    match throttle {
        Some(t) => SCOPE.scope(t.clone(), f).await,
        None => f.await,
    }
}

/// A slot for one request in the current [`scope`] (`None` outside one: unthrottled), or
/// [`ProviderError::Throttled`] when none came within [`MAX_WAIT`]; nothing was sent then.
pub async fn request() -> Result<Option<RequestSlot>, ProviderError> {
    let Ok(throttle) = SCOPE.try_with(Throttle::clone) else {
        return Ok(None);
    };
    match throttle.acquire(MAX_WAIT).await {
        Ok(slot) => Ok(Some(slot)),
        Err(wait) => {
            metrics::counter!("vidgate_upstream_requests_throttled_total").increment(1);
            Err(ProviderError::Throttled { retry_after_ms: wait.as_millis().max(1) as u64 })
        }
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
    async fn requests_in_progress_are_capped_and_a_freed_slot_is_handed_to_the_waiter() {
        let t = Throttle::new(0.0, 2);
        let a = t.acquire(Duration::ZERO).await.unwrap();
        let _b = t.acquire(Duration::ZERO).await.unwrap();
        assert_eq!(t.acquire(Duration::from_millis(300)).await.unwrap_err(), BUSY_RETRY);
        let waiter = tokio::spawn({
            let t = t.clone();
            async move { t.acquire(MAX_WAIT).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(a);
        assert!(waiter.await.unwrap(), "the slot freed within the wait goes to the waiter");
    }

    #[tokio::test(start_paused = true)]
    async fn every_request_takes_a_token_and_a_short_wait_is_waited_out_a_long_one_is_not() {
        let t = Throttle::new(2.0, 10);
        let start = Instant::now();
        for _ in 0..3 {
            drop(t.acquire(MAX_WAIT).await.unwrap());
        }
        assert_eq!(start.elapsed(), Duration::from_millis(500), "the third request of a 2/s bucket waits 500 ms");
        assert_eq!(t.acquire(Duration::from_millis(100)).await.unwrap_err(), Duration::from_millis(500));
        assert_eq!(t.requests.available_permits(), 10, "a request refused a token gives its slot back");
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_a_scope_are_throttled_per_request_and_outside_one_are_not() {
        let t = Throttle::new(0.5, 10);
        assert!(request().await.unwrap().is_none(), "no scope, no throttle");
        let outcome = scope(Some(&t), async {
            let first = request().await.map(|s| s.is_some());
            let second = request().await.map(|s| s.is_some());
            (first, second)
        })
        .await;
        assert!(matches!(outcome.0, Ok(true)), "{:?}", outcome.0);
        assert!(
            matches!(outcome.1, Err(ProviderError::Throttled { retry_after_ms: 2000 })),
            "the second request of the same step needs a second token: {:?}",
            outcome.1
        );
    }
}
