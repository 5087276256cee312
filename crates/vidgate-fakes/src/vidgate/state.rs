//! What the vidgate fake remembers: its API key, the catalog, and the tasks with their
//! idempotency keys.
//!
//! Owns the idempotent submit (docs/api.md §4: the key check and the insert happen under one
//! lock, so concurrent duplicates make one task) and how a task's status moves (only a poll
//! moves it). It must not parse requests or render JSON.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use time::OffsetDateTime;

use super::catalog::Model;
use super::request::Submit;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::{Latency, Outcome};
use crate::jobs::Progress;

/// One task.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) submit: Submit,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) started_at: Option<OffsetDateTime>,
    pub(crate) completed_at: Option<OffsetDateTime>,
    pub(crate) cancelled: bool,
}

impl Task {
    /// The status string as of the last poll.
    pub(crate) fn status(&self) -> &str {
        match (&self.completed_at, &self.outcome) {
            _ if self.cancelled => "cancelled",
            (None, _) if self.started_at.is_none() => "queued",
            (None, _) => "running",
            (Some(_), Outcome::SafetyBlock | Outcome::Error { .. }) => "failed",
            (Some(_), Outcome::Status(status)) => status,
            (Some(_), _) => "completed",
        }
    }

    pub(crate) fn is_terminal(&self) -> bool {
        matches!(self.status(), "completed" | "failed" | "cancelled")
    }
}

/// The result of an idempotent submit.
#[derive(Debug)]
pub(crate) enum Submitted {
    New(Task),
    Replayed(Task),
    Conflict,
}

/// The vidgate fake's shared state.
#[derive(Debug)]
pub(crate) struct VidgateState {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    pub(crate) models: Vec<Model>,
    tasks: Mutex<Vec<Task>>,
    files_expired: Mutex<bool>,
}

impl HasCore for Arc<VidgateState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl VidgateState {
    pub(crate) fn new(core: Arc<Core>, api_key: String, models: Vec<Model>) -> Self {
        Self { core, api_key, models, tasks: Mutex::default(), files_expired: Mutex::new(false) }
    }

    /// `x-api-key: <key>` or `Authorization: Bearer <key>`; `x-api-key` wins (docs/api.md §3).
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let x_api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let bearer =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        match x_api_key.or(bearer) {
            Some(key) if key == self.api_key => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "missing, unknown, revoked or expired key")
                .code("invalid_api_key")),
        }
    }

    /// Creates the task, or finds the one its idempotency key already names.
    pub(crate) fn submit(&self, submit: Submit, script: impl FnOnce() -> (Outcome, Latency)) -> Submitted {
        let mut tasks = lock(&self.tasks);
        if let Some(key) = &submit.out_task_id
            && let Some(existing) = tasks.iter().find(|t| t.submit.out_task_id.as_ref() == Some(key))
        {
            return if existing.submit.fingerprint == submit.fingerprint {
                Submitted::Replayed(existing.clone())
            } else {
                Submitted::Conflict
            };
        }
        let (outcome, latency) = script();
        let task = Task {
            id: format!("task_{}", ulid::Ulid::new()),
            submit,
            outcome,
            progress: Progress::new(latency),
            created_at: OffsetDateTime::now_utc(),
            started_at: None,
            completed_at: None,
            cancelled: false,
        };
        tasks.push(task.clone());
        Submitted::New(task)
    }

    /// Counts a poll of `id` and returns the task as of this poll.
    pub(crate) fn poll(&self, id: &str) -> Option<Task> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id)?;
        if !task.is_terminal() && task.completed_at.is_none() {
            let now = OffsetDateTime::now_utc();
            task.started_at.get_or_insert(now);
            if task.progress.poll() && task.outcome != Outcome::Never {
                task.completed_at = Some(now);
            }
        }
        Some(task.clone())
    }

    pub(crate) fn get(&self, id: &str) -> Option<Task> {
        lock(&self.tasks).iter().find(|t| t.id == id).cloned()
    }

    /// Cancels a task that is not terminal; a terminal one is returned unchanged (docs/api.md §6).
    pub(crate) fn cancel(&self, id: &str) -> Option<Task> {
        let mut tasks = lock(&self.tasks);
        let task = tasks.iter_mut().find(|t| t.id == id)?;
        if !task.is_terminal() {
            task.cancelled = true;
            task.completed_at = Some(OffsetDateTime::now_utc());
        }
        Some(task.clone())
    }

    pub(crate) fn expire_files(&self) {
        *lock(&self.files_expired) = true;
    }

    pub(crate) fn files_expired(&self) -> bool {
        *lock(&self.files_expired)
    }
}
