//! The submit rules, written once for every backend: which limit a new task would break
//! (concurrency, balance, key quota, spend windows) and what a repeated idempotency key
//! answers. A backend only reads rows inside its submit transaction, through
//! [`LimitReads`]; the SQL of those reads is written once here ([`sql`]), in the dialect
//! both backends share.
//!
//! Must not: write anything, or decide money after a task ran (`settlement.rs` does).

use async_trait::async_trait;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, Usd};

use crate::Result;
use crate::model::{NewTask, SubmitChecks, SubmitOutcome, Task};

/// What a live task commits to its key's spend windows: its capture once settled, its
/// hold while open.
pub const COMMITTED_MICROS: &str = "CASE WHEN phase = 'done' THEN used_micros ELSE estimated_micros END";

/// The reads the rules need, in the dialect both backends share.
pub mod sql {
    /// The key's open tasks (its concurrency).
    pub const OPEN_TASKS_OF_KEY: &str = "SELECT COUNT(*) FROM tasks WHERE key_id = $1 AND phase <> 'done'";
    /// An account's credited, held and spent micro-dollars.
    pub const ACCOUNT_MONEY: &str = "SELECT credited_micros, held_micros, spent_micros FROM accounts WHERE id = $1";
    /// A key's held and spent micro-dollars.
    pub const KEY_MONEY: &str = "SELECT held_micros, spent_micros FROM api_keys WHERE id = $1";
    /// The live tasks of a key created after a time (a spend window's rows).
    pub const WINDOW_FROM: &str = "FROM tasks WHERE key_id = $1 AND mode = 'live' AND created_at > $2";
}

/// The rows the submit rules read, inside the backend's submit transaction.
#[async_trait]
pub trait LimitReads: Send {
    /// [`sql::OPEN_TASKS_OF_KEY`].
    async fn open_tasks_of_key(&mut self, key: &KeyId) -> Result<i64>;
    /// [`sql::ACCOUNT_MONEY`]: (credited, held, spent).
    async fn account_money(&mut self, account: &AccountId) -> Result<(i64, i64, i64)>;
    /// [`sql::KEY_MONEY`]: (held, spent).
    async fn key_money(&mut self, key: &KeyId) -> Result<(i64, i64)>;
    /// The sum of [`COMMITTED_MICROS`] over a spend window's rows.
    async fn window_used(&mut self, key: &KeyId, since: i64) -> Result<i64>;
    /// Each of a spend window's rows as (created_at, committed), oldest first.
    async fn window_rows(&mut self, key: &KeyId, since: i64) -> Result<Vec<(i64, i64)>>;
}

/// A repeated idempotency key: the same request (fingerprint and model) replays its task,
/// another one is a conflict.
pub fn replay_or_conflict(existing: Task, new: &NewTask) -> SubmitOutcome {
    let same = existing.fingerprint == new.fingerprint && existing.model == new.model;
    if same { SubmitOutcome::Replayed(existing) } else { SubmitOutcome::Conflict }
}

/// The first limit a new task would break, in this order: the key's concurrency (both
/// modes), then for live tasks the account's balance, the key's quota and each spend window.
pub async fn check_limits(
    reads: &mut dyn LimitReads,
    new: &NewTask,
    checks: &SubmitChecks,
) -> Result<Option<SubmitOutcome>> {
    if let Some(limit) = checks.concurrency
        && reads.open_tasks_of_key(&new.key_id).await? >= i64::from(limit)
    {
        return Ok(Some(SubmitOutcome::ConcurrencyLimit { limit }));
    }
    if new.mode == Mode::Test {
        return Ok(None);
    }
    let (credited, held, spent) = reads.account_money(&new.account_id).await?;
    let available = Usd(credited - held - spent);
    if available < new.estimated {
        return Ok(Some(SubmitOutcome::InsufficientBalance { needed: new.estimated, available }));
    }
    if let Some(quota) = checks.key_quota {
        let (held, spent) = reads.key_money(&new.key_id).await?;
        let used = Usd(held).plus(Usd(spent));
        if used.plus(new.estimated) > quota {
            return Ok(Some(SubmitOutcome::QuotaExceeded { remaining: quota.minus(used).max(Usd::ZERO) }));
        }
    }
    for (window, length, cap) in checks.spend.windows() {
        if let Some(resets_at) = window_refusal(reads, new, length, cap).await? {
            return Ok(Some(SubmitOutcome::SpendWindowExceeded { window, resets_at }));
        }
    }
    Ok(None)
}

/// Whether the new task's hold would take a key's spend window over `cap`, and if so, when
/// enough of it frees up: the window counts what live tasks created in the last `length`
/// commit (captures of settled tasks, holds of open ones), and a task leaves it at
/// `created_at + length`. A task that alone exceeds the cap never fits; its answer is a
/// whole window from now.
async fn window_refusal(reads: &mut dyn LimitReads, new: &NewTask, length: i64, cap: Usd) -> Result<Option<i64>> {
    let since = new.created_at - length;
    let used = reads.window_used(&new.key_id, since).await?;
    let mut over = used.saturating_add(new.estimated.micros()).saturating_sub(cap.micros());
    if over <= 0 {
        return Ok(None);
    }
    for (created_at, amount) in reads.window_rows(&new.key_id, since).await? {
        over -= amount;
        if over <= 0 {
            return Ok(Some(created_at + length));
        }
    }
    Ok(Some(new.created_at + length))
}
