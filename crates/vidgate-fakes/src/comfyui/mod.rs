//! The fake ComfyUI server, written from the protocol digest (summarised in
//! docs/upstreams.md §15, whose §15.N is the digest's §N), never from the adapter: the API
//! format graph validated against its node table (`nodes`, served as `/object_info`), one
//! worker running prompts serially in queue order, `/history/{id}` that is `{}` until a prompt
//! ends (and for an unknown id), `/queue`, cancel by `/queue` delete, `/interrupt` and the
//! jobs API, `/view` and `/upload/image`, and restarts that wipe queue and history. A
//! finished prompt's video is a real MP4 of the size and length the graph asks for, after
//! the model's silent rounding (LTX-2: 8k+1 frames and 32 px; Wan: 4k+1 and 16 px), with
//! audio when the video node has an audio input linked.
//!
//! Scripting with [`crate::Faults`] (matched on the first `CLIPTextEncode` text by node id):
//! `Outcome::Error { code: "oom", .. }` ends the prompt with an `execution_error` of type
//! `torch.OutOfMemoryError`, another code with that exception type; `Outcome::Never` keeps
//! it running until interrupted; `Outcome::CorruptMedia` saves bytes that are not an MP4.
//! [`FakeComfyui::set_gpu_ms`] fixes the time from `execution_start` to the end.
//!
//! Layout: `nodes` (node table, validation, the clip a graph makes) → `routes`; `state`.

mod nodes;
mod routes;
mod state;

use std::sync::Arc;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::ComfyState;

/// How to start a [`FakeComfyui`].
#[derive(Debug, Clone, Default)]
pub struct ComfyuiConfig {
    /// The `Authorization` value a reverse proxy in front of it wants (`None`: open).
    pub authorization: Option<String>,
    /// Whether `/api/jobs/{id}/cancel` exists (builds since 2026-06; older ones answer 404).
    pub jobs_api: bool,
}

/// A running fake ComfyUI; it stops when dropped.
#[derive(Debug)]
pub struct FakeComfyui {
    state: Arc<ComfyState>,
    _server: Running,
}

impl FakeComfyui {
    /// Starts an open server with the jobs API.
    pub async fn start() -> Self {
        Self::start_with(ComfyuiConfig { authorization: None, jobs_api: true }).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: ComfyuiConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Comfyui, base_url, routes::classify, false);
        let state = Arc::new(ComfyState::new(core, config.authorization, config.jobs_api));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// The fault control.
    pub fn faults(&self) -> &Faults {
        &self.state.core.faults
    }

    /// Counters, rejections and notes (`submits_by_key` counts prompts per `prompt_id`).
    pub fn journal(&self) -> &Journal {
        &self.state.core.journal
    }

    /// A restart: the queue, the running prompt and the history are gone (files stay).
    pub fn restart(&self) {
        let mut inner = self.state.lock();
        inner.pending.clear();
        inner.running = None;
        inner.history.clear();
    }

    /// Every finished prompt takes exactly `ms` from `execution_start` to its end.
    pub fn set_gpu_ms(&self, ms: Option<u64>) {
        self.state.lock().gpu_ms = ms;
    }

    /// The ids queued (pending, in queue order) and the one running.
    pub fn queue(&self) -> (Vec<String>, Option<String>) {
        let inner = self.state.lock();
        let mut pending: Vec<_> = inner.pending.iter().map(|p| (p.number, p.id.clone())).collect();
        pending.sort();
        (pending.into_iter().map(|(_, id)| id).collect(), inner.running.as_ref().map(|p| p.id.clone()))
    }

    /// `(prompt_id, status_str)` of every history entry, oldest first.
    pub fn history(&self) -> Vec<(String, String)> {
        let inner = self.state.lock();
        let status = |e: &serde_json::Value| e["status"]["status_str"].as_str().unwrap_or("").to_owned();
        inner.history.iter().map(|(id, e)| (id.clone(), status(e))).collect()
    }

    /// Every graph received and queued, in order, with its prompt id.
    pub fn graphs(&self) -> Vec<(String, serde_json::Value)> {
        self.state.lock().graphs.clone()
    }

    /// The names of the uploaded input images.
    pub fn uploads(&self) -> Vec<String> {
        let mut names: Vec<_> = self.state.lock().uploads.keys().cloned().collect();
        names.sort();
        names
    }

    /// Every `/interrupt` and jobs-API interrupt, with the prompt id it named (`None`: global).
    pub fn interrupts(&self) -> Vec<Option<String>> {
        self.state.lock().interrupts.clone()
    }
}
