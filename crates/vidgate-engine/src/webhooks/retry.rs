//! When a failed webhook attempt is tried again: the next step of `webhooks.retry_schedule`,
//! jittered ±10% so a receiver that comes back is not hit by every retry at once, or the
//! receiver's `Retry-After` when that is later. Pure functions; the caller supplies the
//! randomness and the clock.

use std::time::Duration;

use vidgate_domain::duration::HumanDuration;

/// The jitter's share of a step, either way.
pub const JITTER: f64 = 0.10;

/// A `Retry-After` is honoured up to this (a day: the default schedule's whole span).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The wait after attempt number `attempt` (1 for the first) failed, or `None` when it was
/// the last one the schedule allows. `jitter` is a draw from `-1.0..=1.0`.
pub fn next_delay(
    schedule: &[HumanDuration],
    attempt: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    let step = schedule.get(attempt.checked_sub(1)? as usize)?;
    let scaled = step.as_millis() as f64 * (1.0 + JITTER * jitter.clamp(-1.0, 1.0));
    let jittered = Duration::from_millis(scaled.round() as u64);
    let asked = retry_after.map_or(Duration::ZERO, |d| d.min(MAX_RETRY_AFTER));
    Some(jittered.max(asked))
}

/// A `Retry-After` value (delay-seconds or an HTTP date) as a wait from `now_ms`; a date
/// in the past is no wait, and anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait_ms = (at.unix_timestamp_nanos() / 1_000_000) as i64 - now_ms;
    Some(Duration::from_millis(wait_ms.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(steps: &[&str]) -> Vec<HumanDuration> {
        steps.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ms(d: Option<Duration>) -> Option<u128> {
        d.map(|d| d.as_millis())
    }

    #[test]
    fn each_failed_attempt_waits_the_next_step_and_the_last_gives_up() {
        let s = schedule(&["5s", "5m", "30m"]);
        let waits: Vec<Option<u128>> = (1..=4).map(|n| ms(next_delay(&s, n, None, 0.0))).collect();
        assert_eq!(waits, [Some(5000), Some(300_000), Some(1_800_000), None]);
        assert_eq!(next_delay(&s, 0, None, 0.0), None, "there is no attempt 0");
        assert_eq!(next_delay(&[], 1, None, 0.0), None, "an empty schedule makes one attempt");
    }

    #[test]
    fn jitter_moves_a_step_by_at_most_ten_percent() {
        let s = schedule(&["10s"]);
        assert_eq!(ms(next_delay(&s, 1, None, -1.0)), Some(9000));
        assert_eq!(ms(next_delay(&s, 1, None, 1.0)), Some(11_000));
        assert_eq!(ms(next_delay(&s, 1, None, 0.5)), Some(10_500));
        assert_eq!(ms(next_delay(&s, 1, None, 7.0)), Some(11_000), "out-of-range draws are clamped");
    }

    #[test]
    fn a_later_retry_after_wins_and_an_earlier_one_does_not() {
        let s = schedule(&["5s"]);
        assert_eq!(ms(next_delay(&s, 1, Some(Duration::from_secs(60)), 0.0)), Some(60_000));
        assert_eq!(ms(next_delay(&s, 1, Some(Duration::from_secs(1)), 0.0)), Some(5000));
        let year = Some(Duration::from_secs(365 * 24 * 3600));
        assert_eq!(ms(next_delay(&s, 1, year, 0.0)), Some(24 * 3600 * 1000), "capped at a day");
        assert_eq!(next_delay(&s, 2, Some(Duration::from_secs(60)), 0.0), None, "it never adds an attempt");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // 1994-11-06T08:49:37Z
        let now = 784_111_777_000;
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
