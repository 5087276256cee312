//! The Gemini fake's routes: `POST /v1beta/models/{model}:predictLongRunning`,
//! `GET /v1beta/models/{model}/operations/{id}`, and the Files-API download
//! `GET /v1beta/files/{id}:download?alt=media`, which by default answers with a redirect to
//! the bytes (docs/upstreams.md §1.5: clients must follow it). Every call needs the API key.
//!
//! Owns routing and the order of checks (key, model, body). It must not hold protocol rules.

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
use super::state::{GeminiState, Operation};
use crate::blobs;
use crate::core::{Ctx, faults_layer};
use crate::errors::{Refusal, google_body};
use crate::faults::Endpoint;
use crate::google::{self, new_id};
use crate::jobs::Progress;
use crate::journal::ExtensionJob;
use crate::media;

type QueryPairs = Query<Vec<(String, String)>>;

pub(crate) fn router(state: Arc<GeminiState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route("/v1beta/models/{action}", post(model_action).get(model_get).fallback(fallback))
        .route("/v1beta/models/{model}/operations/{op}", get(operation).fallback(fallback))
        .route("/v1beta/files/{action}", get(download).fallback(fallback))
        .merge(blobs::routes())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, redirecting: bool) -> Option<Endpoint> {
    if path.ends_with(":predictLongRunning") {
        Some(Endpoint::Submit)
    } else if path.contains("/operations/") {
        Some(Endpoint::Poll)
    } else if path.starts_with("/v1beta/files/") && *method == Method::GET && !redirecting {
        Some(Endpoint::Download)
    } else {
        None
    }
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn model_action(
    State(state): State<Arc<GeminiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(action): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = (|| {
        state.check_key(&headers, query_value(&query, "key"))?;
        let (model, verb) = action.split_once(':').unwrap_or((&action, ""));
        if verb != "predictLongRunning" {
            return Err(Refusal::protocol(
                StatusCode::NOT_FOUND,
                format!(
                    "no method {verb:?} on Gemini API models; operations are polled with GET /v1beta/{{name}} (§1.4)"
                ),
            ));
        }
        known_model(&state, model)?;
        let body = google::parse_object(&body)?;
        let generate = request::parse(&body, model, |uri| state.file_of_uri(uri).map(|f| f.source))?;
        Ok(start(&state, &ctx, model, generate))
    })();
    result.unwrap_or_else(|refusal| state.core.refuse(&ctx, refusal))
}

/// `GET /v1beta/models/{model}` (the API's `models.get`): a served model's resource, 404 for
/// another (docs/upstreams.md §1.9).
async fn model_get(
    State(state): State<Arc<GeminiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(model): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Response {
    match state.check_key(&headers, query_value(&query, "key")).and_then(|()| known_model(&state, &model)) {
        Ok(()) => Json(json!({
            "name": format!("models/{model}"),
            "displayName": model,
            "supportedGenerationMethods": ["predictLongRunning"],
        }))
        .into_response(),
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

fn known_model(state: &GeminiState, model: &str) -> Result<(), Refusal> {
    if state.models.iter().any(|m| m == model) {
        return Ok(());
    }
    Err(Refusal::protocol(
        StatusCode::NOT_FOUND,
        format!("models/{model} is not found for API version v1beta, or is not supported for predictLongRunning."),
    ))
}

fn start(state: &GeminiState, ctx: &Ctx, model: &str, generate: request::Generate) -> Response {
    for note in &generate.notes {
        state.core.note(ctx, note.clone());
    }
    let (outcome, latency) = state.core.faults.job_script(&generate.prompt);
    let name = format!("models/{model}/operations/{}", new_id());
    state.core.journal.job_created(&generate.prompt, None);
    state.core.journal.job_guides(&generate.prompt, generate.guides);
    if let Some(extension) = &generate.extension {
        state.touch(&extension.uri);
        let extended = state.file_of_uri(&extension.uri).map(|f| f.operation).unwrap_or_default();
        state.core.journal.extension_created(ExtensionJob {
            operation: name.clone(),
            video_uri: extension.uri.clone(),
            extended_operation: extended,
            input_ms: extension.source.clip.duration_ms,
            output_ms: generate.clip.duration_ms,
        });
    }
    state.insert(Operation { name: name.clone(), generate, outcome, progress: Progress::new(latency), file: None });
    Json(json!({"name": name})).into_response()
}

async fn operation(
    State(state): State<Arc<GeminiState>>,
    Extension(ctx): Extension<Ctx>,
    Path((model, op)): Path<(String, String)>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers, query_value(&query, "key")) {
        return state.core.refuse(&ctx, refusal);
    }
    let name = format!("models/{model}/operations/{op}");
    let Some((operation, done)) = state.poll(&name) else {
        return state.core.refuse(&ctx, Refusal::not_found(format!("Operation {name} not found")));
    };
    if !done && operation.outcome.renders() {
        media::warm(operation.generate.clip);
    }
    match response::operation(&state, &operation, done).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, Json(google_body(StatusCode::INTERNAL_SERVER_ERROR, &e)))
            .into_response(),
    }
}

async fn download(
    State(state): State<Arc<GeminiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(action): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Response {
    let result = (|| {
        state.check_key(&headers, query_value(&query, "key"))?;
        let Some((id, "download")) = action.split_once(':') else {
            return Err(Refusal::protocol(StatusCode::NOT_FOUND, "the fake serves only files/{id}:download"));
        };
        if query_value(&query, "alt") != Some("media") {
            return Err(Refusal::bad("a download needs ?alt=media (docs/upstreams.md §1.5)"));
        }
        state
            .file(id)
            .ok_or_else(|| Refusal::not_found(format!("File {id} not found (generated videos are kept 2 days)")))
    })();
    match result {
        Ok(file) => blobs::deliver(&state.core, file.bytes, "video/mp4"),
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

async fn fallback(
    State(state): State<Arc<GeminiState>>,
    Extension(ctx): Extension<Ctx>,
    method: Method,
    uri: Uri,
) -> Response {
    let refusal = Refusal::protocol(StatusCode::NOT_FOUND, format!("no such endpoint: {method} {}", uri.path()));
    state.core.refuse(&ctx, refusal)
}
