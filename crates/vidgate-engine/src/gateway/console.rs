//! The operator's reads of one task for the web console: the task by id whatever its
//! account, and its webhook deliveries. The API reaches every other operator read through
//! its admin routes; these two have no admin endpoint of their own, so the console asks here
//! rather than reading the store itself.

use vidgate_domain::TaskId;
use vidgate_store::{Task, WebhookDeliveries};

use super::tasks::not_found;
use super::{ApiError, Gateway};

impl Gateway {
    /// Any account's task by id (an unparsable id is an unknown one).
    pub async fn admin_task(&self, id: &str) -> Result<Task, ApiError> {
        let id: TaskId = id.parse().map_err(|_| not_found())?;
        self.store.task(&id).await?.ok_or_else(not_found)
    }

    /// Any account's task's webhook messages with their attempts.
    pub async fn admin_deliveries(&self, id: &str) -> Result<Vec<WebhookDeliveries>, ApiError> {
        let task = self.admin_task(id).await?;
        Ok(self.store.webhook_deliveries(&task.id).await?)
    }
}
