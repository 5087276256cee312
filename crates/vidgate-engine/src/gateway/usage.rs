//! Usage roll-ups (docs/api.md §12): `GET /v1/usage` over the caller's account and
//! `GET /admin/v1/usage` over all accounts.
//!
//! A row counts charged tasks (completed, or cancelled while running under `charge`) on the
//! UTC day of their terminal transition, which is the time of their capture, so live usage
//! is exactly the ledger's captures; test-mode tasks show with `mode: "test"` and the
//! credits they report. Live and test are never summed together: every row is of one
//! mode and says which (rows are always split by mode, whatever `group_by` says),
//! `totals` is live money only, and `test_totals` the test-mode rows'. `seconds` are billed seconds (docs/api.md §7; a charged cancel bills the
//! requested length). The period is `[since, until)`; each is RFC 3339 or `YYYY-MM-DD`
//! (midnight UTC). Defaults: `until` the end of today (UTC), `since` 30 days before
//! `until`; a query spans at most [`MAX_USAGE_DAYS`] days.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use utoipa::ToSchema;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, ErrorCode, KeyId, RequestError, Usd};
use vidgate_store::{DAY_MS, Millis, UsageGrouping, UsageQuery, UsageRow};

use super::{ApiError, Gateway};
use crate::clock::{now_ms, rfc3339};

/// The longest period one usage query may cover, in days.
pub const MAX_USAGE_DAYS: i64 = 366;
/// The period of a query that names no `since`, in days.
pub const DEFAULT_USAGE_DAYS: i64 = 30;

/// Whose usage: one account (an API key's), or any (the admin, optionally filtered).
#[derive(Clone, Debug)]
pub enum UsageScope {
    Account(AccountId),
    Admin,
}

/// The answer: `{"object": "list", "data": [...], "totals": {...}, "test_totals": {...}}`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageList {
    pub object: &'static str,
    pub data: Vec<UsageItem>,
    /// Live usage only: real money.
    pub totals: UsageTotals,
    /// Test-mode usage: the credits test tasks report, never money.
    pub test_totals: UsageTotals,
}

/// One group.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageItem {
    /// The period of the row: its UTC day (`2026-05-01`) when grouped by day, otherwise
    /// the whole query as an ISO 8601 interval (`<since>/<until>`).
    pub bucket: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// `live` or `test`: every row is of one mode.
    pub mode: &'static str,
    pub tasks: u64,
    /// Billed seconds (millisecond precision).
    pub seconds: f64,
    #[schema(value_type = f64)]
    pub usd: Usd,
}

/// The sums over every row.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UsageTotals {
    pub tasks: u64,
    pub seconds: f64,
    #[schema(value_type = f64)]
    pub usd: Usd,
}

fn bad(param: &str, message: impl Into<String>) -> ApiError {
    RequestError::param(ErrorCode::InvalidParam, param, message).into()
}

impl Gateway {
    /// The roll-up for `scope` from query parameters (`since`, `until`, `group_by`, and the
    /// filters `model`, `mode`, `key_id`, plus `account_id` for the admin).
    pub async fn usage(&self, scope: UsageScope, params: &[(String, String)]) -> Result<UsageList, ApiError> {
        let mut q = parse_usage_query(&scope, params, now_ms())?;
        if let Some(m) = &q.model {
            q.model = Some(self.catalog.resolve(m).map_or_else(|| m.clone(), |spec| spec.id.clone()));
        }
        let rows = self.store.usage(&q).await?;
        Ok(usage_list(&q, rows))
    }
}

/// Turns query parameters into a store query (unknown or repeated parameters are refused).
pub fn parse_usage_query(scope: &UsageScope, params: &[(String, String)], now: Millis) -> Result<UsageQuery, ApiError> {
    let admin = matches!(scope, UsageScope::Admin);
    let mut seen = std::collections::HashSet::new();
    let (mut since, mut until, mut group) = (None, None, None);
    let mut q = UsageQuery::default();
    for (name, value) in params {
        if !seen.insert(name.as_str()) {
            return Err(bad(name, format!("{name} is given more than once")));
        }
        match name.as_str() {
            "since" => since = Some(parse_instant(value, "since")?),
            "until" => until = Some(parse_instant(value, "until")?),
            "group_by" => group = Some(parse_group(value, admin)?),
            "model" => q.model = Some(value.clone()),
            "mode" => q.mode = Some(Mode::parse(value).ok_or_else(|| bad("mode", "mode must be live or test"))?),
            "key_id" => q.key_id = Some(value.parse::<KeyId>().map_err(|_| bad("key_id", "not a key id"))?),
            "account_id" if admin => {
                q.account_id = Some(value.parse().map_err(|_| bad("account_id", "not an account id"))?)
            }
            other => {
                let e = RequestError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}"));
                return Err(e.into());
            }
        }
    }
    if let UsageScope::Account(id) = scope {
        q.account_id = Some(id.clone());
    }
    let until = until.unwrap_or_else(|| (now.div_euclid(DAY_MS) + 1) * DAY_MS);
    let since = since.unwrap_or(until - DEFAULT_USAGE_DAYS * DAY_MS);
    if since >= until {
        return Err(bad("until", "until must be later than since"));
    }
    if until - since > MAX_USAGE_DAYS * DAY_MS {
        return Err(bad("since", format!("a usage query covers at most {MAX_USAGE_DAYS} days")));
    }
    (q.since, q.until) = (since, until);
    q.group = group.unwrap_or(UsageGrouping { day: true, ..Default::default() });
    // Live money and test credits are never added up in one row.
    q.group.mode = true;
    Ok(q)
}

/// RFC 3339, or `YYYY-MM-DD` meaning midnight UTC.
fn parse_instant(text: &str, param: &str) -> Result<Millis, ApiError> {
    let parsed = match time::Date::parse(text, format_description!("[year]-[month]-[day]")) {
        Ok(date) => Some(date.midnight().assume_utc()),
        Err(_) => OffsetDateTime::parse(text, &Rfc3339).ok(),
    };
    let t = parsed.ok_or_else(|| bad(param, format!("{param} must be RFC 3339 or YYYY-MM-DD")))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as Millis)
}

/// A comma-separated list of dimensions; empty means one row for the whole period.
fn parse_group(text: &str, admin: bool) -> Result<UsageGrouping, ApiError> {
    let allowed = if admin { "day, model, account, key and mode" } else { "day, model, key and mode" };
    let mut g = UsageGrouping::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let flag = match part {
            "day" => &mut g.day,
            "model" => &mut g.model,
            "account" if admin => &mut g.account,
            "key" => &mut g.key,
            "mode" => &mut g.mode,
            other => return Err(bad("group_by", format!("group_by takes {allowed}, not {other:?}"))),
        };
        *flag = true;
    }
    Ok(g)
}

fn usage_list(q: &UsageQuery, rows: Vec<UsageRow>) -> UsageList {
    let period = format!("{}/{}", rfc3339(q.since), rfc3339(q.until));
    let mut sums = [(0, 0, Usd::ZERO); 2];
    let data = rows
        .into_iter()
        .map(|r| {
            let mode = r.mode.unwrap_or(Mode::Live);
            let (tasks, ms, usd) = &mut sums[usize::from(mode == Mode::Test)];
            (*tasks, *ms, *usd) = (*tasks + r.tasks, *ms + r.billed_ms, usd.plus(r.usd));
            UsageItem {
                bucket: r.day.map_or_else(|| period.clone(), day_text),
                model: r.model,
                account_id: r.account_id.map(|a| a.to_string()),
                key_id: r.key_id.map(|k| k.to_string()),
                mode: mode.as_str(),
                tasks: r.tasks,
                seconds: r.billed_ms as f64 / 1000.0,
                usd: r.usd,
            }
        })
        .collect();
    let totals = |(tasks, ms, usd): (u64, u64, Usd)| UsageTotals { tasks, seconds: ms as f64 / 1000.0, usd };
    UsageList { object: "list", data, totals: totals(sums[0]), test_totals: totals(sums[1]) }
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
fn day_text(day: i64) -> String {
    let date = OffsetDateTime::from_unix_timestamp(day * 86_400).map_or(OffsetDateTime::UNIX_EPOCH, |t| t).date();
    date.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000; // 2027-01-15T08:00:00Z

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn account() -> UsageScope {
        UsageScope::Account(AccountId::generate())
    }

    fn code(e: ApiError) -> (ErrorCode, Option<String>) {
        (e.error.code, e.error.param)
    }

    #[test]
    fn the_default_period_is_the_last_thirty_utc_days_by_day() {
        let q = parse_usage_query(&account(), &[], NOW).unwrap();
        assert_eq!(
            (rfc3339(q.since), rfc3339(q.until)),
            ("2026-12-17T00:00:00Z".into(), "2027-01-16T00:00:00Z".into())
        );
        assert_eq!(q.group, UsageGrouping { day: true, mode: true, ..Default::default() });
        assert!(q.account_id.is_some());
    }

    #[test]
    fn dates_and_rfc3339_both_work_and_groups_combine() {
        let p =
            params(&[("since", "2027-01-01"), ("until", "2027-01-02T12:00:00+02:00"), ("group_by", "model, key,mode")]);
        let q = parse_usage_query(&account(), &p, NOW).unwrap();
        assert_eq!(
            (rfc3339(q.since), rfc3339(q.until)),
            ("2027-01-01T00:00:00Z".into(), "2027-01-02T10:00:00Z".into())
        );
        assert_eq!(q.group, UsageGrouping { model: true, key: true, mode: true, ..Default::default() });
        let q = parse_usage_query(&UsageScope::Admin, &params(&[("group_by", "")]), NOW).unwrap();
        let one_row_per_mode = UsageGrouping { mode: true, ..Default::default() };
        assert_eq!(q.group, one_row_per_mode, "an empty group_by is one row per mode for the period");
    }

    #[test]
    fn bad_periods_and_parameters_are_refused_naming_the_parameter() {
        let refused =
            |scope: &UsageScope, p: &[(&str, &str)]| code(parse_usage_query(scope, &params(p), NOW).unwrap_err());
        let a = account();
        assert_eq!(refused(&a, &[("since", "yesterday")]), (ErrorCode::InvalidParam, Some("since".into())));
        assert_eq!(
            refused(&a, &[("since", "2027-01-02"), ("until", "2027-01-02")]),
            (ErrorCode::InvalidParam, Some("until".into()))
        );
        assert_eq!(
            refused(&a, &[("since", "2026-01-14")]),
            (ErrorCode::InvalidParam, Some("since".into())),
            "367 days"
        );
        assert!(parse_usage_query(&a, &params(&[("since", "2026-01-15")]), NOW).is_ok(), "366 days exactly");
        assert_eq!(refused(&a, &[("group_by", "account")]), (ErrorCode::InvalidParam, Some("group_by".into())));
        assert_eq!(refused(&a, &[("account_id", "acct_x")]), (ErrorCode::UnknownParam, Some("account_id".into())));
        assert_eq!(refused(&a, &[("mode", "gold")]), (ErrorCode::InvalidParam, Some("mode".into())));
        assert_eq!(refused(&a, &[("mode", "live"), ("mode", "test")]), (ErrorCode::InvalidParam, Some("mode".into())));
        assert_eq!(
            refused(&UsageScope::Admin, &[("account_id", "nope")]),
            (ErrorCode::InvalidParam, Some("account_id".into()))
        );
    }

    #[test]
    fn rows_become_buckets_and_totals() {
        let q = UsageQuery { since: 0, until: DAY_MS, ..Default::default() };
        let row = |day: Option<i64>, ms: u64, usd: i64, mode: Mode| UsageRow {
            day,
            model: Some("tiny".into()),
            account_id: None,
            key_id: None,
            mode: Some(mode),
            tasks: 2,
            billed_ms: ms,
            usd: Usd(usd),
        };
        let list = usage_list(&q, vec![row(Some(20_833), 1500, 375_000, Mode::Test), row(None, 2001, 1, Mode::Test)]);
        assert_eq!(list.data[0].bucket, "2027-01-15");
        assert_eq!(list.data[1].bucket, "1970-01-01T00:00:00Z/1970-01-02T00:00:00Z");
        assert_eq!((list.data[0].seconds, list.data[0].mode), (1.5, "test"));
        let test = &list.test_totals;
        assert_eq!((test.tasks, test.seconds, test.usd), (4, 3.501, Usd(375_001)));
        assert_eq!((list.totals.tasks, list.totals.seconds, list.totals.usd), (0, 0.0, Usd::ZERO), "no live usage");
        let json = serde_json::to_value(&list.data[0]).unwrap();
        assert!(json.get("account_id").is_none() && json.get("key_id").is_none(), "{json}");
    }

    #[test]
    fn live_money_and_test_credits_are_summed_apart() {
        let q = UsageQuery { since: 0, until: DAY_MS, ..Default::default() };
        let row = |mode: Mode, tasks: u64, usd: i64| UsageRow {
            day: Some(0),
            model: None,
            account_id: None,
            key_id: None,
            mode: Some(mode),
            tasks,
            billed_ms: tasks * 1000,
            usd: Usd(usd),
        };
        let list = usage_list(&q, vec![row(Mode::Live, 2, 1_250_000), row(Mode::Test, 5, 9_000_000)]);
        assert_eq!((list.totals.tasks, list.totals.seconds, list.totals.usd), (2, 2.0, Usd(1_250_000)));
        assert_eq!((list.test_totals.tasks, list.test_totals.seconds, list.test_totals.usd), (5, 5.0, Usd(9_000_000)));
        assert_eq!((list.data[0].mode, list.data[1].mode), ("live", "test"));
    }
}
