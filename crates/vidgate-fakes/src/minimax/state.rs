//! What the MiniMax fake remembers: the API key, the tasks in creation order, every create
//! body as received, the delivered-length override and the signing epoch of result URLs.
//!
//! Owns how a task's status moves (only a query of the task moves it, as in the other fakes)
//! and the documented lifecycle (digest §5a, §6): `queued` → `running` → `succeeded` /
//! `failed`; `cancelled` through DELETE of an unfinished task (what DELETE does is
//! unconfirmed, §6; the fake cancels); a scripted `Outcome::Status` (`expired`) is reported as
//! it is. It must not parse requests or render JSON.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// One video-generation task.
#[derive(Debug, Clone)]
pub(crate) struct H3Task {
    pub(crate) id: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
    pub(crate) polled: bool,
    pub(crate) done: bool,
    pub(crate) cancelled: bool,
    /// Created on the v1 API (digest §3b); only the v1 query sees it, only the v2 query the
    /// others (trap 1: the two never mix).
    pub(crate) v1: bool,
}

impl H3Task {
    /// `task.status` as of the last query (digest §5a).
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
}

impl H3Task {
    /// The v1 `status` as of the last query (digest §5b): `Queueing` before the first query,
    /// `Processing` until done, then `Success` or `Fail` (or a scripted status as it is).
    pub(crate) fn v1_status(&self) -> &str {
        match (self.done, &self.outcome) {
            (false, _) if !self.polled => "Queueing",
            (false, _) => "Processing",
            (true, Outcome::SafetyBlock | Outcome::Error { .. }) => "Fail",
            (true, Outcome::Status(status)) => status,
            (true, _) => "Success",
        }
    }

    /// The v1 result's file id (digest §5b: a number distinct from the task id).
    pub(crate) fn file_id(&self) -> u64 {
        self.id.parse::<u64>().unwrap_or(0) + 166_112
    }
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct H3State {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    tasks: Mutex<Vec<H3Task>>,
    bodies: Mutex<Vec<Value>>,
    delivered_ms: Mutex<Option<u64>>,
    epoch: Mutex<u64>,
    stale: Mutex<u32>,
    file_id_number: Mutex<bool>,
    /// v2 task-list requests received.
    pub(crate) lists: std::sync::atomic::AtomicU64,
}

impl HasCore for Arc<H3State> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl H3State {
    pub(crate) fn new(core: Arc<Core>, api_key: String) -> Self {
        Self {
            core,
            api_key,
            tasks: Mutex::default(),
            bodies: Mutex::default(),
            delivered_ms: Mutex::default(),
            epoch: Mutex::new(1),
            stale: Mutex::new(0),
            file_id_number: Mutex::new(false),
            lists: Default::default(),
        }
    }

    /// Requires `Authorization: Bearer <key>` (digest §2); a wrong key is 401
    /// `authorized_error` with code 1004 (§4).
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(key) if key == self.api_key => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "authentication failed").code("1004")),
        }
    }

    pub(crate) fn record_body(&self, body: Value) {
        lock(&self.bodies).push(body);
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    /// The delivered length of every next job, when a test set one.
    pub(crate) fn delivered_override(&self) -> Option<u64> {
        *lock(&self.delivered_ms)
    }

    pub(crate) fn set_delivered(&self, ms: Option<u64>) {
        *lock(&self.delivered_ms) = ms;
    }

    pub(crate) fn insert(&self, task: H3Task) {
        lock(&self.tasks).push(task);
    }

    pub(crate) fn get(&self, id: &str) -> Option<H3Task> {
        lock(&self.tasks).iter().find(|t| t.id == id).cloned()
    }

    /// Counts a query of `id` and returns the task as of this query.
    pub(crate) fn poll(&self, id: &str) -> Option<H3Task> {
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

    /// DELETE: an unfinished task is cancelled; `None`: no such task.
    pub(crate) fn cancel(&self, id: &str) -> Option<H3Task> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id)?;
        if !task.done {
            task.cancelled = true;
            task.updated_at = super::unix_now();
        }
        Some(task.clone())
    }

    /// Every task, oldest first.
    pub(crate) fn all(&self) -> Vec<H3Task> {
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

    /// Whether the v1 query sends `file_id` as a JSON number (digest trap 4: a string as
    /// documented, a number in the wild and in `files/retrieve`).
    pub(crate) fn file_id_number(&self) -> bool {
        *lock(&self.file_id_number)
    }

    pub(crate) fn set_file_id_number(&self, number: bool) {
        *lock(&self.file_id_number) = number;
    }

    pub(crate) fn expire(&self) {
        *lock(&self.epoch) += 1;
    }
}
