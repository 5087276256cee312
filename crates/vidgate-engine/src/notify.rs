//! Change notifications inside one process: every write that changes a task announces
//! its id, and waiters (`?wait=`, SSE) wake at once. Other replicas' changes arrive here
//! through the database's announcements (`listen.rs`, PostgreSQL); as those may be missed
//! while a connection is down, waiters also re-read the store on a short interval.

use tokio::sync::broadcast;
use vidgate_domain::TaskId;

/// The in-process bus of task changes.
#[derive(Clone)]
pub struct Notifier {
    tx: broadcast::Sender<TaskId>,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier { tx: broadcast::channel(4096).0 }
    }
}

impl Notifier {
    /// Announces that a task changed.
    pub fn changed(&self, id: &TaskId) {
        let _ = self.tx.send(id.clone());
    }

    /// Subscribes to every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TaskId> {
        self.tx.subscribe()
    }
}
