//! The task object (docs/api.md §5) as the vidgate fake renders it, and the bytes of its files.
//!
//! Owns the shape: RFC 3339 times, USD as numbers from micro-dollars, `result_url`,
//! `audio_url` (only with audio) and `thumbnail_url` served by the fake under
//! `/files/{task_id}/…`, `output[]`, `error` for failed and cancelled tasks. The fake
//! delivers exactly the requested length and bills it in full; `stream_url` is null (no SSE).
//! It must not move state.

use bytes::Bytes;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::state::{Task, VidgateState};
use crate::faults::Outcome;
use crate::media::{self, ClipSpec};

fn rfc3339(t: Option<OffsetDateTime>) -> Value {
    t.and_then(|t| t.format(&Rfc3339).ok()).map_or(Value::Null, Value::String)
}

fn usd(micros: u64) -> Value {
    json!(micros as f64 / 1_000_000.0)
}

/// The clip a task delivers.
pub(crate) fn clip(task: &Task) -> ClipSpec {
    let (w, h) = task.submit.size.split_once('x').unwrap_or(("1280", "720"));
    ClipSpec {
        width: w.parse().unwrap_or(1280),
        height: h.parse().unwrap_or(720),
        duration_ms: u64::from(task.submit.duration_seconds) * 1000,
        audio: task.submit.audio,
    }
}

/// The bytes of one of a task's files, by name.
pub(crate) async fn file(task: &Task, name: &str) -> Option<Result<(Bytes, &'static str), String>> {
    let clip = clip(task);
    Some(match name {
        "video.mp4" if task.outcome == Outcome::CorruptMedia => Ok((media::corrupt(), "video/mp4")),
        "video.mp4" => media::clip(clip).await.map(|b| (b, "video/mp4")),
        "audio.m4a" if clip.audio => media::audio_track(clip).await.map(|b| (b, "audio/mp4")),
        "poster.png" => media::still(clip.width, clip.height, media::StillFormat::Png).map(|b| (b, "image/png")),
        _ => return None,
    })
}

pub(crate) async fn task(state: &VidgateState, t: &Task) -> Result<Value, String> {
    let status = t.status();
    let estimate = t.submit.model.rate(&t.submit.size) * u64::from(t.submit.duration_seconds);
    let completed = status == "completed";
    let progress = match status {
        "queued" => 0,
        "completed" => 100,
        _ => t.progress.percent(),
    };
    let mut body = json!({
        "task_id": t.id, "object": "video.task", "model": t.submit.model.id, "prompt": t.submit.prompt,
        "duration_seconds": t.submit.duration_seconds, "size": t.submit.size, "audio": t.submit.audio,
        "seed": t.submit.seed, "out_task_id": t.submit.out_task_id, "metadata": t.submit.metadata,
        "mode": "live", "status": status, "progress": progress,
        "created_at": rfc3339(Some(t.created_at)), "started_at": rfc3339(t.started_at),
        "completed_at": rfc3339(t.completed_at),
        "estimated_credits": usd(estimate), "credits_used": usd(if completed { estimate } else { 0 }),
        "result_url": null, "audio_url": null, "thumbnail_url": null, "stream_url": null, "output": [],
        "expires_at": null, "files_expire_at": null, "files_expired": false, "error": error(t),
    });
    if completed {
        add_files(state, t, &mut body).await?;
    }
    Ok(body)
}

fn error(t: &Task) -> Value {
    match (t.status(), &t.outcome) {
        ("cancelled", _) => json!({"code": "cancelled", "message": "the task was cancelled"}),
        ("failed", Outcome::SafetyBlock) => {
            json!({"code": "content_filtered", "message": "the upstream's safety filter blocked the video"})
        }
        ("failed", Outcome::Error { code, message }) => json!({"code": code, "message": message}),
        _ => Value::Null,
    }
}

async fn add_files(state: &VidgateState, t: &Task, body: &mut Value) -> Result<(), String> {
    let completed_at = t.completed_at.unwrap_or(t.created_at);
    body["files_expire_at"] = rfc3339(Some(completed_at + Duration::days(7)));
    if state.files_expired() {
        body["files_expired"] = json!(true);
        return Ok(());
    }
    let url = |name: &str| format!("{}/files/{}/{name}", state.core.base_url, t.id);
    let clip = clip(t);
    let seconds = t.submit.duration_seconds;
    let video = match file(t, "video.mp4").await {
        Some(result) => result?.0,
        None => Bytes::new(),
    };
    body["result_url"] = json!(url("video.mp4"));
    body["thumbnail_url"] = json!(url("poster.png"));
    body["expires_at"] = rfc3339(Some(OffsetDateTime::now_utc() + Duration::hours(24)));
    let mut output = vec![json!({"type": "video", "url": url("video.mp4"), "mime_type": "video/mp4",
        "duration_seconds": seconds, "width": clip.width, "height": clip.height, "bytes": video.len()})];
    if clip.audio {
        let audio = media::audio_track(clip).await?;
        body["audio_url"] = json!(url("audio.m4a"));
        output.push(json!({"type": "audio", "url": url("audio.m4a"), "mime_type": "audio/mp4",
            "duration_seconds": seconds, "bytes": audio.len()}));
    }
    body["output"] = Value::Array(output);
    Ok(())
}
