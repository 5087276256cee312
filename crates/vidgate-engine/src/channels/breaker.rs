//! One upstream's circuit breaker (docs/channels.md): a window of recent outcomes, and
//! the move an outcome makes, if any. Closed → open when the window's share of
//! breakages reaches `error_rate` (over at least `min_requests` outcomes); open → half-open
//! once `open_secs` have passed (the next submit is a probe); half-open → closed on a
//! submit that succeeds, → open again on a breakage. A rate limit starts a cool-down
//! (`Retry-After`, capped, else `rate_limit_cooldown_secs`) without counting as a breakage;
//! refused credentials take the upstream out until an operator resets it.
//!
//! Pure: the time comes from the caller, and the stored state is only read here; the
//! caller writes the move (only moves are written, never each outcome).

use std::collections::VecDeque;

use vidgate_domain::routing::BreakerConfig;
use vidgate_store::Millis;
use vidgate_store::upstreams::{Health, UpstreamControl};

use super::signal::Signal;

/// Outcomes kept at most per window.
const MAX_WINDOW: usize = 1000;

/// Recent outcomes of one upstream in this process: when, and whether it was a breakage.
#[derive(Debug, Default)]
pub struct Window(VecDeque<(Millis, bool)>);

impl Window {
    fn push(&mut self, at: Millis, broke: bool, cfg: &BreakerConfig) {
        let since = at - (cfg.window_secs as Millis) * 1000;
        while self.0.front().is_some_and(|(t, _)| *t < since) || self.0.len() >= MAX_WINDOW {
            self.0.pop_front();
        }
        self.0.push_back((at, broke));
    }

    fn trips(&self, cfg: &BreakerConfig) -> bool {
        let n = self.0.len();
        let broke = self.0.iter().filter(|(_, b)| *b).count();
        n >= cfg.min_requests as usize && broke as f64 >= cfg.error_rate * n as f64
    }
}

/// A change of the stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    Close,
    Open { until: Millis, why: String },
    Cool { until: Millis, why: String },
    Disable { why: String },
}

/// The move `signal` makes on an upstream in state `c` at `now` (`submit`: the outcome of
/// a submit, the only call whose success closes a half-open breaker).
pub fn decide(
    c: &UpstreamControl,
    window: &mut Window,
    signal: &Signal,
    submit: bool,
    cfg: &BreakerConfig,
    now: Millis,
) -> Option<Move> {
    let half_open = c.health == Health::Open && now >= c.open_until;
    let open_until = now + (cfg.open_secs as Millis) * 1000;
    match signal {
        Signal::Success => {
            window.push(now, false, cfg);
            (half_open && submit).then(|| {
                window.0.clear();
                Move::Close
            })
        }
        Signal::Breakage(why) => {
            window.push(now, true, cfg);
            let trips = match c.health {
                Health::Closed => window.trips(cfg),
                Health::Open => half_open,
                Health::AuthFailed => false,
            };
            trips.then(|| {
                window.0.clear();
                Move::Open { until: open_until, why: why.clone() }
            })
        }
        Signal::RateLimited { retry_after_ms, why } => {
            let wait = retry_after_ms.unwrap_or(cfg.rate_limit_cooldown_secs * 1000).min(cfg.max_cooldown_secs * 1000);
            let until = now + wait as Millis;
            // Already cooling until about then: nothing changes (another replica wrote it).
            (until > c.cool_until + 1000).then(|| Move::Cool { until, why: why.clone() })
        }
        Signal::AuthFailed(why) => (c.health != Health::AuthFailed).then(|| Move::Disable { why: why.clone() }),
        Signal::Neutral => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Millis = 1_800_000_000_000;

    fn cfg() -> BreakerConfig {
        BreakerConfig { error_rate: 0.5, min_requests: 4, window_secs: 60, open_secs: 30, ..Default::default() }
    }

    fn broke() -> Signal {
        Signal::Breakage("busy: 503".into())
    }

    #[test]
    fn the_breaker_opens_at_the_error_rate_probes_after_the_cool_down_and_closes_on_success() {
        let (cfg, mut w, mut c) = (cfg(), Window::default(), UpstreamControl::default());
        assert_eq!(decide(&c, &mut w, &Signal::Success, true, &cfg, T), None);
        assert_eq!(decide(&c, &mut w, &broke(), true, &cfg, T + 1), None);
        assert_eq!(decide(&c, &mut w, &Signal::Success, true, &cfg, T + 2), None, "1 of 3");
        let opened = decide(&c, &mut w, &broke(), true, &cfg, T + 3);
        assert_eq!(opened, Some(Move::Open { until: T + 30_003, why: "busy: 503".into() }), "2 of 4 = 50 %");
        (c.health, c.open_until) = (Health::Open, T + 30_003);
        assert_eq!(decide(&c, &mut w, &broke(), true, &cfg, T + 10_000), None, "still open");
        assert_eq!(decide(&c, &mut w, &Signal::Success, false, &cfg, T + 30_003), None, "a poll does not close it");
        let reopened = decide(&c, &mut w, &broke(), true, &cfg, T + 30_004);
        assert_eq!(reopened, Some(Move::Open { until: T + 60_004, why: "busy: 503".into() }), "the probe failed");
        c.open_until = T + 60_004;
        assert_eq!(decide(&c, &mut w, &Signal::Success, true, &cfg, T + 60_004), Some(Move::Close));
    }

    #[test]
    fn old_outcomes_leave_the_window() {
        let (cfg, mut w, c) = (cfg(), Window::default(), UpstreamControl::default());
        for i in 0..3 {
            assert_eq!(decide(&c, &mut w, &broke(), true, &cfg, T + i), None);
        }
        let later = T + 61_000;
        assert_eq!(decide(&c, &mut w, &broke(), true, &cfg, later), None, "the three before are forgotten");
        assert_eq!(decide(&c, &mut w, &Signal::Success, true, &cfg, later), None);
    }

    #[test]
    fn a_rate_limit_with_retry_after_30_cools_for_30_s_only_and_counts_no_breakage() {
        let (cfg, mut w, mut c) = (cfg(), Window::default(), UpstreamControl::default());
        let limited = Signal::RateLimited { retry_after_ms: Some(30_000), why: "busy: 429".into() };
        for _ in 0..10 {
            if let Some(Move::Cool { until, .. }) = decide(&c, &mut w, &limited, true, &cfg, T) {
                assert_eq!(until, T + 30_000);
                c.cool_until = until;
            }
        }
        assert_eq!(c.cool_until, T + 30_000);
        assert_eq!(decide(&c, &mut w, &limited, true, &cfg, T + 500), None, "already cooling until then");
        assert_eq!(decide(&c, &mut w, &broke(), true, &cfg, T + 1), None, "the 429s counted no breakage");
        let unnamed = Signal::RateLimited { retry_after_ms: None, why: "busy: 429".into() };
        let cooled = decide(&c, &mut w, &unnamed, true, &cfg, T + 40_000);
        assert_eq!(cooled, Some(Move::Cool { until: T + 50_000, why: "busy: 429".into() }), "the configured 10 s");
        let huge = Signal::RateLimited { retry_after_ms: Some(10_000_000), why: "busy: 429".into() };
        assert!(
            matches!(decide(&c, &mut w, &huge, true, &cfg, T), Some(Move::Cool { until, .. }) if until == T + 600_000)
        );
    }

    #[test]
    fn refused_credentials_take_it_out_once_until_an_operator_acts() {
        let (cfg, mut w, mut c) = (cfg(), Window::default(), UpstreamControl::default());
        let auth = Signal::AuthFailed("refused: 401 Unauthorized".into());
        assert_eq!(
            decide(&c, &mut w, &auth, true, &cfg, T),
            Some(Move::Disable { why: "refused: 401 Unauthorized".into() })
        );
        c.health = Health::AuthFailed;
        assert_eq!(decide(&c, &mut w, &auth, true, &cfg, T), None);
        assert_eq!(decide(&c, &mut w, &Signal::Success, true, &cfg, T), None, "only a reset brings it back");
    }
}
