//! The fake Luma APIs, written from the protocol digest (summarised in docs/upstreams.md
//! §14, whose §14.N is the digest's §N), never from the adapter: the current Agents API
//! (`/v1/generations`, `ray-3.2`, nested string `video.duration`, `output[].url`, no cancel)
//! and the legacy Dream Machine API (`/dream-machine/v1/generations/video`, `ray-2`,
//! `ray-flash-2`, `ray-1-6`, top-level `duration`, `dreaming`, `assets.video`, DELETE), each
//! with its own key; results at presigned CDN URLs that expire.
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` fails the generation with
//! `content_moderated`; `Outcome::Error` with that `failure_code` and reason;
//! `Outcome::Status` reports that state. [`FakeLuma::expire_results`] and
//! [`FakeLuma::hand_out_expired_urls`] expire result URLs (403).
//!
//! Layout: `request` (create rules of both APIs) → `routes`; `state`.

mod list;
mod request;
mod routes;
mod state;

use std::sync::Arc;

use serde_json::Value;
pub use state::Api as LumaApi;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::LumaState;

/// How to start a [`FakeLuma`].
#[derive(Debug, Clone)]
pub struct LumaConfig {
    /// The Agents API key (`luma-api-…`).
    pub agents_key: String,
    /// The Dream Machine API key.
    pub dream_machine_key: String,
}

impl Default for LumaConfig {
    fn default() -> Self {
        Self { agents_key: "luma-api-fake-agents".into(), dream_machine_key: "luma-fake-dream-machine".into() }
    }
}

/// A running fake Luma; it stops when dropped.
#[derive(Debug)]
pub struct FakeLuma {
    state: Arc<LumaState>,
    _server: Running,
}

impl FakeLuma {
    /// Starts with the default keys.
    pub async fn start() -> Self {
        Self::start_with(LumaConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: LumaConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Luma, base_url, routes::classify, false);
        let state = Arc::new(LumaState::new(core, config.agents_key, config.dream_machine_key));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// `{base_url}/v1`, the Agents API base (as `https://agents.lumalabs.ai/v1`).
    pub fn agents_base(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// `{base_url}/dream-machine/v1` (as `https://api.lumalabs.ai/dream-machine/v1`).
    pub fn dream_machine_base(&self) -> String {
        format!("{}/dream-machine/v1", self.base_url())
    }

    /// The key of an API.
    pub fn api_key(&self, api: LumaApi) -> &str {
        match api {
            LumaApi::Agents => &self.state.agents_key,
            LumaApi::DreamMachine => &self.state.dream_key,
        }
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

    /// Every result URL handed out so far now answers 403.
    pub fn expire_results(&self) {
        self.state.expire();
    }

    /// The next `n` result URLs handed out are already expired (403).
    pub fn hand_out_expired_urls(&self, n: u32) {
        self.state.stale_urls(n);
    }

    /// `(id, state it had)` of every Dream Machine DELETE received.
    pub fn deletions(&self) -> Vec<(String, String)> {
        self.state.deletions()
    }

    /// `(id, state)` of every generation, oldest first (`deleted` once deleted).
    pub fn states(&self) -> Vec<(String, String)> {
        let state = |g: &state::Gen| if g.deleted { "deleted".to_owned() } else { g.state().to_owned() };
        self.state.all().iter().map(|g| (g.id.clone(), state(g))).collect()
    }
}
