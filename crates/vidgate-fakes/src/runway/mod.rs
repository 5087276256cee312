//! The fake Runway Developer API, written from the protocol digest (summarised in
//! docs/upstreams.md §13, whose §13.N is the digest's §N), never from the adapter: the two
//! create endpoints with their per-model rules (pixel `ratio`, integer `duration`, image
//! inputs), `X-Runway-Version` required on every call, tasks polled through `PENDING`,
//! `THROTTLED`, `RUNNING` to `SUCCEEDED` / `FAILED` with credits, DELETE that cancels an
//! unfinished task and deletes a finished one with its output, outputs at signed CDN URLs
//! that expire.
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` fails the task with
//! `SAFETY.OUTPUT.VIDEO`; `Outcome::Error` fails it with that `failureCode` (`SAFETY.INPUT.*`
//! keeps its credits, trap 12); `Outcome::Status` reports that status. [`FakeRunway::throttle`]
//! makes new tasks answer `THROTTLED` for some polls; [`FakeRunway::expire_results`] and
//! [`FakeRunway::hand_out_expired_urls`] expire output URLs (403).
//!
//! Layout: `models` (ids, lengths, ratios, credits) → `request` (create rules) → `routes`;
//! `state`.

mod models;
mod request;
mod routes;
mod state;

use std::sync::Arc;

pub use models::RunwayModel;
use serde_json::Value;
pub use state::Deletion;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::RunwayState;

/// How to start a [`FakeRunway`].
#[derive(Debug, Clone)]
pub struct RunwayConfig {
    /// The bearer key every API call must carry (`key_` and 128 hex digits, digest §2).
    pub api_key: String,
}

impl Default for RunwayConfig {
    fn default() -> Self {
        Self { api_key: format!("key_{}", "0f".repeat(64)) }
    }
}

/// A running fake Runway; it stops when dropped.
#[derive(Debug)]
pub struct FakeRunway {
    state: Arc<RunwayState>,
    _server: Running,
}

impl FakeRunway {
    /// Starts with the default key.
    pub async fn start() -> Self {
        Self::start_with(RunwayConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: RunwayConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Runway, base_url, routes::classify, false);
        let state = Arc::new(RunwayState::new(core, config.api_key, models::all()));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`, the API base (as `https://api.dev.runwayml.com`).
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// The bearer key to configure the adapter with.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// The `X-Runway-Version` the fake requires.
    pub fn api_version(&self) -> &'static str {
        state::API_VERSION
    }

    /// The served models.
    pub fn models(&self) -> &[RunwayModel] {
        &self.state.models
    }

    /// The fault control.
    pub fn faults(&self) -> &Faults {
        &self.state.core.faults
    }

    /// Counters, rejections and notes.
    pub fn journal(&self) -> &Journal {
        &self.state.core.journal
    }

    /// Every create body received (JSON objects), in order, accepted or not.
    pub fn create_bodies(&self) -> Vec<Value> {
        self.state.bodies()
    }

    /// Tasks created from now on answer `THROTTLED` for their first `polls` polls (over the
    /// organisation's concurrency, digest §5, trap 8).
    pub fn throttle(&self, polls: u32) {
        self.state.set_throttle(polls);
    }

    /// Every output URL handed out so far now answers 403 (its signature ran out).
    pub fn expire_results(&self) {
        self.state.expire();
    }

    /// The next `n` output URLs handed out are already expired (403).
    pub fn hand_out_expired_urls(&self, n: u32) {
        self.state.stale_urls(n);
    }

    /// Every DELETE received for a known task, in order, with the status it had.
    pub fn deletions(&self) -> Vec<Deletion> {
        self.state.deletions()
    }

    /// `(id, status)` of every task the fake holds, oldest first (`DELETED` once deleted).
    pub fn statuses(&self) -> Vec<(String, String)> {
        let status = |t: &state::Task| if t.deleted { "DELETED".to_owned() } else { t.status().to_owned() };
        self.state.all().iter().map(|t| (t.id.clone(), status(t))).collect()
    }
}
