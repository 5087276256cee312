//! Failover on PostgreSQL: one compare-and-set that moves a task still in its submit phase
//! to another provider, so a crash leaves it either wholly on the old route or on the new.

use vidgate_domain::TaskId;

use super::PgStore;
use super::rows;
use crate::Result;
use crate::model::Millis;
use crate::reroute::Reroute;

impl PgStore {
    pub(super) async fn reroute_impl(&self, id: &TaskId, token: i64, r: Reroute, _now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET provider = $1, plan = $2, upstream_cost_micros = $3, submitting = FALSE, \
               submit_attempts = 0, upstream_job = NULL, upstream_state = 'null', next_run_at = $4, \
               lease_owner = NULL, lease_until = NULL \
             WHERE id = $5 AND lease_token = $6 AND phase = 'submit'",
        )
        .bind(&r.provider)
        .bind(rows::to_json(&r.plan))
        .bind(r.upstream_cost.micros())
        .bind(r.next_run_at)
        .bind(id.as_str())
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
