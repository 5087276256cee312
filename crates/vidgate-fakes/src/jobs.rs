//! How far a fake job has got: counts its polls and its age against the latency it was
//! created with. Shared by the five fakes.
//!
//! Owns the "done" rule of [`Latency`]. It must not know what a job produces.

use tokio::time::Instant;

use crate::faults::Latency;

/// The clock of one job.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    latency: Latency,
    created: Instant,
    polls: u32,
}

impl Progress {
    pub(crate) fn new(latency: Latency) -> Self {
        Self { latency, created: Instant::now(), polls: 0 }
    }

    /// Counts a poll and tells whether the job is done as of this poll.
    pub(crate) fn poll(&mut self) -> bool {
        self.polls = self.polls.saturating_add(1);
        self.is_done()
    }

    /// Done once polled more than `latency.polls` times and older than `latency.min`.
    pub(crate) fn is_done(&self) -> bool {
        self.polls > self.latency.polls && self.created.elapsed() >= self.latency.min
    }

    /// A best-effort percentage while running (never 100).
    pub(crate) fn percent(&self) -> u8 {
        let total = self.latency.polls.max(1) + 1;
        (self.polls.min(total - 1) * 100 / total) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_latency_answers_running_once_then_done() {
        let mut p = Progress::new(Latency::default());
        assert!(!p.poll());
        assert!(p.poll());
        assert!(p.poll());
    }

    #[test]
    fn zero_polls_is_done_at_the_first_poll() {
        assert!(Progress::new(Latency::polls(0)).poll());
    }

    #[tokio::test(start_paused = true)]
    async fn a_time_latency_waits_for_the_clock() {
        let mut p = Progress::new(Latency::millis(500));
        assert!(!p.poll());
        tokio::time::advance(std::time::Duration::from_millis(500)).await;
        assert!(p.poll());
    }

    #[test]
    fn progress_grows_with_polls_and_stays_below_100() {
        let mut p = Progress::new(Latency::polls(3));
        let seen: Vec<u8> = (0..5)
            .map(|_| {
                p.poll();
                p.percent()
            })
            .collect();
        assert_eq!(seen, vec![25, 50, 75, 75, 75]);
    }
}
