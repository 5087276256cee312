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
//! - webhook messages and the retention sweeper's batches are claimed with a lease under
//!   `SKIP LOCKED` (`dialect::claim_rows`);
//! - changes are announced to every replica at commit by triggers, and heard on a
//!   `LISTEN` connection of its own (listen.rs).
//!
//! Locks are always taken in the order task → account → key, so these never deadlock.
//! The SQL is written once for both backends (`src/sql/`, compiled here as `sql`); what is
//! PostgreSQL's own is here: the pool and its transactions, `dialect.rs`, the claim
//! (`claim.rs`), the change feed (`listen.rs`) and the migrations.

mod claim;
mod dialect;
mod listen;
// The SQL both backends share, compiled once per backend on purpose (see src/sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};

use crate::Result;

/// The migrations, in order, numbered as the SQLite ones (a schema change adds the same
/// version to both lists). All pending ones run in one transaction.
const MIGRATIONS: &[(i64, &str)] = migrations!("postgres");

/// How many migrations this version knows (each is recorded once in `schema_migrations`).
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// Advisory lock keys (one namespace per database): the migrations, and the claiming of
/// submits (claim.rs). Arbitrary constants ("vgmigr" / "vgclaim" in ASCII).
const MIGRATION_LOCK: i64 = 0x7667_6d69_6772;
pub(super) const CLAIM_LOCK: i64 = 0x0076_6763_6c61_696d;

/// Connections per process: the engine's steps and the HTTP handlers each hold one only
/// for a statement or a short transaction.
const MAX_CONNECTIONS: u32 = 16;

pub use sql::hot_queries;

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
    async fn write(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// A write of one statement: the pool too (PostgreSQL runs writers side by side).
    fn writer(&self) -> &PgPool {
        &self.pool
    }
}

// What the shared modules (src/sql/) are compiled against here.
/// The store the shared modules implement the subject traits for.
type Backend = PgStore;
/// A row of a result.
type DbRow = sqlx::postgres::PgRow;
/// A transaction ([`PgStore::write`]).
type Tx = Transaction<'static, Postgres>;

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
impl crate::Store for PgStore {
    async fn listen(&self) -> Result<Option<Box<dyn crate::ChangeFeed>>> {
        Ok(Some(self.subscribe().await?))
    }

    /// Start-up lease reclaim on PostgreSQL: never. Replicas share the database, so a lease
    /// this process did not take may belong to a live replica, and taking it would run that
    /// task's step twice at once (fencing keeps the writes safe, but an upstream submit of a
    /// non-idempotent provider would then fail the task as a possible orphan). A dead
    /// replica's leases expire after `engine.lease_secs` and any replica takes the tasks over.
    ///
    /// A stable owner id per replica would let a restarted one take back its own leases, but
    /// nothing here could prove that two running replicas were not given the same id; that is
    /// why the restart shortcut exists only where the store can prove it is alone (SQLite).
    async fn reclaim_stale_leases_at_startup(&self) -> Result<Option<u64>> {
        Ok(None)
    }
}
