//! The records of webhook delivery: a message of the outbox (written by [`LeaseStore::finish`]
//! with the terminal transition), a claim on it, and the attempts made to deliver it.
//!
//! [`LeaseStore::finish`]: crate::LeaseStore::finish

use vidgate_domain::{AccountId, TaskId};

use crate::model::Millis;

/// Where a message is: waiting for an attempt, or in one of its two final states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookState {
    /// Due at `next_run_at` (first attempt or a retry).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up: the receiver answered 410, or the last retry failed.
    Failed,
}

impl WebhookState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Pending => "pending",
            WebhookState::Delivered => "delivered",
            WebhookState::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<WebhookState> {
        [WebhookState::Pending, WebhookState::Delivered, WebhookState::Failed].into_iter().find(|w| w.as_str() == s)
    }
}

/// One webhook message: the terminal event of one task, to one URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookMessage {
    /// `msg_` + ULID: the `webhook-id` of every attempt.
    pub id: String,
    pub task_id: TaskId,
    pub account_id: AccountId,
    pub url: String,
    pub state: WebhookState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (meaningful while pending).
    pub next_run_at: Millis,
    pub created_at: Millis,
    /// When it was delivered or given up.
    pub finished_at: Option<Millis>,
}

/// A message leased for one attempt, with the fencing token its record must carry.
#[derive(Clone, Debug)]
pub struct ClaimedWebhook {
    pub message: WebhookMessage,
    pub token: i64,
}

/// What an attempt decided about its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// 2xx: the message is delivered.
    Delivered,
    /// A failure with retries left: try again at this time.
    Retry { at: Millis },
    /// A failure that ends the message (410, or no retries left).
    GaveUp,
}

impl AttemptOutcome {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry { .. } => "retry",
            AttemptOutcome::GaveUp => "gave_up",
        }
    }
}

/// One attempt to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub attempted_at: Millis,
    /// The receiver's status, when it answered.
    pub http_status: Option<u16>,
    /// The kind of failure when there was no answer (`timeout`, `connect`, …).
    pub error: Option<String>,
    pub duration_ms: u64,
    pub outcome: AttemptOutcome,
}

/// One recorded attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttemptRecord {
    /// 1 for the first attempt.
    pub attempt: u32,
    pub attempted_at: Millis,
    pub delivered: bool,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    /// When the next attempt was scheduled, if there was to be one.
    pub next_retry_at: Option<Millis>,
}

/// A message with its attempts, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDeliveries {
    pub message: WebhookMessage,
    pub attempts: Vec<WebhookAttemptRecord>,
}
