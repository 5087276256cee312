//! The fake's v1 API, the Hailuo models, written from the digest (§1, §3b, §4, §5b), never
//! from the adapter: `POST /v1/video_generation`, `GET /v1/query/video_generation?task_id=`
//! and `GET /v1/files/retrieve?file_id=`, all with the bearer key (§2).
//!
//! Owns the v1 create rules (§3b: a v1 model id of §1; `prompt` ≤ 2000 characters, required
//! without a first frame; `duration` a JSON integer 6 or 10, 10 only at 768P (and 512P);
//! `resolution` one the model makes; `first_frame_image` a URL or data URI, required by
//! `-Fast`; `last_frame_image` Hailuo-02 only; `prompt_optimizer` and `fast_pretreatment`
//! booleans), the v1 answers (§4: errors as HTTP 200 with `task_id: ""` and a non-zero
//! `base_resp.status_code`, trap 2), the five statuses and `file_id` (a string, or a number
//! when the test asks, trap 4), and the retrieve's `file.download_url`, valid 9 h (§5b) and
//! served by the same CDN route as v2. Clips are silent (§1), 768P 1366×768 (§5b), 1080P
//! 1920×1080, of exactly the requested length.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};

use super::request::Create;
use super::routes::{CDN, REFUSED_AT_CREATE, numeric_id};
use super::state::{H3State, H3Task};
use crate::core::Ctx;
use crate::core::unknown_endpoint;
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;
use crate::media::{self, ClipSpec};

pub(super) const CREATE: &str = "/v1/video_generation";
pub(super) const QUERY: &str = "/v1/query/video_generation";
pub(super) const RETRIEVE: &str = "/v1/files/retrieve";
/// `download_url` is valid 9 h (§5b).
const URL_TTL_SECS: u64 = 32_400;

/// A v1 model of digest §1: resolutions (the default first) and whether it needs a frame.
struct V1Model {
    id: &'static str,
    resolutions: &'static [&'static str],
    image_only: bool,
    last_frame: bool,
}

const MODELS: [V1Model; 3] = [
    V1Model { id: "MiniMax-Hailuo-2.3", resolutions: &["768P", "1080P"], image_only: false, last_frame: false },
    V1Model { id: "MiniMax-Hailuo-2.3-Fast", resolutions: &["768P", "1080P"], image_only: true, last_frame: false },
    V1Model { id: "MiniMax-Hailuo-02", resolutions: &["768P", "512P", "1080P"], image_only: false, last_frame: true },
];

pub(super) fn routes() -> Router<Arc<H3State>> {
    Router::new()
        .route(CREATE, post(create).fallback(unknown_endpoint))
        .route(QUERY, get(query).fallback(unknown_endpoint))
        .route(RETRIEVE, get(retrieve).fallback(unknown_endpoint))
}

/// `base_resp` (§4).
fn base_resp(code: &str, message: &str) -> Value {
    json!({"status_code": code.parse::<i64>().unwrap_or(1000), "status_msg": message})
}

/// A v1 error (trap 2): HTTP 200, `base_resp` non-zero. A refusal the fake counts as the
/// client's mistake is journalled first.
fn v1_error(state: &H3State, ctx: &Ctx, refusal: Refusal, journal: bool) -> Response {
    let (code, message) = (refusal.code.unwrap_or("2013"), refusal.reason.clone());
    if journal {
        drop(state.core.refuse(ctx, refusal));
    }
    Json(json!({"task_id": "", "base_resp": base_resp(code, &message)})).into_response()
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::bad(format!("invalid params, {}", message.into())).code("2013")
}

/// Checks a v1 create body (§3b).
fn from_json(body: &Map<String, Value>) -> Result<Create, Refusal> {
    const FIELDS: [&str; 10] = [
        "model",
        "prompt",
        "prompt_optimizer",
        "fast_pretreatment",
        "duration",
        "resolution",
        "first_frame_image",
        "last_frame_image",
        "subject_reference",
        "callback_url",
    ];
    if let Some(key) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!("unknown field {key} (digest §3b)")));
    }
    let name = body.get("model").and_then(Value::as_str).unwrap_or("");
    let model = MODELS.iter().find(|m| m.id == name).ok_or_else(|| invalid(format!("unknown model {name:?}")))?;
    let image = |k: &str| match body.get(k) {
        None => Ok(false),
        Some(Value::String(u)) if u.starts_with("http") || u.starts_with("data:image/") => Ok(true),
        Some(_) => Err(invalid(format!("{k} must be a URL or a data URI"))),
    };
    let (first, last) = (image("first_frame_image")?, image("last_frame_image")?);
    if model.image_only && !first {
        return Err(invalid(format!("{} needs first_frame_image", model.id)));
    }
    if last && !model.last_frame {
        return Err(invalid("last_frame_image is Hailuo-02's only"));
    }
    let prompt = match body.get("prompt") {
        Some(Value::String(p)) if p.chars().count() <= 2000 => p.clone(),
        None => String::new(),
        Some(_) => return Err(invalid("prompt must be a string of at most 2000 characters")),
    };
    if prompt.is_empty() && !first {
        return Err(invalid("prompt is required for text to video"));
    }
    let resolution = match body.get("resolution") {
        None => model.resolutions[0].to_owned(),
        Some(Value::String(r)) if model.resolutions.contains(&r.as_str()) => r.clone(),
        Some(other) => return Err(invalid(format!("resolution {other} is not one {} makes", model.id))),
    };
    let duration = match body.get("duration") {
        None => 6,
        Some(Value::Number(n)) if n.as_u64() == Some(6) || n.as_u64() == Some(10) => n.as_u64().unwrap_or(6) as u32,
        Some(other) => return Err(invalid(format!("duration must be the integer 6 or 10, got {other}"))),
    };
    if duration == 10 && resolution == "1080P" {
        return Err(invalid("10 s is not available at 1080P"));
    }
    for flag in ["prompt_optimizer", "fast_pretreatment"] {
        if body.get(flag).is_some_and(|v| !v.is_boolean()) {
            return Err(invalid(format!("{flag} must be a boolean")));
        }
    }
    let (width, height) = match resolution.as_str() {
        "1080P" => (1920, 1080),
        "512P" => (912, 512),
        _ => (1366, 768),
    };
    let clip = ClipSpec { width, height, duration_ms: u64::from(duration) * 1000, audio: false };
    let roles = [(first, "first_frame"), (last, "last_frame")];
    let images = roles.iter().filter(|(sent, _)| *sent).map(|(_, role)| (*role).to_owned()).collect();
    Ok(Create {
        model: name.to_owned(),
        prompt,
        duration,
        resolution,
        ratio: String::new(),
        audio: false,
        images,
        clip,
        notes: Vec::new(),
    })
}

async fn create(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let parsed = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) if content_type.starts_with("application/json") => {
            state.record_body(Value::Object(map.clone()));
            from_json(&map)
        }
        _ => Err(invalid("the body is not a JSON object sent as application/json")),
    };
    let create = match parsed {
        Ok(create) => create,
        Err(refusal) => return v1_error(&state, &ctx, refusal, true),
    };
    let (outcome, latency) = state.core.faults.job_script(&create.prompt);
    if let Outcome::Error { code, message } = &outcome
        && let Some(code) = REFUSED_AT_CREATE.into_iter().find(|c| c == code)
    {
        // The upstream's answer (§4), not a protocol violation.
        return v1_error(&state, &ctx, Refusal::bad(message.clone()).code(code), false);
    }
    state.core.journal.job_created(&create.prompt, None);
    state.core.journal.job_guides(&create.prompt, create.guides());
    let id = numeric_id();
    if outcome.renders() {
        media::warm(create.clip);
    }
    let now = super::unix_now();
    state.insert(H3Task {
        id: id.clone(),
        create,
        outcome,
        progress: Progress::new(latency),
        created_at: now,
        updated_at: now,
        polled: false,
        done: false,
        cancelled: false,
        v1: true,
    });
    Json(json!({"task_id": id, "base_resp": base_resp("0", "success")})).into_response()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> &'a str {
    q.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// The v1 query (§5b); a v2 task is unknown here (trap 1).
async fn query(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    let id = param(&q, "task_id");
    let Some(task) = state.poll(id).filter(|t| t.v1) else {
        return v1_error(&state, &ctx, Refusal::not_found(format!("task {id} not found")).code("2013"), true);
    };
    let status = task.v1_status();
    let mut answer = json!({"task_id": task.id, "status": status, "file_id": "",
        "base_resp": base_resp("0", "success")});
    match status {
        "Success" => {
            answer["file_id"] =
                if state.file_id_number() { json!(task.file_id()) } else { json!(task.file_id().to_string()) };
            answer["video_width"] = json!(task.create.clip.width);
            answer["video_height"] = json!(task.create.clip.height);
        }
        "Fail" => {
            // Output moderation is 1027 (§4); a scripted error keeps its code. Where a v1
            // failure carries its code is not documented: the fake puts it in `base_resp`.
            let (code, message) = match &task.outcome {
                Outcome::Error { code, message } => (code.as_str(), message.as_str()),
                _ => ("1027", "output content flagged as sensitive"),
            };
            answer["base_resp"] = base_resp(code, message);
        }
        _ => {}
    }
    Json(answer).into_response()
}

/// `files/retrieve` (§5b): `file.file_id` a JSON number, `download_url` valid 9 h.
async fn retrieve(
    State(state): State<Arc<H3State>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = state.check_key(&headers) {
        return state.core.refuse(&ctx, refusal);
    }
    let file_id = param(&q, "file_id");
    let task = state.all().into_iter().find(|t| t.v1 && t.done && t.file_id().to_string() == file_id);
    let Some(task) = task.filter(|t| t.v1_status() == "Success") else {
        return v1_error(&state, &ctx, Refusal::not_found(format!("file {file_id} not found")).code("2013"), true);
    };
    let expires = super::unix_now() + URL_TTL_SECS;
    let signature = format!("{}-{}", state.signing_epoch(), task.id);
    let url = format!("{}{CDN}{}.mp4?Expires={expires}&Signature={signature}", state.core.base_url, task.id);
    Json(json!({
        "file": {"file_id": task.file_id(), "bytes": 0, "created_at": task.updated_at, "filename": "output.mp4",
            "purpose": "video_generation", "download_url": url},
        "base_resp": base_resp("0", "success"),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value) -> Result<Create, Refusal> {
        from_json(body.as_object().unwrap())
    }

    #[test]
    fn a_6_s_768p_request_makes_a_silent_1366x768_clip_of_exactly_6_s() {
        let c = check(json!({"model": "MiniMax-Hailuo-2.3", "prompt": "fox", "duration": 6, "resolution": "768P"}))
            .unwrap();
        assert_eq!((c.clip.width, c.clip.height, c.clip.duration_ms, c.clip.audio), (1366, 768, 6000, false));
    }

    #[test]
    fn string_durations_10_s_at_1080p_and_v2_fields_are_refused() {
        let ok = |b: Value| check(b).is_ok();
        assert!(!ok(json!({"model": "MiniMax-Hailuo-2.3", "prompt": "fox", "duration": "6"})));
        assert!(!ok(json!({"model": "MiniMax-Hailuo-2.3", "prompt": "fox", "duration": 5})));
        assert!(!ok(json!({"model": "MiniMax-Hailuo-2.3", "prompt": "fox", "duration": 10, "resolution": "1080P"})));
        assert!(!ok(json!({"model": "MiniMax-Hailuo-2.3", "prompt": "fox", "generate_audio": false})));
        assert!(!ok(json!({"model": "MiniMax-Hailuo-2.3-Fast", "prompt": "fox"})));
        assert!(!ok(json!({"model": "MiniMax-H3", "prompt": "fox"})));
        assert!(ok(json!({"model": "MiniMax-Hailuo-02", "prompt": "fox", "duration": 10})));
    }

    #[test]
    fn a_last_frame_image_is_taken_by_hailuo_02_only_and_recorded_as_the_last_frame() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        let frames = |model: &str| {
            check(json!({"model": model, "prompt": "fox", "first_frame_image": png, "last_frame_image": png}))
        };
        let c = frames("MiniMax-Hailuo-02").unwrap();
        assert_eq!(c.images, ["first_frame", "last_frame"]);
        assert_eq!((c.guides().image, c.guides().last_frame), (true, true));
        assert!(frames("MiniMax-Hailuo-2.3").is_err());
    }
}
