//! The SQLite store: one database file in WAL mode. SQLite has a single writer, so every
//! write transaction starts with `BEGIN IMMEDIATE` (it takes the write lock up front and
//! waits for it, instead of failing half-way with SQLITE_BUSY); that is what makes the
//! read-check-write sequences below (idempotency, balance, claims) race-free.
//!
//! Writes go through one connection of their own (`writer`): writers of this process queue
//! for it in order, in process, instead of racing for SQLite's write lock and sleeping in
//! its busy handler. Reads use a pool of other connections and, in WAL mode, never wait
//! for a write. (The busy timeout remains for other processes opening the file, such as
//! the CLI.) A write statement must use `writer`; on a read connection it would still be
//! correct, but would race for the lock again.

mod accounts;
mod claim;
mod deletion;
mod guide_images;
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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

use crate::model::*;
use crate::money::{KeyStatus, LedgerEntry, UsageQuery, UsageRow};
use crate::webhooks::{ClaimedWebhook, WebhookAttempt, WebhookDeliveries};
use crate::{Result, Store, StoreError};

/// The migrations, in order. Each runs once, in its own transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_webhook_attempts.sql")),
    (3, include_str!("../../migrations/sqlite/0003_money.sql")),
    (4, include_str!("../../migrations/sqlite/0004_deleted_tasks.sql")),
    (5, include_str!("../../migrations/sqlite/0005_replicas.sql")),
    (40, include_str!("../../migrations/sqlite/0040_claim_indexes.sql")),
    (41, include_str!("../../migrations/sqlite/0041_key_announcements.sql")),
    (50, include_str!("../../migrations/sqlite/0050_management.sql")),
    (51, include_str!("../../migrations/sqlite/0051_key_cache_announcements.sql")),
    (52, include_str!("../../migrations/sqlite/0052_usage_index.sql")),
    (80, include_str!("../../migrations/sqlite/0080_guide_images.sql")),
    (90, include_str!("../../migrations/sqlite/0090_upstream_controls.sql")),
];

/// The queries on the hot paths, by name: the engine's claim and a client's poll (its key
/// and its task). Their plans are checked to use indexes and never scan `tasks`
/// (`tests/sqlite.rs`).
pub fn hot_queries() -> Vec<(&'static str, String)> {
    vec![
        ("claim: due polls", claim::DUE_POLLS.to_owned()),
        ("claim: slots held", claim::HELD.to_owned()),
        ("claim: providers with submits", claim::PROVIDERS.to_owned()),
        ("claim: each account's due submits", claim::HEADS.to_owned()),
        ("poll: the key", "SELECT * FROM api_keys WHERE id = ?".to_owned()),
        ("poll: the task", tasks::TASK_BY_ID.clone()),
    ]
}

/// A [`Store`] on one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    /// Reads.
    pool: SqlitePool,
    /// The shared lock every open store holds on the file (see `reclaim`).
    lock: std::sync::Arc<reclaim::FileLock>,
    /// The one connection every write goes through.
    writer: SqlitePool,
}

/// Read connections: polls, listings and the engine's reads run side by side on these.
const READERS: u32 = 8;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH` or a bare path)
    /// and brings its schema up to date.
    pub async fn open(url: &str) -> Result<SqliteStore> {
        let url = if url.starts_with("sqlite:") { url.to_owned() } else { format!("sqlite://{url}") };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let lock = std::sync::Arc::new(reclaim::FileLock::open(options.get_filename(), in_memory).await?);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let migrating = SqliteStore { pool: writer.clone(), lock: lock.clone(), writer };
        migrating.migrate().await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(READERS)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        // Every read connection is opened now and kept: a request never needs a new file
        // descriptor for the store, so reads go on when connections have used up the
        // process's open-file limit.
        let mut opened = Vec::with_capacity(READERS as usize);
        for _ in 0..READERS {
            opened.push(pool.acquire().await?);
        }
        drop(opened);
        Ok(SqliteStore { pool, lock, writer: migrating.writer })
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
            .execute(&mut *tx)
            .await?;
        for (version, sql) in MIGRATIONS {
            let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
            if done.is_none() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql)).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version) VALUES (?)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A write transaction holding SQLite's write lock from the start.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn bootstrap(&self, plan: BootstrapPlan) -> Result<Bootstrap> {
        self.bootstrap_impl(plan).await
    }
    async fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
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
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE key_id = ? AND phase <> 'done'")
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
            "UPDATE tasks SET submitting = 1, submit_attempts = submit_attempts + 1 \
             WHERE id = ? AND lease_token = ? AND phase = 'submit'",
        )
        .bind(id.as_str())
        .bind(token)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
    async fn release_leases(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tasks SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = ? AND phase <> 'done'",
        )
        .bind(owner)
        .execute(&self.writer)
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
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT provider, COUNT(*) FROM tasks WHERE phase IN ('poll', 'fetch') GROUP BY provider")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(p, n)| (p, n as u32)).collect())
    }
    async fn heartbeat(&self, id: &TaskId, token: i64, until: Millis) -> Result<bool> {
        let done = sqlx::query("UPDATE tasks SET lease_until = ? WHERE id = ? AND lease_token = ? AND phase <> 'done'")
            .bind(until)
            .bind(id.as_str())
            .bind(token)
            .execute(&self.writer)
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
            "SELECT id FROM tasks WHERE files_expired = 0 AND files_expire_at IS NOT NULL AND files_expire_at <= ? \
             ORDER BY files_expire_at LIMIT ?",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        ids.iter().map(|s| rows::parse_id(s)).collect()
    }
    async fn mark_files_expired(&self, id: &TaskId) -> Result<()> {
        sqlx::query("UPDATE tasks SET files_expired = 1, version = version + 1 WHERE id = ? AND files_expired = 0")
            .bind(id.as_str())
            .execute(&self.writer)
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
        // One process per SQLite file: its in-process notifications are all there is.
        Ok(None)
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
