//! The task object clients read (docs/api.md §5), the same on every task surface and in
//! webhooks. File URLs are minted fresh, signed and expiring, at every rendering.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use vidgate_domain::Usd;
use vidgate_store::{StoredFile, Task};

use crate::clock::rfc3339;
use crate::signer::UrlSigner;

/// One delivered file.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OutputItem {
    /// `video`, `audio` or `image`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub bytes: u64,
}

/// Why a task failed or was cancelled.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaskErrorObject {
    pub code: String,
    pub message: String,
}

/// The task object.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaskObject {
    pub task_id: String,
    /// Always `video.task`.
    pub object: &'static str,
    pub model: String,
    pub prompt: String,
    pub duration_seconds: u32,
    #[schema(example = "1280x720")]
    pub size: String,
    pub audio: bool,
    pub seed: Option<u32>,
    pub out_task_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// `live` or `test`.
    pub mode: &'static str,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: &'static str,
    pub progress: u8,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// USD held at submit.
    #[schema(value_type = f64)]
    pub estimated_credits: Usd,
    /// USD finally charged.
    #[schema(value_type = f64)]
    pub credits_used: Usd,
    pub result_url: Option<String>,
    pub audio_url: Option<String>,
    pub thumbnail_url: Option<String>,
    pub stream_url: Option<String>,
    pub output: Vec<OutputItem>,
    /// When the URLs in this response stop working.
    pub expires_at: Option<String>,
    /// When the files themselves are deleted.
    pub files_expire_at: Option<String>,
    pub files_expired: bool,
    pub error: Option<TaskErrorObject>,
}

/// Admin-only fields added to the task object.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AdminTaskObject {
    #[serde(flatten)]
    pub task: TaskObject,
    pub account_id: String,
    pub key_id: String,
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
    pub upstream: String,
    pub upstream_job: Option<String>,
    #[schema(value_type = f64)]
    pub upstream_cost_usd: Usd,
    #[schema(value_type = f64)]
    pub margin_usd: Usd,
    /// Steps the engine claimed for this task (submit, polls, fetch, retries).
    pub attempts: u32,
    /// Upstream submits sent for this task on its current route, counting only those that
    /// may have reached the upstream (not a failed connect, a throttled try or a submit whose
    /// credential could not be had); 1 for a task that ran without a resend.
    pub upstream_submits: u32,
    pub possible_orphan: bool,
}

/// Builds absolute signed URLs.
#[derive(Clone)]
pub struct UrlMinter {
    pub public_url: String,
    pub signer: UrlSigner,
    pub ttl_secs: i64,
    /// With `storage.s3_presigned_urls`: the media store whose presigned URLs clients get
    /// instead of the gateway's.
    pub direct: Option<crate::files::MediaStore>,
}

impl UrlMinter {
    /// The path of a task's file.
    pub fn file_path(task_id: &str, name: &str) -> String {
        format!("/files/{task_id}/{name}")
    }

    /// The URL a client gets for a task's file, valid until `exp` (unix seconds; `now`
    /// too): presigned straight to the bucket when configured, else the gateway's.
    pub fn file_url(&self, task_id: &vidgate_domain::TaskId, name: &str, exp: i64, now: i64) -> String {
        let direct = self.direct.as_ref().and_then(|files| {
            let secs = u64::try_from(exp - now).ok()?;
            files.direct_url(task_id, name, std::time::Duration::from_secs(secs))
        });
        direct.unwrap_or_else(|| self.url(&UrlMinter::file_path(task_id.as_str(), name), exp))
    }

    /// An absolute signed URL for `path`, valid until `exp` (unix seconds).
    pub fn url(&self, path: &str, exp: i64) -> String {
        format!("{}{}?{}", self.public_url.trim_end_matches('/'), path, self.signer.query(path, exp))
    }
}

/// Renders a task at time `now_ms`.
pub fn task_object(t: &Task, urls: &UrlMinter, now_ms: i64) -> TaskObject {
    let exp = now_ms / 1000 + urls.ttl_secs;
    let live_files = t.result.as_ref().filter(|_| !t.files_expired);
    let url_of = |f: &StoredFile| urls.file_url(&t.id, &f.name, exp, now_ms / 1000);
    let mut output = Vec::new();
    if let Some(r) = live_files {
        output.push(item("video", &r.video, url_of(&r.video)));
        if let Some(a) = &r.audio {
            output.push(item("audio", a, url_of(a)));
        }
        if let Some(th) = &r.thumbnail {
            output.push(item("image", th, url_of(th)));
        }
    }
    let terminal = t.status.is_terminal();
    TaskObject {
        task_id: t.id.to_string(),
        object: "video.task",
        model: t.model.clone(),
        prompt: t.params.prompt.clone(),
        duration_seconds: t.params.duration_seconds,
        size: t.params.size.to_string(),
        audio: t.params.audio,
        seed: t.params.seed,
        out_task_id: t.out_task_id.clone(),
        metadata: t.params.metadata.clone(),
        mode: t.mode.as_str(),
        status: t.status.as_str(),
        progress: t.progress,
        created_at: rfc3339(t.created_at),
        started_at: t.started_at.map(rfc3339),
        completed_at: t.completed_at.map(rfc3339),
        estimated_credits: t.estimated,
        credits_used: t.credits_used,
        result_url: live_files.map(|r| url_of(&r.video)),
        audio_url: live_files.and_then(|r| r.audio.as_ref()).map(url_of),
        thumbnail_url: live_files.and_then(|r| r.thumbnail.as_ref()).map(url_of),
        stream_url: (!terminal).then(|| urls.url(&format!("/v1/tasks/stream/{}", t.id), exp)),
        output,
        expires_at: live_files.map(|_| rfc3339(exp * 1000)),
        files_expire_at: t.files_expire_at.map(rfc3339),
        files_expired: t.files_expired,
        error: t.error.as_ref().map(|(c, m)| TaskErrorObject { code: c.as_str().to_owned(), message: m.clone() }),
    }
}

/// Renders a task with its admin-only fields.
pub fn admin_task_object(t: &Task, urls: &UrlMinter, now_ms: i64) -> AdminTaskObject {
    AdminTaskObject {
        task: task_object(t, urls, now_ms),
        account_id: t.account_id.to_string(),
        key_id: t.key_id.to_string(),
        plan: t.plan.to_json(),
        upstream: t.provider.clone(),
        upstream_job: t.upstream_job.clone(),
        upstream_cost_usd: t.upstream_cost,
        margin_usd: t.credits_used.minus(t.upstream_cost),
        attempts: t.attempts,
        upstream_submits: t.submit_attempts,
        possible_orphan: t.possible_orphan,
    }
}

fn item(kind: &'static str, f: &StoredFile, url: String) -> OutputItem {
    OutputItem {
        kind,
        url,
        mime_type: f.mime.clone(),
        duration_seconds: f.duration_ms.map(|ms| ms as f64 / 1000.0),
        width: f.width,
        height: f.height,
        bytes: f.bytes,
    }
}
