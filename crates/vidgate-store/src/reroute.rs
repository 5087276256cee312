//! Failover of a task to its next route: what changes when an upstream did not accept
//! the job and the task moves on to the next upstream of its plan.

use vidgate_domain::Usd;

use crate::model::Millis;

/// A task's new route: its provider, its plan (with the route in use moved on) and that
/// route's upstream cost; the submit starts over there at `next_run_at`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reroute {
    pub provider: String,
    pub plan: vidgate_domain::plan::TaskPlan,
    pub upstream_cost: Usd,
    pub next_run_at: Millis,
}
