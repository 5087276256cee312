//! The operator's reads for the web console that have no admin endpoint of their own: a task
//! by id whatever its account, its webhook deliveries, and the count of open (queued and
//! running) tasks. The API reaches every other operator read through its admin routes; the
//! console asks here for these rather than reading the store itself.

use vidgate_domain::TaskId;
use vidgate_domain::task::TaskStatus;
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

    /// Every account's queued and running tasks, counted (the index of open tasks answers
    /// it, however long the history).
    pub async fn open_task_totals(&self) -> Result<(u32, u32), ApiError> {
        let mut totals = (0, 0);
        for (_, status, n) in self.store.open_task_counts().await? {
            match status {
                TaskStatus::Queued => totals.0 += n,
                TaskStatus::Running => totals.1 += n,
                _ => {}
            }
        }
        Ok(totals)
    }
}
