//! How an `[[upstreams]]` entry takes part in routing (docs/channels.md): its priority and
//! weight within a model's routes, its circuit breaker's thresholds, its cool-down after a
//! rate limit, and its optional spend caps.
//!
//! Pure settings and their checks; the engine's `channels` module applies them.

use serde::{Deserialize, Serialize};

use crate::upstream::UpstreamConfig;

/// The default weight.
pub const DEFAULT_WEIGHT: u32 = 1;

/// `engine.route_pick`: how the lead of a new task is picked among the routes of the best
/// priority group that can start it (docs/channels.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutePick {
    /// At random in proportion to each route's weight.
    #[default]
    Weight,
    /// The route whose upstream cost for the request is lowest; ties by weight.
    LowestCost,
    /// The route with the most free job slots (`max_in_flight` minus its jobs in flight);
    /// ties by weight.
    MostFree,
}

/// `[upstreams.breaker]`: when failures eject the upstream, for how long, and how long a
/// rate limit without `Retry-After` cools it down.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// The share of breakages among the outcomes of the window that opens the breaker.
    pub error_rate: f64,
    /// Outcomes the window must hold before its rate counts.
    pub min_requests: u32,
    /// The window's length, seconds (outcomes older than this are forgotten).
    pub window_secs: u64,
    /// How long the breaker stays open before a half-open probe, seconds.
    pub open_secs: u64,
    /// How long a 429 without `Retry-After` cools the upstream down, seconds.
    pub rate_limit_cooldown_secs: u64,
    /// The longest cool-down a `Retry-After` may ask, seconds.
    pub max_cooldown_secs: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            error_rate: 0.5,
            min_requests: 5,
            window_secs: 60,
            open_secs: 30,
            rate_limit_cooldown_secs: 10,
            max_cooldown_secs: 600,
        }
    }
}

pub(crate) fn default_weight() -> u32 {
    DEFAULT_WEIGHT
}

pub(crate) fn is_default_weight(w: &u32) -> bool {
    *w == DEFAULT_WEIGHT
}

/// Checks an entry's routing keys.
pub fn check(u: &UpstreamConfig) -> Result<(), String> {
    let n = &u.name;
    let b = &u.breaker;
    if !(b.error_rate > 0.0 && b.error_rate <= 1.0) {
        return Err(format!("upstream {n}: breaker.error_rate must be above 0 and at most 1"));
    }
    let positive = [
        ("breaker.min_requests", u64::from(b.min_requests)),
        ("breaker.window_secs", b.window_secs),
        ("breaker.open_secs", b.open_secs),
        ("breaker.rate_limit_cooldown_secs", b.rate_limit_cooldown_secs),
        ("breaker.max_cooldown_secs", b.max_cooldown_secs),
    ];
    if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(format!("upstream {n}: {key} must be positive"));
    }
    for (key, cap) in [("daily_budget_usd", u.daily_budget_usd), ("monthly_budget_usd", u.monthly_budget_usd)] {
        if cap.is_some_and(|c| c.micros() <= 0) {
            return Err(format!("upstream {n}: {key} must be positive (leave it out for no cap)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    fn entry(extra: &str) -> Result<crate::upstream::UpstreamConfig, String> {
        let text = format!("name = \"veo\"\nkind = \"gemini\"\nmodel = \"veo-3.1-generate-preview\"\n{extra}");
        let u: crate::upstream::UpstreamConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
        u.check().map(|()| u)
    }

    #[test]
    fn an_entry_without_routing_keys_has_no_priority_weight_one_and_the_default_breaker() {
        let u = entry("").unwrap();
        assert_eq!((u.priority, u.weight, u.daily_budget_usd, u.monthly_budget_usd), (None, 1, None, None));
        assert_eq!(u.breaker, super::BreakerConfig::default());
    }

    #[test]
    fn routing_keys_are_read_and_checked() {
        let u = entry("priority = 2\nweight = 30\ndaily_budget_usd = \"12.5\"\n[breaker]\nopen_secs = 5\n").unwrap();
        assert_eq!((u.priority, u.weight, u.breaker.open_secs), (Some(2), 30, 5));
        assert_eq!(u.daily_budget_usd.map(|c| c.micros()), Some(12_500_000));
        assert!(entry("daily_budget_usd = \"0\"").unwrap_err().contains("daily_budget_usd must be positive"));
        assert!(entry("[breaker]\nerror_rate = 1.5\n").unwrap_err().contains("error_rate"));
        assert!(entry("[breaker]\nopen_secs = 0\n").unwrap_err().contains("breaker.open_secs must be positive"));
        assert!(entry("[breaker]\nretries = 3\n").unwrap_err().contains("unknown field"));
    }
}
