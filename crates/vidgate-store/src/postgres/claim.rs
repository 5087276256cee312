//! The engine's claim on PostgreSQL: leases with a fencing token, taken with
//! `FOR UPDATE SKIP LOCKED` so any number of processes claim side by side without waiting
//! on each other or taking a task twice.
//!
//! SQLite claims in one serialised transaction: count the jobs in flight per provider, then
//! pick polls first and submits of providers below their cap. Here the two halves differ:
//!
//! 1. due polls and fetches are claimed first, with no cap (their jobs are already counted
//!    in flight), concurrently with every other claimer;
//! 2. if room is left, submits are claimed under a transaction-scoped advisory lock, so the
//!    in-flight count read after taking it includes every submit claimed before, and two
//!    processes can never together overshoot a provider's cap. Submits of saturated
//!    providers are left out of the query itself, so they never fill the candidate window.

use std::collections::HashMap;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};

use super::rows::{self, TASK_COLUMNS};
use super::{CLAIM_LOCK, PgStore};
use crate::Result;
use crate::model::*;

impl PgStore {
    pub(super) async fn claim_impl(
        &self,
        owner: &str,
        now: Millis,
        lease: Millis,
        limit: u32,
        caps: &ProviderCaps,
    ) -> Result<Vec<Claimed>> {
        let mut tx = self.write().await?;
        let mut claimed = claim_polls(&mut tx, owner, now, lease, limit).await?;
        let room = limit.saturating_sub(claimed.len() as u32);
        if room > 0 {
            claimed.extend(claim_submits(&mut tx, owner, now, lease, room, caps).await?);
        }
        tx.commit().await?;
        Ok(claimed)
    }
}

/// Leases up to `limit` due polls and fetches, earliest due first.
async fn claim_polls(
    tx: &mut Transaction<'static, Postgres>,
    owner: &str,
    now: Millis,
    lease: Millis,
    limit: u32,
) -> Result<Vec<Claimed>> {
    let sql = format!(
        "WITH due AS (SELECT id AS due_id FROM tasks \
           WHERE phase IN ('poll', 'fetch') AND next_run_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
           ORDER BY next_run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE tasks SET lease_owner = $3, lease_token = lease_token + 1, lease_until = $4, attempts = attempts + 1 \
         FROM due WHERE id = due.due_id RETURNING {TASK_COLUMNS}, next_run_at"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(i64::from(limit))
        .bind(owner)
        .bind(now + lease)
        .fetch_all(&mut **tx)
        .await?;
    // RETURNING comes in no particular order; hand them out earliest due first.
    let mut due =
        rows.iter().map(|r| Ok((r.try_get::<i64, _>("next_run_at")?, claimed(r)?))).collect::<Result<Vec<_>>>()?;
    due.sort_by(|(a, x), (b, y)| (a, &x.task.id).cmp(&(b, &y.task.id)));
    Ok(due.into_iter().map(|(_, c)| c).collect())
}

/// Leases up to `limit` due submits of providers below their cap, earliest due first.
async fn claim_submits(
    tx: &mut Transaction<'static, Postgres>,
    owner: &str,
    now: Millis,
    lease: Millis,
    limit: u32,
    caps: &ProviderCaps,
) -> Result<Vec<Claimed>> {
    // Held until commit: submit claims of all processes run one at a time.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CLAIM_LOCK).execute(&mut **tx).await?;
    // A submit in progress (leased) counts as in flight, as on SQLite.
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT provider, COUNT(*) FROM tasks WHERE phase IN ('poll', 'fetch') \
         OR (phase = 'submit' AND lease_until IS NOT NULL AND lease_until >= $1) GROUP BY provider",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let mut in_flight: HashMap<String, u32> = counts.into_iter().map(|(p, n)| (p, n as u32)).collect();
    let saturated: Vec<String> = in_flight.iter().filter(|(p, n)| **n >= caps.cap(p)).map(|(p, _)| p.clone()).collect();
    let candidates: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, provider FROM tasks \
         WHERE phase = 'submit' AND next_run_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
           AND provider <> ALL($2) \
         ORDER BY next_run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(&saturated)
    .bind(i64::from(limit) * 4)
    .fetch_all(&mut **tx)
    .await?;
    let mut picked = Vec::new();
    for (id, provider) in candidates {
        if picked.len() as u32 >= limit {
            break;
        }
        let n = in_flight.entry(provider.clone()).or_default();
        if *n < caps.cap(&provider) {
            *n += 1;
            picked.push(id);
        }
    }
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "UPDATE tasks SET lease_owner = $1, lease_token = lease_token + 1, lease_until = $2, attempts = attempts + 1 \
         WHERE id = ANY($3) RETURNING {TASK_COLUMNS}"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner).bind(now + lease).bind(&picked).fetch_all(&mut **tx).await?;
    let mut out = rows.iter().map(claimed).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|c| picked.iter().position(|id| id == c.task.id.as_str()));
    Ok(out)
}

fn claimed(row: &PgRow) -> Result<Claimed> {
    Ok(Claimed { task: rows::task(row)?, token: row.try_get("lease_token")? })
}
