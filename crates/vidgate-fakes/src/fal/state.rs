//! What the fal fake remembers: the key, the served endpoints, the requests in submit
//! order, every submit body, how long results are kept and whether CDN files still exist.
//!
//! Owns how a request's status moves (only a status `GET` moves it, as in the other fakes):
//! `IN_QUEUE` until first polled, then `IN_PROGRESS`, then `COMPLETED` (digest §5: there is
//! no failure status); a queued request cancelled is removed (`COMPLETED`, its result a
//! 400). It must not parse requests or render JSON.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use tokio::time::Instant;

use super::models::FalEndpoint;
use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// One queued request.
#[derive(Debug, Clone)]
pub(crate) struct FalJob {
    pub(crate) id: String,
    /// `owner/app` of the endpoint: the queue URLs' path (trap 1).
    pub(crate) app: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) polled: bool,
    pub(crate) completed_at: Option<Instant>,
    pub(crate) cancelled: bool,
}

impl FalJob {
    /// `status` as of the last status poll.
    pub(crate) fn status(&self) -> &str {
        match (&self.completed_at, &self.outcome) {
            (Some(_), Outcome::Status(status)) => status,
            (Some(_), _) => "COMPLETED",
            (None, _) if self.polled => "IN_PROGRESS",
            (None, _) => "IN_QUEUE",
        }
    }
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct FalState {
    pub(crate) core: Arc<Core>,
    pub(crate) key: String,
    endpoints: Mutex<Vec<FalEndpoint>>,
    jobs: Mutex<Vec<FalJob>>,
    bodies: Mutex<Vec<(String, Value)>>,
    result_ttl: Mutex<Duration>,
    cdn_gone: Mutex<bool>,
}

impl HasCore for Arc<FalState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FalState {
    pub(crate) fn new(core: Arc<Core>, key: String, endpoints: Vec<FalEndpoint>) -> Self {
        Self {
            core,
            key,
            endpoints: Mutex::new(endpoints),
            jobs: Mutex::default(),
            bodies: Mutex::default(),
            // Digest §5: 1 h, or 6 min for a result of 10 KB or more; results here are small.
            result_ttl: Mutex::new(Duration::from_secs(3600)),
            cdn_gone: Mutex::new(false),
        }
    }

    /// Requires `Authorization: Key <key>` (digest §2); `Bearer` or a wrong key is a 401.
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Key ")) {
            Some(key) if key == self.key => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "Invalid authentication: use 'Authorization: Key <key>'")),
        }
    }

    pub(crate) fn endpoint(&self, id: &str) -> Option<FalEndpoint> {
        lock(&self.endpoints).iter().find(|e| e.id == id).cloned()
    }

    pub(crate) fn serve(&self, endpoint: FalEndpoint) {
        let mut endpoints = lock(&self.endpoints);
        endpoints.retain(|e| e.id != endpoint.id);
        endpoints.push(endpoint);
    }

    pub(crate) fn record_body(&self, endpoint: &str, body: Value) {
        lock(&self.bodies).push((endpoint.to_owned(), body));
    }

    pub(crate) fn bodies(&self) -> Vec<(String, Value)> {
        lock(&self.bodies).clone()
    }

    pub(crate) fn insert(&self, job: FalJob) {
        lock(&self.jobs).push(job);
    }

    pub(crate) fn get(&self, id: &str) -> Option<FalJob> {
        lock(&self.jobs).iter().find(|j| j.id == id).cloned()
    }

    pub(crate) fn all(&self) -> Vec<FalJob> {
        lock(&self.jobs).clone()
    }

    /// Counts a status poll of `id` and returns the request as of this poll.
    pub(crate) fn poll(&self, id: &str) -> Option<FalJob> {
        let mut jobs = lock(&self.jobs);
        let job = jobs.iter_mut().find(|j| j.id == id)?;
        if job.completed_at.is_none() {
            job.polled = true;
            if job.progress.poll() && job.outcome != Outcome::Never {
                job.completed_at = Some(Instant::now());
            }
        }
        Some(job.clone())
    }

    /// Cancel (digest §6): a request not yet running is removed; `Err` names the status a
    /// cancel cannot change. `None`: no such request.
    pub(crate) fn cancel(&self, id: &str) -> Option<Result<(), &'static str>> {
        let mut jobs = lock(&self.jobs);
        let job = jobs.iter_mut().find(|j| j.id == id)?;
        if job.completed_at.is_some() {
            return Some(Err("ALREADY_COMPLETED"));
        }
        job.cancelled = true;
        if !job.polled {
            job.completed_at = Some(Instant::now());
        }
        Some(Ok(()))
    }

    /// Whether a completed request's result is still kept.
    pub(crate) fn result_kept(&self, job: &FalJob) -> bool {
        job.completed_at.is_some_and(|at| at.elapsed() < *lock(&self.result_ttl))
    }

    pub(crate) fn set_result_ttl(&self, ttl: Duration) {
        *lock(&self.result_ttl) = ttl;
    }

    pub(crate) fn cdn_gone(&self) -> bool {
        *lock(&self.cdn_gone)
    }

    pub(crate) fn delete_cdn_files(&self) {
        *lock(&self.cdn_gone) = true;
    }
}
