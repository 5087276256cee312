//! The SQLite store: one database file in WAL mode. SQLite has a single writer, so every
//! write transaction starts with `BEGIN IMMEDIATE` (it takes the write lock up front and
//! waits for it, instead of failing half-way with SQLITE_BUSY); that is what makes the
//! read-check-write sequences below (idempotency, balance, claims) race-free.
//!
//! Writes go through one connection of their own (`writer`): writers of this process queue
//! for it in order, in process, instead of racing for SQLite's write lock and sleeping in
//! its busy handler. Reads use a pool of other connections and, in WAL mode, never wait
//! for a write. (The busy timeout remains for other processes opening the file, such as
//! the CLI.) A write statement must use `writer()`; on a read connection it would still be
//! correct, but would race for the lock again.
//!
//! The SQL is written once for both backends (`src/sql/`, compiled here as `sql`); what is
//! SQLite's own is here: the connections and `BEGIN IMMEDIATE`, `dialect.rs`, the claim
//! (`claim.rs`), the start-up reclaim (`reclaim.rs`) and the migrations.

mod claim;
mod dialect;
mod reclaim;
// The SQL both backends share, compiled once per backend on purpose (see src/sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use crate::{Result, StoreError};

/// The migrations, in order. Each runs once, in its own transaction.
const MIGRATIONS: &[(i64, &str)] = migrations!("sqlite");

pub use sql::hot_queries;

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
        self.reclaim_if_alone().await
    }
}
