//! Credential pools (`[[upstreams.pool]]`, docs/channels.md "Credential pools"): an
//! `[[upstreams]]` entry holding several credentials (keys, service accounts, regions).
//!
//! Each member becomes a channel of its own, a full copy of the entry named
//! `<entry>:<label>` with the member's credential and overrides, so its breaker, cool-down,
//! refused-credentials lockout, budgets, in-flight cap, rate limit, management row and
//! metrics are per credential with no machinery of their own. A model's route naming the
//! entry names every member in its place (`upstream::with_served_routes`), and the members
//! share the entry's priority, so they form one routing group. A task's `provider` is its
//! member, so its job is polled and cancelled with the credential that created it.
//!
//! Pure: expanding and checking the description. Reading `credentials_env` is the
//! config's; the channels are the engine's.

use serde::{Deserialize, Serialize};

use crate::money::Usd;
use crate::secret::Secret;
use crate::upstream::{UpstreamConfig, UpstreamKind};

/// The longest member label.
const MAX_LABEL: usize = 32;

/// One `[[upstreams.pool]]` member: a credential and what it changes of its entry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolMember {
    /// Unique in the entry, `[a-z0-9_-]{1,32}`; the channel is `<entry>:<label>`.
    pub label: String,
    /// The member's credential, as the entry's `credentials` would be.
    #[serde(default)]
    pub credentials: Secret,
    /// Reads `credentials` from this environment variable instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_env: String,
    /// Vertex: its project (empty: the entry's, else the key's `project_id`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    /// Vertex: its region (empty: the entry's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Its base URL (empty: the entry's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_url: String,
    /// Its own cap of jobs in flight (absent: the entry's value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Its own request rate (absent: the entry's value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Its share of the group's new tasks (absent: the entry's weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Its spend cap per UTC day (absent: the entry's, applied to this member alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_budget_usd: Option<Usd>,
    /// Its spend cap per UTC month (absent: the entry's, applied to this member alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_budget_usd: Option<Usd>,
}

/// Whether `label` is a member label: `[a-z0-9_-]{1,32}`.
pub fn is_label(label: &str) -> bool {
    (1..=MAX_LABEL).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The upstreams as channels: every entry without a pool as it is, every entry with a pool
/// replaced by its members in pool order. Idempotent (members hold no pool). The errors
/// name the entry and the label, never a credential.
pub fn expand(upstreams: &[UpstreamConfig]) -> Result<Vec<UpstreamConfig>, String> {
    let mut channels = Vec::with_capacity(upstreams.len());
    for u in upstreams {
        let Some(pool) = &u.pool else {
            channels.push(u.clone());
            continue;
        };
        check_entry(u, pool)?;
        for (i, member) in pool.iter().enumerate() {
            check_member(u, member)?;
            if pool[..i].iter().any(|other| other.label == member.label) {
                return Err(format!("upstream {}: pool label {:?} appears twice", u.name, member.label));
            }
            channels.push(channel(u, member));
        }
    }
    Ok(channels)
}

fn check_entry(u: &UpstreamConfig, pool: &[PoolMember]) -> Result<(), String> {
    let n = &u.name;
    if pool.is_empty() {
        return Err(format!("upstream {n}: its pool is empty; add [[upstreams.pool]] members or remove pool"));
    }
    if !u.credentials.is_empty() || !u.credentials_env.is_empty() {
        return Err(format!(
            "upstream {n}: an entry with a pool takes its credentials from its members; move credentials or \
             credentials_env into each [[upstreams.pool]] member"
        ));
    }
    if u.kind == UpstreamKind::Comfyui {
        return Err(format!("upstream {n}: kind comfyui takes no pool (its servers are its pool)"));
    }
    Ok(())
}

fn check_member(u: &UpstreamConfig, m: &PoolMember) -> Result<(), String> {
    let n = &u.name;
    if !is_label(&m.label) {
        return Err(format!("upstream {n}: pool label {:?} must be 1 to {MAX_LABEL} of [a-z0-9_-]", m.label));
    }
    if m.credentials.is_empty() && m.credentials_env.is_empty() {
        return Err(format!("upstream {n}: pool member {:?} needs credentials or credentials_env", m.label));
    }
    Ok(())
}

/// The entry as the member's channel.
fn channel(u: &UpstreamConfig, m: &PoolMember) -> UpstreamConfig {
    let mut c = u.clone();
    c.pool = None;
    c.pool_of = u.name.clone();
    c.name = format!("{}:{}", u.name, m.label);
    (c.credentials, c.credentials_env) = (m.credentials.clone(), m.credentials_env.clone());
    for (field, value) in [(&mut c.project, &m.project), (&mut c.location, &m.location), (&mut c.base_url, &m.base_url)]
    {
        if !value.is_empty() {
            field.clone_from(value);
        }
    }
    c.max_in_flight = m.max_in_flight.unwrap_or(u.max_in_flight);
    c.requests_per_second = m.requests_per_second.unwrap_or(u.requests_per_second);
    c.weight = m.weight.unwrap_or(u.weight);
    c.daily_budget_usd = m.daily_budget_usd.or(u.daily_budget_usd);
    c.monthly_budget_usd = m.monthly_budget_usd.or(u.monthly_budget_usd);
    c
}

/// Checks a member channel's name: `<entry>:<label>`, the entry's name checked as any
/// name and the label as [`is_label`].
pub(crate) fn check_member_name(name: &str, pool_of: &str) -> Result<(), String> {
    match name.strip_prefix(pool_of).and_then(|rest| rest.strip_prefix(':')) {
        Some(label) if is_label(label) => Ok(()),
        _ => Err(format!("upstream {name:?}: a pool member is named <entry>:<label>, in pool {pool_of:?}")),
    }
}

#[cfg(test)]
mod tests;
