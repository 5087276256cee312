//! The OpenAI Videos fake's routes (docs/upstreams.md §3.1): `POST /v1/videos` (JSON or multipart),
//! `GET /v1/videos`, `GET /v1/videos/{id}`, `DELETE /v1/videos/{id}` and
//! `GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet`, all with bearer auth.
//!
//! Owns routing and the order of checks (key, then body). It must not hold protocol rules.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

use super::request::{self, Create, Field};
use super::response;
use super::state::{OpenAiState, Video, unix_now};
use crate::blobs;
use crate::core::{Ctx, faults_layer};
use crate::errors::Refusal;
use crate::faults::Endpoint;
use crate::jobs::Progress;
use crate::media;

type QueryPairs = Query<Vec<(String, String)>>;

pub(crate) fn router(state: Arc<OpenAiState>) -> Router {
    let core = state.core.clone();
    Router::new()
        .route("/v1/videos", get(list).post(create).fallback(fallback))
        .route("/v1/videos/{id}", get(retrieve).delete(delete).fallback(fallback))
        .route("/v1/videos/{id}/content", get(content).fallback(fallback))
        .route("/v1/models/{id}", get(model).fallback(fallback))
        .merge(blobs::routes())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(64 << 20))
        .layer(axum::middleware::from_fn_with_state(core, faults_layer))
        .with_state(state)
}

pub(crate) fn classify(method: &Method, path: &str, redirecting: bool) -> Option<Endpoint> {
    let id_path = path.strip_prefix("/v1/videos/");
    match (method.as_str(), path, id_path) {
        ("POST", "/v1/videos", _) => Some(Endpoint::Submit),
        ("GET", _, Some(rest)) if rest.ends_with("/content") => (!redirecting).then_some(Endpoint::Download),
        ("GET", _, Some(rest)) if !rest.contains('/') => Some(Endpoint::Poll),
        ("DELETE", _, Some(_)) => Some(Endpoint::Delete),
        _ => None,
    }
}

fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn not_found(id: &str) -> Refusal {
    Refusal::not_found(format!("Video with id '{id}' not found."))
}

async fn create(State(state): State<Arc<OpenAiState>>, Extension(ctx): Extension<Ctx>, request: Request) -> Response {
    let result = async {
        let key = state.check_key(request.headers())?;
        let create = parse_body(&state, request).await?;
        for note in &create.notes {
            state.core.note(&ctx, note.clone());
        }
        Ok(start(&state, create, key))
    }
    .await;
    result.unwrap_or_else(|refusal| state.core.refuse(&ctx, refusal))
}

async fn parse_body(state: &OpenAiState, request: Request) -> Result<Create, Refusal> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &()).await.map_err(|e| Refusal::bad(e.body_text()))?;
        return request::from_form(form_fields(multipart).await?, &state.models);
    }
    if !content_type.starts_with("application/json") {
        return Err(Refusal::bad(format!(
            "POST /v1/videos takes application/json or multipart/form-data, got {content_type:?}"
        )));
    }
    let bytes = Bytes::from_request(request, &()).await.map_err(|e| Refusal::bad(e.body_text()))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(body)) => request::from_json(&body, &state.models),
        _ => Err(Refusal::bad("We could not parse the JSON body of your request.").code("invalid_json")),
    }
}

async fn form_fields(mut multipart: Multipart) -> Result<Vec<(String, Field)>, Refusal> {
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| Refusal::bad(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_file = field.file_name().is_some();
        let content_type = field.content_type().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| Refusal::bad(e.body_text()))?;
        let value = if is_file {
            Field::File { content_type, bytes: bytes.to_vec() }
        } else {
            Field::Text(String::from_utf8_lossy(&bytes).into_owned())
        };
        parts.push((name, value));
    }
    Ok(parts)
}

fn start(state: &OpenAiState, create: Create, key: String) -> Response {
    let (outcome, latency) = state.core.faults.job_script(&create.prompt);
    state.core.journal.job_created(&create.prompt, None);
    let id = format!("video_{}", crate::google::new_id());
    state.core.journal.keyed_call(Endpoint::Submit, &key, &id);
    let video = Video {
        id,
        create,
        outcome,
        progress: Progress::new(latency),
        created_at: unix_now(),
        polled: false,
        done_at: None,
        owner: key,
    };
    let body = response::video(&video);
    state.insert(video);
    Json(body).into_response()
}

/// `GET /v1/models/{model}` (docs/upstreams.md §3.8): a served model, else 404
/// `model_not_found`.
async fn model(
    State(state): State<Arc<OpenAiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let known = |_key| {
        if state.models.contains(&id) {
            Ok(())
        } else {
            Err(Refusal::not_found(format!("The model '{id}' does not exist")).code("model_not_found"))
        }
    };
    match state.check_key(&headers).and_then(known) {
        Ok(()) => {
            Json(json!({"id": id, "object": "model", "created": 1_727_740_800, "owned_by": "system"})).into_response()
        }
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

async fn retrieve(
    State(state): State<Arc<OpenAiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = state.check_key(&headers).and_then(|key| {
        state.core.journal.keyed_call(Endpoint::Poll, &key, &id);
        state.poll(&id, &key).ok_or_else(|| not_found(&id))
    });
    let video = match result {
        Ok(video) => video,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    if video.done_at.is_none() && video.outcome.renders() {
        media::warm(video.create.clip);
    }
    let mut response = Json(response::video(&video)).into_response();
    if let Some(ms) = state.poll_after_ms {
        response.headers_mut().insert("openai-poll-after-ms", HeaderValue::from(ms));
    }
    response
}

async fn list(
    State(state): State<Arc<OpenAiState>>,
    Extension(ctx): Extension<Ctx>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Response {
    let result = state.check_key(&headers).and_then(|key| {
        let limit = match query_value(&query, "limit").map(str::parse::<usize>) {
            None => 20,
            Some(Ok(n)) if n <= 100 => n,
            Some(_) => return Err(Refusal::bad("'limit' must be 0 to 100").code("invalid_value").param("limit")),
        };
        let mut videos = state.all(&key);
        match query_value(&query, "order") {
            None | Some("desc") => videos.reverse(),
            Some("asc") => {}
            Some(_) => return Err(Refusal::bad("'order' must be asc or desc").code("invalid_value").param("order")),
        }
        if let Some(after) = query_value(&query, "after") {
            let at = videos.iter().position(|v| v.id == after).ok_or_else(|| not_found(after))?;
            videos.drain(..=at);
        }
        let has_more = videos.len() > limit;
        videos.truncate(limit);
        Ok(Json(response::list(&videos, has_more)).into_response())
    });
    result.unwrap_or_else(|refusal| state.core.refuse(&ctx, refusal))
}

async fn delete(
    State(state): State<Arc<OpenAiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = state.check_key(&headers).and_then(|key| {
        state.core.journal.keyed_call(Endpoint::Delete, &key, &id);
        let video = state.get(&id, &key).ok_or_else(|| not_found(&id))?;
        if !video.is_finished() {
            let status = video.status();
            return Err(Refusal::bad(format!("only completed or failed videos can be deleted; this one is {status}")));
        }
        state.remove(&id);
        Ok(Json(json!({"id": id, "object": "video.deleted", "deleted": true})).into_response())
    });
    result.unwrap_or_else(|refusal| state.core.refuse(&ctx, refusal))
}

async fn content(
    State(state): State<Arc<OpenAiState>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let key = state.check_key(&headers)?;
        state.core.journal.keyed_call(Endpoint::Download, &key, &id);
        let video = state.get(&id, &key).ok_or_else(|| not_found(&id))?;
        let variant = query_value(&query, "variant").unwrap_or("video");
        if !["video", "thumbnail", "spritesheet"].contains(&variant) {
            return Err(Refusal::bad(format!("'variant' must be video, thumbnail or spritesheet, got {variant:?}"))
                .code("invalid_value")
                .param("variant"));
        }
        if video.status() != "completed" {
            return Err(Refusal::bad(format!(
                "video {id} is {}, not completed; it has no content yet",
                video.status()
            )));
        }
        if state.expired() {
            return Err(Refusal::not_found(format!("the content of video {id} has expired")));
        }
        variant_bytes(&video, variant).await
    }
    .await;
    match result {
        Ok((bytes, content_type)) => blobs::deliver(&state.core, bytes, content_type),
        Err(refusal) => state.core.refuse(&ctx, refusal),
    }
}

async fn variant_bytes(video: &Video, variant: &str) -> Result<(Bytes, &'static str), Refusal> {
    let (w, h) = (video.create.clip.width, video.create.clip.height);
    let internal = |e: String| Refusal::protocol(StatusCode::INTERNAL_SERVER_ERROR, e);
    match variant {
        "thumbnail" => Ok((media::still(w, h, media::StillFormat::WebP).map_err(internal)?, "image/webp")),
        "spritesheet" => Ok((media::still(w, h, media::StillFormat::Jpeg).map_err(internal)?, "image/jpeg")),
        _ if video.outcome == crate::faults::Outcome::CorruptMedia => Ok((media::corrupt(), "video/mp4")),
        _ => Ok((media::clip(video.create.clip).await.map_err(internal)?, "video/mp4")),
    }
}

async fn fallback(
    State(state): State<Arc<OpenAiState>>,
    Extension(ctx): Extension<Ctx>,
    method: Method,
    uri: Uri,
) -> Response {
    let refusal = Refusal::protocol(
        StatusCode::NOT_FOUND,
        format!(
            "no such endpoint in the fake: {method} {} (remix, edits, extensions and characters are not faked)",
            uri.path()
        ),
    );
    state.core.refuse(&ctx, refusal)
}
