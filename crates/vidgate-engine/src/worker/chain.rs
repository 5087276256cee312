//! The engine's side of chained jobs (a Gemini clip plus extensions, each a new upstream
//! job on the previous output): when a poll finds one job of the chain done and another is
//! due, the task goes back to the submit phase with the provider's chain state, so the next
//! submit is marked before sending and never sent twice blindly, exactly like the first
//! (docs/api.md §7). The task keeps its upstream job (so it never fails over to another route)
//! and its deadline (which covers the whole chain). Each job of the chain counts its own
//! submit attempts.
//!
//! It must not know what a chain means to the upstream; the provider's state says that.

use vidgate_domain::task::TaskStatus;
use vidgate_store::{Claimed, EngineCounters, Phase, StepUpdate, Task};

use super::{Engine, StepResult, transition};
use crate::clock::now_ms;

impl Engine {
    /// Moves the task to the submit phase of the next job of its chain, due at once.
    pub(super) async fn continue_chain(&self, c: &Claimed, state: serde_json::Value, progress: u8) -> StepResult {
        let task = &c.task;
        if task.status == TaskStatus::Queued {
            transition(task, TaskStatus::Running);
        }
        let now = now_ms();
        let update = StepUpdate {
            phase: Some(Phase::Submit),
            status: Some(TaskStatus::Running),
            progress: Some(progress.max(task.progress)),
            upstream_state: Some(state),
            counters: Some(EngineCounters { chain_submits_before: task.submit_attempts, ..task.counters }),
            submitting: Some(false),
            next_run_at: now,
            ..Default::default()
        };
        let saved = self.store.save_step(&task.id, c.token, update, now).await?;
        if saved {
            self.wake.notify_one();
        }
        Ok(())
    }
}

/// The submit attempts of the task's current job, including the one about to be made.
pub(super) fn submit_attempt(task: &Task) -> u32 {
    task.submit_attempts.saturating_sub(task.counters.chain_submits_before) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn each_job_of_a_chain_counts_its_own_submit_attempts() {
        let mut task = job(10, "1280x720", false, Some(8)).task;
        task.submit_attempts = 3;
        assert_eq!(submit_attempt(&task), 4, "no chain: every attempt counts");
        task.counters.chain_submits_before = 3;
        assert_eq!(submit_attempt(&task), 1);
        task.submit_attempts = 5;
        assert_eq!(submit_attempt(&task), 3);
    }
}
