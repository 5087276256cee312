//! The management operations that list and change what exists (docs/api.md §12): the
//! account list, account and key changes (`PATCH`), and the audit list every management
//! change is recorded in. A change and its audit entry are one store write; the entry names
//! the fields changed with their new values and never a secret.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use vidgate_domain::{ErrorCode, KeyId, Usd};
use vidgate_store::{Account, AccountFilter, AccountUpdate, ApiKey, AuditEntry, AuditFilter, KeyUpdate, NewAudit};

use super::admin::{NewKeyRequest, SpendLimitsInput, account_id, bad, check_name};
use super::{ApiError, Gateway};
use crate::clock::{now_ms, rfc3339};

/// Who the audit list names for a change made with the admin token.
pub const ADMIN_ACTOR: &str = "admin";
/// Prefix of an audit entry's id.
pub const AUDIT_ID_PREFIX: &str = "aud_";

/// Reads a field that may be absent (outer `None`) or `null` (inner `None`).
pub(super) fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /admin/v1/accounts/{id}`: any subset of these.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    /// 1 to 200 characters, not blank; never null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<Option<String>>,
    /// `active` or `suspended`; never null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, pattern = "^(active|suspended)$")]
    pub status: Option<Option<String>>,
}

/// `PATCH /admin/v1/keys/{id}`: any subset of the creation fields (less `account_id` and
/// `mode`, which cannot change) plus `disabled`; `null` removes a limit.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// 1 to 200 characters, not blank; never null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<Option<String>>,
    /// Never null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub disabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub quota_usd: Option<Option<Usd>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SpendLimitsInput>)]
    pub spend_limits: Option<Option<SpendLimitsInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub concurrency_limit: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub models: Option<Option<Vec<String>>>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub ip_allow: Option<Option<Vec<String>>>,
    /// Refused: a key stays on its account.
    #[serde(default)]
    #[schema(ignore)]
    pub account_id: Option<Value>,
    /// Refused: a key keeps its mode.
    #[serde(default)]
    #[schema(ignore)]
    pub mode: Option<Value>,
}

/// A page of a listing and whether more follow.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

/// `"active"` or `"suspended"`.
pub fn account_status(account: &Account) -> &'static str {
    if account.suspended { "suspended" } else { "active" }
}

/// A key's changeable fields, spelled as in the key object.
pub fn key_fields(key: &ApiKey) -> Map<String, Value> {
    let l = &key.limits;
    let fields = json!({
        "name": key.name,
        "disabled": key.disabled,
        "quota_usd": l.quota,
        "spend_limits": l.spend,
        "concurrency_limit": l.concurrency,
        "models": l.models,
        "expires_at": l.expires_at.map(rfc3339),
        "ip_allow": l.ip_allow,
    });
    match fields {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object"),
    }
}

/// The fields of `after` that differ from `before`, with their new values.
fn changed(before: &Map<String, Value>, after: &Map<String, Value>) -> Map<String, Value> {
    after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn no_null<T>(field: &str, value: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match value {
        Some(None) => Err(bad(field, format!("{field} must not be null"))),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(bad("limit", "limit must be 1 to 100")),
    }
}

impl Gateway {
    /// Appends a management change to the audit list. A change already made is not undone
    /// when this write fails; the failure is logged and answered as an internal error.
    pub(super) async fn audit(&self, action: &str, target: &str, changes: Value) -> Result<(), ApiError> {
        let entry = self.audit_entry(action, target, changes);
        Ok(self.store.record_audit(entry).await?)
    }

    pub(super) fn audit_entry(&self, action: &str, target: &str, changes: Value) -> NewAudit {
        NewAudit { actor: ADMIN_ACTOR.into(), action: action.into(), target_id: target.into(), changes, at: now_ms() }
    }

    /// Accounts newest first whose name contains `name`, `limit` (1–100, default 20) after
    /// the account id `after`.
    pub async fn list_accounts(
        &self,
        name: Option<&str>,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<Page<Account>, ApiError> {
        let limit = page_limit(limit)?;
        let after = match after {
            Some(a) => Some(a.parse().map_err(|_| bad("after", "after must be an account id"))?),
            None => None,
        };
        let filter = AccountFilter { name_contains: name.map(str::to_owned), after, limit: limit + 1 };
        let mut items = self.store.accounts(&filter).await?;
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok(Page { items, has_more })
    }

    /// Renames, suspends or resumes an account.
    pub async fn update_account(&self, id: &str, patch: AccountPatch) -> Result<Account, ApiError> {
        let id = account_id(id)?;
        let before = self.account(id.as_str()).await?;
        let mut update = AccountUpdate { name: before.name.clone(), suspended: before.suspended };
        if let Some(name) = no_null("name", patch.name)? {
            check_name(&name)?;
            update.name = name;
        }
        if let Some(status) = no_null("status", patch.status)? {
            update.suspended = match status.as_str() {
                "active" => false,
                "suspended" => true,
                _ => return Err(bad("status", "status must be \"active\" or \"suspended\"")),
            };
        }
        let mut changes = Map::new();
        if update.name != before.name {
            changes.insert("name".into(), json!(update.name));
        }
        if update.suspended != before.suspended {
            changes.insert("status".into(), json!(if update.suspended { "suspended" } else { "active" }));
        }
        if changes.is_empty() {
            return Ok(before);
        }
        let entry = self.audit_entry("account.update", id.as_str(), Value::Object(changes));
        let not_found = || ApiError::new(ErrorCode::NotFound, "no such account");
        let updated = self.store.update_account(&id, update, entry).await;
        self.engine.key_cache.forget_account(&id);
        updated?.ok_or_else(not_found)
    }

    /// A key by id (masked).
    pub async fn key(&self, id: &str) -> Result<ApiKey, ApiError> {
        let not_found = || ApiError::new(ErrorCode::NotFound, "no such key");
        let id: KeyId = id.parse().map_err(|_| not_found())?;
        self.store.key(&id).await?.ok_or_else(not_found)
    }

    /// Changes a key's name, disabled flag or limits; each field is checked as at creation.
    pub async fn update_key(&self, id: &str, patch: KeyPatch) -> Result<ApiKey, ApiError> {
        let before = self.key(id).await?;
        for (field, value) in [("account_id", &patch.account_id), ("mode", &patch.mode)] {
            if value.is_some() {
                return Err(bad(field, format!("{field} cannot be changed; create a new key instead")));
            }
        }
        if before.revoked_at.is_some() {
            return Err(ApiError::new(ErrorCode::InvalidParam, format!("key {} is revoked", before.id)));
        }
        let name = no_null("name", patch.name)?;
        if let Some(n) = &name {
            check_name(n)?;
        }
        let disabled = no_null("disabled", patch.disabled)?;
        // The creation checks, on the fields present (a null one checks as absent).
        let proposed = NewKeyRequest {
            account_id: before.account_id.to_string(),
            name: String::new(),
            mode: before.mode.as_str().to_owned(),
            quota_usd: patch.quota_usd.flatten(),
            spend_limits: patch.spend_limits.clone().flatten(),
            concurrency_limit: patch.concurrency_limit.flatten(),
            models: patch.models.clone().flatten(),
            expires_at: patch.expires_at.clone().flatten(),
            ip_allow: patch.ip_allow.clone().flatten(),
        };
        let checked = self.key_limits(&proposed)?;
        let mut limits = before.limits.clone();
        if patch.quota_usd.is_some() {
            limits.quota = checked.quota;
        }
        if patch.spend_limits.is_some() {
            limits.spend = checked.spend;
        }
        if patch.concurrency_limit.is_some() {
            limits.concurrency = checked.concurrency;
        }
        if patch.models.is_some() {
            limits.models = checked.models;
        }
        if patch.expires_at.is_some() {
            limits.expires_at = checked.expires_at;
        }
        if patch.ip_allow.is_some() {
            limits.ip_allow = checked.ip_allow;
        }
        let update = KeyUpdate {
            name: name.unwrap_or_else(|| before.name.clone()),
            disabled: disabled.unwrap_or(before.disabled),
            limits,
        };
        let after = ApiKey {
            name: update.name.clone(),
            disabled: update.disabled,
            limits: update.limits.clone(),
            ..before.clone()
        };
        let changes = changed(&key_fields(&before), &key_fields(&after));
        if changes.is_empty() {
            return Ok(before);
        }
        let entry = self.audit_entry("key.update", before.id.as_str(), Value::Object(changes));
        let gone = || ApiError::new(ErrorCode::InvalidParam, format!("key {} is revoked", before.id));
        let updated = self.store.update_key(&before.id, update, entry).await;
        self.engine.key_cache.forget(&before.id);
        updated?.ok_or_else(gone)
    }

    /// The audit list newest first, of one target if given, `limit` (1–100, default 20)
    /// entries older than the entry id `after`.
    pub async fn audit_entries(
        &self,
        target_id: Option<&str>,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<Page<AuditEntry>, ApiError> {
        let limit = page_limit(limit)?;
        let before = match after {
            Some(a) => Some(
                a.strip_prefix(AUDIT_ID_PREFIX)
                    .and_then(|n| n.parse::<i64>().ok())
                    .ok_or_else(|| bad("after", "after must be an audit entry id"))?,
            ),
            None => None,
        };
        let filter = AuditFilter { target_id: target_id.map(str::to_owned), before, limit: limit + 1 };
        let mut items = self.store.audit_entries(&filter).await?;
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok(Page { items, has_more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fields_that_differ_are_changes() {
        let before = json!({"name": "a", "quota_usd": null, "models": ["x"]});
        let after = json!({"name": "a", "quota_usd": 5, "models": null});
        let (Value::Object(b), Value::Object(a)) = (before, after) else { unreachable!() };
        assert_eq!(Value::Object(changed(&b, &a)), json!({"quota_usd": 5, "models": null}));
    }

    #[test]
    fn a_patch_tells_absent_from_null() {
        let p: KeyPatch = serde_json::from_value(json!({"quota_usd": null, "name": "n"})).unwrap();
        assert_eq!(p.quota_usd, Some(None));
        assert_eq!(p.name, Some(Some("n".to_owned())));
        assert_eq!(p.concurrency_limit, None);
    }
}
