//! The records the store keeps: accounts, keys, tasks and their results, ledger entries.
//! Times are UTC milliseconds since the epoch ([`Millis`]); money is [`Usd`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vidgate_domain::catalog::Size;
use vidgate_domain::task::{Mode, TaskErrorCode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

/// UTC milliseconds since the Unix epoch.
pub type Millis = i64;

/// An account (the wallet) with its money at the time of reading.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub webhook_secret: String,
    pub created_at: Millis,
    /// credits − captures − open holds.
    pub balance: Usd,
    /// Open holds.
    pub held: Usd,
    /// Captures.
    pub spent: Usd,
    /// Credits added (less debits).
    pub credited: Usd,
    /// A suspended account's keys are refused; its running tasks go on.
    pub suspended: bool,
}

/// Rolling spend caps of a key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendLimits {
    #[serde(rename = "5h", skip_serializing_if = "Option::is_none", default)]
    pub h5: Option<Usd>,
    #[serde(rename = "1d", skip_serializing_if = "Option::is_none", default)]
    pub d1: Option<Usd>,
    #[serde(rename = "7d", skip_serializing_if = "Option::is_none", default)]
    pub d7: Option<Usd>,
}

impl SpendLimits {
    /// Each set window as (name, length in ms, cap).
    pub fn windows(&self) -> Vec<(&'static str, Millis, Usd)> {
        crate::money::SPEND_WINDOWS
            .into_iter()
            .zip([self.h5, self.d1, self.d7])
            .filter_map(|((n, len), cap)| cap.map(|c| (n, len, c)))
            .collect()
    }

    /// Whether any window is capped.
    pub fn any(&self) -> bool {
        self.h5.is_some() || self.d1.is_some() || self.d7.is_some()
    }
}

/// What an API key may do; everything optional is unlimited when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub quota: Option<Usd>,
    pub spend: SpendLimits,
    pub concurrency: Option<u32>,
    pub models: Option<Vec<String>>,
    pub expires_at: Option<Millis>,
    pub ip_allow: Vec<String>,
}

/// An API key as stored (never the key itself: only its SHA-256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: KeyId,
    pub account_id: AccountId,
    pub name: String,
    pub mode: Mode,
    pub hash: String,
    /// A masked form for listings, e.g. `sk-vg-test-…9f3a`.
    pub masked: String,
    pub limits: KeyLimits,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
    /// A disabled key is refused like a revoked one, until it is enabled again.
    pub disabled: bool,
}

/// A key to create.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub id: KeyId,
    pub account_id: AccountId,
    pub name: String,
    pub mode: Mode,
    pub hash: String,
    pub masked: String,
    pub limits: KeyLimits,
}

/// The source image of an image-to-video task, kept with the task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceImage {
    pub mime: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// A last frame or a reference image of a task, kept with it like the source image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuideImage {
    pub role: vidgate_domain::request::GuideRole,
    pub image: SourceImage,
}

/// The typed parameters of a task, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskParams {
    pub prompt: String,
    pub duration_seconds: u32,
    pub size: Size,
    pub audio: bool,
    pub seed: Option<u32>,
    pub negative_prompt: Option<String>,
    pub callback_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// SHA-256 and MIME of the source image, when there is one (bytes in their own table).
    pub source_image: Option<SourceImageRef>,
    /// The task this one remixes (OpenAI `remixed_from_video_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remixed_from: Option<String>,
}

/// A pointer to a task's stored source image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceImageRef {
    pub sha256: String,
    pub mime: String,
}

/// One stored file of a completed task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The file name inside the task's folder, e.g. `video.mp4`.
    pub name: String,
    pub mime: String,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u32>,
}

/// The delivered files of a completed task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    pub video: StoredFile,
    pub audio: Option<StoredFile>,
    pub thumbnail: Option<StoredFile>,
    pub spritesheet: Option<StoredFile>,
    /// Milliseconds billed (docs/api.md §7).
    pub billed_ms: u64,
}

/// Where the engine is with a task. Internal; clients see [`TaskStatus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No upstream job yet.
    Submit,
    /// An upstream job exists; ask it how it is doing (and, once it finished, download,
    /// check and store the result in the same step).
    Poll,
    /// Terminal.
    Done,
}

impl Phase {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Submit => "submit",
            Phase::Poll => "poll",
            Phase::Done => "done",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Phase> {
        [Phase::Submit, Phase::Poll, Phase::Done].into_iter().find(|p| p.as_str() == s)
    }
}

/// A task, all of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: TaskId,
    pub account_id: AccountId,
    pub key_id: KeyId,
    pub mode: Mode,
    pub model: String,
    pub params: TaskParams,
    pub out_task_id: Option<String>,
    pub fingerprint: String,
    pub status: TaskStatus,
    /// Grows with every change a client can see.
    pub version: i64,
    pub progress: u8,
    pub estimated: Usd,
    pub credits_used: Usd,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub completed_at: Option<Millis>,
    pub error: Option<(TaskErrorCode, String)>,
    pub result: Option<TaskResult>,
    pub files_expire_at: Option<Millis>,
    pub files_expired: bool,
    /// The provider (upstream) this task runs on.
    pub provider: String,
    pub phase: Phase,
    /// The upstream's job id, once submitted.
    pub upstream_job: Option<String>,
    /// Provider-specific state (JSON), e.g. when the sandbox job started. Only the provider
    /// reads and writes it; the engine's own counts are in `counters`.
    pub upstream_state: serde_json::Value,
    /// The engine's counts for this task (failed polls and downloads, unsent submits, a
    /// chain's earlier submits), kept apart from the provider's state.
    pub counters: EngineCounters,
    /// An upstream submit was sent and its answer not yet recorded.
    pub submitting: bool,
    /// Upstream submits on the current route that may have reached the upstream (marked
    /// before sending; taken back by `Store::submit_not_sent` when one never left).
    pub submit_attempts: u32,
    /// The engine gives up at this time (the task fails with `timeout`).
    pub deadline_at: Option<Millis>,
    pub possible_orphan: bool,
    /// Every route that can deliver it and the one in use (also the admin view's `plan`).
    pub plan: vidgate_domain::plan::TaskPlan,
    pub upstream_cost: Usd,
    /// Step claims so far.
    pub attempts: u32,
}

impl Task {
    /// Whether the task reached a final status.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

/// A task to insert at submit.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub id: TaskId,
    pub account_id: AccountId,
    pub key_id: KeyId,
    pub mode: Mode,
    pub model: String,
    pub params: TaskParams,
    pub source_image: Option<SourceImage>,
    /// Its last frame and reference images, in order.
    pub guide_images: Vec<GuideImage>,
    pub out_task_id: Option<String>,
    pub fingerprint: String,
    pub estimated: Usd,
    pub provider: String,
    pub plan: vidgate_domain::plan::TaskPlan,
    pub upstream_cost: Usd,
    pub created_at: Millis,
}

/// The limits checked in the submit transaction (live mode moves money; test mode only
/// counts concurrency).
#[derive(Clone, Debug, Default)]
pub struct SubmitChecks {
    pub key_quota: Option<Usd>,
    pub spend: SpendLimits,
    pub concurrency: Option<u32>,
}

/// What a submit did.
#[derive(Clone, Debug)]
pub enum SubmitOutcome {
    /// A new task, its hold taken.
    Created(Task),
    /// Same idempotency key and fingerprint: the existing task.
    Replayed(Task),
    /// Same idempotency key, other fingerprint.
    Conflict,
    /// Not enough balance for the hold.
    InsufficientBalance { needed: Usd, available: Usd },
    /// The key's lifetime quota would be exceeded.
    QuotaExceeded { remaining: Usd },
    /// A spend window would be exceeded; it frees up at `resets_at`.
    SpendWindowExceeded { window: &'static str, resets_at: Millis },
    /// The key has as many tasks queued or running as it may.
    ConcurrencyLimit { limit: u32 },
}

/// A task claimed by a worker for one step, with the fencing token every write must carry.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub task: Task,
    pub token: i64,
}

/// The engine's counts for one task (column `engine_counters`). They decide retries and
/// back-off; providers never see them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EngineCounters {
    /// Failed downloads of the task's result so far.
    pub fetch_failures: u32,
    /// Polls failed in a row (an answered poll starts them over).
    pub poll_failures: u32,
    /// Submit tries that never left (they count toward the submit limit, not as submits).
    pub unsent_submits: u32,
    /// In a chain of jobs, the submit attempts made before the current job.
    pub chain_submits_before: u32,
}

/// What a non-terminal step changes.
#[derive(Clone, Debug, Default)]
pub struct StepUpdate {
    pub status: Option<TaskStatus>,
    pub progress: Option<u8>,
    pub phase: Option<Phase>,
    pub upstream_job: Option<String>,
    pub upstream_state: Option<serde_json::Value>,
    pub counters: Option<EngineCounters>,
    pub submitting: Option<bool>,
    pub deadline_at: Option<Millis>,
    /// When the task is due again.
    pub next_run_at: Millis,
}

/// How a task ends.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // built once per task; boxing buys nothing
pub enum Terminal {
    Completed {
        result: TaskResult,
        credits_used: Usd,
        files_expire_at: Millis,
        /// The upstream cost measured at the end (ModelArk's billed tokens), replacing the
        /// task's `upstream_cost` (the plan's estimate stays in its plan); `None` keeps it.
        upstream_cost: Option<Usd>,
    },
    Failed {
        code: TaskErrorCode,
        message: String,
        possible_orphan: bool,
    },
    /// `charge_if_running`: the model's cancel policy is `charge`.
    Cancelled {
        charge_if_running: bool,
    },
}

/// A ledger entry kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerKind {
    Credit,
    Hold,
    Capture,
    Release,
}

impl LedgerKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Credit => "credit",
            LedgerKind::Hold => "hold",
            LedgerKind::Capture => "capture",
            LedgerKind::Release => "release",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<LedgerKind> {
        [LedgerKind::Credit, LedgerKind::Hold, LedgerKind::Capture, LedgerKind::Release]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Filters for task listings, newest first unless `order` says otherwise.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub account_id: Option<AccountId>,
    pub status: Option<TaskStatus>,
    pub model: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub limit: u32,
    /// Only tasks past this id in the listing's order (older when newest first).
    pub after: Option<TaskId>,
    pub order: ListOrder,
}

/// The order of a task listing (task ids sort by creation time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListOrder {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// What bootstrap found or created.
#[derive(Clone, Debug)]
pub enum Bootstrap {
    /// This process created the first account, key and secrets.
    Created,
    /// The database was bootstrapped before.
    Existing,
}

/// Values created once per database.
#[derive(Clone, Debug)]
pub struct BootstrapPlan {
    pub admin_token_hash: String,
    pub signing_key: String,
    pub account: (AccountId, String),
    pub webhook_secret: String,
    pub test_key: NewKey,
    pub now: Millis,
}

/// How many upstream jobs each provider may have in flight.
#[derive(Clone, Debug)]
pub struct ProviderCaps {
    pub default: u32,
    pub per_provider: std::collections::BTreeMap<String, u32>,
    /// The most of a provider's cap one account may hold, in percent (100: an account alone
    /// may fill it; less keeps slots free for accounts that come later).
    pub account_share_percent: u32,
}

impl ProviderCaps {
    /// The cap of one provider.
    pub fn cap(&self, provider: &str) -> u32 {
        self.per_provider.get(provider).copied().unwrap_or(self.default)
    }

    /// The most slots of `provider` one account may hold: its share of the cap, rounded
    /// up, at least one.
    pub fn account_ceiling(&self, provider: &str) -> u32 {
        let share = u64::from(self.cap(provider)) * u64::from(self.account_share_percent.clamp(1, 100));
        (share.div_ceil(100) as u32).max(1)
    }
}

/// The account listing: newest first, in pages.
#[derive(Clone, Debug, Default)]
pub struct AccountFilter {
    /// Only accounts whose name contains this (case-sensitive).
    pub name_contains: Option<String>,
    /// Only accounts created before this one (past it in the listing's order).
    pub after: Option<AccountId>,
    pub limit: u32,
}

/// An account's changeable fields, as they are to be after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountUpdate {
    pub name: String,
    pub suspended: bool,
}

/// A key's changeable fields, as they are to be after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyUpdate {
    pub name: String,
    pub disabled: bool,
    pub limits: KeyLimits,
}

/// One management change to record in the audit list. `changes` never holds a secret.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAudit {
    pub actor: String,
    /// e.g. `key.update`.
    pub action: String,
    /// The account or key changed.
    pub target_id: String,
    /// Each field set or changed, with its new value.
    pub changes: serde_json::Value,
    pub at: Millis,
}

/// A recorded management change.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Grows with every entry.
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target_id: String,
    pub changes: serde_json::Value,
    pub at: Millis,
}

/// The audit listing: newest first, in pages.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub target_id: Option<String>,
    /// Only entries older than this id.
    pub before: Option<i64>,
    pub limit: u32,
}
