//! What the Gemini fake remembers: the API key, operations, and the Files-API files its
//! operations produced.
//!
//! Owns the operation and file tables. It must not parse requests or render responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use tokio::time::Instant;

use super::request::{Generate, Source};
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;
use crate::media::ClipSpec;

/// One long-running operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) name: String,
    pub(crate) generate: Generate,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    /// The file id of its result, once a poll reported it.
    pub(crate) file: Option<String>,
}

/// Generated videos are deleted after 2 days; referencing one for extension resets its
/// timer (docs/upstreams.md §1.5).
const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

/// A generated video in the Files API.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub(crate) bytes: Bytes,
    /// What an extension of it continues (its extensions so far, its chain's first clip).
    pub(crate) source: Source,
    /// The operation that made it.
    pub(crate) operation: String,
    /// Generated, or last referenced for extension (tokio time, so a paused clock ages it).
    pub(crate) touched: Instant,
}

/// The Gemini fake's shared state.
#[derive(Debug)]
pub(crate) struct GeminiState {
    pub(crate) core: Arc<Core>,
    pub(crate) api_key: String,
    pub(crate) models: Vec<String>,
    pub(crate) omit_done_while_running: bool,
    operations: Mutex<HashMap<String, Operation>>,
    files: Mutex<HashMap<String, File>>,
}

impl HasCore for Arc<GeminiState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl GeminiState {
    pub(crate) fn new(core: Arc<Core>, api_key: String, models: Vec<String>, omit_done_while_running: bool) -> Self {
        Self { core, api_key, models, omit_done_while_running, operations: Mutex::default(), files: Mutex::default() }
    }

    /// Requires the API key in `x-goog-api-key` or `?key=` (docs/upstreams.md §1.1).
    pub(crate) fn check_key(&self, headers: &HeaderMap, query_key: Option<&str>) -> Result<(), Refusal> {
        let header = headers.get("x-goog-api-key").and_then(|v| v.to_str().ok());
        match header.or(query_key) {
            None => Err(Refusal::auth(
                StatusCode::FORBIDDEN,
                "Method doesn't allow unregistered callers. Please use an API key (x-goog-api-key or ?key=).",
            )),
            Some(key) if key == self.api_key => Ok(()),
            Some(_) => Err(Refusal::auth(StatusCode::BAD_REQUEST, "API key not valid. Please pass a valid API key.")),
        }
    }

    pub(crate) fn insert(&self, operation: Operation) {
        lock(&self.operations).insert(operation.name.clone(), operation);
    }

    /// Counts a poll of `name` and returns the operation as of this poll.
    pub(crate) fn poll(&self, name: &str) -> Option<(Operation, bool)> {
        let mut operations = lock(&self.operations);
        let operation = operations.get_mut(name)?;
        let done = operation.progress.poll() && operation.outcome != Outcome::Never;
        Some((operation.clone(), done))
    }

    /// Stores the result of `name` once, and returns its file id.
    pub(crate) fn file_for(&self, name: &str, clip: ClipSpec, bytes: Bytes) -> String {
        let mut operations = lock(&self.operations);
        let operation = operations.get_mut(name).expect("a polled operation exists");
        let source = match &operation.generate.extension {
            Some(e) => Source { clip, extensions: e.source.extensions + 1, base_ms: e.source.base_ms },
            None => Source { clip, extensions: 0, base_ms: clip.duration_ms },
        };
        operation
            .file
            .get_or_insert_with(|| {
                let id = crate::google::new_id();
                let file = File { bytes, source, operation: name.to_owned(), touched: Instant::now() };
                lock(&self.files).insert(id.clone(), file);
                id
            })
            .clone()
    }

    /// A file within its 2-day retention (an older one is deleted).
    pub(crate) fn file(&self, id: &str) -> Option<File> {
        let mut files = lock(&self.files);
        if files.get(id).is_some_and(|f| f.touched.elapsed() > RETENTION) {
            files.remove(id);
        }
        files.get(id).cloned()
    }

    /// The download URI of a file, as operations report it.
    pub(crate) fn file_uri(&self, id: &str) -> String {
        format!("{}/v1beta/files/{id}:download?alt=media", self.core.base_url)
    }

    /// The file behind a download URI this fake handed out, within its retention (for
    /// extensions).
    pub(crate) fn file_of_uri(&self, uri: &str) -> Option<File> {
        let prefix = format!("{}/v1beta/files/", self.core.base_url);
        let id = uri.strip_prefix(&prefix)?.split(':').next()?;
        self.file(id)
    }

    /// An extension referenced the file at `uri`: its 2-day timer starts over.
    pub(crate) fn touch(&self, uri: &str) {
        let prefix = format!("{}/v1beta/files/", self.core.base_url);
        let Some(id) = uri.strip_prefix(&prefix).and_then(|rest| rest.split(':').next()) else { return };
        if let Some(file) = lock(&self.files).get_mut(id) {
            file.touched = Instant::now();
        }
    }

    /// Deletes every file (the 2-day retention of docs/upstreams.md §1.5 ran out).
    pub(crate) fn expire_files(&self) {
        lock(&self.files).clear();
    }
}
