//! The fake MiniMax video API (the v2 API of MiniMax-H3), written from the protocol digest
//! (summarised in docs/upstreams.md §11, whose §11.N is the digest's §N), never from the
//! adapter: Bearer key, `POST /v2/video_generation` with `content` items and an integer
//! `duration`, the task query with the id in the path and the statuses `queued`, `running`,
//! `succeeded`, `failed`, `cancelled` (and any scripted one such as `expired`), the list, the
//! DELETE, and time-limited result URLs. A job delivers what H3 really makes: 17n + 5
//! frames at 24 fps, so 5 s gives 5.167 s (digest §7), while `usage.output_seconds` bills the
//! requested seconds.
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` fails the task with error 1027
//! (output flagged); `Outcome::Error` with a code of auth (1004, 2049), balance (1008, 2056),
//! plan (2061), input moderation (1026) or invalid params (1042, 2013) refuses the create in
//! the v2 error envelope and creates nothing; any other `Outcome::Error` fails the task with
//! that numeric code; `Outcome::Status("expired")` reports that status. Transport faults:
//! 429 answers `rate_limit_error` (1002), other statuses `server_error` (1000).
//! [`FakeMinimax::set_delivered_ms`] changes the delivered length,
//! [`FakeMinimax::expire_results`] makes every URL handed out so far answer 403 and
//! [`FakeMinimax::hand_out_expired_urls`] the next ones expired already.
//!
//! A create whose answer is lost after its task was made is `Fault::ResetAfter` (or
//! `Fault::Slow`) on `Endpoint::Submit`; the task is then in the list.
//!
//! The v1 API of the Hailuo models (digest §3b, §5b) is served beside it (`v1`): create, the
//! query with five statuses and `file_id`, `files/retrieve` with a 9 h `download_url`
//! (fault injection on `Endpoint::Retrieve`); [`FakeMinimax::set_file_id_as_number`] sends
//! the query's `file_id` as a number.
//!
//! Layout: `request` (create rules, models) → `routes`; `v1` (its own rules and routes); `state`.

mod request;
mod routes;
mod state;
mod v1;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use request::{H3Model, MODELS};
use serde_json::Value;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::H3State;

/// How to start a [`FakeMinimax`].
#[derive(Debug, Clone)]
pub struct MinimaxConfig {
    /// The bearer key every API call must carry.
    pub api_key: String,
}

impl Default for MinimaxConfig {
    fn default() -> Self {
        Self { api_key: "sk-fake-minimax".into() }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A running fake MiniMax; it stops when dropped.
#[derive(Debug)]
pub struct FakeMinimax {
    state: Arc<H3State>,
    _server: Running,
}

impl FakeMinimax {
    /// Starts with the default key.
    pub async fn start() -> Self {
        Self::start_with(MinimaxConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: MinimaxConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Minimax, base_url, routes::classify, false);
        let state = Arc::new(H3State::new(core, config.api_key));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`, the API base (as `https://api.minimax.io`; paths carry `/v2`).
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
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

    /// Every create body received (JSON objects), in order, accepted or not.
    pub fn create_bodies(&self) -> Vec<Value> {
        self.state.bodies()
    }

    /// Every next job delivers `ms` of video (`None`: H3's 17n + 5 frames at 24 fps).
    pub fn set_delivered_ms(&self, ms: Option<u64>) {
        self.state.set_delivered(ms);
    }

    /// Whether the v1 query sends `file_id` as a JSON number instead of a string (trap 4).
    pub fn set_file_id_as_number(&self, number: bool) {
        self.state.set_file_id_number(number);
    }

    /// Every result URL handed out so far now answers 403.
    pub fn expire_results(&self) {
        self.state.expire();
    }

    /// The next `n` result URLs handed out are already expired (403).
    pub fn hand_out_expired_urls(&self, n: u32) {
        self.state.stale_urls(n);
    }

    /// v2 task-list requests received (`GET /v2/query/video_generation?…`), refused ones
    /// included.
    pub fn list_requests(&self) -> u64 {
        self.state.lists.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `(task_id, status)` of every task the fake holds, oldest first.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.state.all().iter().map(|t| (t.id.clone(), t.status().to_owned())).collect()
    }
}
