//! The fake Kling video API (Kuaishou), written from the protocol digest (summarised in
//! docs/upstreams.md §10, whose §10.N is the digest's §N), never from the adapter: the
//! legacy `model_name` endpoints `POST /v1/videos/text2video` and `/v1/videos/image2video`,
//! `GET` of a task there by `task_id` or `external_task_id`, statuses
//! `submitted → processing → succeed | failed`, the `{"code", "message", "request_id",
//! "data"}` envelope, AK/SK HS256 JWTs (`iss`, `exp`, `nbf`; 1002 invalid, 1003 not yet
//! valid, 1004 expired) or the API key, units billed on success only, and result URLs on a
//! CDN that expire. There is no cancel (digest §6).
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` fails the task after
//! `processing` with a content risk-control message; `Outcome::Error` with code `1300`,
//! `1301` (content security), `1101` or `1102` (no balance, a 429) refuses the create and
//! creates nothing; any other `Outcome::Error` fails the task with that message;
//! `Outcome::Status(s)` reports `s` once done. [`FakeKling::errors_in_http_200`] answers
//! those refusals with HTTP 200 and the code in the body (digest trap 3);
//! [`FakeKling::set_clock_ahead`] runs the fake's clock ahead, so tokens near their `exp`
//! are refused; [`FakeKling::expire_results`] and [`FakeKling::hand_out_expired_urls`] as
//! for DashScope.
//!
//! Layout: `auth` (tokens) → `request` (create rules) → `routes`; `state`.

mod auth;
mod request;
mod routes;
mod state;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::KlingState;

/// How to start a [`FakeKling`].
#[derive(Debug, Clone)]
pub struct KlingConfig {
    /// The access key a JWT's `iss` must name.
    pub access_key: String,
    /// The secret key JWTs are signed with.
    pub secret_key: String,
    /// The console API key, accepted as a bearer as it is.
    pub api_key: String,
}

impl Default for KlingConfig {
    fn default() -> Self {
        Self {
            access_key: "ak-fake-kling".into(),
            secret_key: "sk-fake-kling".into(),
            api_key: "kling-fake-api-key".into(),
        }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A running fake Kling; it stops when dropped.
#[derive(Debug)]
pub struct FakeKling {
    state: Arc<KlingState>,
    _server: Running,
}

impl FakeKling {
    /// Starts with the default keys.
    pub async fn start() -> Self {
        Self::start_with(KlingConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: KlingConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Kling, base_url, routes::classify, false);
        let state = Arc::new(KlingState::new(core, config));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`, the host (as `https://api-singapore.klingai.com`).
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// `ACCESS_KEY:SECRET_KEY`, the credentials to configure a `jwt` entry with.
    pub fn access_credentials(&self) -> String {
        format!("{}:{}", self.state.config.access_key, self.state.config.secret_key)
    }

    /// The API key to configure an `api_key` entry with.
    pub fn api_key(&self) -> &str {
        &self.state.config.api_key
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

    /// Every distinct bearer token accepted, in the order first seen.
    pub fn tokens_seen(&self) -> Vec<String> {
        self.state.tokens()
    }

    /// Business refusals at create (content security, balance) come as HTTP 200 with the
    /// code in the body (digest trap 3) instead of their documented 400 / 429.
    pub fn errors_in_http_200(&self, on: bool) {
        self.state.set_errors_in_200(on);
    }

    /// The fake's clock runs `secs` ahead of the machine's (for `exp` and `nbf` checks).
    pub fn set_clock_ahead(&self, secs: u64) {
        self.state.set_clock_ahead(secs);
    }

    /// Every result URL handed out so far now answers 403.
    pub fn expire_results(&self) {
        self.state.expire();
    }

    /// The next `n` result URLs handed out are already expired (403).
    pub fn hand_out_expired_urls(&self, n: u32) {
        self.state.stale_urls(n);
    }

    /// `(task_id, task_status)` of every task the fake holds, oldest first.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.state.all().iter().map(|t| (t.id.clone(), t.status().to_owned())).collect()
    }
}
