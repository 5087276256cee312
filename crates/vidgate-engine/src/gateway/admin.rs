//! The management operations (docs/api.md §12): accounts, credits, keys, task search.

use base64::Engine as _;
use rand::RngExt;
use serde::Deserialize;
use utoipa::ToSchema;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, ErrorCode, KeyId, RequestError, Usd};
use vidgate_store::{Account, ApiKey, KeyLimits, NewKey, SpendLimits};

use super::auth::generate_key;
use super::{ApiError, Gateway};
use crate::clock::now_ms;

/// Longest account or key name.
pub const MAX_NAME_CHARS: usize = 200;
/// Largest credit or debit in one entry. JSON numbers arrive as doubles, which carry every
/// decimal of up to 15 significant digits exactly; up to 10^8 USD that covers all six
/// decimals, so an accepted amount is exactly the one sent.
pub const MAX_CREDIT: Usd = Usd(100_000_000 * 1_000_000);

/// Rolling spend caps as sent by an operator.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendLimitsInput {
    #[serde(rename = "5h")]
    #[schema(value_type = Option<f64>)]
    pub h5: Option<Usd>,
    #[serde(rename = "1d")]
    #[schema(value_type = Option<f64>)]
    pub d1: Option<Usd>,
    #[serde(rename = "7d")]
    #[schema(value_type = Option<f64>)]
    pub d7: Option<Usd>,
}

/// `POST /admin/v1/keys`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    #[schema(pattern = "^acct_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub account_id: String,
    /// 1 to 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// `live` or `test`.
    #[schema(pattern = "^(live|test)$")]
    pub mode: String,
    #[schema(value_type = Option<f64>)]
    pub quota_usd: Option<Usd>,
    pub spend_limits: Option<SpendLimitsInput>,
    #[schema(minimum = 1)]
    pub concurrency_limit: Option<u32>,
    pub models: Option<Vec<String>>,
    /// RFC 3339.
    pub expires_at: Option<String>,
    /// IP addresses or CIDR ranges.
    pub ip_allow: Option<Vec<String>>,
}

pub(super) fn bad(param: &str, message: impl Into<String>) -> ApiError {
    RequestError::param(ErrorCode::InvalidParam, param, message).into()
}

pub(super) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(bad("name", format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(())
}

/// A new `whsec_` webhook secret (32 random bytes).
pub fn new_webhook_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

pub(super) fn account_id(id: &str) -> Result<AccountId, ApiError> {
    id.parse().map_err(|_| ApiError::new(ErrorCode::NotFound, "no such account"))
}

impl Gateway {
    /// Creates an account with a zero balance.
    pub async fn create_account(&self, name: &str) -> Result<Account, ApiError> {
        check_name(name)?;
        let account = self.store.create_account(&AccountId::generate(), name, &new_webhook_secret(), now_ms()).await?;
        self.audit("account.create", account.id.as_str(), serde_json::json!({"name": account.name})).await?;
        Ok(account)
    }

    /// An account by id.
    pub async fn account(&self, id: &str) -> Result<Account, ApiError> {
        self.store.account(&account_id(id)?).await?.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such account"))
    }

    /// Replaces an account's webhook secret.
    pub async fn rotate_webhook_secret(&self, id: &str) -> Result<Account, ApiError> {
        let id = account_id(id)?;
        self.account(id.as_str()).await?;
        let account = self.store.set_webhook_secret(&id, &new_webhook_secret()).await?;
        // The secret itself never goes into the audit list.
        self.audit("account.rotate_webhook_secret", id.as_str(), serde_json::json!({})).await?;
        Ok(account)
    }

    /// Adds (or, with a negative amount, removes) money: one ledger entry. A removal may
    /// take the balance to zero but not below (open holds stay covered): beyond that it is
    /// 402 `insufficient_balance`, leaving nothing behind.
    pub async fn add_credit(&self, id: &str, amount: Usd, note: &str) -> Result<Account, ApiError> {
        let id = account_id(id)?;
        self.account(id.as_str()).await?;
        if amount == Usd::ZERO {
            return Err(bad("amount_usd", "amount_usd must not be zero"));
        }
        if amount.micros().unsigned_abs() > MAX_CREDIT.micros().unsigned_abs() {
            return Err(bad("amount_usd", format!("amount_usd must be at most {MAX_CREDIT} USD either way")));
        }
        if note.chars().count() > 1000 {
            return Err(bad("note", "note must be at most 1000 characters"));
        }
        match self.store.add_credit(&id, amount, note, now_ms()).await {
            Err(vidgate_store::StoreError::InsufficientBalance { available }) => {
                let removing = Usd(amount.micros().saturating_neg());
                let msg =
                    format!("removing {removing} USD would take the balance below zero ({available} USD available)");
                Err(RequestError::param(ErrorCode::InsufficientBalance, "amount_usd", msg).into())
            }
            other => {
                let account = other?;
                let changes = serde_json::json!({"amount_usd": amount, "note": note});
                self.audit("account.credit", id.as_str(), changes).await?;
                Ok(account)
            }
        }
    }

    /// Creates a key; returns it with the only copy of the secret.
    pub async fn create_key(&self, req: NewKeyRequest) -> Result<(ApiKey, String), ApiError> {
        check_name(&req.name)?;
        let account = account_id(&req.account_id).map_err(|_| bad("account_id", "no such account"))?;
        self.store.account(&account).await?.ok_or_else(|| bad("account_id", "no such account"))?;
        let mode = Mode::parse(&req.mode).ok_or_else(|| bad("mode", "mode must be \"live\" or \"test\""))?;
        let limits = self.key_limits(&req)?;
        let id = KeyId::generate();
        let (secret, hash, masked) = generate_key(&id, mode);
        let key = NewKey { id, account_id: account, name: req.name.clone(), mode, hash, masked, limits };
        let key = self.store.create_key(key, now_ms()).await?;
        let mut changes = super::management::key_fields(&key);
        changes.insert("account_id".into(), key.account_id.as_str().into());
        changes.insert("mode".into(), key.mode.as_str().into());
        self.audit("key.create", key.id.as_str(), serde_json::Value::Object(changes)).await?;
        Ok((key, secret))
    }

    pub(super) fn key_limits(&self, req: &NewKeyRequest) -> Result<KeyLimits, ApiError> {
        let positive = |v: Option<Usd>, p: &str| match v {
            Some(u) if u <= Usd::ZERO => Err(bad(p, format!("{p} must be positive"))),
            _ => Ok(v),
        };
        let spend = req.spend_limits.clone().unwrap_or_default();
        let spend = SpendLimits {
            h5: positive(spend.h5, "spend_limits.5h")?,
            d1: positive(spend.d1, "spend_limits.1d")?,
            d7: positive(spend.d7, "spend_limits.7d")?,
        };
        if let Some(models) = &req.models
            && let Some(m) = models.iter().find(|m| self.catalog.resolve(m).is_none())
        {
            return Err(bad("models", format!("unknown model {m}")));
        }
        let models = req
            .models
            .as_ref()
            .map(|ms| ms.iter().map(|m| self.catalog.resolve(m).expect("checked").id.clone()).collect());
        let expires_at = match &req.expires_at {
            Some(t) => Some(parse_time(t).ok_or_else(|| bad("expires_at", "expires_at must be an RFC 3339 time"))?),
            None => None,
        };
        let ip_allow = req.ip_allow.clone().unwrap_or_default();
        if let Some(bad_ip) = ip_allow.iter().find(|c| crate::ipnet::parse_cidr(c).is_none()) {
            return Err(bad("ip_allow", format!("{bad_ip:?} is not an IP address or CIDR range")));
        }
        if req.concurrency_limit == Some(0) {
            return Err(bad("concurrency_limit", "concurrency_limit must be positive"));
        }
        Ok(KeyLimits {
            quota: positive(req.quota_usd, "quota_usd")?,
            spend,
            concurrency: req.concurrency_limit,
            models,
            expires_at,
            ip_allow,
        })
    }

    /// Revokes a key (idempotent).
    pub async fn revoke_key(&self, id: &str) -> Result<ApiKey, ApiError> {
        let id: KeyId = id.parse().map_err(|_| ApiError::new(ErrorCode::NotFound, "no such key"))?;
        let not_found = || ApiError::new(ErrorCode::NotFound, "no such key");
        let before = self.store.key(&id).await?.ok_or_else(not_found)?;
        let key = self.store.revoke_key(&id, now_ms()).await?;
        self.engine.key_cache.forget(&id);
        let key = key.ok_or_else(not_found)?;
        // Revoking again changes nothing, so only the first revocation is recorded.
        if before.revoked_at.is_none()
            && let Some(at) = key.revoked_at
        {
            self.audit("key.revoke", id.as_str(), serde_json::json!({"revoked_at": crate::clock::rfc3339(at)})).await?;
        }
        Ok(key)
    }
}

/// Parses RFC 3339 into epoch milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}
