//! [`MediaPool`]: runs CPU-bound media work off the async runtime, a bounded number at a time.
//!
//! Owns the concurrency limit (a semaphore) around `spawn_blocking`. It must not queue work
//! itself: callers wait on the semaphore, so back-pressure reaches them.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// A bounded pool for CPU work (probing, remuxing, rendering) called from async code.
#[derive(Debug, Clone)]
pub struct MediaPool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl MediaPool {
    /// A pool running at most `threads` jobs at once (at least one).
    pub fn new(threads: usize) -> Self {
        let size = threads.max(1);
        Self { permits: Arc::new(Semaphore::new(size)), size }
    }

    /// Runs `f` on a blocking thread once a slot is free, and returns its result.
    /// A panic inside `f` is resumed in the caller.
    pub async fn run<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let permit = Arc::clone(&self.permits).acquire_owned().await.expect("the semaphore is never closed");
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await;
        match joined {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("media job was cancelled: {e}"),
        }
    }

    /// How many jobs are running right now.
    pub fn in_use(&self) -> usize {
        self.size - self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pool_runs_no_more_than_its_size_at_once() {
        let pool = MediaPool::new(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let first = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    started_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    1
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(5)).unwrap()).await.unwrap();
        assert_eq!(pool.in_use(), 1);
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second job must wait for the slot");
        release_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), 1);
        assert_eq!(second.await.unwrap(), 2);
        assert_eq!(pool.in_use(), 0);
    }

    #[tokio::test]
    async fn a_zero_sized_pool_still_runs_one_job() {
        let pool = MediaPool::new(0);
        assert_eq!(pool.run(|| 7).await, 7);
    }
}
