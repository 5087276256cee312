//! The fake OpenAI Videos API (docs/upstreams.md §3; the real one shut down 2026-09-24, but its
//! shape lives on in gateways): create (JSON and multipart), retrieve, list, delete and
//! content, behind a bearer key, with injectable statuses the client does not know.
//!
//! Layout: `request` (create rules) → `routes` → `response` (the Video object); `state`.

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
use state::OpenAiState;

/// How to start a [`FakeOpenAi`].
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The bearer key every call must carry.
    pub api_key: String,
    /// Keys of other accounts it also accepts. A video belongs to the key that created it:
    /// another key's retrieve, content or delete answers 404 and its list leaves it out
    /// (each key is an account of its own, as on the real API).
    pub other_keys: Vec<String>,
    /// Model ids served (`sora-2*` ids follow the documented size rules; others take every size).
    pub models: Vec<String>,
    /// Send `openai-poll-after-ms` on `GET /v1/videos/{id}` (§3.6).
    pub poll_after_ms: Option<u64>,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        let models = ["sora-2", "sora-2-pro", "sora-2-2025-10-06", "sora-2-2025-12-08", "sora-2-pro-2025-10-06"];
        Self {
            api_key: "sk-fake-openai".into(),
            other_keys: Vec::new(),
            models: models.map(String::from).to_vec(),
            poll_after_ms: None,
        }
    }
}

/// A running fake OpenAI Videos API; it stops when dropped.
#[derive(Debug)]
pub struct FakeOpenAi {
    state: Arc<OpenAiState>,
    _server: Running,
}

impl FakeOpenAi {
    /// Starts with [`OpenAiConfig::default`].
    pub async fn start() -> Self {
        Self::start_with(OpenAiConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own; downloads do not redirect by default
    /// (whether the real API redirects is UNCONFIRMED; turn it on with the faults).
    pub async fn start_with(config: OpenAiConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::OpenAi, base_url, routes::classify, false);
        let state = Arc::new(OpenAiState::new(core, config.clone()));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`, in place of `https://api.openai.com`.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// `{base_url}/v1`, the documented API base.
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// The bearer key to configure the adapter with.
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

    /// Every `/content` download now gets 404 (the one-hour URL validity ran out).
    pub fn expire_results(&self) {
        self.state.expire();
    }
}
