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

#[path = "../sql/accounts.rs"]
mod accounts;
mod claim;
mod dialect;
#[path = "../sql/guide_images.rs"]
mod guide_images;
#[path = "../sql/leases.rs"]
mod leases;
#[path = "../sql/money.rs"]
mod money;
mod reclaim;
#[path = "../sql/retention.rs"]
mod retention;
#[path = "../sql/rows.rs"]
mod rows;
#[path = "../sql/tasks.rs"]
mod tasks;
#[path = "../sql/webhooks.rs"]
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use crate::{Result, StoreError};

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
    async fn write(&self) -> Result<Tx> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Reads: the pool of read connections.
    fn reader(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write of one statement: the one writer connection.
    fn writer(&self) -> &SqlitePool {
        &self.writer
    }
}

// What the shared modules (src/sql/) are compiled against here.
/// The store the shared modules implement the subject traits for.
type Backend = SqliteStore;
/// A row of a result.
type DbRow = sqlx::sqlite::SqliteRow;
/// A write transaction ([`SqliteStore::write`]).
type Tx = Transaction<'static, Sqlite>;

#[async_trait]
impl crate::Store for SqliteStore {
    async fn listen(&self) -> Result<Option<Box<dyn crate::ChangeFeed>>> {
        // One process per SQLite file: its in-process notifications are all there is.
        Ok(None)
    }
    async fn reclaim_stale_leases_at_startup(&self) -> Result<Option<u64>> {
        self.reclaim_stale_leases_at_startup_impl().await
    }
}
