//! The webhook outbox, for both backends (a shared module; see the crate docs): claiming
//! due messages with a lease and a fencing token (the task engine's pattern; replicas of a
//! PostgreSQL database claim side by side and never take one message twice), recording
//! each attempt together with the move of its message, and listing a task's attempts. The
//! outbox rows themselves are inserted by `finish` (leases.rs), in the transaction of the
//! terminal transition.

use sqlx::Row;
use vidgate_domain::TaskId;

use super::rows::parse_id;
use super::{Backend, DbRow, dialect};
use crate::model::Millis;
use crate::webhooks::*;
use crate::{Result, StoreError, WebhookStore};

const MESSAGE_COLUMNS: &str = "id, task_id, account_id, url, state, attempts, next_run_at, created_at, finished_at";

#[async_trait::async_trait]
impl WebhookStore for Backend {
    async fn claim_webhooks(&self, owner: &str, now: Millis, lease: Millis, limit: u32) -> Result<Vec<ClaimedWebhook>> {
        let pick = "SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_run_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_run_at, id LIMIT $2";
        let set = "lease_owner = $3, lease_token = lease_token + 1, lease_until = $4";
        let sql = dialect::claim_rows("webhook_outbox", pick, set, &format!("{MESSAGE_COLUMNS}, lease_token"));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(limit))
            .bind(owner)
            .bind(now + lease)
            .fetch_all(self.writer())
            .await?;
        let mut claimed = rows
            .iter()
            .map(|r| Ok(ClaimedWebhook { message: message(r)?, token: r.try_get("lease_token")? }))
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by(|a, b| (a.message.next_run_at, &a.message.id).cmp(&(b.message.next_run_at, &b.message.id)));
        Ok(claimed)
    }

    async fn record_webhook_attempt(&self, id: &str, token: i64, a: WebhookAttempt) -> Result<bool> {
        let mut tx = self.write().await?;
        let (state, next_run_at, finished_at) = match a.outcome {
            AttemptOutcome::Delivered => (WebhookState::Delivered, None, Some(a.attempted_at)),
            AttemptOutcome::Retry { at } => (WebhookState::Pending, Some(at), None),
            AttemptOutcome::GaveUp => (WebhookState::Failed, None, Some(a.attempted_at)),
        };
        let attempt: Option<i64> = sqlx::query_scalar(
            "UPDATE webhook_outbox SET attempts = attempts + 1, state = $1, next_run_at = COALESCE($2, next_run_at), \
               finished_at = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_token = $5 AND state = 'pending' RETURNING attempts",
        )
        .bind(state.as_str())
        .bind(next_run_at)
        .bind(finished_at)
        .bind(id)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(attempt) = attempt else { return Ok(false) };
        sqlx::query(
            "INSERT INTO webhook_attempts \
               (outbox_id, attempt, attempted_at, outcome, http_status, error, duration_ms, next_retry_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(attempt)
        .bind(a.attempted_at)
        .bind(a.outcome.as_str())
        .bind(a.http_status.map(i64::from))
        .bind(a.error)
        .bind(a.duration_ms as i64)
        .bind(next_run_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_webhook_leases(&self, owner: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = $1 AND state = 'pending'",
        )
        .bind(owner)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected())
    }

    async fn webhook_deliveries(&self, task: &TaskId) -> Result<Vec<WebhookDeliveries>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM webhook_outbox WHERE task_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(task.as_str()).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let message = message(row)?;
            let attempts = sqlx::query(
                "SELECT attempt, attempted_at, outcome, http_status, error, duration_ms, next_retry_at \
                 FROM webhook_attempts WHERE outbox_id = $1 ORDER BY attempt",
            )
            .bind(&message.id)
            .fetch_all(&self.pool)
            .await?;
            let attempts = attempts.iter().map(attempt).collect::<Result<Vec<_>>>()?;
            out.push(WebhookDeliveries { message, attempts });
        }
        Ok(out)
    }
}

fn message(row: &DbRow) -> Result<WebhookMessage> {
    let state: String = row.try_get("state")?;
    Ok(WebhookMessage {
        id: row.try_get("id")?,
        task_id: parse_id(row.try_get("task_id")?)?,
        account_id: parse_id(row.try_get("account_id")?)?,
        url: row.try_get("url")?,
        state: WebhookState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("webhook state {state}")))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        next_run_at: row.try_get("next_run_at")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn attempt(row: &DbRow) -> Result<WebhookAttemptRecord> {
    let outcome: String = row.try_get("outcome")?;
    let status: Option<i64> = row.try_get("http_status")?;
    Ok(WebhookAttemptRecord {
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        attempted_at: row.try_get("attempted_at")?,
        delivered: outcome == AttemptOutcome::Delivered.as_str(),
        http_status: status.map(|s| s as u16),
        error: row.try_get("error")?,
        duration_ms: row.try_get::<i64, _>("duration_ms")?.max(0) as u64,
        next_retry_at: row.try_get("next_retry_at")?,
    })
}
