//! The engine's side of tasks, for both backends (a shared module; see the crate docs):
//! claims (the per-backend `claim.rs`), the steps a lease holder records, failover, and the
//! single terminal transition that settles money. Every write is a compare-and-set on the
//! lease's fencing token, and `finish` settles under the task's row lock (PostgreSQL) or
//! the write lock (SQLite), so a task is settled exactly once.
//!
//! Locks are always taken in the order task → account → key, so these never deadlock.

use vidgate_domain::task::{Mode, TaskStatus};
use vidgate_domain::{TaskId, Usd};

use super::money::ledger;
use super::tasks::select_task;
use super::{Backend, Tx, claim, dialect, rows};
use crate::fair::{Candidate, FairPick};
use crate::model::*;
use crate::reroute::Reroute;
use crate::settlement::Settlement;
use crate::{ClaimBatch, LeaseStore, Result, StoreError};

#[async_trait::async_trait]
impl LeaseStore for Backend {
    async fn claim_batch(
        &self,
        owner: &str,
        now: Millis,
        lease: Millis,
        limit: u32,
        caps: &ProviderCaps,
    ) -> Result<ClaimBatch> {
        claim::claim_batch(self, owner, now, lease, limit, caps).await
    }

    async fn mark_submitting(&self, id: &TaskId, token: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET submitting = TRUE, submit_attempts = submit_attempts + 1 \
             WHERE id = $1 AND lease_token = $2 AND phase = 'submit'",
        )
        .bind(id.as_str())
        .bind(token)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn submit_not_sent(&self, id: &TaskId, token: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET submitting = FALSE, \
               submit_attempts = CASE WHEN submit_attempts > 0 THEN submit_attempts - 1 ELSE 0 END \
             WHERE id = $1 AND lease_token = $2 AND phase = 'submit' AND submitting",
        )
        .bind(id.as_str())
        .bind(token)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_leases(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE tasks SET lease_until = NULL, lease_owner = NULL WHERE lease_owner = $1 AND phase <> 'done'",
        )
        .bind(owner)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn open_task_counts(&self) -> Result<Vec<(String, TaskStatus, u32)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT provider, status, COUNT(*) FROM tasks WHERE phase <> 'done' GROUP BY provider, status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(p, s, n)| {
                let status = TaskStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("status {s}")))?;
                Ok((p, status, n as u32))
            })
            .collect()
    }

    async fn heartbeat(&self, id: &TaskId, token: i64, until: Millis) -> Result<bool> {
        let done =
            sqlx::query("UPDATE tasks SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND phase <> 'done'")
                .bind(until)
                .bind(id.as_str())
                .bind(token)
                .execute(self.writer())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_step(&self, id: &TaskId, token: i64, u: StepUpdate, now: Millis) -> Result<bool> {
        let status = u.status.map(TaskStatus::as_str);
        let done = sqlx::query(
            "UPDATE tasks SET \
               version = version + CASE WHEN (CAST($1 AS TEXT) IS NOT NULL AND $1 <> status) \
                 OR (CAST($2 AS BIGINT) IS NOT NULL AND $2 <> progress) THEN 1 ELSE 0 END, \
               started_at = CASE WHEN $1 = 'running' AND started_at IS NULL THEN $3 ELSE started_at END, \
               status = COALESCE($1, status), progress = COALESCE($2, progress), phase = COALESCE($4, phase), \
               upstream_job = COALESCE($5, upstream_job), upstream_state = COALESCE($6, upstream_state), \
               submitting = COALESCE($7, submitting), deadline_at = COALESCE($8, deadline_at), \
               next_run_at = $9, lease_owner = NULL, lease_until = NULL, \
               engine_counters = COALESCE($12, engine_counters) \
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
        .bind(u.counters.map(sqlx::types::Json))
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish(&self, id: &TaskId, token: Option<i64>, end: Terminal, now: Millis) -> Result<Option<Task>> {
        let mut tx = self.write().await?;
        // The task's row lock (PostgreSQL; SQLite's write lock) makes the check below and the
        // settlement one step: a racing finish waits here and then reads phase 'done'.
        let Some((task, current_token)) = select_task(&mut tx, id, dialect::FOR_UPDATE).await? else {
            return Ok(None);
        };
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

    async fn reroute(&self, id: &TaskId, token: i64, r: Reroute, _now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET provider = $1, plan = $2, upstream_cost_micros = $3, submitting = FALSE, \
               submit_attempts = 0, upstream_job = NULL, upstream_state = 'null', engine_counters = '{}', \
               next_run_at = $4, \
               lease_owner = NULL, lease_until = NULL \
             WHERE id = $5 AND lease_token = $6 AND phase = 'submit'",
        )
        .bind(&r.provider)
        .bind(rows::to_json(&r.plan))
        .bind(r.upstream_cost.micros())
        .bind(r.next_run_at)
        .bind(id.as_str())
        .bind(token)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

async fn write_terminal(tx: &mut Tx, task: &Task, end: &Terminal, s: &Settlement, now: Millis) -> Result<()> {
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

async fn settle_money(tx: &mut Tx, task: &Task, s: &Settlement, now: Millis) -> Result<()> {
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

async fn enqueue_webhook(tx: &mut Tx, task: &Task, url: &str, now: Millis) -> Result<()> {
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

/// Offers `pick` the due submits of every provider with one waiting (`providers`, a
/// backend's statement listing them) and a free slot: each waiting account's earliest due
/// submits, at most as many as the provider has free slots and `room` allows (`heads`, a
/// backend's statement: $1 provider, $2 now, $3 how many per account, rows ordered by
/// account).
pub(crate) async fn offer_submits(
    tx: &mut Tx,
    pick: &mut FairPick<'_>,
    (providers, heads): (&str, &str),
    now: Millis,
    room: u32,
) -> Result<()> {
    let names: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(providers)).fetch_all(&mut **tx).await?;
    for provider in names {
        let free = pick.free(&provider).min(room);
        if free == 0 {
            continue;
        }
        let rows: Vec<(String, String, Millis)> = sqlx::query_as(sqlx::AssertSqlSafe(heads))
            .bind(&provider)
            .bind(now)
            .bind(i64::from(free))
            .fetch_all(&mut **tx)
            .await?;
        let mut heads = Vec::new();
        let mut account: Option<String> = None;
        for (a, id, next_run_at) in rows {
            if account.as_ref().is_some_and(|current| *current != a) {
                pick.offer(&provider, account.as_deref().unwrap_or_default(), std::mem::take(&mut heads));
            }
            account = Some(a);
            heads.push(Candidate { id, next_run_at });
        }
        if let Some(a) = account {
            pick.offer(&provider, &a, heads);
        }
    }
    Ok(())
}
