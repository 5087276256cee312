//! The one terminal transition: every path that ends a task (completion, failure, timeout,
//! cancel) goes through [`Engine::finish`], which asks the store to end it and, only when
//! this call is the one that ended it, performs the transition's effects.
//!
//! Must not: decide money (the store's `finish` settles the hold in the same transaction).

use vidgate_domain::TaskId;
use vidgate_store::{Millis, StoreError, Task, Terminal};

use super::{Engine, transition};

impl Engine {
    /// Ends a task (`token`: the step's lease, `None` for a client's cancel). When this call
    /// ended it: counts the transition for `/metrics`, wakes the webhook deliverer if the
    /// task has a callback, tells `?wait=`/SSE readers, and wakes the engine if the task's
    /// provider was at its cap. `None` when another path ended it first, or the lease was lost.
    pub async fn finish(
        &self,
        id: &TaskId,
        token: Option<i64>,
        end: Terminal,
        now: Millis,
    ) -> Result<Option<Task>, StoreError> {
        let done = self.store.finish(id, token, end, now).await?;
        if let Some(done) = &done {
            transition(done, done.status);
            self.webhook_enqueued(done);
            self.notifier.changed(&done.id);
            self.slot_may_have_freed(&done.provider);
        }
        Ok(done)
    }
}
