//! Listing and changing accounts and keys, and the audit list, on PostgreSQL. A change and
//! its audit entry are written in one transaction, so the list never misses a change. The
//! same behaviour as `sqlite/management.rs`.

use sqlx::{Postgres, Row, Transaction};
use vidgate_domain::{AccountId, KeyId};

use super::PgStore;
use super::rows;
use crate::Result;
use crate::model::*;

impl PgStore {
    pub(super) async fn accounts_impl(&self, filter: &AccountFilter) -> Result<Vec<Account>> {
        let rows = sqlx::query(
            "SELECT * FROM accounts WHERE ($1::text IS NULL OR strpos(name, $1) > 0) \
             AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(filter.name_contains.as_deref())
        .bind(filter.after.as_ref().map(AccountId::as_str))
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::account).collect()
    }

    pub(super) async fn update_account_impl(
        &self,
        id: &AccountId,
        update: AccountUpdate,
        audit: NewAudit,
    ) -> Result<Option<Account>> {
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
        self.account_impl(id).await
    }

    pub(super) async fn update_key_impl(
        &self,
        id: &KeyId,
        update: KeyUpdate,
        audit: NewAudit,
    ) -> Result<Option<ApiKey>> {
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
        self.key_impl(id).await
    }

    pub(super) async fn record_audit_impl(&self, entry: NewAudit) -> Result<()> {
        let mut tx = self.write().await?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn audit_entries_impl(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, created_at, actor, action, target_id, changes FROM audit_log \
             WHERE ($1::text IS NULL OR target_id = $1) AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
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

async fn insert_audit(tx: &mut Transaction<'static, Postgres>, entry: &NewAudit) -> Result<()> {
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
