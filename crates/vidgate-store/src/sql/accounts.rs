//! Bootstrap, settings, accounts and keys, and their management with the audit list, for
//! both backends (a shared module; see the crate docs). A change and its audit entry are
//! written in one transaction, so the list never misses a change.

use sqlx::Row;
use vidgate_domain::{AccountId, KeyId};

use super::{Backend, Tx, dialect, rows};
use crate::model::*;
use crate::{AccountStore, Result, StoreError};

/// A key by id (every authenticated request).
pub const KEY_BY_ID: &str = "SELECT * FROM api_keys WHERE id = $1";

#[async_trait::async_trait]
impl AccountStore for Backend {
    async fn bootstrap(&self, plan: BootstrapPlan) -> Result<Bootstrap> {
        let mut tx = self.write().await?;
        // The marker goes in first: a second process bootstrapping at the same moment waits
        // on this row (PostgreSQL), or on the write lock (SQLite), then finds it and creates
        // nothing.
        let marked =
            sqlx::query("INSERT INTO settings (name, value) VALUES ('bootstrapped', $1) ON CONFLICT (name) DO NOTHING")
                .bind(plan.now.to_string())
                .execute(&mut *tx)
                .await?;
        if marked.rows_affected() == 0 {
            return Ok(Bootstrap::Existing);
        }
        for (name, value) in [("admin_token_hash", &plan.admin_token_hash), ("signing_key", &plan.signing_key)] {
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2)")
                .bind(name)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        insert_account(&mut tx, &plan.account.0, &plan.account.1, &plan.webhook_secret, plan.now).await?;
        insert_key(&mut tx, &plan.test_key, plan.now).await?;
        tx.commit().await?;
        Ok(Bootstrap::Created)
    }

    async fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn create_account(&self, id: &AccountId, name: &str, secret: &str, now: Millis) -> Result<Account> {
        let mut tx = self.write().await?;
        insert_account(&mut tx, id, name, secret, now).await?;
        tx.commit().await?;
        self.account(id).await?.ok_or(StoreError::NotFound)
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        let row =
            sqlx::query("SELECT * FROM accounts WHERE id = $1").bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn set_webhook_secret(&self, id: &AccountId, secret: &str) -> Result<Account> {
        let done = sqlx::query("UPDATE accounts SET webhook_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(id.as_str())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.account(id).await?.ok_or(StoreError::NotFound)
    }

    async fn create_key(&self, key: NewKey, now: Millis) -> Result<ApiKey> {
        let mut tx = self.write().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
            .bind(key.account_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        insert_key(&mut tx, &key, now).await?;
        tx.commit().await?;
        self.key(&key.id).await?.ok_or(StoreError::NotFound)
    }

    async fn key(&self, id: &KeyId) -> Result<Option<ApiKey>> {
        let row = sqlx::query(KEY_BY_ID).bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn keys(&self, account: Option<&AccountId>) -> Result<Vec<ApiKey>> {
        let rows = match account {
            Some(a) => {
                sqlx::query("SELECT * FROM api_keys WHERE account_id = $1 ORDER BY id")
                    .bind(a.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query("SELECT * FROM api_keys ORDER BY id").fetch_all(&self.pool).await?,
        };
        rows.iter().map(rows::api_key).collect()
    }

    async fn revoke_key(&self, id: &KeyId, now: Millis) -> Result<Option<ApiKey>> {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id.as_str())
            .execute(self.writer())
            .await?;
        self.key(id).await
    }

    async fn accounts(&self, filter: &AccountFilter) -> Result<Vec<Account>> {
        let sql = format!(
            "SELECT * FROM accounts WHERE (CAST($1 AS TEXT) IS NULL OR {}(name, $1) > 0) \
             AND (CAST($2 AS TEXT) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
            dialect::POSITION_OF
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.name_contains.as_deref())
            .bind(filter.after.as_ref().map(AccountId::as_str))
            .bind(i64::from(filter.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::account).collect()
    }

    async fn update_account(&self, id: &AccountId, update: AccountUpdate, audit: NewAudit) -> Result<Option<Account>> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE accounts SET name = $1, suspended = $2 WHERE id = $3")
            .bind(&update.name)
            .bind(update.suspended)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        self.account(id).await
    }

    async fn update_key(&self, id: &KeyId, update: KeyUpdate, audit: NewAudit) -> Result<Option<ApiKey>> {
        let l = &update.limits;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_keys SET name = $1, disabled = $2, quota_micros = $3, spend_limits = $4, \
             concurrency_limit = $5, models = $6, expires_at = $7, ip_allow = $8 WHERE id = $9 AND revoked_at IS NULL",
        )
        .bind(&update.name)
        .bind(update.disabled)
        .bind(l.quota.map(|q| q.micros()))
        .bind(rows::to_json(&l.spend))
        .bind(l.concurrency.map(i64::from))
        .bind(l.models.as_ref().map(rows::to_json))
        .bind(l.expires_at)
        .bind(rows::to_json(&l.ip_allow))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        insert_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        self.key(id).await
    }

    async fn record_audit(&self, entry: NewAudit) -> Result<()> {
        let mut tx = self.write().await?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, created_at, actor, action, target_id, changes FROM audit_log \
             WHERE (CAST($1 AS TEXT) IS NULL OR target_id = $1) AND (CAST($2 AS BIGINT) IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(filter.target_id.as_deref())
        .bind(filter.before)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target_id: row.try_get("target_id")?,
                    changes: row.try_get("changes")?,
                    at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

async fn insert_account(tx: &mut Tx, id: &AccountId, name: &str, secret: &str, now: Millis) -> Result<()> {
    sqlx::query("INSERT INTO accounts (id, name, webhook_secret, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.as_str())
        .bind(name)
        .bind(secret)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_key(tx: &mut Tx, key: &NewKey, now: Millis) -> Result<()> {
    let l = &key.limits;
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, mode, hash, masked, quota_micros, spend_limits, \
         concurrency_limit, models, expires_at, ip_allow, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(key.id.as_str())
    .bind(key.account_id.as_str())
    .bind(&key.name)
    .bind(key.mode.as_str())
    .bind(&key.hash)
    .bind(&key.masked)
    .bind(l.quota.map(|q| q.micros()))
    .bind(rows::to_json(&l.spend))
    .bind(l.concurrency.map(i64::from))
    .bind(l.models.as_ref().map(rows::to_json))
    .bind(l.expires_at)
    .bind(rows::to_json(&l.ip_allow))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_audit(tx: &mut Tx, entry: &NewAudit) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (created_at, actor, action, target_id, changes) VALUES ($1, $2, $3, $4, $5)")
        .bind(entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target_id)
        .bind(rows::to_json(&entry.changes))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
