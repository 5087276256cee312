//! What the Gemini fake remembers: the API key, operations, and the Files-API files its
//! operations produced.
//!
//! Owns the operation and file tables. It must not parse requests or render responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;

use super::request::Generate;
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

/// A generated video in the Files API.
#[derive(Debug, Clone)]
pub(crate) struct File {
    pub(crate) clip: ClipSpec,
    pub(crate) bytes: Bytes,
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

    /// Requires the API key in `x-goog-api-key` or `?key=` (UPSTREAMS.md §1.1).
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
        operation
            .file
            .get_or_insert_with(|| {
                let id = crate::google::new_id();
                lock(&self.files).insert(id.clone(), File { clip, bytes });
                id
            })
            .clone()
    }

    pub(crate) fn file(&self, id: &str) -> Option<File> {
        lock(&self.files).get(id).cloned()
    }

    /// The download URI of a file, as operations report it.
    pub(crate) fn file_uri(&self, id: &str) -> String {
        format!("{}/v1beta/files/{id}:download?alt=media", self.core.base_url)
    }

    /// The clip behind a download URI this fake handed out (for extensions).
    pub(crate) fn clip_of_uri(&self, uri: &str) -> Option<ClipSpec> {
        let prefix = format!("{}/v1beta/files/", self.core.base_url);
        let id = uri.strip_prefix(&prefix)?.split(':').next()?;
        self.file(id).map(|f| f.clip)
    }

    /// Deletes every file (the 2-day retention of UPSTREAMS.md §1.5 ran out).
    pub(crate) fn expire_files(&self) {
        lock(&self.files).clear();
    }
}
