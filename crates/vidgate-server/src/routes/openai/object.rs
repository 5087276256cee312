//! The OpenAI video object (docs/upstreams.md §3.3) rendered from a task, and the list and
//! delete answers. Statuses map onto OpenAI's four: `running` is `in_progress`, and a
//! cancelled task is `failed` with `error.code` `cancelled` (the SDK's poller stops on it).
//! Times are unix seconds.

use serde::Serialize;
use utoipa::ToSchema;
use vidgate_domain::task::TaskStatus;
use vidgate_store::Task;

/// Why a video failed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VideoError {
    pub code: String,
    pub message: String,
}

/// A video job, as OpenAI's Videos API describes it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VideoObject {
    /// The task id (readable on every surface).
    pub id: String,
    /// Always `video`.
    pub object: &'static str,
    pub model: String,
    /// `queued`, `in_progress`, `completed` or `failed`.
    pub status: &'static str,
    pub progress: u8,
    pub created_at: i64,
    /// When the job finished (completed or failed).
    pub completed_at: Option<i64>,
    /// When the files are deleted (retention); null until there are files.
    pub expires_at: Option<i64>,
    pub prompt: String,
    /// The length in seconds, as a string (`"4"`).
    pub seconds: String,
    #[schema(example = "1280x720")]
    pub size: String,
    pub remixed_from_video_id: Option<String>,
    pub error: Option<VideoError>,
}

/// A page of videos.
#[derive(Serialize, ToSchema)]
pub struct VideoList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<VideoObject>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

/// The answer to a delete.
#[derive(Serialize, ToSchema)]
pub struct VideoDeleted {
    pub id: String,
    /// Always `video.deleted`.
    pub object: &'static str,
    pub deleted: bool,
}

/// OpenAI's name for a status.
pub fn openai_status(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Queued => "queued",
        TaskStatus::Running => "in_progress",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed | TaskStatus::Cancelled => "failed",
    }
}

/// Renders a task as a video object.
pub fn video_object(t: &Task) -> VideoObject {
    VideoObject {
        id: t.id.to_string(),
        object: "video",
        model: t.model.clone(),
        status: openai_status(t.status),
        progress: t.progress,
        created_at: unix_secs(t.created_at),
        completed_at: t.completed_at.filter(|_| t.status.is_terminal()).map(unix_secs),
        expires_at: t.files_expire_at.map(unix_secs),
        prompt: t.params.prompt.clone(),
        seconds: t.params.duration_seconds.to_string(),
        size: t.params.size.to_string(),
        remixed_from_video_id: t.params.remixed_from.clone(),
        error: t
            .error
            .as_ref()
            .map(|(code, message)| VideoError { code: code.as_str().to_owned(), message: message.clone() }),
    }
}

fn unix_secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}
