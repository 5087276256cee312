//! The engine's side of routes and throttles: failing a task over to the next route of
//! its plan when an upstream did not accept the submit (never after it did: a job that
//! may exist is not started twice), putting a step back when its upstream's throttle
//! says wait, and counting result download failures apart from polls.

use std::time::Duration;

use vidgate_domain::plan::TaskPlan;
use vidgate_store::{Claimed, Reroute, StepUpdate, Task};

use super::{Engine, StepResult};
use crate::clock::now_ms;
use crate::provider::ProviderError;

/// The key in a task's `upstream_state` counting failed downloads of its result.
const FETCH_FAILURES: &str = "fetch_failures";

impl Engine {
    /// The plan moved on to the next configured route, when `e` says the upstream did not
    /// take the job (unreachable, refused, busy) and there is one.
    pub(super) fn next_route(&self, task: &Task, e: &ProviderError) -> Option<TaskPlan> {
        let not_taken =
            matches!(e, ProviderError::Unreachable(_) | ProviderError::Refused(_) | ProviderError::Busy { .. });
        if !not_taken {
            return None;
        }
        let mut plan = TaskPlan::from_json(&task.plan)?;
        while let Some(next) = plan.next() {
            if next.route().is_some_and(|r| self.providers.get(&r.route).is_some()) {
                return Some(next);
            }
            plan = next;
        }
        None
    }

    /// Moves the task to `plan`'s current route; its submit starts over there at once.
    pub(super) async fn fail_over(&self, c: &Claimed, plan: TaskPlan, e: &ProviderError) -> StepResult {
        let route = plan.route().expect("next_route returns a plan with a route").clone();
        let task = &c.task;
        tracing::info!(task = %task.id, from = %task.provider, to = %route.route, error = %e, "failing over to the next route");
        metrics::counter!("vidgate_failovers_total", "from" => task.provider.clone(), "to" => route.route.clone())
            .increment(1);
        let now = now_ms();
        let change = Reroute {
            provider: route.route,
            plan: plan.to_json(),
            upstream_cost: route.upstream_cost,
            next_run_at: now,
        };
        self.store.reroute(&task.id, c.token, change, now).await.map(drop)
    }

    /// Puts a step back for `wait` without doing anything (the upstream's throttle).
    pub(super) async fn defer(&self, c: &Claimed, wait: Duration) -> StepResult {
        let now = now_ms();
        let update = StepUpdate { next_run_at: now + wait.as_millis() as i64, ..Default::default() };
        self.store.save_step(&c.task.id, c.token, update, now).await.map(drop)
    }
}

/// How often the task's result download failed so far.
pub(super) fn fetch_failures(task: &Task) -> u32 {
    task.upstream_state.get(FETCH_FAILURES).and_then(|n| n.as_u64()).unwrap_or(0) as u32
}

/// The task's upstream state with one more failed download counted.
pub(super) fn with_fetch_failure(task: &Task) -> serde_json::Value {
    let mut state = task.upstream_state.clone();
    if state.is_null() {
        state = serde_json::json!({});
    }
    if let Some(map) = state.as_object_mut() {
        map.insert(FETCH_FAILURES.into(), (fetch_failures(task) + 1).into());
    }
    state
}
