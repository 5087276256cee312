//! The retention sweeper's claim, for both backends (a shared module; see the crate docs):
//! completed tasks past retention, leased for a while in one claim, so two sweepers (on
//! PostgreSQL, replicas sweeping at the same time) take disjoint batches and a batch held
//! by a live sweeper is left alone.

use vidgate_domain::TaskId;

use super::rows::parse_id;
use super::{Backend, dialect};
use crate::model::Millis;
use crate::{Result, RetentionStore};

#[async_trait::async_trait]
impl RetentionStore for Backend {
    async fn claim_files_for_removal(&self, now: Millis, lease: Millis, limit: u32) -> Result<Vec<TaskId>> {
        let pick = format!(
            "SELECT id FROM tasks WHERE {} AND files_expire_at IS NOT NULL AND files_expire_at <= $2 \
               AND (sweep_until IS NULL OR sweep_until < $2) ORDER BY files_expire_at, id LIMIT $3",
            dialect::FILES_KEPT
        );
        let sql = dialect::claim_rows("tasks", &pick, "sweep_until = $1", "id, files_expire_at");
        let mut rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now + lease)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(self.writer())
            .await?;
        // RETURNING comes in no particular order.
        rows.sort_by(|(a, x), (b, y)| (x, a).cmp(&(y, b)));
        rows.iter().map(|(id, _)| parse_id(id)).collect()
    }

    async fn mark_files_expired(&self, id: &TaskId) -> Result<()> {
        let sql = format!(
            "UPDATE tasks SET files_expired = TRUE, version = version + 1 WHERE id = $1 AND {}",
            dialect::FILES_KEPT
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).execute(self.writer()).await?;
        Ok(())
    }
}
