//! Reads the HTTP layer needs beyond a caller's own tasks: readiness, a task behind a
//! verified signed link, an operator's key listing and task search. The server reaches the
//! store only through these and the other gateway operations.

use std::collections::HashMap;

use vidgate_domain::task::TaskStatus;
use vidgate_domain::{AccountId, ErrorCode, RequestError, TaskId};
use vidgate_store::{ApiKey, Task, TaskFilter};

use super::{ApiError, Gateway};

/// One page of an operator's task search.
#[derive(Debug)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub has_more: bool,
}

impl Gateway {
    /// Whether the database answers and the gateway was bootstrapped (`/readyz`).
    pub async fn ready(&self) -> bool {
        matches!(self.store.setting("bootstrapped").await, Ok(Some(_)))
    }

    /// A task by id with no owner check: only for a request whose signed link (file or
    /// stream) was verified, which names the task itself.
    pub async fn task_behind_signed_link(&self, id: &TaskId) -> Result<Option<Task>, ApiError> {
        Ok(self.store.task(id).await?)
    }

    /// An account's keys, or every key (masked; the operator's listing).
    pub async fn keys(&self, account: Option<&AccountId>) -> Result<Vec<ApiKey>, ApiError> {
        Ok(self.store.keys(account).await?)
    }

    /// The operator's task search, newest first, from query parameters: `account_id`,
    /// `status`, `model` (an alias finds its model), `metadata.K=V`, `limit` (1–100, default
    /// 20), `after` (a task id); any other is 400 `unknown_param`.
    pub async fn search_tasks(&self, query: &HashMap<String, String>) -> Result<TaskPage, ApiError> {
        let bad = |p: &str, m: &str| ApiError::from(RequestError::param(ErrorCode::InvalidParam, p, m));
        let mut f = TaskFilter { limit: 20, ..Default::default() };
        for (k, v) in query {
            match k.as_str() {
                "account_id" => f.account_id = Some(v.parse().map_err(|_| bad("account_id", "not an account id"))?),
                "status" => f.status = Some(TaskStatus::parse(v).ok_or_else(|| bad("status", "not a task status"))?),
                "model" => f.model = Some(self.catalog.resolve(v).map_or_else(|| v.clone(), |m| m.id.clone())),
                "limit" => {
                    f.limit = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| bad("limit", "limit must be 1 to 100"))?
                }
                "after" => f.after = Some(v.parse::<TaskId>().map_err(|_| bad("after", "after must be a task id"))?),
                other => match other.strip_prefix("metadata.") {
                    Some(key) if !key.is_empty() => f.metadata.push((key.to_owned(), v.clone())),
                    _ => {
                        let msg = format!("unknown parameter {other}");
                        return Err(RequestError::param(ErrorCode::UnknownParam, other, msg).into());
                    }
                },
            }
        }
        f.metadata.sort();
        let limit = f.limit as usize;
        f.limit += 1;
        let mut tasks = self.store.tasks(&f).await?;
        let has_more = tasks.len() > limit;
        tasks.truncate(limit);
        Ok(TaskPage { tasks, has_more })
    }

    /// The store itself, for tests that check what was written (the `testkit` feature;
    /// never in a release build).
    #[cfg(feature = "testkit")]
    pub fn store_for_tests(&self) -> &std::sync::Arc<dyn vidgate_store::Store> {
        &self.store
    }
}
