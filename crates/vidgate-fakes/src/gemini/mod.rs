//! The fake Gemini API Veo upstream (docs/upstreams.md §1): `predictLongRunning`, operation
//! polling with `GET`, and Files-API downloads that redirect, all behind an API key.
//!
//! Layout: `request` (body rules) → `routes` → `response` (operation JSON); `state`.

mod request;
mod response;
mod routes;
mod state;

use std::sync::Arc;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::GeminiState;

/// How to start a [`FakeGemini`].
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// The API key every call must carry.
    pub api_key: String,
    /// Model ids served; others get 404.
    pub models: Vec<String>,
    /// Leave `done` out while running instead of answering `"done": false`.
    pub omit_done_while_running: bool,
}

impl Default for GeminiConfig {
    fn default() -> Self {
        Self {
            api_key: "fake-gemini-key".into(),
            // Reportedly shut down 2026-10-22 (UNCONFIRMED, docs/upstreams.md §0); served here.
            models: ["veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview"]
                .map(String::from)
                .to_vec(),
            omit_done_while_running: false,
        }
    }
}

/// A running fake Gemini API; it stops when dropped.
#[derive(Debug)]
pub struct FakeGemini {
    state: Arc<GeminiState>,
    _server: Running,
}

impl FakeGemini {
    /// Starts with [`GeminiConfig::default`].
    pub async fn start() -> Self {
        Self::start_with(GeminiConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own; downloads redirect by default.
    pub async fn start_with(config: GeminiConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Google, base_url, routes::classify, true);
        let state = Arc::new(GeminiState::new(core, config.api_key, config.models, config.omit_done_while_running));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`, in place of `https://generativelanguage.googleapis.com`.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// `{base_url}/v1beta`, the documented API base.
    pub fn api_base(&self) -> String {
        format!("{}/v1beta", self.base_url())
    }

    /// The API key to configure the adapter with.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// The fault control.
    pub fn faults(&self) -> &Faults {
        &self.state.core.faults
    }

    /// Counters, rejections and notes.
    pub fn journal(&self) -> &Journal {
        &self.state.core.journal
    }

    /// Deletes every generated file (downloads then get 404, as after the 2-day retention).
    pub fn expire_results(&self) {
        self.state.expire_files();
    }
}
