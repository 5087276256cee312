//! The HTTP surfaces of vidgate: thin axum handlers over the gateway's operations.
//!
//! Layout:
//! - [`routes`]: one module per surface (video tasks, models, files, admin, operations).
//! - [`error`]: the single mapping from an [`ApiError`](vidgate_engine::gateway::ApiError)
//!   to an HTTP response in the contract's error shape.
//! - [`extract`]: credentials, JSON bodies, path and query parameters (every refusal in the
//!   error shape, never the framework's plain text), and the request id.
//! - [`limits`]: the quota and spend-window headers of every authenticated response.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers' annotations.
//! - [`telemetry`]: the Prometheus recorder and the request metrics.
//! - [`conn`]: the accept loop and connection limits (header-read timeout, minimum body
//!   rate, connection cap).
//!
//! Handlers parse, call one gateway function, and render; they never touch the store.
//! [`serve`] takes an already bound listener and a shutdown future, so tests run it on
//! port 0.

pub mod conn;
pub mod console;
pub mod error;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod routes;
pub mod telemetry;

use std::sync::Arc;

use axum::Router;
use vidgate_engine::gateway::Gateway;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
}

/// The whole router.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let state = AppState { gateway: gateway.clone() };
    let body_limit = gateway.config.server.body_limit_bytes;
    routes::all()
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::limit_headers))
        .with_state(state)
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(extract::request_id))
}

pub use conn::ConnLimits;

/// Serves `router` on `listener` within `limits` (see [`conn`]) until `shutdown` resolves,
/// then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn::serve(listener, router, limits, shutdown).await
}
