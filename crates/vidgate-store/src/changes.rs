//! Changes announced across processes: what a process sharing the database hears when
//! another one commits a change to a task, and the feed it hears it on.
//!
//! Announcements are hints for waking up at once (`?wait=`, SSE, idle workers). They are
//! not a log: whatever is missed while a feed is down is found by the re-reads and idle
//! polls every process keeps doing anyway, so nothing may depend on hearing every one.

use async_trait::async_trait;
use vidgate_domain::{AccountId, KeyId, TaskId};

use crate::Result;

/// One announced change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The task may be claimable now: it was submitted, rerouted or its lease given back.
    Due(TaskId),
    /// A change a client can see (status, progress, terminal move, files, deletion).
    Changed(TaskId),
    /// A webhook message of the task became deliverable (written, or its lease given back).
    Webhook(TaskId),
    /// An API key was revoked, disabled or edited: whoever keeps it in memory drops it.
    KeyChanged(KeyId),
    /// An account was suspended or resumed: whoever keeps its keys in memory drops them.
    AccountChanged(AccountId),
    /// An upstream's routing controls changed (`UpstreamControls`): every replica reads them
    /// again.
    UpstreamChanged(String),
}

impl Change {
    /// The task the change is about, if it is about one.
    pub fn task(&self) -> Option<&TaskId> {
        match self {
            Change::Due(id) | Change::Changed(id) | Change::Webhook(id) => Some(id),
            Change::KeyChanged(_) | Change::AccountChanged(_) | Change::UpstreamChanged(_) => None,
        }
    }
}

/// A subscription to the changes every process commits to one database.
#[async_trait]
pub trait ChangeFeed: Send {
    /// The next change. An error means the subscription is lost (the connection dropped);
    /// changes made until a new one is taken are not replayed.
    async fn next(&mut self) -> Result<Change>;
}
