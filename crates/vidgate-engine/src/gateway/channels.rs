//! The management of upstreams (docs/api.md §12.6, docs/channels.md): each configured
//! upstream with its routing state, and an operator's change (disable, enable, weight,
//! priority, breaker reset), recorded in the audit list with the change in one store
//! write. Every replica applies it within a second (`channels::REFRESH`, or at once on a
//! PostgreSQL announcement); this one at once.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use vidgate_domain::{ErrorCode, Usd};
use vidgate_store::upstreams::{Health, UpstreamChange};

use super::admin::bad;
use super::management::present;
use super::{ApiError, Gateway};
use crate::channels::ChannelView;
use crate::channels::select::Readiness;
use crate::clock::{now_ms, rfc3339};

/// The largest weight or priority an operator may set.
const MAX_KNOB: u32 = 1_000_000;

/// `PATCH /admin/v1/upstreams/{name}`: any subset of these.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamPatch {
    /// Takes it out of rotation (`true`) or back in (`false`); never null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub disabled: Option<Option<bool>>,
    /// 0 to 1000000; `null`: back to the configured weight.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub weight: Option<Option<u32>>,
    /// 0 to 1000000; `null`: back to the configured priority.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub priority: Option<Option<u32>>,
    /// `true` closes its breaker and ends any cool-down (also after refused credentials).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub reset: Option<Option<bool>>,
}

/// One upstream and its routing state.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UpstreamObject {
    pub object: &'static str,
    pub name: String,
    pub kind: String,
    /// The `[[upstreams]]` entry whose credential pool this upstream is a member of
    /// (`<pool>:<label>`); absent for an entry without a pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `ready` (takes new tasks now), `waiting` (at its cap or cooling down: new tasks
    /// wait for it) or `out` (disabled, ejected, refused credentials or over budget).
    pub state: &'static str,
    pub disabled: bool,
    /// `closed`, `open`, `half_open` (the next submit is a probe) or `auth_failed`.
    pub health: &'static str,
    pub open_until: Option<String>,
    pub cooling_until: Option<String>,
    /// `null`: its position in each model's routes.
    pub priority: Option<u32>,
    pub weight: u32,
    pub in_flight: u32,
    pub max_in_flight: u32,
    #[schema(value_type = f64)]
    pub spend_today_usd: Usd,
    #[schema(value_type = f64)]
    pub spend_month_usd: Usd,
    #[schema(value_type = Option<f64>)]
    pub daily_budget_usd: Option<Usd>,
    #[schema(value_type = Option<f64>)]
    pub monthly_budget_usd: Option<Usd>,
    /// The last failure that changed its state, summarised.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub changed_at: Option<String>,
}

impl Gateway {
    /// Every configured upstream with its state, in name order.
    pub async fn upstreams(&self) -> Result<Vec<UpstreamObject>, ApiError> {
        let in_flight = self.store.upstream_in_flight().await?;
        let now = now_ms();
        let busy = |name: &str| self.engine.at_cap.contains(name);
        let views = self.engine.channels.views(busy, now);
        let object = |v: ChannelView| {
            let n = in_flight.iter().find(|(p, _)| *p == v.control.name).map_or(0, |(_, n)| *n);
            self.upstream_object(v, n, now)
        };
        Ok(views.into_iter().map(object).collect())
    }

    /// One configured upstream with its state.
    pub async fn upstream(&self, name: &str) -> Result<UpstreamObject, ApiError> {
        let all = self.upstreams().await?;
        all.into_iter().find(|u| u.name == name).ok_or_else(|| self.no_such_upstream(name))
    }

    /// 404 for `name`; a pool entry's name is answered with its members, which are the
    /// upstreams an operator reads one by one (a `PATCH` on the entry changes them all).
    fn no_such_upstream(&self, name: &str) -> ApiError {
        let members = self.pool_members(name);
        if members.is_empty() {
            return ApiError::new(ErrorCode::NotFound, "no such upstream");
        }
        let message =
            format!("{name} is a credential pool; its members are upstreams of their own: {}", members.join(", "));
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// The members of the credential pool `entry` (`<entry>:<label>`), in pool order; empty
    /// when `entry` is no `[[upstreams]]` entry with a pool.
    pub fn pool_members(&self, entry: &str) -> Vec<String> {
        self.config.upstreams.iter().filter(|u| u.pool_of == entry).map(|u| u.name.clone()).collect()
    }

    /// Applies an operator's change to a configured upstream and records it.
    pub async fn update_upstream(&self, name: &str, patch: UpstreamPatch) -> Result<UpstreamObject, ApiError> {
        if !self.engine.channels.knows(name) {
            return Err(self.no_such_upstream(name));
        }
        let (change, changes) = checked(patch)?;
        self.record_change(name, change, changes).await?;
        self.engine.channels.refresh_controls(self.store.as_ref()).await;
        self.upstream(name).await
    }

    /// Applies one operator's change to every member of the credential pool `entry`, each
    /// recorded in the audit list as its own `upstream.update` (the members are the
    /// upstreams; docs/channels.md "Credential pools"). Each member's change is its own
    /// store write, in pool order: if the store fails midway, the members before it are
    /// changed and the error is answered (the same PATCH again finishes the job).
    /// Returns the members' rows, in name order.
    pub async fn update_pool(&self, entry: &str, patch: UpstreamPatch) -> Result<Vec<UpstreamObject>, ApiError> {
        let members = self.pool_members(entry);
        if members.is_empty() {
            return Err(self.no_such_upstream(entry));
        }
        let (change, changes) = checked(patch)?;
        for member in &members {
            self.record_change(member, change.clone(), changes.clone()).await?;
        }
        self.engine.channels.refresh_controls(self.store.as_ref()).await;
        let all = self.upstreams().await?;
        Ok(all.into_iter().filter(|u| members.contains(&u.name)).collect())
    }

    async fn record_change(&self, name: &str, change: UpstreamChange, changes: Value) -> Result<(), ApiError> {
        let entry = self.audit_entry("upstream.update", name, changes);
        self.store.change_upstream(name, change, entry).await?;
        tracing::info!(upstream = name, "upstream changed by an operator");
        Ok(())
    }

    fn upstream_object(&self, v: ChannelView, in_flight: u32, now: i64) -> UpstreamObject {
        let c = &v.control;
        let config = self.config.upstreams.iter().find(|u| u.name == c.name);
        let health = match c.health {
            Health::Closed => "closed",
            Health::Open if now >= c.open_until => "half_open",
            Health::Open => "open",
            Health::AuthFailed => "auth_failed",
        };
        let when = |t: i64| (t > 0).then(|| rfc3339(t));
        UpstreamObject {
            object: "upstream",
            name: c.name.clone(),
            kind: config.map(|u| u.kind.as_str().to_owned()).unwrap_or_default(),
            pool: config.filter(|u| !u.pool_of.is_empty()).map(|u| u.pool_of.clone()),
            state: match v.readiness {
                Readiness::Ready => "ready",
                Readiness::Waiting => "waiting",
                Readiness::Out => "out",
            },
            disabled: c.disabled,
            health,
            open_until: (c.health == Health::Open).then(|| rfc3339(c.open_until)),
            cooling_until: (c.cool_until > now).then(|| rfc3339(c.cool_until)),
            priority: v.priority,
            weight: v.weight,
            in_flight,
            max_in_flight: config.map_or(0, |u| u.max_in_flight),
            spend_today_usd: v.spend.today,
            spend_month_usd: v.spend.month,
            daily_budget_usd: v.daily_budget,
            monthly_budget_usd: v.monthly_budget,
            last_error: (!c.last_error.is_empty()).then(|| c.last_error.clone()),
            last_error_at: when(c.last_error_at),
            changed_at: when(c.changed_at),
        }
    }
}

/// The store's change and the audit entry's `changes` for a patch; 400 when it names
/// nothing or a value is out of range.
fn checked(patch: UpstreamPatch) -> Result<(UpstreamChange, Value), ApiError> {
    let no_null = |field: &str, v: Option<Option<bool>>| match v {
        Some(None) => Err(bad(field, format!("{field} must not be null"))),
        other => Ok(other.flatten()),
    };
    let knob = |field: &str, v: Option<Option<u32>>| match v {
        Some(Some(n)) if n > MAX_KNOB => Err(bad(field, format!("{field} must be 0 to {MAX_KNOB} or null"))),
        other => Ok(other),
    };
    let change = UpstreamChange {
        disabled: no_null("disabled", patch.disabled)?,
        weight: knob("weight", patch.weight)?,
        priority: knob("priority", patch.priority)?,
        reset: no_null("reset", patch.reset)?.unwrap_or(false),
    };
    let mut changes = Map::new();
    if let Some(d) = change.disabled {
        changes.insert("disabled".into(), json!(d));
    }
    if let Some(w) = change.weight {
        changes.insert("weight".into(), json!(w));
    }
    if let Some(p) = change.priority {
        changes.insert("priority".into(), json!(p));
    }
    if change.reset {
        changes.insert("reset".into(), json!(true));
    }
    if changes.is_empty() {
        return Err(bad("disabled", "name at least one of disabled, weight, priority, reset"));
    }
    Ok((change, Value::Object(changes)))
}
