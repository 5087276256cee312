//! The fake Seedance content-generation API of BytePlus ModelArk and Volcengine Ark, written
//! from the providers' documentation (summarised in docs/upstreams.md §8), never from the
//! adapter: create with the
//! `content` array, get, list and delete tasks behind a bearer key, six statuses, token usage
//! on success, results at pre-signed URLs that expire.
//!
//! Scripting with [`crate::Faults`]: `Outcome::SafetyBlock` fails the task after `running`
//! with `OutputVideoSensitiveContentDetected`; `Outcome::Error` with an input-moderation code
//! (`InputTextSensitiveContentDetected`, …) refuses the create with 400 and creates nothing;
//! any other `Outcome::Error` fails the task with that code; `Outcome::Status("expired")`
//! ends it `expired`. [`FakeModelark::expire_results`] makes every URL handed out so far
//! answer 403; a new `GET` of the task signs a fresh one.
//!
//! Layout: `models` (ids per flavour) → `request` (create rules) → `routes`; `state`.

mod models;
mod request;
mod routes;
mod state;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use models::ArkModel;
use serde_json::Value;

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::ArkState;

/// Which deployment the fake plays (the same protocol; model ids differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// BytePlus ModelArk: `dreamina-…` and bare ids.
    Byteplus,
    /// Volcengine Ark: `doubao-…` ids.
    Volcengine,
}

/// How to start a [`FakeModelark`].
#[derive(Debug, Clone)]
pub struct ModelarkConfig {
    /// The bearer key every API call must carry.
    pub api_key: String,
    /// The deployment, which picks the served model ids.
    pub flavor: Flavor,
}

impl Default for ModelarkConfig {
    fn default() -> Self {
        Self { api_key: "ark-fake-key".into(), flavor: Flavor::Byteplus }
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A running fake ModelArk; it stops when dropped.
#[derive(Debug)]
pub struct FakeModelark {
    state: Arc<ArkState>,
    _server: Running,
}

impl FakeModelark {
    /// Starts the BytePlus flavour.
    pub async fn start() -> Self {
        Self::start_with(ModelarkConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: ModelarkConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let core = Core::new(Shape::OpenAi, base_url, routes::classify, false);
        let models = match config.flavor {
            Flavor::Byteplus => models::byteplus(),
            Flavor::Volcengine => models::volcengine(),
        };
        let state = Arc::new(ArkState::new(core, config.api_key, models));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// `{base_url}/api/v3`, the API base (as `https://ark.…/api/v3`).
    pub fn api_base(&self) -> String {
        format!("{}/api/v3", self.base_url())
    }

    /// The bearer key to configure the adapter with.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// The served models.
    pub fn models(&self) -> &[ArkModel] {
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

    /// Every result URL handed out so far now answers 403 (the 24 h validity ran out); a new
    /// `GET` of the task hands out a freshly signed one.
    pub fn expire_results(&self) {
        self.state.expire();
    }

    /// The next `n` result URLs handed out are already expired (403), as if the 24 h ran
    /// out between the poll and the download.
    pub fn hand_out_expired_urls(&self, n: u32) {
        self.state.stale_urls(n);
    }

    /// The statuses of every task the fake holds, oldest first (deleted ones are gone).
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.state.all().iter().map(|t| (t.id.clone(), t.status().to_owned())).collect()
    }
}
