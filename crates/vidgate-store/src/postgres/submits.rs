//! Counting upstream submits on PostgreSQL: taking back the count of a submit that was
//! marked but never left (its connect failed, the throttle held it), so `submit_attempts`
//! counts only submits that may have reached the upstream.

use vidgate_domain::TaskId;

use super::PgStore;
use crate::Result;

impl PgStore {
    pub(super) async fn submit_not_sent_impl(&self, id: &TaskId, token: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET submitting = FALSE, submit_attempts = GREATEST(submit_attempts - 1, 0) \
             WHERE id = $1 AND lease_token = $2 AND phase = 'submit' AND submitting",
        )
        .bind(id.as_str())
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
