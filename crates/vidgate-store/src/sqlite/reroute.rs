//! Failover on SQLite: one compare-and-set that moves a task still in its submit phase to
//! another provider, so a crash leaves it either wholly on the old route or on the new.

use vidgate_domain::TaskId;

use super::SqliteStore;
use crate::Result;
use crate::model::Millis;
use crate::reroute::Reroute;

impl SqliteStore {
    pub(super) async fn reroute_impl(&self, id: &TaskId, token: i64, r: Reroute, _now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET provider = ?, plan = ?, upstream_cost_micros = ?, submitting = 0, submit_attempts = 0, \
               upstream_job = NULL, upstream_state = 'null', next_run_at = ?, lease_owner = NULL, lease_until = NULL \
             WHERE id = ? AND lease_token = ? AND phase = 'submit'",
        )
        .bind(&r.provider)
        .bind(r.plan.to_json().to_string())
        .bind(r.upstream_cost.micros())
        .bind(r.next_run_at)
        .bind(id.as_str())
        .bind(token)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
