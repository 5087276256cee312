//! Durable state: the [`Store`] trait and its SQLite and PostgreSQL implementations
//! ([`open`] picks one by URL).
//!
//! The store owns every state change of a task and of money. Every change of a task is a
//! compare-and-set: steps carry the fencing token of their lease, and the one call that
//! moves a task to a terminal state ([`LeaseStore::finish`]) also settles its money in the
//! same transaction, so a task is settled exactly once whoever gets there first.
//! `conformance` (the `testkit` feature, for tests only) holds the suite every backend must
//! pass.
//!
//! # Layout
//!
//! [`Store`] is the sum of one trait per subject: [`AccountStore`] (accounts, keys,
//! settings, management and the audit list), [`TaskStore`] (a client's submit, reads and
//! deletes), [`LeaseStore`] (the engine's claims, steps, `finish` and failover),
//! [`MoneyStore`] (credits, key status, statements, usage), [`WebhookStore`] (the outbox)
//! and [`RetentionStore`] (expired files). Callers hold an `Arc<dyn Store>` and call any of
//! their methods on it.
//!
//! Each rule is written once. The decisions sit in plain modules with no SQL: `limits.rs`
//! (what a submit may not exceed), `settlement.rs` (what a terminal transition captures and
//! releases), `fair.rs` (who gets a provider's free slots). The SQL that reads and writes
//! the rows sits in `src/sql/`, one file per subject, written once for both databases:
//! `sqlite/mod.rs` and `postgres/mod.rs` each compile that folder as a module of their own
//! (`#[path = "../sql/mod.rs"] mod sql;`) against a few names they define (`Backend`,
//! `Tx`, `DbRow`, `writer()`, `write()`), so the same source becomes SQLite code in one
//! place and PostgreSQL code in the other, with no generic layer to read through (see
//! `src/sql/mod.rs`). What really differs stays with its backend, small and named:
//! `dialect.rs` (row locks, `SKIP LOCKED` claims, JSON paths, text search), `claim.rs`
//! (the engine's claim), the connections and `write()` transactions in `mod.rs`, the
//! migrations (`migrations/<backend>/`), SQLite's start-up reclaim (`sqlite/reclaim.rs`)
//! and PostgreSQL's change feed (`postgres/listen.rs`).
//!
//! The store must not know about HTTP, providers or files on disk.

/// One backend's migrations (`migrations/<dir>/`), in order, for its `mod.rs`. Both folders
/// hold the same versions, each in its own dialect: a schema change adds a file to both and
/// one line here.
macro_rules! migrations {
    ($dir:literal) => {
        &[
            (1, include_str!(concat!("../../migrations/", $dir, "/0001_init.sql"))),
            (2, include_str!(concat!("../../migrations/", $dir, "/0002_webhook_attempts.sql"))),
            (3, include_str!(concat!("../../migrations/", $dir, "/0003_money.sql"))),
            (4, include_str!(concat!("../../migrations/", $dir, "/0004_deleted_tasks.sql"))),
            (5, include_str!(concat!("../../migrations/", $dir, "/0005_replicas.sql"))),
            (40, include_str!(concat!("../../migrations/", $dir, "/0040_claim_indexes.sql"))),
            (41, include_str!(concat!("../../migrations/", $dir, "/0041_key_announcements.sql"))),
            (50, include_str!(concat!("../../migrations/", $dir, "/0050_management.sql"))),
            (51, include_str!(concat!("../../migrations/", $dir, "/0051_key_cache_announcements.sql"))),
            (52, include_str!(concat!("../../migrations/", $dir, "/0052_usage_index.sql"))),
            (80, include_str!(concat!("../../migrations/", $dir, "/0080_guide_images.sql"))),
            (85, include_str!(concat!("../../migrations/", $dir, "/0085_engine_counters.sql"))),
            (90, include_str!(concat!("../../migrations/", $dir, "/0090_upstream_controls.sql"))),
        ]
    };
}

pub mod changes;
#[cfg(feature = "testkit")]
pub mod conformance;
pub mod fair;
mod limits;
pub mod model;
pub mod money;
pub mod postgres;
pub mod reroute;
mod settlement;
pub mod sqlite;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod upstreams;
pub mod webhooks;

use async_trait::async_trait;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

pub use changes::{Change, ChangeFeed};
pub use fair::ClaimBatch;
pub use model::*;
pub use money::*;
pub use reroute::*;
pub use upstreams::UpstreamControls;
pub use webhooks::*;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A debit larger than the account's available balance (credits − captures − holds).
    #[error("the balance available is {available:?}")]
    InsufficientBalance { available: Usd },
}

impl StoreError {
    /// Whether trying again may help (a busy database, a dropped connection).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Database(_))
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Opens the store a database URL names, creating (SQLite) or migrating it as needed:
/// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a bare
/// path is SQLite. Any other scheme is refused.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    let scheme =
        scheme.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)));
    match scheme {
        Some("postgres" | "postgresql") => Ok(std::sync::Arc::new(postgres::PgStore::open(url).await?)),
        Some("sqlite") | None => Ok(std::sync::Arc::new(sqlite::SqliteStore::open(url).await?)),
        Some(other) => Err(StoreError::Database(format!("unsupported database URL scheme {other:?}"))),
    }
}

/// Everything the gateway keeps: the subject traits below, plus what only a backend as a
/// whole can answer. One implementation per database; callers hold an `Arc<dyn Store>` and
/// call any subject's methods on it.
#[async_trait]
pub trait Store:
    AccountStore + TaskStore + LeaseStore + MoneyStore + WebhookStore + RetentionStore + UpstreamControls
{
    /// Subscribes to the changes every process commits to this database (see [`changes`]);
    /// `None` when the backend announces nothing across processes (SQLite: one process).
    async fn listen(&self) -> Result<Option<Box<dyn ChangeFeed>>>;
    /// Gives back every lease (task steps, webhook attempts, retention batches) when this
    /// store can prove that no other process uses the database, so a restarted process
    /// resumes its dead predecessor's work at once instead of after `engine.lease_secs`.
    /// `Some(released)` on SQLite when this is the only open handle on the file (an
    /// exclusive `flock` on `<file>.lock`); `None` when that cannot be known, and then
    /// nothing changes: always on PostgreSQL, where live replicas hold leases and a dead
    /// one's expire. Call once at start-up, before the engine claims anything.
    async fn reclaim_stale_leases_at_startup(&self) -> Result<Option<u64>>;
}

/// Bootstrap, settings, accounts, keys, and their management with its audit list.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Creates the admin token hash, signing key, first account and test key in one
    /// transaction, unless the database was bootstrapped before.
    async fn bootstrap(&self, plan: BootstrapPlan) -> Result<Bootstrap>;
    /// A setting written at bootstrap (`admin_token_hash`, `signing_key`).
    async fn setting(&self, name: &str) -> Result<Option<String>>;
    async fn create_account(&self, id: &AccountId, name: &str, webhook_secret: &str, now: Millis) -> Result<Account>;
    async fn account(&self, id: &AccountId) -> Result<Option<Account>>;
    async fn set_webhook_secret(&self, id: &AccountId, secret: &str) -> Result<Account>;
    async fn create_key(&self, key: NewKey, now: Millis) -> Result<ApiKey>;
    async fn key(&self, id: &KeyId) -> Result<Option<ApiKey>>;
    async fn keys(&self, account: Option<&AccountId>) -> Result<Vec<ApiKey>>;
    async fn revoke_key(&self, id: &KeyId, now: Millis) -> Result<Option<ApiKey>>;
    /// Accounts newest first (by id), filtered and paged by `filter`.
    async fn accounts(&self, filter: &AccountFilter) -> Result<Vec<Account>>;
    /// Writes an account's name and suspension and the audit entry of the change in one
    /// transaction; `None` (nothing written) for an unknown account. A suspended account's
    /// keys are refused from the next authentication on.
    async fn update_account(&self, id: &AccountId, update: AccountUpdate, audit: NewAudit) -> Result<Option<Account>>;
    /// Writes a key's name, disabled flag and limits and the audit entry of the change in one
    /// transaction; `None` (nothing written) for an unknown or revoked key. This and
    /// [`AccountStore::revoke_key`] are the only writes that change a key after its creation.
    async fn update_key(&self, id: &KeyId, update: KeyUpdate, audit: NewAudit) -> Result<Option<ApiKey>>;
    /// Appends one entry to the audit list (append-only).
    async fn record_audit(&self, entry: NewAudit) -> Result<()>;
    /// Audit entries newest first, filtered and paged by `filter`.
    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}

/// A client's side of tasks: submitting, reading and deleting them.
#[async_trait]
pub trait TaskStore: Send + Sync + 'static {
    /// Inserts a task with its hold and idempotency record in one transaction, after
    /// checking the idempotency key, balance, quota, spend windows and concurrency.
    async fn submit(&self, task: NewTask, checks: SubmitChecks) -> Result<SubmitOutcome>;
    async fn task(&self, id: &TaskId) -> Result<Option<Task>>;
    async fn task_by_out_id(&self, account: &AccountId, mode: Mode, out_task_id: &str) -> Result<Option<Task>>;
    async fn source_image(&self, id: &TaskId) -> Result<Option<SourceImage>>;
    /// A task's last frame and reference images, in the order sent (inserted by
    /// [`TaskStore::submit`] with the task); empty for a task without any.
    async fn guide_images(&self, id: &TaskId) -> Result<Vec<GuideImage>>;
    async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>>;
    /// Marks a terminal task deleted (OpenAI `DELETE /v1/videos/{id}`): from then on `task`,
    /// `task_by_out_id` and `tasks` leave it out, and its idempotency key is free again. The
    /// row stays for the ledger and usage. False when the task is unknown, already deleted
    /// or not terminal.
    async fn delete_task(&self, id: &TaskId, now: Millis) -> Result<bool>;
}

/// The engine's side of tasks: leases with fencing tokens, steps, the one terminal
/// transition that settles money, and failover.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Leases up to `limit` due tasks to `owner` until `now + lease_ms`, also reporting the
    /// providers it left with no free slot. A task's submit step is claimed only while its
    /// provider has fewer than its cap of jobs in flight; when a cap is contended, its free
    /// slots go to the waiting accounts holding the fewest of its slots first (see [`fair`]).
    async fn claim_batch(
        &self,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
        caps: &ProviderCaps,
    ) -> Result<ClaimBatch>;
    /// [`LeaseStore::claim_batch`]'s claimed tasks alone.
    async fn claim(
        &self,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
        caps: &ProviderCaps,
    ) -> Result<Vec<Claimed>> {
        Ok(self.claim_batch(owner, now, lease_ms, limit, caps).await?.claimed)
    }
    /// Records, before an upstream submit is sent, that it is about to be (keeps the lease);
    /// false when the lease was lost.
    async fn mark_submitting(&self, id: &TaskId, token: i64) -> Result<bool>;
    /// The submit marked by [`LeaseStore::mark_submitting`] never left (its connect failed,
    /// the throttle held it): clears `submitting` and takes the attempt back out of
    /// `submit_attempts`, which so counts only submits that may have reached the upstream.
    /// False when the lease was lost or no submit is marked.
    async fn submit_not_sent(&self, id: &TaskId, token: i64) -> Result<bool>;
    /// Gives back every lease `owner` holds (graceful shutdown), so another process can
    /// resume those tasks at once instead of after the lease expires.
    async fn release_leases(&self, owner: &str) -> Result<u64>;
    /// Queued and running tasks, counted per (provider, status).
    async fn open_task_counts(&self) -> Result<Vec<(String, vidgate_domain::task::TaskStatus, u32)>>;
    /// Extends a lease; false when it was lost.
    async fn heartbeat(&self, id: &TaskId, token: i64, until: Millis) -> Result<bool>;
    /// Records a non-terminal step and releases the lease; false when the lease was lost
    /// or the task reached a terminal state meanwhile.
    async fn save_step(&self, id: &TaskId, token: i64, update: StepUpdate, now: Millis) -> Result<bool>;
    /// Moves a task to a terminal state and settles its money, once. With a token, only
    /// while that lease is held. Returns the task after the move, or `None` when another
    /// path already ended it (or the lease was lost).
    async fn finish(&self, id: &TaskId, token: Option<i64>, end: Terminal, now: Millis) -> Result<Option<Task>>;
    /// Moves a task still in its submit phase (no upstream accepted it) to another route,
    /// clearing its submit state, and releases the lease; false when the lease was lost or
    /// the task left the submit phase.
    async fn reroute(&self, id: &TaskId, token: i64, route: Reroute, now: Millis) -> Result<bool>;
}

/// Money outside a task's own transitions: credits, and the reads of limits, statements
/// and usage. (Holds, captures and releases are written by [`TaskStore::submit`] and
/// [`LeaseStore::finish`].)
#[async_trait]
pub trait MoneyStore: Send + Sync + 'static {
    /// Adds money (a negative amount removes it); a ledger entry.
    async fn add_credit(&self, id: &AccountId, amount: Usd, note: &str, now: Millis) -> Result<Account>;
    /// A key's committed spend (lifetime, and within each of [`SPEND_WINDOWS`] ending at
    /// `now`) and its tasks in flight, in one query; `None` for an unknown key.
    async fn key_status(&self, key: &KeyId, now: Millis) -> Result<Option<KeyStatus>>;
    /// An account's ledger entries oldest first, those after entry id `after`, at most `limit`.
    async fn ledger_entries(&self, account: &AccountId, after: Option<i64>, limit: u32) -> Result<Vec<LedgerEntry>>;
    /// Usage roll-ups of charged tasks, ordered by day, model, account, key, mode.
    async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRow>>;
}

/// The webhook outbox (its rows are written by [`LeaseStore::finish`]).
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Leases up to `limit` due webhook messages (pending, due by `now`, lease free or
    /// expired) to `owner` until `now + lease_ms`, each with a higher fencing token.
    async fn claim_webhooks(
        &self,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: u32,
    ) -> Result<Vec<ClaimedWebhook>>;
    /// Records one attempt and moves its message (delivered, retry at a time, or given up),
    /// releasing the lease, in one transaction; false when the lease was lost or the message
    /// is no longer pending (nothing is written then).
    async fn record_webhook_attempt(&self, id: &str, token: i64, attempt: WebhookAttempt) -> Result<bool>;
    /// Gives back every webhook lease `owner` holds (graceful shutdown).
    async fn release_webhook_leases(&self, owner: &str) -> Result<u64>;
    /// A task's webhook messages with their attempts, oldest first.
    async fn webhook_deliveries(&self, task: &TaskId) -> Result<Vec<WebhookDeliveries>>;
}

/// Retention: the files of completed tasks past their expiry.
#[async_trait]
pub trait RetentionStore: Send + Sync + 'static {
    /// Leases up to `limit` completed tasks whose files are past retention, not yet removed
    /// and not held by another sweeper, until `now + lease_ms`, so two processes never
    /// sweep one task at once (a sweeper that dies leaves its batch to the next after the
    /// lease). Earliest expiry first.
    async fn claim_files_for_removal(&self, now: Millis, lease_ms: Millis, limit: u32) -> Result<Vec<TaskId>>;
    /// Records that a task's files are removed.
    async fn mark_files_expired(&self, id: &TaskId) -> Result<()>;
}
