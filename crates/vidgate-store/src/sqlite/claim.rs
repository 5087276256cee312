//! The engine's claim on SQLite, in one write transaction. Its cost follows the work that
//! is due, never the history: every read goes through a partial index of unfinished rows
//! (migration 0040), and the submits of a provider at its cap are never read at all.
//!
//! 1. due polls and fetches, earliest first (`tasks_due_poll`);
//! 2. the slots taken per provider and account: jobs in flight (`tasks_in_flight`) and
//!    submits being sent (`tasks_submits_leased`), both bounded by the caps;
//! 3. for each provider with a submit waiting (a skip scan of `tasks_submits`) and a free
//!    slot, each waiting account's earliest due submits, at most as many as there are free
//!    slots; [`FairPick`] then shares the free slots between the accounts.
//!
//! `INDEXED BY` pins the plan: SQLite refuses the statement rather than fall back to
//! scanning `tasks` if an index goes missing.

use sqlx::Row;

use super::SqliteStore;
use super::sql::leases::offer_submits;
use super::sql::rows::{self, TASK_COLUMNS};
use crate::Result;
use crate::fair::{ClaimBatch, FairPick};
use crate::model::*;

/// Due polls and fetches, earliest due first.
pub const DUE_POLLS: &str = "SELECT id FROM tasks INDEXED BY tasks_due_poll \
     WHERE phase IN ('poll', 'fetch') AND next_run_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
     ORDER BY next_run_at, id LIMIT $2";

/// Slots taken per provider and account: jobs in flight, and submits being sent (leased).
pub const HELD: &str = "SELECT provider, account_id, COUNT(*) FROM tasks INDEXED BY tasks_in_flight \
     WHERE phase IN ('poll', 'fetch') GROUP BY provider, account_id \
     UNION ALL SELECT provider, account_id, COUNT(*) FROM tasks INDEXED BY tasks_submits_leased \
     WHERE phase = 'submit' AND lease_until >= $1 GROUP BY provider, account_id";

/// The providers with a submit waiting: one index step per provider.
pub const PROVIDERS: &str = "WITH RECURSIVE p(name) AS ( \
       SELECT (SELECT provider FROM tasks INDEXED BY tasks_submits WHERE phase = 'submit' ORDER BY provider LIMIT 1) \
       UNION ALL \
       SELECT (SELECT provider FROM tasks INDEXED BY tasks_submits WHERE phase = 'submit' AND provider > p.name \
               ORDER BY provider LIMIT 1) FROM p WHERE p.name IS NOT NULL) \
     SELECT name FROM p WHERE name IS NOT NULL";

/// Each account's earliest due submits on provider $1 (at most $3 each), by account.
pub const HEADS: &str = "WITH RECURSIVE acct(a) AS ( \
       SELECT (SELECT account_id FROM tasks INDEXED BY tasks_submits WHERE phase = 'submit' AND provider = $1 \
               ORDER BY account_id LIMIT 1) \
       UNION ALL \
       SELECT (SELECT account_id FROM tasks INDEXED BY tasks_submits WHERE phase = 'submit' AND provider = $1 \
               AND account_id > acct.a ORDER BY account_id LIMIT 1) FROM acct WHERE acct.a IS NOT NULL) \
     SELECT acct.a, t.id, t.next_run_at FROM acct JOIN tasks t ON t.id IN ( \
       SELECT id FROM tasks INDEXED BY tasks_submits WHERE phase = 'submit' AND provider = $1 \
         AND account_id = acct.a AND next_run_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
       ORDER BY next_run_at, id LIMIT $3) \
     WHERE acct.a IS NOT NULL ORDER BY acct.a, t.next_run_at, t.id";

/// Leases up to `limit` due tasks in one write transaction: due polls first, then submits
/// shared fairly under the providers' caps.
pub(super) async fn claim_batch(
    store: &SqliteStore,
    owner: &str,
    now: Millis,
    lease: Millis,
    limit: u32,
    caps: &ProviderCaps,
) -> Result<ClaimBatch> {
    let mut tx = store.write().await?;
    let mut picked: Vec<String> =
        sqlx::query_scalar(DUE_POLLS).bind(now).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
    let held: Vec<(String, String, i64)> = sqlx::query_as(HELD).bind(now).fetch_all(&mut *tx).await?;
    let mut pick = FairPick::new(caps, held.into_iter().map(|(p, a, n)| (p, a, n as u32)));
    let room = limit.saturating_sub(picked.len() as u32);
    if room > 0 {
        offer_submits(&mut tx, &mut pick, (PROVIDERS, HEADS), now, room).await?;
        picked.extend(pick.choose(room));
    }
    let sql = format!(
        "UPDATE tasks SET lease_owner = $1, lease_token = lease_token + 1, lease_until = $2, \
         attempts = attempts + 1 WHERE id = $3 RETURNING {TASK_COLUMNS}"
    );
    let mut claimed = Vec::with_capacity(picked.len());
    for id in picked {
        let query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        let row = query.bind(owner).bind(now + lease).bind(&id).fetch_one(&mut *tx).await?;
        let token: i64 = row.try_get("lease_token")?;
        claimed.push(Claimed { task: rows::task(&row)?, token });
    }
    tx.commit().await?;
    Ok(ClaimBatch { claimed, saturated: pick.saturated() })
}
