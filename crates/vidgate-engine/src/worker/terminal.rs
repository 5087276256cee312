//! The one terminal transition: every path that ends a task (completion, failure, timeout,
//! cancel) goes through [`Engine::finish`], which asks the store to end it and, only when
//! this call is the one that ended it, performs the transition's effects.
//!
//! Must not: decide money (the store's `finish` settles the hold in the same transaction).

use vidgate_domain::TaskId;
use vidgate_store::{Millis, StoreError, Task, Terminal};

use super::{Engine, StepResult, transition};
use crate::provider::JobRef;

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

    /// Asks the upstream to stop the job of a task that has ended (a client's cancel, or a
    /// task ended while its submit was in flight), so it does not run on for nobody. Best
    /// effort: a failure is logged, the task stays as it ended.
    pub async fn cancel_upstream_job(&self, task: &Task, job: &JobRef) {
        let Some(provider) = self.providers.get(&task.provider) else { return };
        if let Err(e) = provider.cancel(job).await {
            tracing::info!(task = %task.id, error = %e, "upstream cancel failed; the job may still run");
        }
    }

    /// A submit accepted after the step lost its lease. When the task ended meanwhile (a
    /// client's cancel, a timeout), nobody will poll the job, so it is cancelled upstream
    /// rather than left to run (and be charged by the upstream) for nobody.
    pub(super) async fn accepted_after_the_end(&self, task: &Task, job: &JobRef) -> StepResult {
        match self.store.task(&task.id).await? {
            Some(ended) if ended.status.is_terminal() => {
                tracing::info!(task = %task.id, "the task ended while its submit was in flight; its upstream job is cancelled");
                self.cancel_upstream_job(&ended, job).await;
            }
            _ => tracing::warn!(task = %task.id, "a submit was accepted after the step lost its lease"),
        }
        Ok(())
    }
}
