//! Reading a task's webhook deliveries (`GET /v1/tasks/{task_id}/deliveries`): the message
//! written at its terminal transition and every attempt made to deliver it. Another
//! account's task is answered like an unknown one.

use vidgate_store::WebhookDeliveries;

use super::{ApiError, Caller, Gateway};

impl Gateway {
    /// The caller's task's webhook messages with their attempts (none while the task runs,
    /// or when it has no `callback_url`).
    pub async fn deliveries(&self, caller: &Caller, task_id: &str) -> Result<Vec<WebhookDeliveries>, ApiError> {
        let task = self.task_for(caller, task_id).await?;
        Ok(self.store.webhook_deliveries(&task.id).await?)
    }
}
