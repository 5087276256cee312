//! What the ModelArk fake remembers: the API key, the served models, the tasks in creation
//! order, every create body as received, and the signing epoch of result URLs.
//!
//! Owns how a task's status moves (only a `GET` of the task moves it, as in the other fakes)
//! and the documented lifecycle: `queued` → `running` → `succeeded` / `failed` / `expired`;
//! `cancelled` only from `queued` by `DELETE`; `DELETE` of a finished task deletes it. It
//! must not parse requests or render JSON.

use std::sync::{Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::models::ArkModel;
use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;
use std::sync::Arc;

/// One content-generation task.
#[derive(Debug, Clone)]
pub(crate) struct ArkTask {
    pub(crate) id: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
    pub(crate) polled: bool,
    pub(crate) done: bool,
    pub(crate) cancelled: bool,
}

impl ArkTask {
    /// The status as of the last poll (docs/upstreams.md §8.3).
    pub(crate) fn status(&self) -> &str {
        if self.cancelled {
            return "cancelled";
        }
        match (self.done, &self.outcome) {
            (false, _) if !self.polled => "queued",
            (false, _) => "running",
            (true, Outcome::SafetyBlock | Outcome::Error { .. }) => "failed",
            (true, Outcome::Status(status)) => status,
            (true, _) => "succeeded",
        }
    }

    /// Billed tokens of a succeeded task: W × H × (24 × seconds + 1) / 1024 (docs/upstreams.md §8.6: the
    /// observed 720p 5 s figure, 108 900).
    pub(crate) fn tokens(&self) -> u64 {
        let c = self.create.clip;
        u64::from(c.width) * u64::from(c.height) * (24 * u64::from(self.create.duration) + 1) / 1024
    }
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct ArkState {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    pub(crate) models: Vec<ArkModel>,
    tasks: Mutex<Vec<ArkTask>>,
    bodies: Mutex<Vec<Value>>,
    epoch: Mutex<u64>,
    stale: Mutex<u32>,
}

impl HasCore for Arc<ArkState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ArkState {
    pub(crate) fn new(core: Arc<Core>, api_key: String, models: Vec<ArkModel>) -> Self {
        Self {
            core,
            api_key,
            models,
            tasks: Mutex::default(),
            bodies: Mutex::default(),
            epoch: Mutex::new(1),
            stale: Mutex::new(0),
        }
    }

    /// Requires `Authorization: Bearer <key>` (docs/upstreams.md §8.2).
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(key) if key == self.api_key => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "The API key in the request is missing or invalid")
                .code("AuthenticationError")),
        }
    }

    pub(crate) fn record_body(&self, body: Value) {
        lock(&self.bodies).push(body);
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    pub(crate) fn insert(&self, task: ArkTask) {
        lock(&self.tasks).push(task);
    }

    pub(crate) fn get(&self, id: &str) -> Option<ArkTask> {
        lock(&self.tasks).iter().find(|t| t.id == id).cloned()
    }

    /// Counts a poll of `id` and returns the task as of this poll.
    pub(crate) fn poll(&self, id: &str) -> Option<ArkTask> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id)?;
        if task.cancelled || task.done {
            return Some(task.clone());
        }
        task.polled = true;
        if task.progress.poll() && task.outcome != Outcome::Never {
            task.done = true;
            task.updated_at = super::unix_now();
        }
        Some(task.clone())
    }

    /// `DELETE`: `queued` → `cancelled`; finished → deleted; else refused (docs/upstreams.md §8.5).
    pub(crate) fn delete(&self, id: &str) -> Result<(), Refusal> {
        let mut tasks = lock(&self.tasks);
        let Some(at) = tasks.iter().position(|t| t.id == id) else {
            return Err(Refusal::not_found(format!("The specified task {id} is not found")).code("ResourceNotFound"));
        };
        let status = tasks[at].status().to_owned();
        match status.as_str() {
            "queued" => {
                tasks[at].cancelled = true;
                Ok(())
            }
            "succeeded" | "failed" | "expired" => {
                tasks.remove(at);
                Ok(())
            }
            other => Err(Refusal::bad(format!("a {other} task cannot be cancelled or deleted"))
                .code("InvalidParameter")
                .param("task_id")),
        }
    }

    /// Every task, oldest first.
    pub(crate) fn all(&self) -> Vec<ArkTask> {
        lock(&self.tasks).clone()
    }

    /// The current signing epoch of result URLs.
    pub(crate) fn epoch(&self) -> u64 {
        *lock(&self.epoch)
    }

    /// The epoch to sign the next handed-out URL with: an already expired one while
    /// [`ArkState::stale_urls`] are owed.
    pub(crate) fn signing_epoch(&self) -> u64 {
        let mut stale = lock(&self.stale);
        if *stale > 0 {
            *stale -= 1;
            return self.epoch() - 1;
        }
        self.epoch()
    }

    /// The next `n` URLs handed out are already expired.
    pub(crate) fn stale_urls(&self, n: u32) {
        *lock(&self.stale) = n;
    }

    /// Every result URL handed out so far stops working (a new poll signs a fresh one).
    pub(crate) fn expire(&self) {
        *lock(&self.epoch) += 1;
    }
}
