//! A client's side of tasks, for both backends (a shared module; see the crate docs):
//! submit (idempotency, limits and the hold in one transaction), reads, and deletion.
//!
//! A submit locks the account row, then the key row (`dialect::FOR_UPDATE`): on PostgreSQL
//! submits of one account queue there, so balance, quota, spend windows and the concurrency
//! cap are read after the previous submit committed and can never be overspent; on SQLite
//! the transaction's write lock already serialises them.

use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, TaskId};

use super::money::ledger;
use super::rows::{self, TASK_COLUMNS};
use super::{Backend, DbRow, Tx, dialect, guide_images};
use crate::limits::{COMMITTED_MICROS, LimitReads, check_limits, replay_or_conflict, sql};
use crate::model::*;
use crate::{Result, StoreError, TaskStore};

/// A client's read of one task (every poll): by primary key, built once.
pub static TASK_BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND deleted_at IS NULL"));

#[async_trait::async_trait]
impl TaskStore for Backend {
    async fn submit(&self, new: NewTask, checks: SubmitChecks) -> Result<SubmitOutcome> {
        let mut tx = self.write().await?;
        // Account before key: the order every transaction locks in.
        lock(&mut tx, "accounts", new.account_id.as_str()).await?;
        lock(&mut tx, "api_keys", new.key_id.as_str()).await?;
        if let Some(out) = &new.out_task_id
            && let Some(existing) = select_by_out_id(&mut tx, &new.account_id, new.mode, out).await?
        {
            return Ok(replay_or_conflict(existing, &new));
        }
        if let Some(refusal) = check_limits(&mut Reads(&mut tx), &new, &checks).await? {
            return Ok(refusal);
        }
        if !insert_task(&mut tx, &new).await? {
            // Another transaction committed the same idempotency key after our check (only
            // possible for a writer that skips the account lock): answer as if it had been
            // there all along. Dropping `tx` rolls back; nothing was written.
            let out = new.out_task_id.as_deref().unwrap_or_default();
            let existing = select_by_out_id(&mut tx, &new.account_id, new.mode, out).await?;
            return Ok(replay_or_conflict(existing.ok_or(StoreError::NotFound)?, &new));
        }
        if new.mode == Mode::Live {
            sqlx::query("UPDATE accounts SET held_micros = held_micros + $1 WHERE id = $2")
                .bind(new.estimated.micros())
                .bind(new.account_id.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE api_keys SET held_micros = held_micros + $1 WHERE id = $2")
                .bind(new.estimated.micros())
                .bind(new.key_id.as_str())
                .execute(&mut *tx)
                .await?;
            let (task, key) = (Some(new.id.as_str()), Some(new.key_id.as_str()));
            ledger(&mut tx, &new.account_id, task, key, LedgerKind::Hold, new.estimated, "submit", new.created_at)
                .await?;
        }
        let task = select_task(&mut tx, &new.id, "").await?.ok_or(StoreError::NotFound)?.0;
        tx.commit().await?;
        Ok(SubmitOutcome::Created(task))
    }

    async fn task(&self, id: &TaskId) -> Result<Option<Task>> {
        let query = sqlx::query(sqlx::AssertSqlSafe(TASK_BY_ID.as_str()));
        let row = query.bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::task).transpose()
    }

    async fn task_by_out_id(&self, account: &AccountId, mode: Mode, out: &str) -> Result<Option<Task>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(BY_OUT_ID.as_str()))
            .bind(account.as_str())
            .bind(mode.as_str())
            .bind(out)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::task).transpose()
    }

    async fn source_image(&self, id: &TaskId) -> Result<Option<SourceImage>> {
        let row: Option<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT mime, sha256, bytes FROM task_inputs WHERE task_id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(mime, sha256, bytes)| SourceImage { mime, sha256, bytes }))
    }

    async fn guide_images(&self, id: &TaskId) -> Result<Vec<GuideImage>> {
        guide_images::of_task(self, id).await
    }

    async fn tasks(&self, f: &TaskFilter) -> Result<Vec<Task>> {
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let mut sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE deleted_at IS NULL");
        if f.account_id.is_some() {
            sql.push_str(&format!(" AND account_id = {}", next()));
        }
        if f.status.is_some() {
            sql.push_str(&format!(" AND status = {}", next()));
        }
        if f.model.is_some() {
            sql.push_str(&format!(" AND model = {}", next()));
        }
        for _ in &f.metadata {
            let (k, v) = (next(), next());
            sql.push_str(&format!(" AND {}", dialect::metadata_is(&k, &v)));
        }
        let (past, direction) = match f.order {
            ListOrder::NewestFirst => ("<", "DESC"),
            ListOrder::OldestFirst => (">", "ASC"),
        };
        if f.after.is_some() {
            sql.push_str(&format!(" AND id {past} {}", next()));
        }
        sql.push_str(&format!(" ORDER BY id {direction} LIMIT {}", next()));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(a) = &f.account_id {
            q = q.bind(a.as_str().to_owned());
        }
        if let Some(s) = f.status {
            q = q.bind(s.as_str());
        }
        if let Some(m) = &f.model {
            q = q.bind(m.clone());
        }
        for (k, v) in &f.metadata {
            q = q.bind(k.clone()).bind(v.clone());
        }
        if let Some(after) = &f.after {
            q = q.bind(after.as_str().to_owned());
        }
        let rows = q.bind(i64::from(f.limit.max(1))).fetch_all(&self.pool).await?;
        rows.iter().map(rows::task).collect()
    }

    async fn delete_task(&self, id: &TaskId, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET deleted_at = $1, version = version + 1 \
             WHERE id = $2 AND phase = 'done' AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id.as_str())
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// A task by its idempotency key (`out_task_id`), unless deleted.
static BY_OUT_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {TASK_COLUMNS} FROM tasks \
         WHERE account_id = $1 AND mode = $2 AND out_task_id = $3 AND deleted_at IS NULL"
    )
});

/// Locks one row of `table` by id (see the module doc); an absent row is NotFound.
async fn lock(tx: &mut Tx, table: &str, id: &str) -> Result<()> {
    let sql = format!("SELECT id FROM {table} WHERE id = $1{}", dialect::FOR_UPDATE);
    let found: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

/// A task with its current lease token; `suffix` may lock the row (`dialect::FOR_UPDATE`).
pub(super) async fn select_task(tx: &mut Tx, id: &TaskId, suffix: &'static str) -> Result<Option<(Task, i64)>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1{suffix}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&mut **tx).await?;
    row.as_ref().map(task_and_token).transpose()
}

fn task_and_token(row: &DbRow) -> Result<(Task, i64)> {
    use sqlx::Row;
    Ok((rows::task(row)?, row.try_get("lease_token")?))
}

async fn select_by_out_id(tx: &mut Tx, account: &AccountId, mode: Mode, out: &str) -> Result<Option<Task>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(BY_OUT_ID.as_str()))
        .bind(account.as_str())
        .bind(mode.as_str())
        .bind(out)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(rows::task).transpose()
}

/// The submit rules' reads (`limits.rs`) inside the submit transaction.
struct Reads<'a>(&'a mut Tx);

#[async_trait::async_trait]
impl LimitReads for Reads<'_> {
    async fn open_tasks_of_key(&mut self, key: &KeyId) -> Result<i64> {
        Ok(sqlx::query_scalar(sql::OPEN_TASKS_OF_KEY).bind(key.as_str()).fetch_one(&mut **self.0).await?)
    }

    async fn account_money(&mut self, account: &AccountId) -> Result<(i64, i64, i64)> {
        Ok(sqlx::query_as(sql::ACCOUNT_MONEY).bind(account.as_str()).fetch_one(&mut **self.0).await?)
    }

    async fn key_money(&mut self, key: &KeyId) -> Result<(i64, i64)> {
        Ok(sqlx::query_as(sql::KEY_MONEY).bind(key.as_str()).fetch_one(&mut **self.0).await?)
    }

    async fn window_used(&mut self, key: &KeyId, since: i64) -> Result<i64> {
        // SUM(BIGINT) is NUMERIC on PostgreSQL; cast back so it decodes as i64.
        let q = format!("SELECT CAST(COALESCE(SUM({COMMITTED_MICROS}), 0) AS BIGINT) {}", sql::WINDOW_FROM);
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(q)).bind(key.as_str()).bind(since).fetch_one(&mut **self.0).await?)
    }

    async fn window_rows(&mut self, key: &KeyId, since: i64) -> Result<Vec<(i64, i64)>> {
        let q = format!("SELECT created_at, {COMMITTED_MICROS} {} ORDER BY created_at, id", sql::WINDOW_FROM);
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(key.as_str()).bind(since).fetch_all(&mut **self.0).await?)
    }
}

/// Inserts the task (and its source and guide images); false when its idempotency key is
/// taken.
async fn insert_task(tx: &mut Tx, t: &NewTask) -> Result<bool> {
    // The conflict target names the partial unique index of 0004_deleted_tasks.sql.
    let inserted = sqlx::query(
        "INSERT INTO tasks (id, account_id, key_id, mode, model, params, out_task_id, fingerprint, status, \
           estimated_micros, created_at, provider, phase, plan, upstream_cost_micros, next_run_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $11, 'submit', $12, $13, $14) \
         ON CONFLICT (account_id, mode, out_task_id) WHERE out_task_id IS NOT NULL AND deleted_at IS NULL DO NOTHING",
    )
    .bind(t.id.as_str())
    .bind(t.account_id.as_str())
    .bind(t.key_id.as_str())
    .bind(t.mode.as_str())
    .bind(&t.model)
    .bind(rows::to_json(&t.params))
    .bind(&t.out_task_id)
    .bind(&t.fingerprint)
    .bind(t.estimated.micros())
    .bind(t.created_at)
    .bind(&t.provider)
    .bind(rows::to_json(&t.plan))
    .bind(t.upstream_cost.micros())
    .bind(t.created_at)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    if let Some(img) = &t.source_image {
        sqlx::query("INSERT INTO task_inputs (task_id, mime, sha256, bytes) VALUES ($1, $2, $3, $4)")
            .bind(t.id.as_str())
            .bind(&img.mime)
            .bind(&img.sha256)
            .bind(&img.bytes)
            .execute(&mut **tx)
            .await?;
    }
    guide_images::insert(tx, t).await?;
    Ok(true)
}
