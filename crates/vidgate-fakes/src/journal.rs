//! What a fake saw: request counters, the requests it rejected and why, and the requests it
//! accepted only because the documentation leaves a point UNCONFIRMED.
//!
//! Owns the records a test reads to assert that an adapter sent nothing invalid. It must not
//! decide what is valid; the fakes' validators do.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::faults::Endpoint;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The request breaks the documented protocol (body, method, path, parameters).
    Protocol,
    /// Missing, unknown, expired or revoked credentials.
    Auth,
    /// A well-formed request for something that does not exist (unknown job, expired file).
    NotFound,
}

/// One refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The kind of request, when it could be told.
    pub endpoint: Option<Endpoint>,
    /// `"POST /v1/..."`, without the query string.
    pub request: String,
    /// The HTTP status answered.
    pub status: u16,
    /// Protocol, auth or not-found.
    pub kind: RejectionKind,
    /// What was wrong, with the section of the documentation that says so.
    pub reason: String,
}

/// A request accepted on a point the documentation marks UNCONFIRMED (so a test can still
/// assert that an adapter used the documented form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// `"POST /v1beta/..."`.
    pub request: String,
    /// What was accepted and why it is unconfirmed.
    pub what: String,
}

/// An extension job (Gemini `instances[0].video.uri`) a fake created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionJob {
    /// The new job's name (operation).
    pub operation: String,
    /// The URI the request named.
    pub video_uri: String,
    /// The job whose output that URI is.
    pub extended_operation: String,
    /// The length of the video extended, ms.
    pub input_ms: u64,
    /// The length of the stitched output, ms.
    pub output_ms: u64,
}

/// One call a fake answered past its key check, with the key it carried and the job it
/// named (fakes whose jobs belong to the account that created them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedCall {
    /// Submit, poll, download or delete.
    pub endpoint: Endpoint,
    /// The credential, as sent.
    pub key: String,
    /// The job created (submit) or named in the path.
    pub job: String,
}

/// Request counters of one fake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests received per kind, including refused and faulted ones.
    pub received: BTreeMap<Endpoint, u64>,
    /// Jobs (operations, videos, tasks) actually created.
    pub jobs_created: u64,
    /// Access tokens issued (Vertex).
    pub tokens_issued: u64,
    /// Valid submits per prompt.
    pub submits_by_prompt: BTreeMap<String, u64>,
    /// Valid submits per idempotency key (vidgate `out_task_id` / `Idempotency-Key`).
    pub submits_by_key: BTreeMap<String, u64>,
}

impl Counters {
    /// Requests of kind `endpoint` received.
    pub fn received(&self, endpoint: Endpoint) -> u64 {
        self.received.get(&endpoint).copied().unwrap_or(0)
    }

    /// Submit requests received.
    pub fn submits(&self) -> u64 {
        self.received(Endpoint::Submit)
    }

    /// Poll requests received.
    pub fn polls(&self) -> u64 {
        self.received(Endpoint::Poll)
    }

    /// Download requests received (a redirected download counts twice: the redirect and its target).
    pub fn downloads(&self) -> u64 {
        self.received(Endpoint::Download)
    }

    /// Token requests received.
    pub fn token_requests(&self) -> u64 {
        self.received(Endpoint::Token)
    }
}

/// The images besides the first frame an accepted Veo job carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobGuides {
    /// Whether it had a first frame (`instances[0].image`).
    pub image: bool,
    /// Whether it had `instances[0].lastFrame` (interpolation).
    pub last_frame: bool,
    /// How many `instances[0].referenceImages` it had.
    pub reference_images: usize,
}

#[derive(Debug, Default)]
struct Inner {
    counters: Counters,
    rejections: Vec<Rejection>,
    notes: Vec<Note>,
    extensions: Vec<ExtensionJob>,
    guides: Vec<(String, JobGuides)>,
    keyed: Vec<KeyedCall>,
}

/// The records of one fake.
#[derive(Debug, Default)]
pub struct Journal {
    inner: Mutex<Inner>,
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the counters now.
    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    /// Every refused request, oldest first.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.lock().rejections.clone()
    }

    /// The refused requests that broke the documented protocol.
    pub fn violations(&self) -> Vec<Rejection> {
        self.rejections().into_iter().filter(|r| r.kind == RejectionKind::Protocol).collect()
    }

    /// Requests accepted on UNCONFIRMED points.
    pub fn notes(&self) -> Vec<Note> {
        self.lock().notes.clone()
    }

    /// Extension jobs created, oldest first (also counted in `jobs_created`).
    pub fn extensions(&self) -> Vec<ExtensionJob> {
        self.lock().extensions.clone()
    }

    /// The guide images of each accepted job, by prompt, oldest first.
    pub fn guides(&self) -> Vec<(String, JobGuides)> {
        self.lock().guides.clone()
    }

    /// Every call with its key, oldest first (the OpenAI fake).
    pub fn keyed_calls(&self) -> Vec<KeyedCall> {
        self.lock().keyed.clone()
    }

    pub(crate) fn keyed_call(&self, endpoint: Endpoint, key: &str, job: &str) {
        self.lock().keyed.push(KeyedCall { endpoint, key: key.to_owned(), job: job.to_owned() });
    }

    pub(crate) fn job_guides(&self, prompt: &str, guides: JobGuides) {
        self.lock().guides.push((prompt.to_owned(), guides));
    }

    pub(crate) fn extension_created(&self, job: ExtensionJob) {
        self.lock().extensions.push(job);
    }

    pub(crate) fn received(&self, endpoint: Endpoint) {
        *self.lock().counters.received.entry(endpoint).or_default() += 1;
    }

    pub(crate) fn job_created(&self, prompt: &str, key: Option<&str>) {
        let mut inner = self.lock();
        inner.counters.jobs_created += 1;
        *inner.counters.submits_by_prompt.entry(prompt.to_owned()).or_default() += 1;
        if let Some(key) = key {
            *inner.counters.submits_by_key.entry(key.to_owned()).or_default() += 1;
        }
    }

    /// A valid submit that did not create a job (an idempotent replay).
    pub(crate) fn replayed(&self, prompt: &str, key: &str) {
        let mut inner = self.lock();
        *inner.counters.submits_by_prompt.entry(prompt.to_owned()).or_default() += 1;
        *inner.counters.submits_by_key.entry(key.to_owned()).or_default() += 1;
    }

    pub(crate) fn token_issued(&self) {
        self.lock().counters.tokens_issued += 1;
    }

    pub(crate) fn reject(&self, rejection: Rejection) {
        self.lock().rejections.push(rejection);
    }

    pub(crate) fn note(&self, request: &str, what: impl Into<String>) {
        self.lock().notes.push(Note { request: request.to_owned(), what: what.into() });
    }
}
