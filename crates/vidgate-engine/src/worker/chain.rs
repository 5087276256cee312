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
use vidgate_store::{Claimed, Phase, StepUpdate, Task};

use super::{Engine, StepResult, transition};
use crate::clock::now_ms;

/// The key in a task's `upstream_state` holding its submit attempts before the current job
/// of its chain.
const SUBMITS_BEFORE: &str = "chain_submits_before";

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
            upstream_state: Some(with_submits_before(state, task.submit_attempts)),
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
    let before = task.upstream_state.get(SUBMITS_BEFORE).and_then(|n| n.as_u64()).unwrap_or(0) as u32;
    task.submit_attempts.saturating_sub(before) + 1
}

fn with_submits_before(mut state: serde_json::Value, submits: u32) -> serde_json::Value {
    if state.is_null() {
        state = serde_json::json!({});
    }
    if let Some(map) = state.as_object_mut() {
        map.insert(SUBMITS_BEFORE.into(), submits.into());
    }
    state
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
        task.upstream_state = with_submits_before(serde_json::json!({"chain": {"step": 1}}), 3);
        assert_eq!(task.upstream_state, serde_json::json!({"chain": {"step": 1}, "chain_submits_before": 3}));
        assert_eq!(submit_attempt(&task), 1);
        task.submit_attempts = 5;
        assert_eq!(submit_attempt(&task), 3);
    }
}
