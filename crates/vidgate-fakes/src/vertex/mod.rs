//! The fake Vertex AI Veo upstream (docs/upstreams.md §2): a service-account token endpoint, Veo's
//! `predictLongRunning` and `fetchPredictOperation`, and a GCS for `storageUri` results, on one
//! loopback base URL.
//!
//! Layout: `account` (the test service account and the JWT check) → `token` (the token
//! endpoint); `request` (body rules) → `routes` → `response` (operation JSON); `state`.

mod account;
mod request;
mod response;
mod routes;
mod state;
mod token;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use account::{CLOUD_PLATFORM_SCOPE, ServiceAccount};

use crate::core::Core;
use crate::errors::Shape;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::server::Running;
use state::VertexState;

/// How to start a [`FakeVertex`].
#[derive(Debug, Clone)]
pub struct VertexConfig {
    /// The service account's project: the only `{project}` the fake serves.
    pub project: String,
    /// The service account's `client_email`.
    pub client_email: String,
    /// Model ids served; others get the documented misleading 404.
    pub models: Vec<String>,
    /// `expires_in` of issued tokens; keep it short to test refreshes during long polls.
    pub token_lifetime: Duration,
    /// Answer `"done": false` while running instead of leaving `done` out.
    pub done_false_while_running: bool,
}

impl Default for VertexConfig {
    fn default() -> Self {
        Self {
            project: "vidgate-test".into(),
            client_email: "vidgate-fake@vidgate-test.iam.gserviceaccount.com".into(),
            models: ["veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001"]
                .map(String::from)
                .to_vec(),
            token_lifetime: Duration::from_secs(3600),
            done_false_while_running: false,
        }
    }
}

/// A running fake Vertex AI; it stops when dropped.
#[derive(Debug)]
pub struct FakeVertex {
    state: Arc<VertexState>,
    _server: Running,
}

impl FakeVertex {
    /// Starts with [`VertexConfig::default`].
    pub async fn start() -> Self {
        Self::start_with(VertexConfig::default()).await
    }

    /// Starts on 127.0.0.1 with a port of its own.
    pub async fn start_with(config: VertexConfig) -> Self {
        let (listener, base_url) = Running::bind().await.expect("bind 127.0.0.1:0");
        let account = ServiceAccount {
            client_email: config.client_email,
            private_key_id: format!("fake-{}", crate::google::new_id()),
            project_id: config.project,
            token_uri: format!("{base_url}/token"),
        };
        let core = Core::new(Shape::Google, base_url, routes::classify, false);
        let state = Arc::new(VertexState::new(
            core,
            account,
            config.models,
            config.token_lifetime,
            config.done_false_while_running,
        ));
        let server = Running::serve(listener, routes::router(state.clone()));
        Self { state, _server: server }
    }

    /// `http://127.0.0.1:<port>`: the adapter's Vertex base URL (in place of
    /// `https://{LOCATION}-aiplatform.googleapis.com`) and its GCS base URL.
    pub fn base_url(&self) -> &str {
        &self.state.core.base_url
    }

    /// The token endpoint, also the `token_uri` of the key file.
    pub fn token_url(&self) -> &str {
        &self.state.account.token_uri
    }

    /// The service account (email, key id, project, token URI).
    pub fn account(&self) -> &ServiceAccount {
        &self.state.account
    }

    /// The service-account key file to configure the adapter with.
    pub fn key_file_json(&self) -> String {
        self.state.account.key_file_json()
    }

    /// The URL of `predictLongRunning` for `model` in `location`.
    pub fn predict_url(&self, location: &str, model: &str) -> String {
        format!("{}/v1/{}:predictLongRunning", self.base_url(), self.model_resource(location, model))
    }

    /// The URL of `fetchPredictOperation` for `model` in `location`.
    pub fn fetch_url(&self, location: &str, model: &str) -> String {
        format!("{}/v1/{}:fetchPredictOperation", self.base_url(), self.model_resource(location, model))
    }

    fn model_resource(&self, location: &str, model: &str) -> String {
        format!("projects/{}/locations/{location}/publishers/google/models/{model}", self.state.account.project_id)
    }

    /// The fault control.
    pub fn faults(&self) -> &Faults {
        &self.state.core.faults
    }

    /// Counters, rejections and notes.
    pub fn journal(&self) -> &Journal {
        &self.state.core.journal
    }

    /// `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.set_token_lifetime(lifetime);
    }

    /// Invalidates every issued token (the next calls with them get 401).
    pub fn revoke_tokens(&self) {
        self.state.revoke_tokens();
    }

    /// The object at a `gs://` URI, once a poll has reported it.
    pub fn gcs_object(&self, gs_uri: &str) -> Option<Bytes> {
        self.state.object_by_uri(gs_uri)
    }

    /// Deletes every GCS object (a bucket lifecycle rule ran).
    pub fn expire_results(&self) {
        self.state.expire_objects();
    }
}
