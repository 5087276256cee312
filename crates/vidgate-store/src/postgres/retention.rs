//! The retention sweeper's claim on PostgreSQL: completed tasks past retention, leased for
//! a while with `FOR UPDATE SKIP LOCKED`, so replicas sweeping at the same time take
//! disjoint batches and a batch held by a live sweeper is left alone.

use vidgate_domain::TaskId;

use super::PgStore;
use super::rows::parse_id;
use crate::Result;
use crate::model::Millis;

impl PgStore {
    pub(super) async fn claim_files_for_removal_impl(
        &self,
        now: Millis,
        lease: Millis,
        limit: u32,
    ) -> Result<Vec<TaskId>> {
        let mut rows: Vec<(String, i64)> = sqlx::query_as(
            "WITH due AS (SELECT id AS due_id FROM tasks \
               WHERE NOT files_expired AND files_expire_at IS NOT NULL AND files_expire_at <= $1 \
                 AND (sweep_until IS NULL OR sweep_until < $1) \
               ORDER BY files_expire_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE tasks SET sweep_until = $3 FROM due WHERE id = due.due_id RETURNING id, files_expire_at",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(now + lease)
        .fetch_all(&self.pool)
        .await?;
        // RETURNING comes in no particular order.
        rows.sort_by(|(a, x), (b, y)| (x, a).cmp(&(y, b)));
        rows.iter().map(|(id, _)| parse_id(id)).collect()
    }
}
