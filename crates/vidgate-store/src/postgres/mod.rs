//! The PostgreSQL store: one database shared by any number of gateway processes.
//!
//! The SQLite store serialises every read-check-write with `BEGIN IMMEDIATE` (one writer
//! for the whole file). PostgreSQL runs transactions side by side (READ COMMITTED), so each
//! sequence takes the row locks it depends on instead:
//!
//! - submit locks the account row, then the key row (`SELECT … FOR UPDATE`): submits of one
//!   account queue behind each other, so balance, quota, spend windows and the concurrency
//!   cap are read after the previous submit committed and can never be overspent; the
//!   idempotency key is inserted with `ON CONFLICT DO NOTHING` so a duplicate that slips
//!   past the check still answers Replayed or Conflict, never an error;
//! - finish locks the task row, then (through its `UPDATE`s) the account and key rows, so
//!   the compare-and-set on `phase <> 'done'` and the settlement are one step;
//! - credits lock the account row;
//! - claims take due rows with `FOR UPDATE SKIP LOCKED`; submits are claimed under a
//!   transaction-scoped advisory lock so the per-provider caps count exactly (claim.rs);
//! - bootstrap inserts its marker with `ON CONFLICT DO NOTHING`, and migrations run under
//!   an advisory lock, so replicas starting together do each once.
//! - the retention sweeper claims its batch with a lease under `SKIP LOCKED` (retention.rs);
//! - changes are announced to every replica at commit by triggers, and heard on a
//!   `LISTEN` connection of its own (listen.rs).
//!
//! Locks are always taken in the order task → account → key, so these never deadlock.
//! The SQL is the SQLite side's wherever it can be; the differences are noted where they
//! occur (placeholders `$n`, BOOLEAN flags, JSONB, `SUM(…)::BIGINT`, `= ANY($n)` lists).

mod accounts;
mod claim;
mod deletion;
mod guide_images;
mod listen;
mod management;
mod money;
mod reclaim;
mod reroute;
mod retention;
mod rows;
mod submits;
mod tasks;
mod upstreams;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

use crate::model::*;
use crate::money::{KeyStatus, LedgerEntry, UsageQuery, UsageRow};
use crate::webhooks::{ClaimedWebhook, WebhookAttempt, WebhookDeliveries};
use crate::{Result, Store, StoreError};

/// The migrations, in order, numbered as the SQLite ones (a schema change adds the same
/// version to both lists). All pending ones run in one transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_webhook_attempts.sql")),
    (3, include_str!("../../migrations/postgres/0003_money.sql")),
    (4, include_str!("../../migrations/postgres/0004_deleted_tasks.sql")),
    (5, include_str!("../../migrations/postgres/0005_replicas.sql")),
    (40, include_str!("../../migrations/postgres/0040_claim_indexes.sql")),
    (41, include_str!("../../migrations/postgres/0041_key_announcements.sql")),
    (50, include_str!("../../migrations/postgres/0050_management.sql")),
    (51, include_str!("../../migrations/postgres/0051_key_cache_announcements.sql")),
    (52, include_str!("../../migrations/postgres/0052_usage_index.sql")),
    (80, include_str!("../../migrations/postgres/0080_guide_images.sql")),
    (90, include_str!("../../migrations/postgres/0090_upstream_controls.sql")),
];

/// How many migrations this version knows (each is recorded once in `schema_migrations`).
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// Advisory lock keys (one namespace per database): the migrations, and the claiming of
/// submits (claim.rs). Arbitrary constants ("vgmigr" / "vgclaim" in ASCII).
const MIGRATION_LOCK: i64 = 0x7667_6d69_6772;
pub(super) const CLAIM_LOCK: i64 = 0x0076_6763_6c61_696d;

/// Connections per process: the engine's steps and the HTTP handlers each hold one only
/// for a statement or a short transaction.
const MAX_CONNECTIONS: u32 = 16;

/// The queries on the hot paths, by name: the engine's claim and a client's poll (its key
/// and its task). Their plans are checked to use indexes and never scan `tasks`
/// (`tests/postgres.rs`).
pub fn hot_queries() -> Vec<(&'static str, String)> {
    vec![
        ("claim: due polls", claim::DUE_POLLS.clone()),
        ("claim: slots held", claim::HELD.to_owned()),
        ("claim: providers with submits", claim::PROVIDERS.to_owned()),
        ("claim: each account's due submits", claim::HEADS.to_owned()),
        ("poll: the key", "SELECT * FROM api_keys WHERE id = $1".to_owned()),
        ("poll: the task", tasks::TASK_BY_ID.clone()),
    ]
}

/// A [`Store`] on one PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=…`) and
    /// brings the schema up to date. The database must exist.
    pub async fn open(url: &str) -> Result<PgStore> {
        let mut options = PgConnectOptions::from_str(url)?;
        if options.get_application_name().is_none() {
            options = options.application_name("vidgate");
        }
        // One plain connection first: a wrong host or password fails at once with the
        // server's reason (a pool would retry until its timeout and report only that).
        let mut conn = PgConnection::connect_with(&options).await?;
        migrate(&mut conn).await?;
        conn.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options);
        Ok(PgStore { pool })
    }

    /// A transaction (READ COMMITTED); the caller takes the row locks it relies on.
    async fn write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

/// Brings the schema up to date.
async fn migrate(conn: &mut PgConnection) -> Result<()> {
    let mut tx = conn.begin().await?;
    // Several processes may start at once: the first migrates, the others wait here and
    // then find every version applied.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)").execute(&mut *tx).await?;
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_none() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn bootstrap(&self, plan: BootstrapPlan) -> Result<Bootstrap> {
        self.bootstrap_impl(plan).await
    }
    async fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }
    async fn create_account(&self, id: &AccountId, name: &str, secret: &str, now: Millis) -> Result<Account> {
        self.create_account_impl(id, name, secret, now).await
    }
    async fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        self.account_impl(id).await
    }
    async fn set_webhook_secret(&self, id: &AccountId, secret: &str) -> Result<Account> {
        self.set_webhook_secret_impl(id, secret).await
    }
    async fn add_credit(&self, id: &AccountId, amount: Usd, note: &str, now: Millis) -> Result<Account> {
        self.add_credit_impl(id, amount, note, now).await
    }
    async fn create_key(&self, key: NewKey, now: Millis) -> Result<ApiKey> {
        self.create_key_impl(key, now).await
    }
    async fn key(&self, id: &KeyId) -> Result<Option<ApiKey>> {
        self.key_impl(id).await
    }
    async fn keys(&self, account: Option<&AccountId>) -> Result<Vec<ApiKey>> {
        self.keys_impl(account).await
    }
    async fn revoke_key(&self, id: &KeyId, now: Millis) -> Result<Option<ApiKey>> {
        self.revoke_key_impl(id, now).await
    }
    async fn submit(&self, task: NewTask, checks: SubmitChecks) -> Result<SubmitOutcome> {
        self.submit_impl(task, checks).await
    }
    async fn task(&self, id: &TaskId) -> Result<Option<Task>> {
        self.task_impl(id).await
    }
    async fn task_by_out_id(&self, account: &AccountId, mode: Mode, out: &str) -> Result<Option<Task>> {
        self.task_by_out_id_impl(account, mode, out).await
    }
    async fn source_image(&self, id: &TaskId) -> Result<Option<SourceImage>> {
        self.source_image_impl(id).await
    }
    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.tasks_impl(filter).await
    }
    async fn in_flight_for_key(&self, key: &KeyId) -> Result<u32> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE key_id = $1 AND phase <> 'done'")
            .bind(key.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u32)
    }
    async fn claim(
        &self,
        owner: &str,
        now: Millis,
        lease: Millis,
        limit: u32,
        caps: &ProviderCaps,
    ) -> Result<Vec<Claimed>> {
        Ok(self.claim_batch_impl(owner, now, lease, limit, caps).await?.claimed)
    }
    async fn mark_submitting(&self, id: &TaskId, token: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET submitting = TRUE, submit_attempts = submit_attempts + 1 \
             WHERE id = $1 AND lease_token = $2 AND phase = 'submit'",
        )
        .bind(id.as_str())
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
    async fn release_leases(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tasks SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1 AND phase <> 'done'",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
    async fn open_task_counts(&self) -> Result<Vec<(String, vidgate_domain::task::TaskStatus, u32)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT provider, status, COUNT(*) FROM tasks WHERE phase <> 'done' GROUP BY provider, status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(p, s, n)| {
                let status = vidgate_domain::task::TaskStatus::parse(&s)
                    .ok_or_else(|| StoreError::Corrupt(format!("status {s}")))?;
                Ok((p, status, n as u32))
            })
            .collect()
    }
    async fn in_flight_by_provider(&self) -> Result<Vec<(String, u32)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT provider, COUNT(*) FROM tasks WHERE phase IN ('poll', 'fetch') GROUP BY provider ORDER BY provider",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p, n)| (p, n as u32)).collect())
    }
    async fn heartbeat(&self, id: &TaskId, token: i64, until: Millis) -> Result<bool> {
        let done =
            sqlx::query("UPDATE tasks SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND phase <> 'done'")
                .bind(until)
                .bind(id.as_str())
                .bind(token)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
    async fn save_step(&self, id: &TaskId, token: i64, update: StepUpdate, now: Millis) -> Result<bool> {
        self.save_step_impl(id, token, update, now).await
    }
    async fn finish(&self, id: &TaskId, token: Option<i64>, end: Terminal, now: Millis) -> Result<Option<Task>> {
        self.finish_impl(id, token, end, now).await
    }
    async fn files_due_for_removal(&self, now: Millis, limit: u32) -> Result<Vec<TaskId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE NOT files_expired AND files_expire_at IS NOT NULL AND files_expire_at <= $1 \
             ORDER BY files_expire_at LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|s| rows::parse_id(s)).collect()
    }
    async fn mark_files_expired(&self, id: &TaskId) -> Result<()> {
        sqlx::query("UPDATE tasks SET files_expired = TRUE, version = version + 1 WHERE id = $1 AND NOT files_expired")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn ledger_totals(&self, account: &AccountId) -> Result<Vec<(LedgerKind, Usd)>> {
        self.ledger_totals_impl(account).await
    }
    async fn claim_webhooks(&self, owner: &str, now: Millis, lease: Millis, limit: u32) -> Result<Vec<ClaimedWebhook>> {
        self.claim_webhooks_impl(owner, now, lease, limit).await
    }
    async fn record_webhook_attempt(&self, id: &str, token: i64, attempt: WebhookAttempt) -> Result<bool> {
        self.record_webhook_attempt_impl(id, token, attempt).await
    }
    async fn release_webhook_leases(&self, owner: &str) -> Result<u64> {
        self.release_webhook_leases_impl(owner).await
    }
    async fn webhook_deliveries(&self, task: &TaskId) -> Result<Vec<WebhookDeliveries>> {
        self.webhook_deliveries_impl(task).await
    }
    async fn key_status(&self, key: &KeyId, now: Millis) -> Result<Option<KeyStatus>> {
        self.key_status_impl(key, now).await
    }
    async fn ledger_entries(&self, account: &AccountId, after: Option<i64>, limit: u32) -> Result<Vec<LedgerEntry>> {
        self.ledger_entries_impl(account, after, limit).await
    }
    async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRow>> {
        self.usage_impl(query).await
    }
    async fn delete_task(&self, id: &TaskId, now: Millis) -> Result<bool> {
        self.delete_task_impl(id, now).await
    }
    async fn reroute(&self, id: &TaskId, token: i64, route: crate::Reroute, now: Millis) -> Result<bool> {
        self.reroute_impl(id, token, route, now).await
    }
    async fn claim_files_for_removal(&self, now: Millis, lease: Millis, limit: u32) -> Result<Vec<TaskId>> {
        self.claim_files_for_removal_impl(now, lease, limit).await
    }
    async fn listen(&self) -> Result<Option<Box<dyn crate::ChangeFeed>>> {
        Ok(Some(self.listen_impl().await?))
    }
    async fn submit_not_sent(&self, id: &TaskId, token: i64) -> Result<bool> {
        self.submit_not_sent_impl(id, token).await
    }
    async fn reclaim_stale_leases_at_startup(&self) -> Result<Option<u64>> {
        self.reclaim_stale_leases_at_startup_impl().await
    }
    async fn accounts(&self, filter: &crate::AccountFilter) -> Result<Vec<Account>> {
        self.accounts_impl(filter).await
    }
    async fn update_account(
        &self,
        id: &AccountId,
        update: crate::AccountUpdate,
        audit: crate::NewAudit,
    ) -> Result<Option<Account>> {
        self.update_account_impl(id, update, audit).await
    }
    async fn update_key(&self, id: &KeyId, update: crate::KeyUpdate, audit: crate::NewAudit) -> Result<Option<ApiKey>> {
        self.update_key_impl(id, update, audit).await
    }
    async fn record_audit(&self, entry: crate::NewAudit) -> Result<()> {
        self.record_audit_impl(entry).await
    }
    async fn audit_entries(&self, filter: &crate::AuditFilter) -> Result<Vec<crate::AuditEntry>> {
        self.audit_entries_impl(filter).await
    }
    async fn claim_batch(
        &self,
        owner: &str,
        now: Millis,
        lease: Millis,
        limit: u32,
        caps: &ProviderCaps,
    ) -> Result<crate::ClaimBatch> {
        self.claim_batch_impl(owner, now, lease, limit, caps).await
    }
    async fn guide_images(&self, id: &TaskId) -> Result<Vec<crate::GuideImage>> {
        self.guide_images_impl(id).await
    }
}
