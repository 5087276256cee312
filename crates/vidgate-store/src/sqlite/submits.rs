//! Counting upstream submits on SQLite: taking back the count of a submit that was marked
//! but never left (its connect failed, the throttle held it), so `submit_attempts` counts
//! only submits that may have reached the upstream.

use vidgate_domain::TaskId;

use super::SqliteStore;
use crate::Result;

impl SqliteStore {
    pub(super) async fn submit_not_sent_impl(&self, id: &TaskId, token: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET submitting = 0, submit_attempts = MAX(submit_attempts - 1, 0) \
             WHERE id = ? AND lease_token = ? AND phase = 'submit' AND submitting = 1",
        )
        .bind(id.as_str())
        .bind(token)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
