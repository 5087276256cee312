//! The records of money beyond one task: what a key has committed (lifetime and per rolling
//! spend window), ledger entries as stored, and usage roll-ups of charged tasks.
//!
//! "Committed" is what the limits of docs/api.md §3 count: captures of settled live tasks plus
//! the holds of open ones. Test-mode tasks never count (they move no money).

use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

use crate::model::{LedgerKind, Millis};

const HOUR_MS: Millis = 3_600_000;

/// The rolling spend windows a key may cap, by name and length, shortest first.
pub const SPEND_WINDOWS: [(&str, Millis); 3] = [("5h", 5 * HOUR_MS), ("1d", 24 * HOUR_MS), ("7d", 7 * 24 * HOUR_MS)];

/// What a key has committed within one rolling window ending now. A task counts while
/// `created_at > now − length`, so it leaves the window at `created_at + length`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowUse {
    pub name: &'static str,
    pub length_ms: Millis,
    pub used: Usd,
    /// The creation time of the oldest counted task with a non-zero amount: the window
    /// starts to free up at `oldest_at + length_ms`.
    pub oldest_at: Option<Millis>,
}

impl WindowUse {
    /// When the window next frees up some spend (`None`: nothing is counted).
    pub fn frees_at(&self) -> Option<Millis> {
        self.oldest_at.map(|t| t + self.length_ms)
    }
}

/// A key's money at one moment, read in one query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    /// Lifetime: live captures plus open live holds (what the quota counts).
    pub committed: Usd,
    /// Every window of [`SPEND_WINDOWS`], in that order (whether the key caps it or not).
    pub windows: Vec<WindowUse>,
    /// The key's tasks queued or running, both modes (what the concurrency cap counts).
    pub in_flight: u32,
}

impl KeyStatus {
    /// The window called `name`.
    pub fn window(&self, name: &str) -> Option<&WindowUse> {
        self.windows.iter().find(|w| w.name == name)
    }
}

/// One ledger row, as stored (append-only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Grows with every entry.
    pub id: i64,
    pub account_id: AccountId,
    pub task_id: Option<TaskId>,
    pub key_id: Option<KeyId>,
    pub kind: LedgerKind,
    /// Positive, except a credit that removes money (a debit).
    pub amount: Usd,
    pub note: String,
    pub created_at: Millis,
}

/// Which dimensions a usage roll-up is split by; none set gives one row for the period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageGrouping {
    pub day: bool,
    pub model: bool,
    pub account: bool,
    pub key: bool,
    pub mode: bool,
}

/// A usage roll-up: charged tasks (completed, or cancelled under `charge`) whose terminal
/// transition (the capture) happened in `[since, until)`, optionally filtered.
#[derive(Clone, Debug, Default)]
pub struct UsageQuery {
    pub since: Millis,
    pub until: Millis,
    pub account_id: Option<AccountId>,
    pub key_id: Option<KeyId>,
    pub model: Option<String>,
    pub mode: Option<Mode>,
    pub group: UsageGrouping,
}

/// One group of a usage roll-up; a dimension not grouped by is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRow {
    /// The UTC day, as days since 1970-01-01.
    pub day: Option<i64>,
    pub model: Option<String>,
    pub account_id: Option<AccountId>,
    pub key_id: Option<KeyId>,
    pub mode: Option<Mode>,
    pub tasks: u64,
    /// Billed milliseconds (docs/api.md §7; a charged cancel bills the requested length).
    pub billed_ms: u64,
    /// `credits_used` summed: for live tasks exactly the ledger's captures.
    pub usd: Usd,
}

/// Milliseconds in a UTC day.
pub const DAY_MS: Millis = 24 * HOUR_MS;
