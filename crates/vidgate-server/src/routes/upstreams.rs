//! The upstreams of the management API (docs/api.md §12.6): each configured upstream with
//! its routing state, and an operator's change (to one upstream, or to every member of a
//! credential pool named by its entry), behind the admin token.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use vidgate_engine::gateway::{UpstreamObject, UpstreamPatch};

use super::admin::{ListPage, typed};
use crate::AppState;
use crate::error::{ErrorBody, HttpResult};
use crate::extract::{Admin, JsonObject, Path};

/// The upstream routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/upstreams", get(list_upstreams))
        .route("/admin/v1/upstreams/{name}", get(get_upstream).patch(update_upstream))
}

/// Every configured upstream with its state (health, cool-down, in flight, spend, last error).
#[utoipa::path(get, path = "/admin/v1/upstreams", tag = "admin",
    responses((status = 200, body = ListPage<UpstreamObject>), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn list_upstreams(State(s): State<AppState>, _: Admin) -> HttpResult<Json<ListPage<UpstreamObject>>> {
    let data = s.gateway.upstreams().await?;
    Ok(Json(ListPage { object: "list", data, has_more: false, last_id: None }))
}

/// One configured upstream with its state.
#[utoipa::path(get, path = "/admin/v1/upstreams/{name}", tag = "admin", params(("name" = String, Path)),
    responses((status = 200, body = UpstreamObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn get_upstream(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> HttpResult<Json<UpstreamObject>> {
    Ok(Json(s.gateway.upstream(&name).await?))
}

/// What a `PATCH` answers: the upstream, or for a credential pool's entry the list of its
/// members, each changed.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UpstreamChanged {
    One(Box<UpstreamObject>),
    Pool(ListPage<UpstreamObject>),
}

/// Disable or enable an upstream, change its weight or priority, or reset its breaker; on a
/// credential pool's entry name, the same change to every member.
#[utoipa::path(patch, path = "/admin/v1/upstreams/{name}", tag = "admin", params(("name" = String, Path)), request_body = UpstreamPatch,
    responses((status = 200, body = UpstreamChanged), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn update_upstream(
    State(s): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<UpstreamChanged>> {
    let patch: UpstreamPatch = typed(body)?;
    if s.gateway.pool_members(&name).is_empty() {
        return Ok(Json(UpstreamChanged::One(Box::new(s.gateway.update_upstream(&name, patch).await?))));
    }
    let data = s.gateway.update_pool(&name, patch).await?;
    Ok(Json(UpstreamChanged::Pool(ListPage { object: "list", data, has_more: false, last_id: None })))
}
