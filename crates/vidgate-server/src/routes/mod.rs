//! The routes of every surface, and the fallbacks (404 / 405 in the contract's shape).

pub mod admin;
pub mod common;
pub mod files;
pub mod models;
pub mod money;
pub mod openai;
pub mod ops;
pub mod stream;
pub mod tasks;
pub mod upstreams;
pub mod videos;
pub mod webhooks;

use axum::Router;
use axum::routing::{get, post};
use vidgate_domain::ErrorCode;

use crate::AppState;
use crate::error::HttpError;

/// Every route.
pub fn all() -> Router<AppState> {
    Router::new()
        .route("/v1/videos/generations", post(videos::submit))
        .route("/v1/videos/tasks/{task_id}", get(videos::get_task))
        .route("/v1/tasks/submit", post(tasks::submit))
        .route("/v1/tasks/query", get(tasks::query_get).post(tasks::query_body))
        .route("/v1/tasks/cancel", post(tasks::cancel_body))
        .route("/v1/tasks/cancel/{task_id}", post(tasks::cancel_path))
        .route("/v1/tasks/stream/{task_id}", get(stream::stream))
        .route("/v1/tasks/{task_id}/deliveries", get(webhooks::deliveries))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{model_id}", get(models::get_one))
        .route("/v1/balance", get(money::balance))
        .route("/v1/usage", get(money::usage))
        .route("/admin/v1/usage", get(money::admin_usage))
        .route("/files/{task_id}/{name}", get(files::serve_file).head(files::serve_file))
        .merge(openai::routes())
        .merge(admin::routes())
        .merge(upstreams::routes())
        .merge(crate::console::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> HttpError {
    HttpError::new(ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> HttpError {
    HttpError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take that method")
}
