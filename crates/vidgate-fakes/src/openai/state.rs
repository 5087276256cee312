//! What the OpenAI Videos fake remembers: the API key and the videos, in creation order.
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
    pub(crate) fn new(core: Arc<Core>, api_key: String, models: Vec<String>, poll_after_ms: Option<u64>) -> Self {
        Self { core, api_key, models, poll_after_ms, videos: Mutex::default(), expired: Mutex::new(false) }
    }

    /// Requires `Authorization: Bearer <key>` (docs/upstreams.md §3).
    pub(crate) fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match value.and_then(|v| v.strip_prefix("Bearer ")) {
            Some(key) if key == self.api_key => Ok(()),
            _ => Err(Refusal::auth(StatusCode::UNAUTHORIZED, "Incorrect API key provided.").code("invalid_api_key")),
        }
    }

    pub(crate) fn insert(&self, video: Video) {
        lock(&self.videos).push(video);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Video> {
        lock(&self.videos).iter().find(|v| v.id == id).cloned()
    }

    /// Counts a poll of `id` and returns the video as of this poll.
    pub(crate) fn poll(&self, id: &str) -> Option<Video> {
        let mut videos = lock(&self.videos);
        let video = videos.iter_mut().find(|v| v.id == id)?;
        video.polled = true;
        if video.progress.poll() && video.outcome != Outcome::Never && video.done_at.is_none() {
            video.done_at = Some(unix_now());
        }
        Some(video.clone())
    }

    pub(crate) fn remove(&self, id: &str) {
        lock(&self.videos).retain(|v| v.id != id);
    }

    /// Every video, oldest first.
    pub(crate) fn all(&self) -> Vec<Video> {
        lock(&self.videos).clone()
    }

    pub(crate) fn expire(&self) {
        *lock(&self.expired) = true;
    }

    pub(crate) fn expired(&self) -> bool {
        *lock(&self.expired)
    }
}
