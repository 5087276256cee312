//! Reading OpenAI-Videos answers (docs/upstreams.md §3.3, §3.4): the `Video` object's status
//! (`queued`, `in_progress`, `completed`, `failed`; anything else keeps the task polling
//! until its deadline and is logged once per value), its `progress`, its `error`, and the
//! standard error envelope.

use std::collections::HashSet;
use std::sync::Mutex;

use serde::Deserialize;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::PollOutcome;

/// `error` of a failed video. The vocabulary of `code` is UNCONFIRMED.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct VideoError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The `Video` object (only the fields read; everything is lenient).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Video {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: Option<f64>,
    #[serde(default)]
    pub error: Option<VideoError>,
}

/// Statuses already logged as unknown, so each is logged once per process.
#[derive(Default)]
pub struct UnknownStatuses(Mutex<HashSet<String>>);

impl UnknownStatuses {
    fn first_time(&self, status: &str) -> bool {
        self.0.lock().expect("lock").insert(status.to_owned())
    }
}

/// What a poll found (`poll_at` is filled in by the caller).
pub fn outcome(video: &Video, seen: &UnknownStatuses, upstream: &str) -> PollOutcome {
    match video.status.as_str() {
        "queued" => PollOutcome::Queued { poll_at: 0 },
        "in_progress" => PollOutcome::Running { progress: progress(video), poll_at: 0 },
        "completed" => PollOutcome::Succeeded,
        "failed" => failed(video),
        other => {
            if seen.first_time(other) {
                tracing::warn!(
                    upstream,
                    status = other,
                    "unknown upstream status; the task keeps polling until its deadline"
                );
            }
            PollOutcome::Running { progress: progress(video), poll_at: 0 }
        }
    }
}

fn progress(video: &Video) -> u8 {
    video.progress.map(|p| p.clamp(0.0, 99.0) as u8).unwrap_or(0)
}

fn failed(video: &Video) -> PollOutcome {
    let code = video.error.as_ref().and_then(|e| e.code.clone()).unwrap_or_default();
    let lowered = code.to_ascii_lowercase();
    // Codes are not enumerated anywhere; these words are what moderation failures use.
    let filtered = ["moderation", "content_policy", "safety", "policy_violation"].iter().any(|w| lowered.contains(w));
    let detail = video.error.as_ref().and_then(|e| e.message.clone()).unwrap_or_default();
    tracing::info!(video = %video.id, code = %code, message = %detail, "upstream video failed");
    if filtered {
        PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream's safety filter blocked the video; nothing is billed".into(),
        }
    } else {
        let shown = if code.is_empty() { String::new() } else { format!(" ({code})") };
        PollOutcome::Failed {
            code: TaskErrorCode::UpstreamError,
            message: format!("the upstream failed the job{shown}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(json: &str) -> Video {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_four_documented_statuses_map_one_to_one() {
        let seen = UnknownStatuses::default();
        let doc = r#"{"id":"video_68d7","object":"video","model":"sora-2-pro","status":"in_progress",
            "progress":42,"created_at":1758941485,"completed_at":null,"expires_at":null,"prompt":"p",
            "size":"1280x720","seconds":"8","remixed_from_video_id":null,"error":null}"#;
        assert_eq!(outcome(&video(doc), &seen, "o"), PollOutcome::Running { progress: 42, poll_at: 0 });
        assert_eq!(outcome(&video(r#"{"status":"queued"}"#), &seen, "o"), PollOutcome::Queued { poll_at: 0 });
        assert_eq!(outcome(&video(r#"{"status":"completed"}"#), &seen, "o"), PollOutcome::Succeeded);
        assert_eq!(
            outcome(&video(r#"{"status":"failed","error":{"code":"internal_error","message":"x"}}"#), &seen, "o"),
            PollOutcome::Failed {
                code: TaskErrorCode::UpstreamError,
                message: "the upstream failed the job (internal_error)".into()
            }
        );
    }

    #[test]
    fn a_moderation_failure_is_content_filtered() {
        let v = video(r#"{"status":"failed","error":{"code":"moderation_blocked","message":"no"}}"#);
        assert!(matches!(
            outcome(&v, &UnknownStatuses::default(), "o"),
            PollOutcome::Failed { code: TaskErrorCode::ContentFiltered, .. }
        ));
    }

    #[test]
    fn an_unknown_status_keeps_polling_and_is_remembered() {
        let seen = UnknownStatuses::default();
        let v = video(r#"{"status":"cancelled"}"#);
        assert_eq!(outcome(&v, &seen, "o"), PollOutcome::Running { progress: 0, poll_at: 0 });
        assert!(!seen.first_time("cancelled"), "logged once already");
    }
}
