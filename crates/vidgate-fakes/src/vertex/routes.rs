//! The Vertex fake's routes: `POST /token`, `POST …/models/{model}:predictLongRunning`,
//! `POST …/models/{model}:fetchPredictOperation` (a `GET` there, or of the operation, is
//! refused: docs/upstreams.md §2.3 "NOT a plain GET"), and GCS downloads of `gs://` results through
//! the JSON API (`/storage/v1/b/{bucket}/o/{object}?alt=media`, also under `/download`) or the
//! XML form `/{bucket}/{object}`, all with the bearer token.
//!
//! Owns request routing and the order of checks (auth, then project and model, then body). It
//! must not hold protocol rules; `request`, `response` and `state` do.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;

use super::request;
use super::response;
use super::state::{Operation, VertexState};
use super::token::token;
use crate::blobs;
use crate::core::{Ctx, faults_layer};
use crate::errors::{Refusal, google_body};
use crate::faults::Endpoint;
use crate::google::{self, new_id};
use crate::jobs::Progress;
use crate::media;

const MODEL_PATH: &str = "/v1/projects/{project}/locations/{location}/publishers/google/models/{action}";

pub(crate) fn router(state: Arc<VertexState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route("/token", post(token).fallback(fallback))
        .route(MODEL_PATH, post(model_action).get(model_get).fallback(fallback))
        .route(&format!("{MODEL_PATH}/operations/{{op}}"), get(operation_get).fallback(fallback))
        .route("/storage/v1/b/{bucket}/o/{object}", get(gcs_json_api).fallback(fallback))
        .route("/download/storage/v1/b/{bucket}/o/{object}", get(gcs_json_api).fallback(fallback))
        .merge(blobs::routes())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, redirecting: bool) -> Option<Endpoint> {
    if path == "/token" {
        Some(Endpoint::Token)
    } else if path.ends_with(":predictLongRunning") {
        Some(Endpoint::Submit)
    } else if path.ends_with(":fetchPredictOperation") || path.contains("/operations/") {
        Some(Endpoint::Poll)
    } else if path.starts_with("/v1/") || *method != Method::GET || redirecting {
        None
    } else {
        Some(Endpoint::Download)
    }
}

type ModelPath = Path<(String, String, String)>;

async fn model_action(
    State(state): State<Arc<VertexState>>,
    Extension(ctx): Extension<Ctx>,
    Path((project, location, action)): ModelPath,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        state.check_bearer(&headers)?;
        let (model, verb) = action.split_once(':').unwrap_or((&action, ""));
        let resource = model_resource(&state, &project, &location, model)?;
        let body = google::parse_object(&body)?;
        match verb {
            "predictLongRunning" => predict(&state, &resource, &body),
            "fetchPredictOperation" => fetch(&state, &resource, &body).await,
            _ => Err(Refusal::protocol(StatusCode::NOT_FOUND, format!("no method {verb:?} on Veo models"))),
        }
    }
    .await;
    result.unwrap_or_else(|refusal| state.core.refuse(&ctx, refusal))
}

/// `projects/{p}/locations/{l}/publishers/google/models/{m}` for a project and model this fake
/// serves.
fn model_resource(state: &VertexState, project: &str, location: &str, model: &str) -> Result<String, Refusal> {
    if project != state.account.project_id {
        return Err(Refusal::auth(
            StatusCode::FORBIDDEN,
            format!(
                "Permission denied on project {project} (the service account belongs to {})",
                state.account.project_id
            ),
        ));
    }
    let resource = format!("projects/{project}/locations/{location}/publishers/google/models/{model}");
    if !state.models.iter().any(|m| m == model) {
        // docs/upstreams.md §0: e.g. Gemini `-preview` ids on Vertex give this misleading 404.
        return Err(Refusal::protocol(
            StatusCode::NOT_FOUND,
            format!("Publisher Model `{resource}` not found or your project does not have access to it."),
        ));
    }
    Ok(resource)
}

fn predict(
    state: &VertexState,
    resource: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Response, Refusal> {
    let predict = request::parse(body)?;
    let (outcome, latency) = state.core.faults.job_script(&predict.prompt);
    let name = format!("{resource}/operations/{}", new_id());
    state.core.journal.job_created(&predict.prompt, None);
    state.core.journal.job_guides(&predict.prompt, predict.guides);
    state.insert(Operation { name: name.clone(), predict, outcome, progress: Progress::new(latency) });
    Ok(Json(json!({"name": name})).into_response())
}

async fn fetch(
    state: &VertexState,
    resource: &str,
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Response, Refusal> {
    google::known_keys(body, &["operationName"], "", |_| None)?;
    let name = google::string(body, "operationName", "")?
        .ok_or_else(|| Refusal::bad("'operationName' is required (docs/upstreams.md §2.3)"))?;
    if name.rsplit_once("/operations/").map(|(prefix, _)| prefix) != Some(resource) {
        return Err(Refusal::bad(format!("operationName {name:?} is not an operation of {resource}")));
    }
    let (op, done) = state.poll(name).ok_or_else(|| Refusal::not_found(format!("Operation {name} not found")))?;
    if !done && op.outcome.renders() {
        media::warm(op.predict.clip);
    }
    match response::operation(state, &op, done).await {
        Ok(body) => Ok(Json(body).into_response()),
        Err(e) => Ok((StatusCode::INTERNAL_SERVER_ERROR, Json(google_body(StatusCode::INTERNAL_SERVER_ERROR, &e)))
            .into_response()),
    }
}

async fn model_get(State(state): State<Arc<VertexState>>, Extension(ctx): Extension<Ctx>) -> Response {
    let refusal = Refusal::protocol(
        StatusCode::NOT_FOUND,
        "Veo models take POST only; fetchPredictOperation is a POST with {\"operationName\"} (docs/upstreams.md §2.3)",
    );
    state.core.refuse(&ctx, refusal)
}

async fn operation_get(State(state): State<Arc<VertexState>>, Extension(ctx): Extension<Ctx>) -> Response {
    let refusal = Refusal::protocol(
        StatusCode::NOT_FOUND,
        "Veo operations are not read with a plain GET; POST {model}:fetchPredictOperation (docs/upstreams.md §2.3)",
    );
    state.core.refuse(&ctx, refusal)
}

async fn gcs_json_api(
    State(state): State<Arc<VertexState>>,
    Extension(ctx): Extension<Ctx>,
    Path((bucket, object)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let media = query.iter().any(|(k, v)| k == "alt" && v == "media");
    gcs_object(&state, &ctx, &headers, &bucket, &object, media)
}

/// The XML API form `/{bucket}/{object}`, or the 404 of a path no route knows.
async fn fallback(
    State(state): State<Arc<VertexState>>,
    Extension(ctx): Extension<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().trim_start_matches('/');
    if method == Method::GET
        && let Some((bucket, object)) = path.split_once('/')
        && state.object(bucket, object).is_some()
    {
        return gcs_object(&state, &ctx, &headers, bucket, object, true);
    }
    let refusal = Refusal::protocol(StatusCode::NOT_FOUND, format!("no such endpoint: {method} {}", uri.path()));
    state.core.refuse(&ctx, refusal)
}

fn gcs_object(
    state: &VertexState,
    ctx: &Ctx,
    headers: &HeaderMap,
    bucket: &str,
    object: &str,
    media: bool,
) -> Response {
    if let Err(refusal) = state.check_bearer(headers) {
        return state.core.refuse(ctx, refusal);
    }
    let Some(bytes) = state.object(bucket, object) else {
        return state.core.refuse(ctx, Refusal::not_found(format!("No such object: {bucket}/{object}")));
    };
    if !media {
        let meta = json!({"kind": "storage#object", "bucket": bucket, "name": object,
                          "size": bytes.len().to_string(), "contentType": "video/mp4"});
        return Json(meta).into_response();
    }
    blobs::deliver(&state.core, bytes, "video/mp4")
}
