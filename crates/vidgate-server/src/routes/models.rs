//! The rate card: `GET /v1/models` and `GET /v1/models/{id}` (an alias finds its model).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use vidgate_domain::catalog::ModelSpec;
use vidgate_domain::{ErrorCode, Usd};
use vidgate_engine::gateway::Caller;

use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{ApiCaller, Path};

/// Prices of a model.
#[derive(Serialize, ToSchema)]
pub struct Pricing {
    #[schema(value_type = f64)]
    pub usd_per_second: Usd,
    /// Per-size overrides.
    #[schema(value_type = BTreeMap<String, f64>)]
    pub per_size: BTreeMap<String, Usd>,
}

/// One model of the catalog.
#[derive(Serialize, ToSchema)]
pub struct ModelObject {
    pub id: String,
    pub object: &'static str,
    pub owned_by: String,
    pub aliases: Vec<String>,
    pub modality: &'static str,
    pub capability_bucket: &'static str,
    pub capabilities: Vec<&'static str>,
    pub durations: Vec<u32>,
    pub default_duration: u32,
    pub sizes: Vec<String>,
    pub default_size: String,
    pub max_prompt_chars: u32,
    pub pricing: Pricing,
    pub cancel_policy: &'static str,
    /// A route is configured for the caller's mode.
    pub available: bool,
}

/// `{"object": "list", "data": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct ModelList {
    pub object: &'static str,
    pub data: Vec<ModelObject>,
}

fn model_object(state: &AppState, caller: &Caller, m: &ModelSpec) -> ModelObject {
    let mut capabilities = vec!["text_to_video"];
    if m.image_to_video {
        capabilities.push("image_to_video");
    }
    if m.native_audio {
        capabilities.push("native_audio");
    }
    if m.last_frame {
        capabilities.push("last_frame");
    }
    if m.reference_images {
        capabilities.push("reference_images");
    }
    let available = state.gateway.model_available(&caller.key, &m.id);
    ModelObject {
        id: m.id.clone(),
        object: "model",
        owned_by: m.owned_by.clone(),
        aliases: m.aliases.clone(),
        modality: "video",
        capability_bucket: "video_generate",
        capabilities,
        durations: m.durations.clone(),
        default_duration: m.default_duration,
        sizes: m.sizes.iter().map(ToString::to_string).collect(),
        default_size: m.default_size.to_string(),
        max_prompt_chars: m.max_prompt_chars,
        pricing: Pricing {
            usd_per_second: m.usd_per_second,
            per_size: m.price_by_size.iter().map(|(s, p)| (s.to_string(), *p)).collect(),
        },
        cancel_policy: match m.cancel_policy {
            vidgate_domain::catalog::CancelPolicy::Free => "free",
            vidgate_domain::catalog::CancelPolicy::Charge => "charge",
        },
        available,
    }
}

/// The catalog.
#[utoipa::path(get, path = "/v1/models", tag = "models", responses((status = 200, body = ModelList), (status = 401, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list(State(state): State<AppState>, ApiCaller(caller): ApiCaller) -> Json<ModelList> {
    let data = state.gateway.catalog.models().iter().map(|m| model_object(&state, &caller, m)).collect();
    Json(ModelList { object: "list", data })
}

/// One model, by id or alias.
#[utoipa::path(get, path = "/v1/models/{model_id}", tag = "models", params(("model_id" = String, Path)),
    responses((status = 200, body = ModelObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> HttpResult<Json<ModelObject>> {
    let m = state.gateway.catalog.resolve(&id).ok_or_else(|| HttpError::new(ErrorCode::NotFound, "no such model"))?;
    Ok(Json(model_object(&state, &caller, m)))
}
