//! The engine's claim on PostgreSQL: leases with a fencing token, taken with
//! `FOR UPDATE SKIP LOCKED` so any number of processes claim side by side without waiting
//! on each other or taking a task twice.
//!
//! Both halves read only unfinished work through partial indexes (migration 0040), so a
//! claim costs the same whatever the number of finished tasks:
//!
//! 1. due polls and fetches are claimed first, with no cap (their jobs are already counted
//!    in flight), concurrently with every other claimer (`tasks_due_poll`);
//! 2. if room is left, submits are claimed under a transaction-scoped advisory lock, so the
//!    slots counted after taking it include every submit claimed before, and two processes
//!    can never together overshoot a provider's cap. The slots taken per provider and
//!    account are counted over jobs in flight and submits being sent (`tasks_in_flight`,
//!    `tasks_submits_leased`); then, for each provider with a submit waiting (a skip scan
//!    of `tasks_submits`) and a free slot, each waiting account's earliest due submits are
//!    read, and [`FairPick`] shares the free slots between the accounts. The submits of a
//!    provider at its cap are never read.

use sqlx::Row;

use super::sql::leases::offer_submits;
use super::sql::rows::{self, TASK_COLUMNS};
use super::{CLAIM_LOCK, DbRow, PgStore, Tx};
use crate::Result;
use crate::fair::{ClaimBatch, FairPick};
use crate::model::*;

/// Leases up to `limit` due tasks: due polls first, then (under the advisory lock)
/// submits shared fairly under the providers' caps.
pub(super) async fn claim_batch(
    store: &PgStore,
    owner: &str,
    now: Millis,
    lease: Millis,
    limit: u32,
    caps: &ProviderCaps,
) -> Result<ClaimBatch> {
    let mut tx = store.write().await?;
    let mut claimed = claim_polls(&mut tx, owner, now, lease, limit).await?;
    // Held until commit: the slot counts and submit claims of all processes run one at a time.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(CLAIM_LOCK).execute(&mut *tx).await?;
    let held: Vec<(String, String, i64)> = sqlx::query_as(HELD).bind(now).fetch_all(&mut *tx).await?;
    let mut pick = FairPick::new(caps, held.into_iter().map(|(p, a, n)| (p, a, n as u32)));
    let room = limit.saturating_sub(claimed.len() as u32);
    if room > 0 {
        claimed.extend(claim_submits(&mut tx, owner, now, lease, room, &mut pick).await?);
    }
    tx.commit().await?;
    Ok(ClaimBatch { claimed, saturated: pick.saturated() })
}

/// Leases due polls and fetches ($1 now, $2 how many, $3 owner, $4 lease end).
pub static DUE_POLLS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH due AS (SELECT id AS due_id FROM tasks \
           WHERE phase IN ('poll', 'fetch') AND next_run_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
           ORDER BY next_run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         UPDATE tasks SET lease_owner = $3, lease_token = lease_token + 1, lease_until = $4, attempts = attempts + 1 \
         FROM due WHERE id = due.due_id RETURNING {TASK_COLUMNS}, next_run_at"
    )
});

/// Leases up to `limit` due polls and fetches, earliest due first.
async fn claim_polls(tx: &mut Tx, owner: &str, now: Millis, lease: Millis, limit: u32) -> Result<Vec<Claimed>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(DUE_POLLS.as_str()))
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

/// Slots taken per provider and account: jobs in flight, and submits being sent (leased).
pub const HELD: &str = "SELECT provider, account_id, COUNT(*) FROM tasks \
     WHERE phase IN ('poll', 'fetch') GROUP BY provider, account_id \
     UNION ALL SELECT provider, account_id, COUNT(*) FROM tasks \
     WHERE phase = 'submit' AND lease_until IS NOT NULL AND lease_until >= $1 GROUP BY provider, account_id";

/// The providers with a submit waiting: one index step per provider.
pub const PROVIDERS: &str = "WITH RECURSIVE p(name) AS ( \
       SELECT (SELECT provider FROM tasks WHERE phase = 'submit' ORDER BY provider LIMIT 1) \
       UNION ALL \
       SELECT (SELECT provider FROM tasks WHERE phase = 'submit' AND provider > p.name ORDER BY provider LIMIT 1) \
       FROM p WHERE p.name IS NOT NULL) \
     SELECT name FROM p WHERE name IS NOT NULL";

/// Each account's earliest due submits on provider $1 (at most $3 each), by account.
pub const HEADS: &str = "WITH RECURSIVE acct(a) AS ( \
       SELECT (SELECT account_id FROM tasks WHERE phase = 'submit' AND provider = $1 ORDER BY account_id LIMIT 1) \
       UNION ALL \
       SELECT (SELECT account_id FROM tasks WHERE phase = 'submit' AND provider = $1 AND account_id > acct.a \
               ORDER BY account_id LIMIT 1) FROM acct WHERE acct.a IS NOT NULL) \
     SELECT acct.a, t.id, t.next_run_at FROM acct CROSS JOIN LATERAL ( \
       SELECT id, next_run_at FROM tasks WHERE phase = 'submit' AND provider = $1 AND account_id = acct.a \
         AND next_run_at <= $2 AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_run_at, id LIMIT $3) t \
     WHERE acct.a IS NOT NULL ORDER BY acct.a, t.next_run_at, t.id";

/// Leases up to `limit` due submits of providers below their cap, shared fairly between
/// the accounts waiting on each; `pick` is left counting them in flight.
async fn claim_submits(
    tx: &mut Tx,
    owner: &str,
    now: Millis,
    lease: Millis,
    limit: u32,
    pick: &mut FairPick<'_>,
) -> Result<Vec<Claimed>> {
    offer_submits(tx, pick, (PROVIDERS, HEADS), now, limit).await?;
    let picked = pick.choose(limit);
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    // Submit claims are serialised by the advisory lock; the conditions here only keep out a
    // task a cancel ended meanwhile (READ COMMITTED re-checks them after a row lock wait).
    let sql = format!(
        "UPDATE tasks SET lease_owner = $1, lease_token = lease_token + 1, lease_until = $2, attempts = attempts + 1 \
         WHERE id = ANY($3) AND phase = 'submit' AND (lease_until IS NULL OR lease_until < $4) RETURNING {TASK_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now + lease)
        .bind(&picked)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = rows.iter().map(claimed).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|c| picked.iter().position(|id| id == c.task.id.as_str()));
    Ok(out)
}

fn claimed(row: &DbRow) -> Result<Claimed> {
    Ok(Claimed { task: rows::task(row)?, token: row.try_get("lease_token")? })
}
