//! When to poll an upstream job next, from how long the model usually takes: sparse
//! while the job is young (halving the time left to the expected finish), dense near it,
//! then backing off gently while the job is overdue, until the task's deadline.

use vidgate_store::Millis;

/// The shortest wait between two polls of one job, ms.
pub const MIN_INTERVAL_MS: Millis = 2_000;
/// The longest wait between two polls of one job, ms.
pub const MAX_INTERVAL_MS: Millis = 60_000;

/// The time of the next poll of a job submitted at `submitted_at` that usually takes
/// `expected_ms`, asked at `now`.
pub fn next_poll(submitted_at: Millis, now: Millis, expected_ms: Millis) -> Millis {
    let elapsed = (now - submitted_at).max(0);
    let remaining = expected_ms - elapsed;
    let interval = if remaining > 0 { remaining / 2 } else { expected_ms / 10 + (-remaining) / 4 };
    now + interval.clamp(MIN_INTERVAL_MS, MAX_INTERVAL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(expected_ms: Millis, until: Millis) -> Vec<Millis> {
        let mut at = vec![next_poll(0, 0, expected_ms)];
        while *at.last().unwrap() < until {
            let now = *at.last().unwrap();
            at.push(next_poll(0, now, expected_ms));
        }
        at
    }

    #[test]
    fn polls_are_sparse_early_and_dense_near_the_expected_finish() {
        assert_eq!(walk(90_000, 90_000), [45_000, 67_500, 78_750, 84_375, 87_187, 89_187, 91_187]);
    }

    #[test]
    fn an_overdue_job_is_polled_less_and_less_often_up_to_the_cap() {
        assert_eq!(next_poll(0, 90_000, 90_000), 99_000, "a tenth of the expected time");
        assert_eq!(next_poll(0, 130_000, 90_000), 149_000, "plus a quarter of the overdue time");
        assert_eq!(next_poll(0, 1_000_000, 90_000), 1_060_000, "never more than a minute apart");
    }

    #[test]
    fn a_long_job_is_first_polled_after_at_most_a_minute() {
        assert_eq!(next_poll(0, 0, 360_000), 60_000);
    }
}
