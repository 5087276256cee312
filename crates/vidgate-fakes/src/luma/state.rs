//! What the Luma fake remembers: the key of each API, the generations in creation order,
//! every create body as received, every DELETE, and the signing epoch of result URLs.
//!
//! Owns how a generation's `state` moves (only a `GET` moves it, as in the other fakes):
//! `queued` → `processing` (Agents) or `dreaming` (Dream Machine) → `completed` / `failed`
//! (digest §5); a Dream Machine DELETE removes the record (§6). It must not parse requests or
//! render JSON.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// Which of the two APIs a request or generation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `https://agents.lumalabs.ai/v1`.
    Agents,
    /// `https://api.lumalabs.ai/dream-machine/v1`.
    DreamMachine,
}

/// One generation.
#[derive(Debug, Clone)]
pub(crate) struct Gen {
    pub(crate) id: String,
    pub(crate) api: Api,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_at: String,
    pub(crate) polled: bool,
    pub(crate) done: bool,
    pub(crate) deleted: bool,
}

impl Gen {
    /// `state` as of the last poll.
    pub(crate) fn state(&self) -> &str {
        match (self.done, &self.outcome) {
            (false, _) if !self.polled => "queued",
            (false, _) if self.api == Api::Agents => "processing",
            (false, _) => "dreaming",
            (true, Outcome::SafetyBlock | Outcome::Error { .. }) => "failed",
            (true, Outcome::Status(state)) => state,
            (true, _) => "completed",
        }
    }
}

/// The fake's shared state.
#[derive(Debug)]
pub(crate) struct LumaState {
    pub(crate) core: Arc<Core>,
    pub(crate) agents_key: String,
    pub(crate) dream_key: String,
    gens: Mutex<Vec<Gen>>,
    bodies: Mutex<Vec<Value>>,
    deletions: Mutex<Vec<(String, String)>>,
    epoch: Mutex<u64>,
    stale: Mutex<u32>,
}

impl HasCore for Arc<LumaState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LumaState {
    pub(crate) fn new(core: Arc<Core>, agents_key: String, dream_key: String) -> Self {
        Self {
            core,
            agents_key,
            dream_key,
            gens: Mutex::default(),
            bodies: Mutex::default(),
            deletions: Mutex::default(),
            epoch: Mutex::new(1),
            stale: Mutex::new(0),
        }
    }

    /// `Authorization: Bearer <key>` with the key of that API (digest §2: two key types).
    pub(crate) fn check_key(&self, headers: &HeaderMap, api: Api) -> Result<(), Refusal> {
        let want = if api == Api::Agents { &self.agents_key } else { &self.dream_key };
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(key) if key == want => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "Invalid API key is provided")),
        }
    }

    pub(crate) fn record_body(&self, body: Value) {
        lock(&self.bodies).push(body);
    }

    pub(crate) fn bodies(&self) -> Vec<Value> {
        lock(&self.bodies).clone()
    }

    pub(crate) fn insert(&self, g: Gen) {
        lock(&self.gens).push(g);
    }

    /// A generation of `api` that was not deleted.
    pub(crate) fn get(&self, id: &str, api: Api) -> Option<Gen> {
        lock(&self.gens).iter().find(|g| g.id == id && g.api == api && !g.deleted).cloned()
    }

    /// Counts a poll of `id` and returns the generation as of this poll.
    pub(crate) fn poll(&self, id: &str, api: Api) -> Option<Gen> {
        let mut gens = lock(&self.gens);
        let g = gens.iter_mut().find(|g| g.id == id && g.api == api && !g.deleted)?;
        if !g.done {
            g.polled = true;
            if g.progress.poll() && g.outcome != Outcome::Never {
                g.done = true;
            }
        }
        Some(g.clone())
    }

    /// Dream Machine DELETE: the record is gone; returns the state it had.
    pub(crate) fn delete(&self, id: &str) -> Option<String> {
        let mut gens = lock(&self.gens);
        let g = gens.iter_mut().find(|g| g.id == id && g.api == Api::DreamMachine && !g.deleted)?;
        g.deleted = true;
        let state = g.state().to_owned();
        lock(&self.deletions).push((id.to_owned(), state.clone()));
        Some(state)
    }

    pub(crate) fn deletions(&self) -> Vec<(String, String)> {
        lock(&self.deletions).clone()
    }

    pub(crate) fn all(&self) -> Vec<Gen> {
        lock(&self.gens).clone()
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
