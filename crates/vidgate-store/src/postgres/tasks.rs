//! Tasks on PostgreSQL: submit (idempotency, limits and the hold in one transaction under
//! the account's and key's row locks), reads, the engine's steps, and the single terminal
//! transition (under the task's row lock) that settles money. The claim is in claim.rs.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Transaction};
use vidgate_domain::task::{Mode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

use super::PgStore;
use super::money::ledger;
use super::rows::{self, TASK_COLUMNS};
use crate::limits::{COMMITTED_MICROS, LimitReads, check_limits, numbered, replay_or_conflict, sql};
use crate::model::*;
use crate::settlement::Settlement;

/// A client's read of one task (every poll): by primary key, built once.
pub static TASK_BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND deleted_at IS NULL"));
use crate::{Result, StoreError};

impl PgStore {
    pub(super) async fn submit_impl(&self, new: NewTask, checks: SubmitChecks) -> Result<SubmitOutcome> {
        let mut tx = self.write().await?;
        // Submits of one account queue here, so everything read below is what the previous
        // submit committed. (Account before key: the order every transaction locks in.)
        lock(&mut tx, "SELECT id FROM accounts WHERE id = $1 FOR UPDATE", new.account_id.as_str()).await?;
        lock(&mut tx, "SELECT id FROM api_keys WHERE id = $1 FOR UPDATE", new.key_id.as_str()).await?;
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

    pub(super) async fn task_impl(&self, id: &TaskId) -> Result<Option<Task>> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(TASK_BY_ID.as_str())).bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::task).transpose()
    }

    pub(super) async fn task_by_out_id_impl(&self, account: &AccountId, mode: Mode, out: &str) -> Result<Option<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks \
             WHERE account_id = $1 AND mode = $2 AND out_task_id = $3 AND deleted_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.as_str())
            .bind(mode.as_str())
            .bind(out)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::task).transpose()
    }

    pub(super) async fn source_image_impl(&self, id: &TaskId) -> Result<Option<SourceImage>> {
        let row: Option<(String, String, Vec<u8>)> =
            sqlx::query_as("SELECT mime, sha256, bytes FROM task_inputs WHERE task_id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(mime, sha256, bytes)| SourceImage { mime, sha256, bytes }))
    }

    pub(super) async fn tasks_impl(&self, f: &TaskFilter) -> Result<Vec<Task>> {
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
        // SQLite walks json_each(params, '$.metadata'); here the JSONB path reads the value.
        for _ in &f.metadata {
            let (k, v) = (next(), next());
            sql.push_str(&format!(" AND params->'metadata'->>{k} = {v}"));
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

    pub(super) async fn save_step_impl(&self, id: &TaskId, token: i64, u: StepUpdate, now: Millis) -> Result<bool> {
        let status = u.status.map(TaskStatus::as_str);
        let done = sqlx::query(
            "UPDATE tasks SET \
               version = version + CASE WHEN ($1::TEXT IS NOT NULL AND $1 <> status) \
                 OR ($2::BIGINT IS NOT NULL AND $2 <> progress) THEN 1 ELSE 0 END, \
               started_at = CASE WHEN $1 = 'running' AND started_at IS NULL THEN $3 ELSE started_at END, \
               status = COALESCE($1, status), progress = COALESCE($2, progress), phase = COALESCE($4, phase), \
               upstream_job = COALESCE($5, upstream_job), upstream_state = COALESCE($6, upstream_state), \
               submitting = COALESCE($7, submitting), deadline_at = COALESCE($8, deadline_at), \
               next_run_at = $9, lease_owner = NULL, lease_until = NULL \
             WHERE id = $10 AND lease_token = $11 AND phase <> 'done'",
        )
        .bind(status)
        .bind(u.progress.map(i64::from))
        .bind(now)
        .bind(u.phase.map(Phase::as_str))
        .bind(u.upstream_job)
        .bind(u.upstream_state)
        .bind(u.submitting)
        .bind(u.deadline_at)
        .bind(u.next_run_at)
        .bind(id.as_str())
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn finish_impl(
        &self,
        id: &TaskId,
        token: Option<i64>,
        end: Terminal,
        now: Millis,
    ) -> Result<Option<Task>> {
        let mut tx = self.write().await?;
        // The task's row lock makes the check below and the settlement one step: a racing
        // finish waits here and then reads phase 'done'.
        let Some((task, current_token)) = select_task(&mut tx, id, " FOR UPDATE").await? else { return Ok(None) };
        if task.phase == Phase::Done || token.is_some_and(|t| t != current_token) {
            return Ok(None);
        }
        let settle = Settlement::of(&task, &end);
        write_terminal(&mut tx, &task, &end, &settle, now).await?;
        if task.mode == Mode::Live {
            settle_money(&mut tx, &task, &settle, now).await?;
        }
        if let Some(url) = &task.params.callback_url {
            enqueue_webhook(&mut tx, &task, url, now).await?;
        }
        let after = select_task(&mut tx, id, "").await?.map(|(t, _)| t);
        tx.commit().await?;
        Ok(after)
    }
}

/// Takes one row lock; an absent row is NotFound.
async fn lock(tx: &mut Transaction<'static, Postgres>, sql: &'static str, id: &str) -> Result<()> {
    let found: Option<String> = sqlx::query_scalar(sql).bind(id).fetch_optional(&mut **tx).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

async fn write_terminal(
    tx: &mut Transaction<'static, Postgres>,
    task: &Task,
    end: &Terminal,
    s: &Settlement,
    now: Millis,
) -> Result<()> {
    let measured = match end {
        Terminal::Completed { upstream_cost, .. } => upstream_cost.map(|c| c.micros()),
        _ => None,
    };
    let (error_code, error_message, result, files_expire_at, orphan) = match end {
        Terminal::Completed { result, files_expire_at, .. } => {
            (None, None, Some(rows::to_json(result)), Some(*files_expire_at), false)
        }
        Terminal::Failed { code, message, possible_orphan } => {
            (Some(code.as_str()), Some(message.clone()), None, None, *possible_orphan)
        }
        Terminal::Cancelled { .. } => {
            (Some("cancelled"), Some("cancelled by the client".to_owned()), None, None, false)
        }
    };
    sqlx::query(
        "UPDATE tasks SET status = $1, phase = 'done', version = version + 1, completed_at = $2, \
           progress = CASE WHEN $1 = 'completed' THEN 100 ELSE progress END, \
           error_code = $3, error_message = $4, result = $5, files_expire_at = $6, possible_orphan = $7, \
           used_micros = $8, billed_ms = $9, submitting = FALSE, lease_owner = NULL, lease_until = NULL, \
           upstream_cost_micros = COALESCE($11, upstream_cost_micros) \
         WHERE id = $10",
    )
    .bind(s.status.as_str())
    .bind(now)
    .bind(error_code)
    .bind(error_message)
    .bind(result)
    .bind(files_expire_at)
    .bind(orphan)
    .bind(s.capture.micros())
    .bind(s.billed_ms)
    .bind(task.id.as_str())
    .bind(measured)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn settle_money(tx: &mut Transaction<'static, Postgres>, task: &Task, s: &Settlement, now: Millis) -> Result<()> {
    let release = task.estimated.minus(s.capture);
    // The account row first (its lock orders this account's ledger ids), then the key.
    sqlx::query("UPDATE accounts SET held_micros = held_micros - $1, spent_micros = spent_micros + $2 WHERE id = $3")
        .bind(task.estimated.micros())
        .bind(s.capture.micros())
        .bind(task.account_id.as_str())
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE api_keys SET held_micros = held_micros - $1, spent_micros = spent_micros + $2 WHERE id = $3")
        .bind(task.estimated.micros())
        .bind(s.capture.micros())
        .bind(task.key_id.as_str())
        .execute(&mut **tx)
        .await?;
    let (id, key) = (Some(task.id.as_str()), Some(task.key_id.as_str()));
    let note = s.status.as_str();
    if s.capture > Usd::ZERO {
        ledger(tx, &task.account_id, id, key, LedgerKind::Capture, s.capture, note, now).await?;
    }
    if release > Usd::ZERO {
        ledger(tx, &task.account_id, id, key, LedgerKind::Release, release, note, now).await?;
    }
    Ok(())
}

async fn enqueue_webhook(tx: &mut Transaction<'static, Postgres>, task: &Task, url: &str, now: Millis) -> Result<()> {
    // The payload is rendered at delivery time (fresh signed URLs); the row's id is the
    // stable `webhook-id` of every attempt.
    sqlx::query(
        "INSERT INTO webhook_outbox (id, task_id, account_id, url, payload, next_run_at, created_at) \
         VALUES ($1, $2, $3, $4, '', $5, $6)",
    )
    .bind(format!("msg_{}", ulid::Ulid::new()))
    .bind(task.id.as_str())
    .bind(task.account_id.as_str())
    .bind(url)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A task with its current lease token; `suffix` may lock the row (` FOR UPDATE`).
async fn select_task(
    tx: &mut Transaction<'static, Postgres>,
    id: &TaskId,
    suffix: &'static str,
) -> Result<Option<(Task, i64)>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1{suffix}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(&mut **tx).await?;
    row.as_ref().map(task_and_token).transpose()
}

fn task_and_token(row: &PgRow) -> Result<(Task, i64)> {
    use sqlx::Row;
    Ok((rows::task(row)?, row.try_get("lease_token")?))
}

async fn select_by_out_id(
    tx: &mut Transaction<'static, Postgres>,
    account: &AccountId,
    mode: Mode,
    out: &str,
) -> Result<Option<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE account_id = $1 AND mode = $2 AND out_task_id = $3 AND deleted_at IS NULL"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_str())
        .bind(mode.as_str())
        .bind(out)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(rows::task).transpose()
}

/// The submit rules' reads (`limits.rs`) inside this backend's submit transaction.
struct Reads<'a>(&'a mut Transaction<'static, Postgres>);

#[async_trait::async_trait]
impl LimitReads for Reads<'_> {
    async fn open_tasks_of_key(&mut self, key: &KeyId) -> Result<i64> {
        let q = sqlx::query_scalar(sqlx::AssertSqlSafe(numbered(sql::OPEN_TASKS_OF_KEY)));
        Ok(q.bind(key.as_str()).fetch_one(&mut **self.0).await?)
    }

    async fn account_money(&mut self, account: &AccountId) -> Result<(i64, i64, i64)> {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(numbered(sql::ACCOUNT_MONEY)));
        Ok(q.bind(account.as_str()).fetch_one(&mut **self.0).await?)
    }

    async fn key_money(&mut self, key: &KeyId) -> Result<(i64, i64)> {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(numbered(sql::KEY_MONEY)));
        Ok(q.bind(key.as_str()).fetch_one(&mut **self.0).await?)
    }

    async fn window_used(&mut self, key: &KeyId, since: i64) -> Result<i64> {
        let q = format!("SELECT COALESCE(SUM({COMMITTED_MICROS}), 0)::BIGINT {}", numbered(sql::WINDOW_FROM));
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(q)).bind(key.as_str()).bind(since).fetch_one(&mut **self.0).await?)
    }

    async fn window_rows(&mut self, key: &KeyId, since: i64) -> Result<Vec<(i64, i64)>> {
        let q = format!("SELECT created_at, {COMMITTED_MICROS} {} ORDER BY created_at, id", numbered(sql::WINDOW_FROM));
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(q)).bind(key.as_str()).bind(since).fetch_all(&mut **self.0).await?)
    }
}

/// Inserts the task (and its source image); false when its idempotency key is taken.
async fn insert_task(tx: &mut Transaction<'static, Postgres>, t: &NewTask) -> Result<bool> {
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
    super::guide_images::insert(tx, t).await?;
    Ok(true)
}
