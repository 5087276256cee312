//! Deleting a task on SQLite: a compare-and-set that marks a terminal task deleted. The row
//! stays for the ledger and usage; every client read leaves it out from then on.

use vidgate_domain::TaskId;

use super::SqliteStore;
use crate::Result;
use crate::model::Millis;

impl SqliteStore {
    pub(super) async fn delete_task_impl(&self, id: &TaskId, now: Millis) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET deleted_at = ?, version = version + 1 \
             WHERE id = ? AND phase = 'done' AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id.as_str())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
