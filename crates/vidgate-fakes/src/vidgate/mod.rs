//! The fake vidgate-protocol upstream (docs/api.md §4, §5, §6, §10): another gateway speaking this
//! very protocol, with idempotent submits by `out_task_id` / `Idempotency-Key`.
//!
//! Layout: `catalog` (the models) → `request` (submit rules, fingerprint) → `routes` →
//! `response` (the task object, files); `state`.

pub mod catalog;
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
use catalog::Model;
use state::VidgateState;

/// How to start a [`FakeVidgate`].
#[derive(Debug, Clone)]
pub struct VidgateConfig {
    /// The API key every call must carry (`Authorization: Bearer` or `x-api-key`).
    pub api_key: String,
    /// The catalog; by default the shipped one of docs/api.md §11.
    pub models: Vec<Model>,
}

impl Default for VidgateConfig {
    fn default() -> Self {
        Self { api_key: "sk-vg-fake-upstream".into(), models: catalog::default_models() }
    }
}

/// A running fake vidgate; it stops when dropped.
#[derive(Debug)]
pub struct FakeVidgate {
    state: Arc<VidgateState>,
    _server: Running,
}

impl FakeVidgate {
    /// Starts with [`VidgateConfig::default`].
    pub async fn start() -> Self {
        Self::start_with(VidgateConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: VidgateConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Vidgate, base_url, routes::classify, false);
        let state = Arc::new(VidgateState::new(core, config.api_key, config.models));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`: the upstream gateway's base URL.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
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

    /// The retention sweeper ran: tasks report `files_expired: true`, file URLs answer 410.
    pub fn expire_results(&self) {
        self.state.expire_files();
    }
}
