//! The fake Wan video-synthesis API of Alibaba Cloud Model Studio (DashScope), written from
//! the protocol digest (summarised in docs/upstreams.md §9, whose §9.N is the digest's §N),
//! never from the adapter: async create with the mandatory `X-DashScope-Async: enable`, the
//! three request shapes per model family, task polling with seven statuses, cancel while
//! `PENDING`, the task list with its filters and pages, per-second usage on success, results at signed OSS URLs that expire.
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` fails the task after `RUNNING`
//! with `DataInspectionFailed`; `Outcome::Error` with `DataInspectionFailed`,
//! `IPInfringementSuspect` or `Arrearage` refuses the create with 400 and creates nothing;
//! any other `Outcome::Error` fails the task with that code (an empty code: a `FAILED`
//! without a reason, trap 7); `Outcome::Status("UNKNOWN")` reports the task as expired.
//! [`FakeDashscope::expire_results`] makes every URL handed out so far answer 403, and
//! [`FakeDashscope::hand_out_expired_urls`] the next ones expired already.
//!
//! A create whose answer is lost after its task was made is `Fault::ResetAfter` (or
//! `Fault::Slow`) on `Endpoint::Submit`; the task is then in the list.
//!
//! Layout: `models` (ids and shapes) → `request` (create rules) → `routes`, `list`; `state`.

mod list;
mod models;
mod request;
mod routes;
mod state;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use models::{Shape as RequestShape, WanModel};
use serde_json::Value;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::WanState;

/// How to start a [`FakeDashscope`].
#[derive(Debug, Clone)]
pub struct DashscopeConfig {
    /// The bearer key every API call must carry.
    pub api_key: String,
}

impl Default for DashscopeConfig {
    fn default() -> Self {
        Self { api_key: "sk-fake-dashscope".into() }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A running fake DashScope; it stops when dropped.
#[derive(Debug)]
pub struct FakeDashscope {
    state: Arc<WanState>,
    _server: Running,
}

impl FakeDashscope {
    /// Starts with the default key.
    pub async fn start() -> Self {
        Self::start_with(DashscopeConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: DashscopeConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::DashScope, base_url, routes::classify, false);
        let state = Arc::new(WanState::new(core, config.api_key, models::all()));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// `{base_url}/api/v1`, the API base (as `https://dashscope.aliyuncs.com/api/v1`).
    pub fn api_base(&self) -> String {
        format!("{}/api/v1", self.base_url())
    }

    /// The bearer key to configure the adapter with.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// The served models.
    pub fn models(&self) -> &[WanModel] {
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

    /// The path of every create received (`/api/v1/services/aigc/…/video-synthesis`), in
    /// the order of [`FakeDashscope::create_bodies`].
    pub fn create_paths(&self) -> Vec<String> {
        self.state.paths()
    }

    /// Every result URL handed out so far now answers 403 (the 24 h validity ran out).
    pub fn expire_results(&self) {
        self.state.expire();
    }

    /// The next `n` result URLs handed out are already expired (403), as if the 24 h ran
    /// out between the poll and the download.
    pub fn hand_out_expired_urls(&self, n: u32) {
        self.state.stale_urls(n);
    }

    /// Task-list requests received (`GET /api/v1/tasks?…`), refused ones included.
    pub fn list_requests(&self) -> u64 {
        self.state.lists.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `(task_id, task_status)` of every task the fake holds, oldest first.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.state.all().iter().map(|t| (t.id.clone(), t.status().to_owned())).collect()
    }
}
