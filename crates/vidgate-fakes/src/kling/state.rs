//! What the Kling fake remembers: the keys, the tasks in creation order, every create body
//! as received, the tokens accepted, the clock offset, and the signing epoch of result URLs.
//!
//! Owns how a task's status moves (only a `GET` of the task moves it, as in the other fakes):
//! `submitted` → `processing` → `succeed` / `failed` (digest §5); a scripted
//! `Outcome::Status` is reported as it is once done. It must not parse requests or render
//! JSON.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::KlingConfig;
use super::request::Create;
use crate::core::{Core, HasCore};
use crate::faults::Outcome;
use crate::jobs::Progress;

/// One video task.
#[derive(Debug, Clone)]
pub(crate) struct KlingTask {
    pub(crate) id: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_ms: u64,
    pub(crate) polled: bool,
    pub(crate) done: bool,
}

impl KlingTask {
    /// `task_status` as of the last poll (digest §5; legacy `succeed`, trap 1).
    pub(crate) fn status(&self) -> &str {
        match (self.done, &self.outcome) {
            (false, _) if !self.polled => "submitted",
            (false, _) => "processing",
            (true, Outcome::SafetyBlock | Outcome::Error { .. }) => "failed",
            (true, Outcome::Status(status)) => status,
            (true, _) => "succeed",
        }
    }
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct KlingState {
    pub(crate) core: Arc<Core>,
    pub(crate) config: KlingConfig,
    tasks: Mutex<Vec<KlingTask>>,
    bodies: Mutex<Vec<Value>>,
    tokens: Mutex<Vec<String>>,
    errors_in_200: Mutex<bool>,
    clock_ahead: Mutex<u64>,
    epoch: Mutex<u64>,
    stale: Mutex<u32>,
    next_id: Mutex<u64>,
}

impl HasCore for Arc<KlingState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl KlingState {
    pub(crate) fn new(core: Arc<Core>, config: KlingConfig) -> Self {
        Self {
            core,
            config,
            tasks: Mutex::default(),
            bodies: Mutex::default(),
            tokens: Mutex::default(),
            errors_in_200: Mutex::new(false),
            clock_ahead: Mutex::new(0),
            epoch: Mutex::new(1),
            stale: Mutex::new(0),
            next_id: Mutex::new(867_283_741_759_111_202),
        }
    }

    /// The fake's clock, Unix seconds.
    pub(crate) fn now(&self) -> u64 {
        super::unix_now() + *lock(&self.clock_ahead)
    }

    pub(crate) fn set_clock_ahead(&self, secs: u64) {
        *lock(&self.clock_ahead) = secs;
    }

    pub(crate) fn errors_in_200(&self) -> bool {
        *lock(&self.errors_in_200)
    }

    pub(crate) fn set_errors_in_200(&self, on: bool) {
        *lock(&self.errors_in_200) = on;
    }

    pub(crate) fn saw_token(&self, token: String) {
        let mut tokens = lock(&self.tokens);
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }

    pub(crate) fn tokens(&self) -> Vec<String> {
        lock(&self.tokens).clone()
    }

    pub(crate) fn record_body(&self, body: Value) {
        lock(&self.bodies).push(body);
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    /// A numeric task id like the digest's `"867283741759111202"`.
    pub(crate) fn new_id(&self) -> String {
        let mut next = lock(&self.next_id);
        *next += 1;
        next.to_string()
    }

    pub(crate) fn insert(&self, task: KlingTask) {
        lock(&self.tasks).push(task);
    }

    pub(crate) fn get(&self, id: &str) -> Option<KlingTask> {
        lock(&self.tasks).iter().find(|t| t.id == id).cloned()
    }

    /// Whether a task already carries this `external_task_id` (unique per account, trap 7).
    pub(crate) fn external_id_taken(&self, external: &str) -> bool {
        lock(&self.tasks).iter().any(|t| t.create.external_task_id.as_deref() == Some(external))
    }

    /// Counts a poll of the task named by `id` (its `task_id` or `external_task_id`) on
    /// the endpoint it was created on, and returns it as of this poll.
    pub(crate) fn poll(&self, id: &str, image_to_video: bool) -> Option<KlingTask> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| {
            t.create.image_to_video == image_to_video
                && (t.id == id || t.create.external_task_id.as_deref() == Some(id))
        })?;
        if task.done {
            return Some(task.clone());
        }
        task.polled = true;
        if task.progress.poll() && task.outcome != Outcome::Never {
            task.done = true;
        }
        Some(task.clone())
    }

    pub(crate) fn all(&self) -> Vec<KlingTask> {
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
