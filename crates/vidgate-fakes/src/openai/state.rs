//! What the OpenAI Videos fake remembers: the API keys and the videos, in creation order,
//! each with the key that created it (the only one that sees it).
//!
//! Owns how a video's status moves (only a `GET` of the video moves it, so `/content` and
//! `DELETE` see the status the client last saw). It must not parse requests or render JSON.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};

use super::request::Create;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// One video job.
#[derive(Debug, Clone)]
pub(crate) struct Video {
    pub(crate) id: String,
    pub(crate) create: Create,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) created_at: u64,
    pub(crate) polled: bool,
    pub(crate) done_at: Option<u64>,
    /// The key that created it.
    pub(crate) owner: String,
}

impl Video {
    /// The status string as of the last poll.
    pub(crate) fn status(&self) -> &str {
        match (&self.done_at, &self.outcome) {
            (None, _) if !self.polled => "queued",
            (None, _) => "in_progress",
            (Some(_), Outcome::SafetyBlock | Outcome::Error { .. }) => "failed",
            (Some(_), Outcome::Status(status)) => status,
            (Some(_), _) => "completed",
        }
    }

    /// Completed or failed: the states `DELETE` takes.
    pub(crate) fn is_finished(&self) -> bool {
        matches!(self.status(), "completed" | "failed")
    }
}

/// The OpenAI fake's shared state.
#[derive(Debug)]
pub(crate) struct OpenAiState {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    other_keys: Vec<String>,
    pub(crate) models: Vec<String>,
    pub(crate) poll_after_ms: Option<u64>,
    videos: Mutex<Vec<Video>>,
    expired: Mutex<bool>,
}

impl HasCore for Arc<OpenAiState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl OpenAiState {
    pub(crate) fn new(core: Arc<Core>, config: super::OpenAiConfig) -> Self {
        Self {
            core,
            api_key: config.api_key,
            other_keys: config.other_keys,
            models: config.models,
            poll_after_ms: config.poll_after_ms,
            videos: Mutex::default(),
            expired: Mutex::new(false),
        }
    }

    /// Requires `Authorization: Bearer <key>` with a known key (docs/upstreams.md §3);
    /// the key.
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(key) if key == self.api_key || self.other_keys.iter().any(|k| k == key) => Ok(key.to_owned()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "Incorrect API key provided.").code("invalid_api_key")),
        }
    }

    pub(crate) fn insert(&self, video: Video) {
        lock(&self.videos).push(video);
    }

    /// Video `id` if `key` created it.
    pub(crate) fn get(&self, id: &str, key: &str) -> Option<Video> {
        lock(&self.videos).iter().find(|v| v.id == id && v.owner == key).cloned()
    }

    /// Counts `key`'s poll of `id` and returns the video as of this poll.
    pub(crate) fn poll(&self, id: &str, key: &str) -> Option<Video> {
        let mut videos = lock(&self.videos);
        let video = videos.iter_mut().find(|v| v.id == id && v.owner == key)?;
        video.polled = true;
        if video.progress.poll() && video.outcome != Outcome::Never && video.done_at.is_none() {
            video.done_at = Some(unix_now());
        }
        Some(video.clone())
    }

    pub(crate) fn remove(&self, id: &str) {
        lock(&self.videos).retain(|v| v.id != id);
    }

    /// Every video `key` created, oldest first.
    pub(crate) fn all(&self, key: &str) -> Vec<Video> {
        lock(&self.videos).iter().filter(|v| v.owner == key).cloned().collect()
    }

    pub(crate) fn expire(&self) {
        *lock(&self.expired) = true;
    }

    pub(crate) fn expired(&self) -> bool {
        *lock(&self.expired)
    }
}
