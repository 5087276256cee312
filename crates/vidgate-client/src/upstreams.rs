//! The upstreams of the management API (`docs/api.md` §12, `docs/channels.md` "Live
//! control"): each configured upstream with its routing state, and an operator's change.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use crate::{Auth, Client, Error, List, Result};

/// An upstream object (`/admin/v1/upstreams`): one channel, with its state now. A member of
/// a credential pool is named `<entry>:<label>` and carries `pool`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Upstream {
    pub name: String,
    #[serde(default)]
    pub kind: String,
    /// The `[[upstreams]]` entry whose pool this is a member of; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// `ready`, `waiting` or `out`.
    pub state: String,
    #[serde(default)]
    pub disabled: bool,
    /// `closed`, `open`, `half_open` or `auth_failed`.
    #[serde(default)]
    pub health: String,
    #[serde(default)]
    pub open_until: Option<String>,
    #[serde(default)]
    pub cooling_until: Option<String>,
    /// `None`: neither the config nor an operator set one.
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub weight: u32,
    #[serde(default)]
    pub in_flight: u32,
    /// 0 only for a row without a configured entry.
    #[serde(default)]
    pub max_in_flight: u32,
    pub spend_today_usd: Number,
    pub spend_month_usd: Number,
    #[serde(default)]
    pub daily_budget_usd: Option<Number>,
    #[serde(default)]
    pub monthly_budget_usd: Option<Number>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_error_at: Option<String>,
    #[serde(default)]
    pub changed_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A change to an upstream (`PATCH /admin/v1/upstreams/{name}`); `None` fields are left
/// out. `Some(None)` sends `null`: the weight or priority goes back to the configured one.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct UpstreamChange {
    /// `true` takes it out of rotation, `false` brings it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<Option<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Option<u32>>,
    /// Close its breaker, end any cool-down, forgive refused credentials.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

impl UpstreamChange {
    /// Whether it changes nothing (the gateway refuses an empty change).
    pub fn is_empty(&self) -> bool {
        *self == UpstreamChange::default()
    }
}

/// An upstream's name as one path segment: every byte but `[A-Za-z0-9._~-]` percent-encoded
/// (a pool member's `:` as `%3A`), so a name can never change the path; an empty name, `.`
/// and `..` are refused.
pub(crate) fn name_segment(name: &str) -> Result<String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::Url(format!("upstream name {name:?}")));
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._~-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

impl Client {
    /// Every configured upstream with its state, in name order.
    pub async fn upstreams(&self) -> Result<List<Upstream>> {
        self.call(Method::GET, "/admin/v1/upstreams", Auth::Admin, None, HeaderMap::new(), true).await
    }

    /// One upstream; 404 `not_found` for a name not configured (a pool entry's name
    /// included: its members are the upstreams).
    pub async fn upstream(&self, name: &str) -> Result<Upstream> {
        let path = format!("/admin/v1/upstreams/{}", name_segment(name)?);
        self.call(Method::GET, &path, Auth::Admin, None, HeaderMap::new(), true).await
    }

    /// Changes an upstream, or every member of a credential pool when `name` is its entry
    /// (retried: applying the same change twice leaves the same state); what was changed, as
    /// it is after the change.
    pub async fn update_upstream(&self, name: &str, change: &UpstreamChange) -> Result<Updated> {
        let path = format!("/admin/v1/upstreams/{}", name_segment(name)?);
        let body = serde_json::to_value(change).expect("a change serialises");
        self.call(Method::PATCH, &path, Auth::Admin, Some(&body), HeaderMap::new(), true).await
    }
}

/// What a PATCH changed: one upstream, or a pool entry's members (a list).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Updated {
    Members(List<Upstream>),
    One(Box<Upstream>),
}

impl Updated {
    /// The upstreams changed, in the gateway's order.
    pub fn upstreams(&self) -> Vec<&Upstream> {
        match self {
            Updated::Members(list) => list.data.iter().collect(),
            Updated::One(one) => vec![one.as_ref()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_member_name_is_one_encoded_segment_and_dot_names_are_refused() {
        assert_eq!(name_segment("ark:team-b").unwrap(), "ark%3Ateam-b");
        assert_eq!(name_segment("veo_3.1").unwrap(), "veo_3.1");
        assert_eq!(name_segment("a/b?c#d").unwrap(), "a%2Fb%3Fc%23d");
        assert_eq!(name_segment("é").unwrap(), "%C3%A9");
        for bad in ["", ".", ".."] {
            assert!(matches!(name_segment(bad), Err(Error::Url(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_patch_answer_is_one_upstream_or_a_pool_s_members() {
        let row = |name: &str| {
            json!({"object": "upstream", "name": name, "kind": "openai", "state": "out",
            "health": "closed", "disabled": true, "weight": 1, "in_flight": 0, "max_in_flight": 4,
            "spend_today_usd": 0, "spend_month_usd": 0})
        };
        let one: Updated = serde_json::from_value(row("a")).unwrap();
        assert_eq!(one.upstreams().iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["a"]);
        let pool = json!({"object": "list", "data": [row("p:one"), row("p:two")], "has_more": false});
        let members: Updated = serde_json::from_value(pool).unwrap();
        assert_eq!(members.upstreams().iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["p:one", "p:two"]);
    }

    #[test]
    fn a_change_sends_only_its_fields_and_null_for_a_default() {
        let c = UpstreamChange { disabled: Some(false), weight: Some(None), ..Default::default() };
        assert_eq!(serde_json::to_value(&c).unwrap(), json!({"disabled": false, "weight": null}));
        let c = UpstreamChange { priority: Some(Some(3)), reset: true, ..Default::default() };
        assert_eq!(serde_json::to_value(&c).unwrap(), json!({"priority": 3, "reset": true}));
        assert!(UpstreamChange::default().is_empty() && !c.is_empty());
    }

    #[test]
    fn a_row_keeps_unknown_fields_and_gives_back_what_came() {
        let row = json!({"object": "upstream", "name": "ark:main", "kind": "modelark", "pool": "ark",
            "state": "out", "disabled": true, "health": "closed", "open_until": null, "cooling_until": null,
            "priority": null, "weight": 3, "in_flight": 1, "max_in_flight": 10, "spend_today_usd": 1.25,
            "spend_month_usd": 20.5, "daily_budget_usd": 200, "monthly_budget_usd": null, "last_error": null,
            "last_error_at": null, "changed_at": "2026-01-02T03:04:05Z", "region": "eu"});
        let u: Upstream = serde_json::from_value(row.clone()).unwrap();
        assert_eq!((u.pool.as_deref(), u.weight, u.priority), (Some("ark"), 3, None));
        assert_eq!(u.extra["region"], "eu");
        assert_eq!(serde_json::to_value(&u).unwrap(), row);
    }
}
