//! The routing controls of each upstream, shared by every replica (docs/channels.md): the
//! operator's switches (disabled, weight and priority overrides, with an audit entry each),
//! the circuit breaker's state (closed, open until a time, or out for refused
//! credentials), a rate-limit cool-down, and what budgets and the listing read from tasks
//! (spend per upstream since a time, jobs in flight).
//!
//! A row is written only when a state changes (a breaker opens or closes, a cool-down
//! starts, an operator acts), never per request. The SQL is written once here, with `$N`
//! placeholders in the order they first appear, and run by both backends.

use async_trait::async_trait;
use serde::Serialize;
use vidgate_domain::Usd;

use crate::{Millis, NewAudit, Result};

/// The circuit breaker's stored state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Traffic flows.
    #[default]
    Closed,
    /// Ejected until `open_until`; then half-open: the next submit is a probe.
    Open,
    /// The upstream refused the credentials (401/403): out until an operator resets it.
    AuthFailed,
}

impl Health {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Closed => "closed",
            Health::Open => "open",
            Health::AuthFailed => "auth_failed",
        }
    }

    /// Reads the stored text (anything unknown reads as closed: a newer version's state).
    pub fn parse(s: &str) -> Health {
        match s {
            "open" => Health::Open,
            "auth_failed" => Health::AuthFailed,
            _ => Health::Closed,
        }
    }
}

/// One upstream's stored controls. An upstream without a row has the default: enabled,
/// its configured weight and priority, closed, not cooling down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamControl {
    pub name: String,
    /// Disabled by an operator.
    pub disabled: bool,
    /// The operator's weight, instead of the configured one.
    pub weight: Option<u32>,
    /// The operator's priority, instead of the configured one.
    pub priority: Option<u32>,
    pub health: Health,
    pub open_until: Millis,
    pub cool_until: Millis,
    /// The last failure that changed the state, summarised (never a credential).
    pub last_error: String,
    pub last_error_at: Millis,
    pub changed_at: Millis,
}

/// A breaker's move, as the engine decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChange {
    pub health: Health,
    pub open_until: Millis,
    /// Why (empty: a close, which keeps the last error for the listing).
    pub error: String,
    pub at: Millis,
}

/// An operator's change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamChange {
    pub disabled: Option<bool>,
    /// `Some(None)`: back to the configured weight.
    pub weight: Option<Option<u32>>,
    /// `Some(None)`: back to the configured priority.
    pub priority: Option<Option<u32>>,
    /// Closes the breaker and ends any cool-down (also after refused credentials).
    pub reset: bool,
}

/// An upstream's recorded upstream cost of tasks since a day's and a month's start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamSpend {
    pub name: String,
    pub today: Usd,
    pub month: Usd,
}

/// The routing controls of the upstreams.
#[async_trait]
pub trait UpstreamControls: Send + Sync {
    /// Every stored row.
    async fn upstream_controls(&self) -> Result<Vec<UpstreamControl>>;
    /// Records a breaker's move.
    async fn set_upstream_health(&self, name: &str, change: HealthChange) -> Result<()>;
    /// Starts a rate-limit cool-down until `until`, for `error`.
    async fn cool_upstream(&self, name: &str, until: Millis, error: &str, at: Millis) -> Result<()>;
    /// Applies an operator's change and records `audit` in the same transaction; the row
    /// as it is after.
    async fn change_upstream(&self, name: &str, change: UpstreamChange, audit: NewAudit) -> Result<UpstreamControl>;
    /// The recorded upstream cost of each upstream's tasks created since `day` and since
    /// `month` (`month` ≤ `day`): tasks that failed or were cancelled before any upstream
    /// job count nothing; tasks still waiting for their submit count what they will cost.
    async fn upstream_spend(&self, day: Millis, month: Millis) -> Result<Vec<UpstreamSpend>>;
    /// Jobs in flight (submitted, not yet delivered) per upstream.
    async fn upstream_in_flight(&self) -> Result<Vec<(String, u32)>>;
}

pub(crate) const SELECT_CONTROLS: &str = "SELECT name, disabled, weight, priority, health, open_until, cool_until, \
     last_error, last_error_at, changed_at FROM upstream_controls ORDER BY name";

pub(crate) const SELECT_CONTROL: &str = "SELECT name, disabled, weight, priority, health, open_until, cool_until, \
     last_error, last_error_at, changed_at FROM upstream_controls WHERE name = $1";

/// $1 name, $2 health, $3 open_until, $4 error, $5 at.
pub(crate) const SET_HEALTH: &str = "INSERT INTO upstream_controls \
     (name, health, open_until, last_error, last_error_at, changed_at) VALUES ($1, $2, $3, $4, $5, $5) \
     ON CONFLICT (name) DO UPDATE SET health = excluded.health, open_until = excluded.open_until, \
     last_error = CASE WHEN excluded.last_error = '' THEN upstream_controls.last_error ELSE excluded.last_error END, \
     last_error_at = CASE WHEN excluded.last_error = '' THEN upstream_controls.last_error_at \
     ELSE excluded.last_error_at END, changed_at = excluded.changed_at";

/// $1 name, $2 cool_until, $3 error, $4 at.
pub(crate) const COOL: &str = "INSERT INTO upstream_controls \
     (name, cool_until, last_error, last_error_at, changed_at) VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (name) DO UPDATE SET cool_until = excluded.cool_until, last_error = excluded.last_error, \
     last_error_at = excluded.last_error_at, changed_at = excluded.changed_at";

/// $1 name, $2 at: makes sure the row exists before an operator's change.
pub(crate) const ENSURE: &str =
    "INSERT INTO upstream_controls (name, changed_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";

/// $1 name, $2 disabled, $3 weight, $4 priority, $5 reset, $6 at. The row's current
/// values are read first and the whole row written back.
pub(crate) const OPERATOR: &str = "UPDATE upstream_controls SET disabled = $2, weight = $3, priority = $4, \
     health = CASE WHEN $5 THEN 'closed' ELSE health END, \
     open_until = CASE WHEN $5 THEN 0 ELSE open_until END, \
     cool_until = CASE WHEN $5 THEN 0 ELSE cool_until END, changed_at = $6 WHERE name = $1";

/// $1 at, $2 actor, $3 action, $4 target, $5 changes.
pub(crate) const AUDIT: &str =
    "INSERT INTO audit_log (created_at, actor, action, target_id, changes) VALUES ($1, $2, $3, $4, $5)";

/// $1 the day's start, $2 the month's start.
pub(crate) const SPEND: &str = "SELECT provider, \
     CAST(SUM(CASE WHEN created_at >= $1 THEN upstream_cost_micros ELSE 0 END) AS BIGINT) AS today, \
     CAST(SUM(upstream_cost_micros) AS BIGINT) AS month FROM tasks \
     WHERE created_at >= $2 AND provider <> 'sandbox' \
     AND (upstream_job IS NOT NULL OR status IN ('queued', 'running')) GROUP BY provider";

pub(crate) const IN_FLIGHT: &str =
    "SELECT provider, CAST(COUNT(*) AS BIGINT) AS n FROM tasks WHERE phase IN ('poll', 'fetch') GROUP BY provider";

/// A row's fields, read the same way from both backends.
pub(crate) fn control_of<R>(row: &R) -> Result<UpstreamControl>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let count = |v: Option<i64>| v.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    Ok(UpstreamControl {
        name: row.try_get("name")?,
        disabled: row.try_get("disabled")?,
        weight: count(row.try_get("weight")?),
        priority: count(row.try_get("priority")?),
        health: Health::parse(&row.try_get::<String, _>("health")?),
        open_until: row.try_get("open_until")?,
        cool_until: row.try_get("cool_until")?,
        last_error: row.try_get("last_error")?,
        last_error_at: row.try_get("last_error_at")?,
        changed_at: row.try_get("changed_at")?,
    })
}

/// A spend row's fields.
pub(crate) fn spend_of<R>(row: &R) -> Result<UpstreamSpend>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(UpstreamSpend {
        name: row.try_get("provider")?,
        today: Usd::from_micros(row.try_get::<Option<i64>, _>("today")?.unwrap_or(0)),
        month: Usd::from_micros(row.try_get::<Option<i64>, _>("month")?.unwrap_or(0)),
    })
}

/// The operator's change applied to the row as it is.
pub(crate) fn changed(row: &UpstreamControl, change: &UpstreamChange) -> (bool, Option<i64>, Option<i64>) {
    let disabled = change.disabled.unwrap_or(row.disabled);
    let weight = change.weight.unwrap_or(row.weight).map(i64::from);
    let priority = change.priority.unwrap_or(row.priority).map(i64::from);
    (disabled, weight, priority)
}
