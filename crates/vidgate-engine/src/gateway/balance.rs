//! The caller's money (docs/api.md §7, §12): `GET /v1/balance`, and the limit headers of every
//! authenticated response: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` for the tightest spend window (the one with the least remaining;
//! the shorter window on a tie), and `X-Quota-Remaining-Credits` for the lifetime quota.
//! Both read the key's committed spend with one store query ([`MoneyStore::key_status`]).
//!
//! A window counts what the key's live tasks created within it commit (captures of settled
//! tasks, holds of open ones), the same sum the submit transaction checks; it frees up as
//! its oldest counted task leaves it. Test keys commit nothing, so their limits always
//! show as unused (docs/api.md §3: they skip quota and spend windows).
//!
//! [`MoneyStore::key_status`]: vidgate_store::MoneyStore::key_status

use serde::Serialize;
use utoipa::ToSchema;
use vidgate_domain::Usd;
use vidgate_store::{ApiKey, KeyStatus, Millis};

use super::{ApiError, Caller, Gateway};
use crate::clock::{now_ms, rfc3339};

/// `GET /v1/balance`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BalanceObject {
    pub account_id: String,
    /// credits − captures − open holds.
    #[schema(value_type = f64)]
    pub balance_usd: Usd,
    /// Open holds.
    #[schema(value_type = f64)]
    pub held_usd: Usd,
    /// Captures.
    #[schema(value_type = f64)]
    pub spent_usd: Usd,
    pub key: KeyBalance,
}

/// The calling key's limits and what is left of them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct KeyBalance {
    pub id: String,
    pub name: String,
    /// `live` or `test`.
    pub mode: &'static str,
    #[schema(value_type = Option<f64>)]
    pub quota_usd: Option<Usd>,
    #[schema(value_type = Option<f64>)]
    pub quota_remaining_usd: Option<Usd>,
    /// Only the windows the key caps.
    pub spend_windows: SpendWindows,
    pub concurrency_limit: Option<u32>,
    /// The key's tasks queued or running.
    pub in_flight: u32,
}

/// The capped rolling windows, shortest first.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct SpendWindows {
    #[serde(rename = "5h", skip_serializing_if = "Option::is_none")]
    pub h5: Option<SpendWindowObject>,
    #[serde(rename = "1d", skip_serializing_if = "Option::is_none")]
    pub d1: Option<SpendWindowObject>,
    #[serde(rename = "7d", skip_serializing_if = "Option::is_none")]
    pub d7: Option<SpendWindowObject>,
}

/// One capped window.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SpendWindowObject {
    #[schema(value_type = f64)]
    pub limit_usd: Usd,
    #[schema(value_type = f64)]
    pub used_usd: Usd,
    /// When some of the used spend next leaves the window (RFC 3339); null when none is used.
    pub resets_at: Option<String>,
}

impl Gateway {
    /// The caller's account and key, as `GET /v1/balance` answers.
    pub async fn balance(&self, caller: &Caller) -> Result<BalanceObject, ApiError> {
        let now = now_ms();
        let account = self.account(caller.account_id.as_str()).await?;
        let status = self.key_status(&caller.key, now).await?;
        let key = &caller.key;
        let mut windows = SpendWindows::default();
        for (name, _, cap) in key.limits.spend.windows() {
            let used = status.window(name).map_or(Usd::ZERO, |w| w.used);
            let resets_at = status.window(name).and_then(|w| w.frees_at()).map(rfc3339);
            let object = Some(SpendWindowObject { limit_usd: cap, used_usd: used, resets_at });
            match name {
                "5h" => windows.h5 = object,
                "1d" => windows.d1 = object,
                _ => windows.d7 = object,
            }
        }
        Ok(BalanceObject {
            account_id: account.id.to_string(),
            balance_usd: account.balance,
            held_usd: account.held,
            spent_usd: account.spent,
            key: KeyBalance {
                id: key.id.to_string(),
                name: key.name.clone(),
                mode: key.mode.as_str(),
                quota_usd: key.limits.quota,
                quota_remaining_usd: key.limits.quota.map(|q| remaining(q, status.committed)),
                spend_windows: windows,
                concurrency_limit: key.limits.concurrency,
                in_flight: status.in_flight,
            },
        })
    }

    /// The limit headers of a response to `key` (none, and no query, when it has neither a
    /// quota nor a spend window).
    pub async fn limit_headers(&self, key: &ApiKey) -> Result<Vec<(&'static str, String)>, ApiError> {
        if key.limits.quota.is_none() && !key.limits.spend.any() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        Ok(limit_headers(key, &self.key_status(key, now).await?, now))
    }

    async fn key_status(&self, key: &ApiKey, now: Millis) -> Result<KeyStatus, ApiError> {
        self.store.key_status(&key.id, now).await?.ok_or_else(|| ApiError::internal("an authenticated key vanished"))
    }
}

fn remaining(cap: Usd, used: Usd) -> Usd {
    cap.minus(used).max(Usd::ZERO)
}

/// The headers for `key` in `status` at `now`: money in USD, the reset in unix seconds
/// (rounded up, so a client waiting until then finds the window freed).
pub fn limit_headers(key: &ApiKey, status: &KeyStatus, now: Millis) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    let tightest = key
        .limits
        .spend
        .windows()
        .into_iter()
        .filter_map(|(name, _, cap)| status.window(name).map(|w| (cap, remaining(cap, w.used), w.frees_at())))
        .min_by_key(|(_, left, _)| *left);
    if let Some((cap, left, frees_at)) = tightest {
        let reset_secs = (frees_at.unwrap_or(now).max(0) + 999) / 1000;
        headers.push(("x-ratelimit-limit", cap.to_string()));
        headers.push(("x-ratelimit-remaining", left.to_string()));
        headers.push(("x-ratelimit-reset", reset_secs.to_string()));
    }
    if let Some(quota) = key.limits.quota {
        headers.push(("x-quota-remaining-credits", remaining(quota, status.committed).to_string()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use vidgate_domain::task::Mode;
    use vidgate_domain::{AccountId, KeyId};
    use vidgate_store::{KeyLimits, SPEND_WINDOWS, SpendLimits, WindowUse};

    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn key(limits: KeyLimits) -> ApiKey {
        ApiKey {
            id: KeyId::generate(),
            account_id: AccountId::generate(),
            name: "k".into(),
            mode: Mode::Live,
            hash: String::new(),
            masked: String::new(),
            limits,
            created_at: NOW,
            revoked_at: None,
            disabled: false,
        }
    }

    fn status(committed: i64, used: [(i64, Option<Millis>); 3]) -> KeyStatus {
        let windows = SPEND_WINDOWS
            .into_iter()
            .zip(used)
            .map(|((name, length_ms), (u, oldest_at))| WindowUse { name, length_ms, used: Usd(u), oldest_at })
            .collect();
        KeyStatus { committed: Usd(committed), windows, in_flight: 0 }
    }

    #[test]
    fn the_tightest_window_is_the_one_with_the_least_remaining() {
        let spend = SpendLimits { h5: Some(Usd(2_000_000)), d1: Some(Usd(5_000_000)), d7: None };
        let k = key(KeyLimits { spend, quota: Some(Usd(10_000_000)), ..Default::default() });
        // 5h: 2 − 0.5 = 1.5 left; 1d: 5 − 4.25 = 0.75 left (tighter although longer)
        let s = status(6_000_000, [(500_000, Some(NOW - 1000)), (4_250_000, Some(NOW - 3_600_000)), (0, None)]);
        let headers = limit_headers(&k, &s, NOW);
        let reset = ((NOW - 3_600_000 + 24 * 3_600_000) / 1000).to_string();
        assert_eq!(
            headers,
            [
                ("x-ratelimit-limit", "5".to_owned()),
                ("x-ratelimit-remaining", "0.75".to_owned()),
                ("x-ratelimit-reset", reset),
                ("x-quota-remaining-credits", "4".to_owned()),
            ]
        );
    }

    #[test]
    fn an_unused_window_resets_now_and_an_overdrawn_one_shows_zero() {
        let spend = SpendLimits { h5: Some(Usd(1_000_000)), ..Default::default() };
        let k = key(KeyLimits { spend: spend.clone(), ..Default::default() });
        let unused = limit_headers(&k, &status(0, [(0, None), (0, None), (0, None)]), NOW + 1);
        assert_eq!(
            unused[1..],
            [("x-ratelimit-remaining", "1".to_owned()), ("x-ratelimit-reset", "1800000001".into())]
        );
        let q = key(KeyLimits { spend, quota: Some(Usd(1)), ..Default::default() });
        let over = limit_headers(&q, &status(5, [(3_000_000, Some(NOW)), (0, None), (0, None)]), NOW);
        assert_eq!((over[1].1.as_str(), over[3].1.as_str()), ("0", "0"));
    }

    #[test]
    fn a_key_without_limits_gets_no_headers() {
        assert!(limit_headers(&key(KeyLimits::default()), &status(9, [(9, Some(NOW)); 3]), NOW).is_empty());
    }
}
