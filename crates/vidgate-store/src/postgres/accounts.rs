//! Accounts, keys, settings, bootstrap and credits on PostgreSQL. A credit locks its
//! account row, so a debit's balance check and its write are one step against concurrent
//! submits and settlements.

use sqlx::{Postgres, Transaction};
use vidgate_domain::{AccountId, KeyId, Usd};

use super::PgStore;
use super::rows;
use crate::model::*;
use crate::{Result, StoreError};

impl PgStore {
    pub(super) async fn bootstrap_impl(&self, plan: BootstrapPlan) -> Result<Bootstrap> {
        let mut tx = self.write().await?;
        // The marker goes in first: a second process bootstrapping at the same moment waits
        // on this row, then finds it and creates nothing.
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

    pub(super) async fn create_account_impl(
        &self,
        id: &AccountId,
        name: &str,
        secret: &str,
        now: Millis,
    ) -> Result<Account> {
        let mut tx = self.write().await?;
        insert_account(&mut tx, id, name, secret, now).await?;
        tx.commit().await?;
        self.account_impl(id).await?.ok_or(StoreError::NotFound)
    }

    pub(super) async fn account_impl(&self, id: &AccountId) -> Result<Option<Account>> {
        let row =
            sqlx::query("SELECT * FROM accounts WHERE id = $1").bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::account).transpose()
    }

    pub(super) async fn set_webhook_secret_impl(&self, id: &AccountId, secret: &str) -> Result<Account> {
        let done = sqlx::query("UPDATE accounts SET webhook_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.account_impl(id).await?.ok_or(StoreError::NotFound)
    }

    pub(super) async fn add_credit_impl(
        &self,
        id: &AccountId,
        amount: Usd,
        note: &str,
        now: Millis,
    ) -> Result<Account> {
        let mut tx = self.write().await?;
        let (credited, held, spent): (i64, i64, i64) =
            sqlx::query_as("SELECT credited_micros, held_micros, spent_micros FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        // A debit may take the balance to zero, never below: open holds stay covered.
        let available = Usd(credited).minus(Usd(held)).minus(Usd(spent));
        if amount < Usd::ZERO && available.plus(amount) < Usd::ZERO {
            return Err(StoreError::InsufficientBalance { available });
        }
        sqlx::query("UPDATE accounts SET credited_micros = credited_micros + $1 WHERE id = $2")
            .bind(amount.micros())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        ledger(&mut tx, id, None, None, LedgerKind::Credit, amount, note, now).await?;
        tx.commit().await?;
        self.account_impl(id).await?.ok_or(StoreError::NotFound)
    }

    pub(super) async fn create_key_impl(&self, key: NewKey, now: Millis) -> Result<ApiKey> {
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
        self.key_impl(&key.id).await?.ok_or(StoreError::NotFound)
    }

    pub(super) async fn key_impl(&self, id: &KeyId) -> Result<Option<ApiKey>> {
        let row =
            sqlx::query("SELECT * FROM api_keys WHERE id = $1").bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    pub(super) async fn keys_impl(&self, account: Option<&AccountId>) -> Result<Vec<ApiKey>> {
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

    pub(super) async fn revoke_key_impl(&self, id: &KeyId, now: Millis) -> Result<Option<ApiKey>> {
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        self.key_impl(id).await
    }
}

async fn insert_account(
    tx: &mut Transaction<'static, Postgres>,
    id: &AccountId,
    name: &str,
    secret: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query("INSERT INTO accounts (id, name, webhook_secret, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.as_str())
        .bind(name)
        .bind(secret)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_key(tx: &mut Transaction<'static, Postgres>, key: &NewKey, now: Millis) -> Result<()> {
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

/// Appends one ledger entry. The ledger is append-only: nothing updates or deletes it.
/// The caller holds the account's row lock (see migrations/postgres/0001_init.sql).
#[allow(clippy::too_many_arguments)]
pub(super) async fn ledger(
    tx: &mut Transaction<'static, Postgres>,
    account: &AccountId,
    task: Option<&str>,
    key: Option<&str>,
    kind: LedgerKind,
    amount: Usd,
    note: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ledger (account_id, task_id, key_id, kind, amount_micros, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account.as_str())
    .bind(task)
    .bind(key)
    .bind(kind.as_str())
    .bind(amount.micros())
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
