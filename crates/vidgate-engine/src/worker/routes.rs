//! The engine's side of routes and throttles: failing a task over to the next route of
//! its plan when an upstream did not accept the submit (never after it did: a job that
//! may exist is not started twice), putting a step back when its upstream's throttle
//! says wait, counting result download failures and polls failed in a row (so a retry
//! backs off by its own failures, not by the task's age), and keeping every step at or
//! before the task's deadline.

use std::time::Duration;

use vidgate_domain::plan::TaskPlan;
use vidgate_store::{Claimed, EngineCounters, Millis, Reroute, StepUpdate, Task};

use super::{Engine, StepResult};
use crate::clock::now_ms;
use crate::provider::ProviderError;

impl Engine {
    /// The plan moved on to the next configured route, when `e` says the upstream did not
    /// take the job (unreachable, refused, busy) and there is one.
    pub(super) fn next_route(&self, task: &Task, e: &ProviderError) -> Option<TaskPlan> {
        let not_taken =
            matches!(e, ProviderError::Unreachable(_) | ProviderError::Refused(_) | ProviderError::Busy { .. });
        // A task with an upstream job (a chain between its jobs) stays on its route.
        if !not_taken || task.upstream_job.is_some() {
            return None;
        }
        self.next_usable(task)
    }

    /// The plan moved on to the next route in rotation, when the task's own route was taken
    /// out of it (disabled, ejected) and nothing was sent to it yet; `None` otherwise (the
    /// task then stays and its upstream's answer decides). Not for a budget: the task's own
    /// cost is in its route's spend, so the task that reaches the cap keeps its route.
    pub(super) fn out_of_rotation(&self, task: &Task) -> Option<TaskPlan> {
        let unsent = !task.submitting && task.upstream_job.is_none();
        if !unsent || !self.channels.taken_out(&task.provider, now_ms()) {
            return None;
        }
        self.next_usable(task)
    }

    /// The next route of the task's plan this process has and `channels` keeps in rotation.
    fn next_usable(&self, task: &Task) -> Option<TaskPlan> {
        let now = now_ms();
        let mut plan = task.plan.clone();
        while let Some(next) = plan.next() {
            let usable = |r: &vidgate_domain::plan::RoutePlan| {
                self.providers.get(&r.route).is_some() && self.channels.usable(&r.route, now)
            };
            if next.route().is_some_and(usable) {
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
        let change = Reroute { provider: route.route, plan, upstream_cost: route.upstream_cost, next_run_at: now };
        self.store.reroute(&task.id, c.token, change, now).await.map(drop).map_err(Into::into)
    }

    /// Puts a step back for `wait` without doing anything (the upstream's throttle).
    pub(super) async fn defer(&self, c: &Claimed, wait: Duration) -> StepResult {
        let now = now_ms();
        let update = StepUpdate { next_run_at: now + wait.as_millis() as i64, ..Default::default() };
        self.store.save_step(&c.task.id, c.token, update, now).await.map(drop).map_err(Into::into)
    }
}

/// How often the task's result download failed so far.
pub(super) fn fetch_failures(task: &Task) -> u32 {
    task.counters.fetch_failures
}

/// The task's counters with one more failed download.
pub(super) fn with_fetch_failure(task: &Task) -> EngineCounters {
    EngineCounters { fetch_failures: task.counters.fetch_failures + 1, ..task.counters }
}

/// How many polls of the task failed in a row so far.
pub(super) fn poll_failures(task: &Task) -> u32 {
    task.counters.poll_failures
}

/// The task's counters with one more failed poll.
pub(super) fn with_poll_failure(task: &Task) -> EngineCounters {
    EngineCounters { poll_failures: task.counters.poll_failures + 1, ..task.counters }
}

/// How many submit tries of the task never left so far.
pub(super) fn unsent_submits(task: &Task) -> u32 {
    task.counters.unsent_submits
}

/// The task's counters with one more submit try that never left.
pub(super) fn with_unsent_submit(task: &Task) -> EngineCounters {
    EngineCounters { unsent_submits: task.counters.unsent_submits + 1, ..task.counters }
}

/// The counters to save after a poll that got an answer: the failures in a row start over
/// (`None`: nothing to change).
pub(super) fn poll_answered(task: &Task) -> Option<EngineCounters> {
    (task.counters.poll_failures > 0).then_some(EngineCounters { poll_failures: 0, ..task.counters })
}

/// Whether the task's deadline has come by `now` (none before the upstream accepted a job).
/// Only a job still unfinished then fails for it (`poll_step`).
pub(super) fn past_deadline(task: &Task, now: Millis) -> bool {
    task.deadline_at.is_some_and(|deadline| now >= deadline)
}

/// `at`, or the task's deadline if that comes first: the step due then fails the task with
/// `timeout` on time instead of waiting out a back-off or a sparse poll.
pub(super) fn by_deadline(task: &Task, at: Millis) -> Millis {
    task.deadline_at.map_or(at, |deadline| at.min(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    #[test]
    fn failed_polls_are_counted_in_a_row_and_start_over_once_one_is_answered() {
        let mut task = job(5, "1280x720", false, Some(6)).task;
        task.upstream_state = serde_json::json!({"submitted_at": 7});
        task.counters.fetch_failures = 1;
        assert_eq!((poll_failures(&task), poll_answered(&task)), (0, None), "nothing to reset");
        task.counters = with_poll_failure(&task);
        task.counters = with_poll_failure(&task);
        assert_eq!((task.counters.poll_failures, task.counters.fetch_failures), (2, 1));
        let answered = poll_answered(&task).unwrap();
        assert_eq!((answered.poll_failures, answered.fetch_failures), (0, 1), "only the polls start over");
        assert_eq!(task.upstream_state, serde_json::json!({"submitted_at": 7}), "the provider's state is untouched");
    }

    #[test]
    fn no_step_is_put_after_the_deadline() {
        let mut task = job(5, "1280x720", false, Some(6)).task;
        assert_eq!(by_deadline(&task, 90_000), 90_000, "no deadline before the upstream accepts");
        task.deadline_at = Some(60_000);
        assert_eq!(by_deadline(&task, 90_000), 60_000);
        assert_eq!(by_deadline(&task, 50_000), 50_000);
    }
}
