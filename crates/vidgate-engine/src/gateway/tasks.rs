//! Reading, waiting for and cancelling tasks. A task of another account is answered
//! exactly like an unknown one.

use std::time::Duration;

use vidgate_domain::{ErrorCode, RequestError, TaskId};
use vidgate_store::{Task, TaskFilter, Terminal};

use super::{ApiError, Caller, Gateway};
use crate::clock::now_ms;
use crate::provider::JobRef;

/// How often a waiter re-reads the store in case another replica changed the task.
const WAIT_RECHECK: Duration = Duration::from_secs(1);

pub(super) fn not_found() -> ApiError {
    RequestError::new(ErrorCode::TaskNotFound, "no such task").into()
}

impl Gateway {
    /// The caller's task by id.
    pub async fn task_for(&self, caller: &Caller, id: &str) -> Result<Task, ApiError> {
        let id: TaskId = id.parse().map_err(|_| not_found())?;
        match self.store.task(&id).await? {
            Some(t) if t.account_id == caller.account_id => Ok(t),
            _ => Err(not_found()),
        }
    }

    /// The caller's task by its idempotency key (scoped to the key's mode). A key that
    /// breaks the `out_task_id` rule of a submit is 400 `invalid_param`, not 404: no task
    /// could ever have it.
    pub async fn task_by_out_id(&self, caller: &Caller, out_task_id: &str) -> Result<Task, ApiError> {
        vidgate_domain::request::check_out_task_id(out_task_id)?;
        self.store.task_by_out_id(&caller.account_id, caller.key.mode, out_task_id).await?.ok_or_else(not_found)
    }

    /// Waits until the task's version differs from `seen`, or `timeout` passes; returns
    /// the task as it is then.
    pub async fn wait_for_change(&self, id: &TaskId, seen: i64, timeout: Duration) -> Result<Task, ApiError> {
        let mut rx = self.notifier.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let task = self.store.task(id).await?.ok_or_else(not_found)?;
            if task.version != seen {
                return Ok(task);
            }
            let recheck = (tokio::time::Instant::now() + WAIT_RECHECK).min(deadline);
            loop {
                tokio::select! {
                    msg = rx.recv() => match msg {
                        Ok(changed) if &changed != id => continue,
                        _ => break,
                    },
                    _ = tokio::time::sleep_until(recheck) => break,
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return self.store.task(id).await?.ok_or_else(not_found);
            }
        }
    }

    /// Cancels the caller's task: idempotent, safe to race with completion (the store's
    /// terminal transition decides). A terminal task is returned unchanged.
    pub async fn cancel(&self, caller: &Caller, id: &str) -> Result<Task, ApiError> {
        let task = self.task_for(caller, id).await?;
        self.cancel_task(task).await
    }

    /// Cancels a task already known to belong to the caller.
    pub async fn cancel_task(&self, task: Task) -> Result<Task, ApiError> {
        if task.status.is_terminal() {
            return Ok(task);
        }
        let charge = self
            .catalog
            .resolve(&task.model)
            .is_some_and(|m| m.cancel_policy == vidgate_domain::catalog::CancelPolicy::Charge);
        let end = Terminal::Cancelled { charge_if_running: charge };
        match self.engine.finish(&task.id, None, end, now_ms()).await? {
            Some(done) => {
                // The job as the store holds it when the task ended: a submit answered since
                // `task` was read has recorded it there. One answered after the end is
                // cancelled by the worker, whose save then finds the task ended.
                if let Some(job) = &done.upstream_job {
                    let job = JobRef { job_id: job.clone(), state: done.upstream_state.clone() };
                    self.engine.cancel_upstream_job(&done, &job).await;
                }
                Ok(done)
            }
            // Another path ended it first: answer with what it is now.
            None => Ok(self.store.task(&task.id).await?.ok_or_else(not_found)?),
        }
    }

    /// The caller's tasks, newest first.
    pub async fn list_tasks(&self, caller: &Caller, limit: u32, after: Option<&str>) -> Result<Vec<Task>, ApiError> {
        let after = after
            .map(|a| {
                a.parse::<TaskId>().map_err(|_| {
                    ApiError::from(RequestError::param(ErrorCode::InvalidParam, "after", "after must be a task id"))
                })
            })
            .transpose()?;
        let filter = TaskFilter { account_id: Some(caller.account_id.clone()), limit, after, ..Default::default() };
        Ok(self.store.tasks(&filter).await?)
    }
}
