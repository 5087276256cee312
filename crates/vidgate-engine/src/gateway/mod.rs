//! The gateway's operations as plain functions over typed values: authenticate a key,
//! submit, read, wait for and cancel a task, and the admin operations. The HTTP handlers,
//! the CLI and the tests all call these; none of them talks to the store directly.

mod admin;
pub mod auth;
pub mod balance;
mod bootstrap;
pub mod channels;
mod console;
mod deliveries;
pub mod key_cache;
pub mod management;
mod openai;
mod plan;
mod reads;
mod submit;
mod tasks;
pub mod usage;

use std::sync::Arc;

use vidgate_domain::catalog::Catalog;
use vidgate_domain::config::Config;
use vidgate_domain::{ErrorCode, RequestError};
use vidgate_store::{ApiKey, Store};

use crate::notify::Notifier;
use crate::view::UrlMinter;
use crate::worker::Engine;

pub use admin::{NewKeyRequest, SpendLimitsInput};
pub use auth::Caller;
pub use bootstrap::{Booted, Credentials, bootstrap};
pub use channels::{UpstreamObject, UpstreamPatch};
pub use management::{AccountPatch, KeyPatch, Page};
pub use submit::SubmitSurface;
pub use usage::UsageScope;

/// An error as a client sees it: a contract code, the field, a message, and for 429 how
/// long to wait. Internal details are logged, never put here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub error: RequestError,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error without a field.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RequestError::new(code, message).into()
    }

    /// An internal failure: logged with its detail, answered with a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(ErrorCode::InternalError, "internal error; the request id identifies it in the logs")
    }
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        ApiError { error, retry_after_secs: None }
    }
}

impl From<vidgate_store::StoreError> for ApiError {
    fn from(e: vidgate_store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// Everything the operations need, built once at start-up.
pub struct Gateway {
    pub config: Config,
    pub catalog: Catalog,
    /// Private: the HTTP layer reaches the store only through the gateway's operations.
    pub(crate) store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
    pub notifier: Notifier,
    pub urls: UrlMinter,
    /// The admin token's SHA-256 (hex), from config or bootstrap.
    pub admin_token_hash: String,
    /// The client for source image URLs (SSRF-guarded).
    pub fetch_client: reqwest::Client,
}

impl Gateway {
    /// Whether a submit with this key can be routed for `model`: always for test keys (and
    /// live keys with `sandbox.serve_live_keys`: the sandbox), otherwise when one of the
    /// model's routes is a configured upstream this process built — the same upstreams the
    /// submit plans over (`plan_submit`), which may still refuse a particular request.
    pub fn model_available(&self, key: &ApiKey, model: &str) -> bool {
        if key.mode == vidgate_domain::task::Mode::Test || self.config.sandbox.serve_live_keys {
            return true;
        }
        let Some(spec) = self.catalog.resolve(model) else { return false };
        let live = self.live_upstreams();
        spec.routes.iter().any(|r| live.iter().any(|u| &u.name == r))
    }
}
