//! The store written once for both backends. This folder is not a module of the crate
//! root: `sqlite/mod.rs` and `postgres/mod.rs` each compile it as their own `sql` module
//! (`#[path = "../sql/mod.rs"] mod sql;`), so every function here exists twice, once on
//! `sqlx::Sqlite` and once on `sqlx::Postgres`, with no generic code in between. What the
//! shared code needs of its backend, the backend's `mod.rs` provides under fixed names:
//!
//! - `Backend`: the store type (`SqliteStore`, `PgStore`), for which each file here
//!   implements one subject trait of the crate root;
//! - `DbRow` (a result row) and `Tx` (a write transaction);
//! - on `Backend`: `self.pool` (reads), `self.writer()` (a write of one statement: SQLite's
//!   single writer connection, PostgreSQL's pool) and `self.write()` (a write transaction:
//!   `BEGIN IMMEDIATE` on SQLite, READ COMMITTED on PostgreSQL);
//! - `dialect`: the few SQL fragments where the dialects differ (`FOR UPDATE`, a claim's
//!   `SKIP LOCKED`, JSON paths, `instr`/`strpos`, a flag's spelling in a partial index);
//! - `claim`: the engine's claim, written per backend (its statements and locking differ).
//!
//! Statements are written once with `$1, $2 …` placeholders (sqlx's SQLite driver takes
//! them too), `CAST(… AS …)` where PostgreSQL needs a type, `RETURNING` and `ON CONFLICT`,
//! which both dialects have. The decisions about money and limits are not here either:
//! `settlement.rs` and `limits.rs` decide, these files read and write rows.
//!
//! Must not: branch on the backend at run time, or hold SQL only one dialect accepts
//! outside `dialect`.

use super::{Backend, DbRow, Tx, claim, dialect};

pub(super) mod accounts;
pub(super) mod guide_images;
pub(super) mod leases;
pub(super) mod money;
pub(super) mod retention;
pub(super) mod rows;
pub(super) mod tasks;
pub(super) mod upstreams;
pub(super) mod webhooks;

/// The queries on the hot paths, by name: the engine's claim and a client's poll (its key
/// and its task). Their plans are checked to use indexes and never scan `tasks`
/// (`tests/sqlite.rs`, `tests/postgres.rs`).
pub fn hot_queries() -> Vec<(&'static str, String)> {
    vec![
        ("claim: due polls", claim::DUE_POLLS.to_string()),
        ("claim: slots held", claim::HELD.to_owned()),
        ("claim: providers with submits", claim::PROVIDERS.to_owned()),
        ("claim: each account's due submits", claim::HEADS.to_owned()),
        ("poll: the key", accounts::KEY_BY_ID.to_owned()),
        ("poll: the task", tasks::TASK_BY_ID.clone()),
    ]
}
