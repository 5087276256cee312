//! The `Video` object (docs/upstreams.md §3.3) and the list page (§3.1).
//!
//! Owns the JSON shape: unix-second timestamps, `progress` 0–100, `expires_at` an hour after
//! completion (§3.4), `error: {code, message}` when failed. A safety block fails with code
//! `moderation_blocked` (the `error.code` vocabulary is UNCONFIRMED). It must not move state.

use serde_json::{Value, json};

use super::state::Video;
use crate::faults::Outcome;

/// Download URLs are valid for at most an hour after generation.
const CONTENT_TTL_SECS: u64 = 3600;

pub(crate) fn video(v: &Video) -> Value {
    let status = v.status();
    let progress = match status {
        "queued" => 0,
        "completed" => 100,
        _ => v.progress.percent(),
    };
    let error = match (&v.done_at, &v.outcome) {
        (Some(_), Outcome::SafetyBlock) => json!({
            "code": "moderation_blocked",
            "message": "Your request was blocked by our moderation system.",
        }),
        (Some(_), Outcome::Error { code, message }) => json!({"code": code, "message": message}),
        _ => Value::Null,
    };
    let completed_at = v.done_at.filter(|_| matches!(status, "completed" | "failed"));
    let expires_at = completed_at.filter(|_| status == "completed").map(|at| at + CONTENT_TTL_SECS);
    json!({
        "id": v.id,
        "object": "video",
        "model": v.create.model,
        "status": status,
        "progress": progress,
        "created_at": v.created_at,
        "completed_at": completed_at,
        "expires_at": expires_at,
        "prompt": v.create.prompt,
        "size": v.create.size,
        "seconds": v.create.seconds,
        "remixed_from_video_id": null,
        "error": error,
    })
}

/// `{"object": "list", "data", "first_id", "last_id", "has_more"}`.
pub(crate) fn list(page: &[Video], has_more: bool) -> Value {
    json!({
        "object": "list",
        "data": page.iter().map(video).collect::<Vec<_>>(),
        "first_id": page.first().map(|v| v.id.clone()),
        "last_id": page.last().map(|v| v.id.clone()),
        "has_more": has_more,
    })
}
