//! The API's objects as typed values. Each keeps the fields the client reads as typed
//! fields and every other field in `extra`, so serialising one gives back the whole object
//! the gateway sent (what `--json` prints).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// A generation request (`POST /v1/videos/generations`); `None` fields are left out, so the
/// gateway applies the model's defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GenerateRequest {
    pub model: String,
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<bool>,
    /// An `https://` URL or a `data:image/…;base64,` URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty", default)]
    pub metadata: Map<String, Value>,
}

/// The `error` of a failed or cancelled task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// The task object (`object: "video.task"`); the admin task object too, whose extra fields
/// (`account_id`, `upstream` …) stay in `extra`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Task {
    pub task_id: String,
    pub status: TaskStatus,
    pub model: String,
    #[serde(default)]
    pub progress: u8,
    #[serde(default)]
    pub duration_seconds: u32,
    /// USD, exactly as the gateway wrote it (a JSON number of at most 6 decimals).
    pub estimated_credits: Number,
    pub credits_used: Number,
    pub result_url: Option<String>,
    pub audio_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub error: Option<TaskError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A task's status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    /// Completed, failed or cancelled: nothing changes any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled)
    }

    /// The word the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

impl Task {
    /// The seconds billed: the charge over the rate locked in at submit (the estimate is the
    /// rate times the requested seconds). None when the task has no price.
    pub fn billed_seconds(&self) -> Option<f64> {
        let (estimate, used) = (self.estimated_credits.as_f64()?, self.credits_used.as_f64()?);
        (estimate > 0.0 && self.duration_seconds > 0).then(|| used / (estimate / f64::from(self.duration_seconds)))
    }

    /// A field of `extra` as a string (`created_at`, `account_id` …).
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }
}

/// The OpenAI video object (`GET /v1/videos`), the listing API keys have.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Video {
    pub id: String,
    /// `queued`, `in_progress`, `completed` or `failed`.
    pub status: String,
    pub model: String,
    #[serde(default)]
    pub progress: u8,
    #[serde(default)]
    pub created_at: i64,
    pub error: Option<TaskError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Video {
    /// The native status word: `in_progress` is `running`, a failure coded `cancelled` is
    /// `cancelled`.
    pub fn task_status(&self) -> &str {
        match (self.status.as_str(), &self.error) {
            ("in_progress", _) => "running",
            ("failed", Some(e)) if e.code == "cancelled" => "cancelled",
            (s, _) => s,
        }
    }
}

/// A list answer: `{"object": "list", "data": [...], "has_more", "last_id", …}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub last_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A catalog model (`GET /v1/models`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub durations: Vec<u32>,
    #[serde(default)]
    pub sizes: Vec<String>,
    #[serde(default)]
    pub available: bool,
    #[serde(default)]
    pub pricing: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An account (`/admin/v1/accounts`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub balance_usd: Number,
    pub held_usd: Number,
    pub spent_usd: Number,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An API key (`/admin/v1/keys`); `key` only in the answer that created it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiKey {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub masked: String,
    pub name: String,
    pub account_id: String,
    pub mode: String,
    #[serde(default)]
    pub revoked_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A new key (`POST /admin/v1/keys`); `None` fields are left out.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct NewKey {
    pub account_id: String,
    pub name: String,
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_usd: Option<f64>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub spend_limits: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_allow: Option<Vec<String>>,
}
