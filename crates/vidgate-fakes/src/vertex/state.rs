//! What the Vertex fake remembers: issued access tokens and their expiry, operations, and the
//! objects of its fake GCS.
//!
//! Owns token validity (tokio time, so a paused clock expires them) and the operation table.
//! It must not parse requests or render responses.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use tokio::time::Instant;

use super::account::ServiceAccount;
use super::request::Predict;
use crate::core::{Core, HasCore};
use crate::errors::Refusal;
use crate::faults::Outcome;
use crate::jobs::Progress;

/// One long-running operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) name: String,
    pub(crate) predict: Predict,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
}

/// The Vertex fake's shared state.
#[derive(Debug)]
pub(crate) struct VertexState {
    pub(crate) core: Arc<Core>,
    pub(crate) account: ServiceAccount,
    pub(crate) models: Vec<String>,
    pub(crate) done_false_while_running: bool,
    token_lifetime: Mutex<Duration>,
    tokens: Mutex<HashMap<String, Instant>>,
    operations: Mutex<HashMap<String, Operation>>,
    objects: Mutex<HashMap<String, Bytes>>,
    written: Mutex<HashSet<String>>,
}

impl HasCore for Arc<VertexState> {
    fn core(&self) -> &Core {
        &self.core
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl VertexState {
    pub(crate) fn new(
        core: Arc<Core>,
        account: ServiceAccount,
        models: Vec<String>,
        token_lifetime: Duration,
        done_false_while_running: bool,
    ) -> Self {
        Self {
            core,
            account,
            models,
            done_false_while_running,
            token_lifetime: Mutex::new(token_lifetime),
            tokens: Mutex::default(),
            operations: Mutex::default(),
            objects: Mutex::default(),
            written: Mutex::default(),
        }
    }

    pub(crate) fn set_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.token_lifetime) = lifetime;
    }

    /// A fresh access token and its lifetime in seconds.
    pub(crate) fn issue_token(&self) -> (String, u64) {
        let lifetime = *lock(&self.token_lifetime);
        let token = format!("ya29.fake-{}", crate::google::new_id());
        lock(&self.tokens).insert(token.clone(), Instant::now() + lifetime);
        self.core.journal.token_issued();
        (token, lifetime.as_secs())
    }

    /// Forgets every issued token: the next calls get 401 until a new token is fetched.
    pub(crate) fn revoke_tokens(&self) {
        lock(&self.tokens).clear();
    }

    /// Requires `Authorization: Bearer <token>` with a token this fake issued and that has not
    /// expired (docs/upstreams.md §2.1).
    pub(crate) fn check_bearer(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let unauthenticated = |why: &str| {
            Refusal::auth(
                StatusCode::UNAUTHORIZED,
                format!("Request had invalid authentication credentials: {why}. Expected OAuth 2 access token."),
            )
        };
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = value.and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(|| unauthenticated("no bearer token"))?;
        match lock(&self.tokens).get(token) {
            None => Err(unauthenticated("unknown or revoked token")),
            Some(expiry) if Instant::now() >= *expiry => Err(unauthenticated("the token has expired")),
            Some(_) => Ok(()),
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

    /// Writes the object once: a later poll does not bring back an expired object.
    pub(crate) fn put_object(&self, gs_uri: &str, bytes: Bytes) {
        if lock(&self.written).insert(gs_uri.to_owned()) {
            lock(&self.objects).insert(gs_uri.to_owned(), bytes);
        }
    }

    /// The object at `gs://bucket/name`.
    pub(crate) fn object(&self, bucket: &str, name: &str) -> Option<Bytes> {
        lock(&self.objects).get(&format!("gs://{bucket}/{name}")).cloned()
    }

    /// The object at a gs:// URI (for tests).
    pub(crate) fn object_by_uri(&self, gs_uri: &str) -> Option<Bytes> {
        lock(&self.objects).get(gs_uri).cloned()
    }

    /// Deletes every stored object (bucket lifecycle rules, docs/upstreams.md §2.3).
    pub(crate) fn expire_objects(&self) {
        lock(&self.objects).clear();
    }
}
