//! The Luma fake's routes (digest §3–§6): the Agents API under `/v1`
//! (`POST /generations`, `GET /generations/{id}`, no cancel) and the Dream Machine API under
//! `/dream-machine/v1` (`POST /generations/video`, the older `POST /generations`, noted;
//! `GET` and `DELETE /generations/{id}`, the list `GET /generations` in `list`), each with its own bearer key; and the presigned CDN
//! result URLs (`/__fake/luma-cdn/{id}.mp4?X-Amz-Expires=…&X-Amz-Signature=…`), which take no
//! credentials.
//!
//! Owns routing, the order of checks (key, then body) and the JSON of a generation. Errors
//! are `{"detail": "<text>"}` (digest §4).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::request;
use super::state::{Api, Gen, LumaState};
use crate::blobs;
use crate::core::{Ctx, faults_layer, unknown_endpoint};
use crate::errors::Refusal;
use crate::faults::{Endpoint, Outcome};
use crate::jobs::Progress;
use crate::media;

const AGENTS: &str = "/v1/generations";
const DREAM: &str = "/dream-machine/v1/generations";
const CDN: &str = "/__fake/luma-cdn/";

pub(crate) fn router(state: Arc<LumaState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route(AGENTS, post(create_agents).fallback(unknown_endpoint))
        .route(&format!("{AGENTS}/{{id}}"), get(retrieve_agents).fallback(unknown_endpoint))
        .route(&format!("{DREAM}/video"), post(create_dream).fallback(unknown_endpoint))
        .route(DREAM, post(create_dream_legacy).get(super::list::list).fallback(unknown_endpoint))
        .route(&format!("{DREAM}/{{id}}"), get(retrieve_dream).delete(delete).fallback(unknown_endpoint))
        .route(&format!("{CDN}{{file}}"), get(content))
        .merge(blobs::routes())
        .fallback(unknown_endpoint)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, _redirecting: bool) -> Option<Endpoint> {
    let one = |prefix: &str| path.strip_prefix(prefix).is_some_and(|id| !id.is_empty() && !id.contains('/'));
    let generation = one(&format!("{AGENTS}/")) || (one(&format!("{DREAM}/")) && path != format!("{DREAM}/video"));
    match method.as_str() {
        "POST" if path == AGENTS || path == DREAM || path == format!("{DREAM}/video") => Some(Endpoint::Submit),
        "GET" if generation => Some(Endpoint::Poll),
        // The Dream Machine list is a read like a poll (faults on `Endpoint::Poll` meet it too).
        "GET" if path == DREAM => Some(Endpoint::Poll),
        "DELETE" if generation => Some(Endpoint::Delete),
        "GET" if path.starts_with(CDN) => Some(Endpoint::Download),
        _ => None,
    }
}

async fn create_agents(s: State<Arc<LumaState>>, c: Extension<Ctx>, h: HeaderMap, body: Bytes) -> Response {
    create(s, c, h, body, Api::Agents).await
}

async fn create_dream(s: State<Arc<LumaState>>, c: Extension<Ctx>, h: HeaderMap, body: Bytes) -> Response {
    create(s, c, h, body, Api::DreamMachine).await
}

async fn create_dream_legacy(s: State<Arc<LumaState>>, c: Extension<Ctx>, h: HeaderMap, body: Bytes) -> Response {
    s.core.note(&c, "POST /generations: the older create path (digest §3b); /generations/video is current");
    create(s, c, h, body, Api::DreamMachine).await
}

async fn create(
    State(state): State<Arc<LumaState>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
    api: Api,
) -> Response {
    let parsed = state.check_key(&headers, api).and_then(|()| match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => {
            state.record_body(Value::Object(map.clone()));
            match api {
                Api::Agents => request::agents(&map),
                Api::DreamMachine => request::dream_machine(&map),
            }
        }
        _ => Err(Refusal::bad("The request body is not valid JSON")),
    });
    let create = match parsed {
        Ok(create) => create,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    for note in &create.notes {
        state.core.note(&ctx, note.clone());
    }
    let (outcome, latency) = state.core.faults.job_script(&create.prompt);
    state.core.journal.job_created(&create.prompt, None);
    if outcome.renders() {
        media::warm(create.clip);
    }
    let g = Gen {
        id: uuid_like(),
        api,
        create,
        outcome,
        progress: Progress::new(latency),
        created_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        polled: false,
        done: false,
        deleted: false,
    };
    let body = generation_json(&state, &g);
    state.insert(g);
    // Dream Machine answers 201 (openapi); the Agents code is UNCONFIRMED, the fake says 200.
    let status = if api == Api::DreamMachine { StatusCode::CREATED } else { StatusCode::OK };
    (status, Json(body)).into_response()
}

fn uuid_like() -> String {
    let hex: String =
        ulid::Ulid::new().to_string().to_ascii_lowercase().chars().chain("0123456789ab".chars()).take(32).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

async fn retrieve_agents(s: State<Arc<LumaState>>, c: Extension<Ctx>, id: Path<String>, h: HeaderMap) -> Response {
    retrieve(s, c, id, h, Api::Agents).await
}

async fn retrieve_dream(s: State<Arc<LumaState>>, c: Extension<Ctx>, id: Path<String>, h: HeaderMap) -> Response {
    retrieve(s, c, id, h, Api::DreamMachine).await
}

async fn retrieve(
    State(state): State<Arc<LumaState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    api: Api,
) -> Response {
    if let Err(refusal) = state.check_key(&headers, api) {
        return state.core.refuse(&ctx, refusal);
    }
    match state.poll(&id, api) {
        Some(g) => Json(generation_json(&state, &g)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"detail": "Generation not found"}))).into_response(),
    }
}

/// A generation in its API's shape (digest §5).
pub(super) fn generation_json(state: &LumaState, g: &Gen) -> Value {
    let c = &g.create;
    let done = g.state() == "completed";
    let url = |ext: &str| {
        format!(
            "{}{CDN}{}.{ext}?X-Amz-Expires=3600&X-Amz-Signature={}-{}",
            state.core.base_url,
            g.id,
            state.signing_epoch(),
            &g.id[..8]
        )
    };
    let (code, reason) = match (&g.outcome, g.state()) {
        (Outcome::Error { code, message }, "failed") => (json!(code), json!(message)),
        (Outcome::SafetyBlock, "failed") => (json!("content_moderated"), json!("The output was moderated.")),
        _ => (Value::Null, Value::Null),
    };
    match g.api {
        Api::Agents => {
            let output = if done { json!([{"type": "video", "url": url("mp4")}]) } else { json!([]) };
            json!({"id": g.id, "created_at": g.created_at, "model": c.model, "type": "video", "state": g.state(),
                "failure_code": code, "failure_reason": reason, "output": output})
        }
        Api::DreamMachine => {
            let assets = if done {
                json!({"video": url("mp4"), "image": url("jpg"), "progress_video": null})
            } else {
                Value::Null
            };
            json!({"id": g.id, "generation_type": "video", "state": g.state(), "failure_reason": reason,
                "created_at": g.created_at, "model": c.model, "assets": assets, "request": c.echo})
        }
    }
}

async fn delete(
    State(state): State<Arc<LumaState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers, Api::DreamMachine) {
        return state.core.refuse(&ctx, refusal);
    }
    match state.delete(&id) {
        Some(previous) => {
            if previous == "completed" || previous == "failed" {
                state.core.note(&ctx, format!("DELETE of a {previous} generation removed its record and video"));
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"detail": "Generation not found"}))).into_response(),
    }
}

/// A presigned CDN URL: no credentials, the signature of the current epoch.
async fn content(
    State(state): State<Arc<LumaState>>,
    Extension(ctx): Extension<Ctx>,
    Path(file): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(Refusal::bad("a presigned result URL was fetched with an Authorization header"));
        }
        let signature = query.iter().find(|(k, _)| k == "X-Amz-Signature").map(|(_, v)| v.as_str()).unwrap_or("");
        Refusal::unless_current(signature, state.epoch(), "Request has expired")?;
        let id = file.strip_suffix(".mp4").ok_or_else(|| Refusal::not_found("only videos are served"))?;
        let g = [Api::Agents, Api::DreamMachine]
            .into_iter()
            .find_map(|api| state.get(id, api))
            .filter(|g| g.state() == "completed")
            .ok_or_else(|| Refusal::not_found(format!("no video for {id}")))?;
        media::job_video(&g.outcome, g.create.clip).await
    }
    .await;
    blobs::video_or_refusal(&state.core, &ctx, result)
}

impl crate::core::FakeState for LumaState {
    fn core(&self) -> &crate::core::Core {
        &self.core
    }
}
