//! Reading another vidgate's task object (docs/api.md §5): `status` (`queued`, `running`,
//! `completed`, `failed`, `cancelled`; anything else keeps polling), `progress`,
//! `result_url` (a signed URL, fetched without credentials) and `error.code`.

use serde::Deserialize;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::PollOutcome;

/// `error` of a failed task.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct TaskError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The task object (the fields read).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct UpstreamTask {
    #[serde(default)]
    pub task_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub progress: u8,
    #[serde(default)]
    pub result_url: Option<String>,
    #[serde(default)]
    pub error: Option<TaskError>,
}

/// What a poll found (`poll_at` filled in by the caller); `None` for an unknown status.
pub fn outcome(task: &UpstreamTask) -> Option<PollOutcome> {
    Some(match task.status.as_str() {
        "queued" => PollOutcome::Queued { poll_at: 0 },
        "running" => PollOutcome::Running { progress: task.progress.min(99), poll_at: 0 },
        "completed" => PollOutcome::Succeeded,
        "failed" | "cancelled" => failed(task),
        _ => return None,
    })
}

fn failed(task: &UpstreamTask) -> PollOutcome {
    let code = task.error.as_ref().map(|e| e.code.as_str()).unwrap_or("");
    // The upstream's own codes pass through where they mean the same here; a timeout or
    // an unknown outcome upstream is an upstream error here (neither was billed there).
    let mapped = match code {
        "content_filtered" => TaskErrorCode::ContentFiltered,
        "invalid_result" => TaskErrorCode::InvalidResult,
        "source_image_unreadable" => TaskErrorCode::SourceImageUnreadable,
        _ => TaskErrorCode::UpstreamError,
    };
    let what = if task.status == "cancelled" { "cancelled".to_owned() } else { format!("failed ({code})") };
    PollOutcome::Failed { code: mapped, message: format!("the upstream gateway's task {what}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: &str) -> UpstreamTask {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn statuses_and_error_codes_map_through() {
        assert_eq!(
            outcome(&task(r#"{"status":"running","progress":30}"#)),
            Some(PollOutcome::Running { progress: 30, poll_at: 0 })
        );
        assert_eq!(outcome(&task(r#"{"status":"completed","result_url":"http://x/f"}"#)), Some(PollOutcome::Succeeded));
        assert_eq!(
            outcome(&task(r#"{"status":"failed","error":{"code":"content_filtered","message":"m"}}"#)),
            Some(PollOutcome::Failed {
                code: TaskErrorCode::ContentFiltered,
                message: "the upstream gateway's task failed (content_filtered)".into()
            })
        );
        assert_eq!(outcome(&task(r#"{"status":"pending"}"#)), None);
    }
}
