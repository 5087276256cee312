//! What the Runway fake remembers: the key, the served models, the tasks in creation order,
//! every create body as received, the throttling of new tasks, every DELETE and the signing
//! epoch of output URLs.
//!
//! Owns how a task's status moves (only a `GET` of the task moves it, as in the other fakes)
//! along digest §5: `PENDING` → (`THROTTLED` while scripted) → `RUNNING` → `SUCCEEDED` /
//! `FAILED`; DELETE cancels an unfinished task and deletes a finished one with its output
//! (§6), after which the task answers 404. It must not parse requests or render JSON.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::models::RunwayModel;
use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// The `X-Runway-Version` every call must carry (digest §2).
pub(crate) const API_VERSION: &str = "2024-11-06";

/// One task.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_at: String,
    pub(crate) throttled_polls: u32,
    pub(crate) throttled_now: bool,
    pub(crate) polled: bool,
    pub(crate) done: bool,
    pub(crate) deleted: bool,
}

impl Task {
    /// `status` as of the last poll (digest §5).
    pub(crate) fn status(&self) -> &str {
        match (self.done, &self.outcome) {
            (false, _) if !self.polled => "PENDING",
            (false, _) if self.throttled_now => "THROTTLED",
            (false, _) => "RUNNING",
            (true, Outcome::SafetyBlock | Outcome::Error { .. }) => "FAILED",
            (true, Outcome::Status(status)) => status,
            (true, _) => "SUCCEEDED",
        }
    }
}

/// A DELETE the fake received: the task and its status at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// The task id.
    pub id: String,
    /// Its status when deleted (`SUCCEEDED` here means its output is gone, trap 5).
    pub status: String,
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct RunwayState {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    pub(crate) models: Vec<RunwayModel>,
    tasks: Mutex<Vec<Task>>,
    bodies: Mutex<Vec<Value>>,
    deletions: Mutex<Vec<Deletion>>,
    throttle: Mutex<u32>,
    epoch: Mutex<u64>,
    stale: Mutex<u32>,
}

impl HasCore for Arc<RunwayState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RunwayState {
    pub(crate) fn new(core: Arc<Core>, api_key: String, models: Vec<RunwayModel>) -> Self {
        Self {
            core,
            api_key,
            models,
            tasks: Mutex::default(),
            bodies: Mutex::default(),
            deletions: Mutex::default(),
            throttle: Mutex::new(0),
            epoch: Mutex::new(1),
            stale: Mutex::new(0),
        }
    }

    /// `Authorization: Bearer <key>` (401) and `X-Runway-Version` (trap 2; the answer to a
    /// call without it is UNCONFIRMED, the fake refuses it with 400).
    pub(crate) fn check_headers(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if auth.and_then(|v| v.strip_prefix("Bearer ")) != Some(self.api_key.as_str()) {
            return Err(Refusal::auth(StatusCode::UNAUTHORIZED, "Invalid API key."));
        }
        match headers.get("x-runway-version").and_then(|v| v.to_str().ok()) {
            Some(API_VERSION) => Ok(()),
            other => Err(Refusal::bad(format!(
                "X-Runway-Version must be {API_VERSION} on every call (digest trap 2), got {other:?}"
            ))),
        }
    }

    pub(crate) fn record_body(&self, body: Value) {
        lock(&self.bodies).push(body);
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    /// Polls that answer `THROTTLED` for each task created from now on.
    pub(crate) fn throttle_polls(&self) -> u32 {
        *lock(&self.throttle)
    }

    pub(crate) fn set_throttle(&self, polls: u32) {
        *lock(&self.throttle) = polls;
    }

    pub(crate) fn insert(&self, task: Task) {
        lock(&self.tasks).push(task);
    }

    /// A task that was not deleted.
    pub(crate) fn get(&self, id: &str) -> Option<Task> {
        lock(&self.tasks).iter().find(|t| t.id == id && !t.deleted).cloned()
    }

    /// Counts a poll of `id` and returns the task as of this poll (`None`: unknown or deleted).
    pub(crate) fn poll(&self, id: &str) -> Option<Task> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id && !t.deleted)?;
        if task.done {
            return Some(task.clone());
        }
        task.polled = true;
        task.throttled_now = task.throttled_polls > 0;
        if task.throttled_now {
            task.throttled_polls -= 1;
            return Some(task.clone());
        }
        if task.progress.poll() && task.outcome != Outcome::Never {
            task.done = true;
        }
        Some(task.clone())
    }

    /// DELETE: any known task is gone afterwards (digest §6); `None`: no such task.
    pub(crate) fn delete(&self, id: &str) -> Option<Deletion> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id && !t.deleted)?;
        task.deleted = true;
        let deletion = Deletion { id: id.to_owned(), status: task.status().to_owned() };
        lock(&self.deletions).push(deletion.clone());
        Some(deletion)
    }

    pub(crate) fn deletions(&self) -> Vec<Deletion> {
        lock(&self.deletions).clone()
    }

    /// Every task, oldest first (deleted ones too).
    pub(crate) fn all(&self) -> Vec<Task> {
        lock(&self.tasks).clone()
    }

    pub(crate) fn epoch(&self) -> u64 {
        *lock(&self.epoch)
    }

    /// The epoch to sign the next handed-out URL with: an expired one while stale URLs are owed.
    pub(crate) fn signing_epoch(&self) -> u64 {
        let mut stale = lock(&self.stale);
        if *stale > 0 {
            *stale -= 1;
            return self.epoch() - 1;
        }
        self.epoch()
    }

    pub(crate) fn stale_urls(&self, n: u32) {
        *lock(&self.stale) = n;
    }

    pub(crate) fn expire(&self) {
        *lock(&self.epoch) += 1;
    }
}
