//! The retention sweeper's claim on SQLite: completed tasks past retention, leased for a
//! while in one statement under the single writer, so two sweepers never take one task
//! at once and a batch held by a live sweeper is left alone.

use vidgate_domain::TaskId;

use super::SqliteStore;
use super::rows::parse_id;
use crate::Result;
use crate::model::Millis;

impl SqliteStore {
    pub(super) async fn claim_files_for_removal_impl(
        &self,
        now: Millis,
        lease: Millis,
        limit: u32,
    ) -> Result<Vec<TaskId>> {
        let mut rows: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE tasks SET sweep_until = ?1 WHERE id IN (SELECT id FROM tasks \
               WHERE files_expired = 0 AND files_expire_at IS NOT NULL AND files_expire_at <= ?2 \
                 AND (sweep_until IS NULL OR sweep_until < ?2) \
               ORDER BY files_expire_at, id LIMIT ?3) \
             RETURNING id, files_expire_at",
        )
        .bind(now + lease)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        // RETURNING comes in no particular order.
        rows.sort_by(|(a, x), (b, y)| (x, a).cmp(&(y, b)));
        rows.iter().map(|(id, _)| parse_id(id)).collect()
    }
}
