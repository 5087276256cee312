//! What the DashScope fake remembers: the API key, the served models, the tasks in creation
//! order, every create body as received, and the signing epoch of result URLs.
//!
//! Owns how a task's status moves (only a `GET` of the task moves it, as in the other fakes)
//! and the documented lifecycle (digest §5, §6): `PENDING` → `RUNNING` → `SUCCEEDED` /
//! `FAILED`; `CANCELED` only from `PENDING`; a scripted `Outcome::Status` (`UNKNOWN`,
//! `SUSPENDED`) is reported as it is. It must not parse requests or render JSON.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::models::WanModel;
use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// One video-synthesis task.
#[derive(Debug, Clone)]
pub(crate) struct WanTask {
    pub(crate) id: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) submitted_at: u64,
    pub(crate) ended_at: u64,
    pub(crate) polled: bool,
    pub(crate) done: bool,
    pub(crate) cancelled: bool,
}

impl WanTask {
    /// `task_status` as of the last poll (digest §5).
    pub(crate) fn status(&self) -> &str {
        if self.cancelled {
            return "CANCELED";
        }
        match (self.done, &self.outcome) {
            (false, _) if !self.polled => "PENDING",
            (false, _) => "RUNNING",
            (true, Outcome::SafetyBlock | Outcome::Error { .. }) => "FAILED",
            (true, Outcome::Status(status)) => status,
            (true, _) => "SUCCEEDED",
        }
    }
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct WanState {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    pub(crate) models: Vec<WanModel>,
    tasks: Mutex<Vec<WanTask>>,
    bodies: Mutex<Vec<Value>>,
    /// The path each create body came on, in the same order.
    paths: Mutex<Vec<String>>,
    epoch: Mutex<u64>,
    stale: Mutex<u32>,
    /// Task-list requests received (`list`).
    pub(crate) lists: std::sync::atomic::AtomicU64,
}

impl HasCore for Arc<WanState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WanState {
    pub(crate) fn new(core: Arc<Core>, api_key: String, models: Vec<WanModel>) -> Self {
        Self {
            core,
            api_key,
            models,
            tasks: Mutex::default(),
            bodies: Mutex::default(),
            paths: Mutex::default(),
            epoch: Mutex::new(1),
            stale: Mutex::new(0),
            lists: Default::default(),
        }
    }

    /// Requires `Authorization: Bearer <key>` (digest §2); a wrong key is 401 `InvalidApiKey`.
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(key) if key == self.api_key => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "Invalid API-key provided.").code("InvalidApiKey")),
        }
    }

    pub(crate) fn record_body(&self, path: &str, body: Value) {
        lock(&self.bodies).push(body);
        lock(&self.paths).push(path.to_owned());
    }

    pub(crate) fn paths(&self) -> Vec<String> {
        lock(&self.paths).clone()
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    pub(crate) fn insert(&self, task: WanTask) {
        lock(&self.tasks).push(task);
    }

    pub(crate) fn get(&self, id: &str) -> Option<WanTask> {
        lock(&self.tasks).iter().find(|t| t.id == id).cloned()
    }

    /// Counts a poll of `id` and returns the task as of this poll.
    pub(crate) fn poll(&self, id: &str) -> Option<WanTask> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id)?;
        if task.cancelled || task.done {
            return Some(task.clone());
        }
        task.polled = true;
        if task.progress.poll() && task.outcome != Outcome::Never {
            task.done = true;
            task.ended_at = super::unix_now();
        }
        Some(task.clone())
    }

    /// Cancel: `PENDING` → `CANCELED`; any other status is refused (digest §6: PENDING
    /// tasks only). `None`: no such task.
    pub(crate) fn cancel(&self, id: &str) -> Option<Result<(), String>> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id)?;
        let status = task.status().to_owned();
        if status != "PENDING" {
            return Some(Err(status));
        }
        task.cancelled = true;
        task.ended_at = super::unix_now();
        Some(Ok(()))
    }

    /// Every task, oldest first.
    pub(crate) fn all(&self) -> Vec<WanTask> {
        lock(&self.tasks).clone()
    }

    /// The current signing epoch of result URLs.
    pub(crate) fn epoch(&self) -> u64 {
        *lock(&self.epoch)
    }

    /// The epoch to sign the next handed-out URL with: an already expired one while
    /// [`WanState::stale_urls`] are owed.
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

    /// Every result URL handed out so far stops working (their 24 h ran out).
    pub(crate) fn expire(&self) {
        *lock(&self.epoch) += 1;
    }
}
