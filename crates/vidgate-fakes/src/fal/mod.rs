//! The fake fal.ai queue, written from the protocol digest (summarised in docs/upstreams.md
//! §12, whose §12.N is the digest's §N), never from the adapter: `Authorization: Key …`,
//! submits to `/{endpoint id}` checked against each endpoint's own input schema (length
//! types, image field names, resolution and aspect values, `generate_audio` defaulting to
//! true), queue URLs that keep only `owner/app`, `IN_QUEUE` → `IN_PROGRESS` → `COMPLETED`
//! with no failure status, failures shown only by the result's own status code, results
//! kept for a limited time, cancel with `PUT`, and videos on a public CDN.
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` completes with a 422
//! `content_policy_violation` result; `Outcome::Error { code, .. }` with a numeric code
//! completes with that status as the result, any other code with a 422 of that type;
//! `Outcome::Status(s)` reports `s` as the status; `Outcome::Never` runs forever.
//! [`FakeFal::set_result_ttl`] shortens how long results are kept (zero: gone when first
//! asked); [`FakeFal::delete_cdn_files`] deletes every video; [`FakeFal::serve`] adds an
//! endpoint of the test's own.
//!
//! Layout: `models` (endpoint schemas) → `request` (submit rules) → `routes`; `state`.

mod models;
mod request;
mod routes;
mod state;

use std::sync::Arc;
use std::time::Duration;

pub use models::{FalEndpoint, Length};
use serde_json::Value;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::FalState;

/// How to start a [`FakeFal`].
#[derive(Debug, Clone)]
pub struct FalConfig {
    /// The key every queue call must carry as `Authorization: Key <key>`.
    pub key: String,
}

impl Default for FalConfig {
    fn default() -> Self {
        Self { key: "fake-key-id:fake-key-secret".into() }
    }
}

/// A running fake fal queue; it stops when dropped.
#[derive(Debug)]
pub struct FakeFal {
    state: Arc<FalState>,
    _server: Running,
}

impl FakeFal {
    /// Starts with the default key.
    pub async fn start() -> Self {
        Self::start_with(FalConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: FalConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::Fal, base_url, routes::classify, false);
        let state = Arc::new(FalState::new(core, config.key, models::all()));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>` (as `https://queue.fal.run`).
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// The key to configure the adapter with.
    pub fn key(&self) -> &str {
        &self.state.key
    }

    /// Serves one more endpoint (or replaces one of the same id).
    pub fn serve(&self, endpoint: FalEndpoint) {
        self.state.serve(endpoint);
    }

    /// The fault control.
    pub fn faults(&self) -> &Faults {
        &self.state.core.faults
    }

    /// Counters, rejections and notes.
    pub fn journal(&self) -> &Journal {
        &self.state.core.journal
    }

    /// Every submit body received with its endpoint id, in order, accepted or not.
    pub fn submits(&self) -> Vec<(String, Value)> {
        self.state.bodies()
    }

    /// Results are kept this long after completion (default 1 h; zero: already gone when
    /// first asked for).
    pub fn set_result_ttl(&self, ttl: Duration) {
        self.state.set_result_ttl(ttl);
    }

    /// Every CDN video answers 404 from now on (deleted after their lifetime).
    pub fn delete_cdn_files(&self) {
        self.state.delete_cdn_files();
    }

    /// `(request_id, status, cancelled)` of every request, oldest first.
    pub fn statuses(&self) -> Vec<(String, String, bool)> {
        self.state.all().iter().map(|j| (j.id.clone(), j.status().to_owned(), j.cancelled)).collect()
    }
}
