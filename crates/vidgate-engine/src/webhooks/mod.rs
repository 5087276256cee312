//! Webhook delivery (docs/api.md §8): a loop that leases due messages from the durable outbox
//! (written by `Store::finish` with the terminal transition), POSTs each task's object to its
//! `callback_url` signed per Standard Webhooks, and records every attempt with its outcome:
//! delivered (2xx), retried on `webhooks.retry_schedule`, or given up (410, or the schedule
//! is spent).
//!
//! At-least-once: an attempt is recorded after the receiver answered, so a crash in between
//! sends it again (same `webhook-id`, which receivers use to de-duplicate). Every record
//! carries the lease's fencing token, so a process that lost its lease writes nothing.
//!
//! Decisions where the contract is silent:
//! - The body is the task object exactly as `GET /v1/videos/tasks/{id}` renders it (not the
//!   `{type, timestamp, data}` envelope Standard Webhooks suggests): the contract says the
//!   task object is POSTed, and clients parse one shape everywhere. It is rendered at each
//!   attempt, so its file URLs are fresh.
//! - The account's secret is read at each attempt, so a rotation applies to later attempts.
//! - The URL is checked again at each attempt under the current policy; an IP literal the
//!   policy refuses ends the message at once, while a name whose DNS answer is refused at
//!   connect time is retried (answers change).
//! - Redirects are not followed: a 3xx is a failed attempt.
//!
//! Layout: `sign.rs` (the signature), `retry.rs` (when to try again), `deliver.rs` (one POST
//! and what its answer means).

pub mod deliver;
pub mod retry;
pub mod sign;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use vidgate_domain::duration::HumanDuration;
use vidgate_store::{AttemptOutcome, ClaimedWebhook, Millis, Store, Task, WebhookAttempt, WebhookMessage};

use self::deliver::{Answer, FailureKind, SignedHeaders, Verdict};
use self::sign::SigningKey;
use crate::clock::now_ms;
use crate::gateway::Gateway;
use crate::net::Policy;
use crate::view::{UrlMinter, task_object};
use crate::worker::Engine;

/// Deliveries one process runs at once.
pub const MAX_IN_FLIGHT: usize = 16;

/// Delivery knobs, from config.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// The lease owner (the engine's).
    pub owner: String,
    /// How long a claimed attempt may take before another process may take it over.
    pub lease_ms: Millis,
    pub idle_poll_ms: u64,
    pub schedule: Vec<HumanDuration>,
    pub policy: Policy,
}

/// The delivery loop and everything an attempt needs.
pub struct Deliverer {
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    urls: UrlMinter,
    client: reqwest::Client,
    settings: WebhookSettings,
}

impl Engine {
    /// Wakes the delivery loop after a terminal transition that wrote an outbox message.
    pub fn webhook_enqueued(&self, done: &Task) {
        if done.params.callback_url.is_some() {
            self.webhooks_due.notify_one();
        }
    }
}

impl Deliverer {
    /// A deliverer for the gateway's config, with its own guarded client (no redirects).
    pub fn new(gateway: &Gateway) -> Result<Deliverer, crate::start_error::StartError> {
        let config = &gateway.config;
        let policy = Policy { allow_private: config.webhooks.allow_private_targets };
        let timeout = Duration::from_secs(config.webhooks.timeout_secs);
        let client =
            crate::net::outbound_client_without_redirects(policy, timeout.min(Duration::from_secs(5)), timeout)
                .map_err(|e| crate::start_error::StartError::HttpClient {
                    client: "webhook HTTP client",
                    reason: e.to_string(),
                })?;
        let settings = WebhookSettings {
            owner: gateway.engine.settings.owner.clone(),
            // Room for the whole timeout plus the store writes around it.
            lease_ms: (config.webhooks.timeout_secs * 1000 + 30_000) as Millis,
            idle_poll_ms: config.engine.idle_poll_ms,
            schedule: config.webhooks.retry_schedule.clone(),
            policy,
        };
        Ok(Deliverer {
            store: gateway.store.clone(),
            engine: gateway.engine.clone(),
            urls: gateway.urls.clone(),
            client,
            settings,
        })
    }

    /// Runs until `shutdown` resolves, then waits up to `grace` for attempts in progress and
    /// gives back the leases of the rest (they are retried at once by the next process).
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>, grace: Duration) {
        let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            while running.try_join_next().is_some() {}
            let free = slots.available_permits() as u32;
            for claimed in if free == 0 { Vec::new() } else { self.claim(free).await } {
                let permit = slots.clone().acquire_owned().await.expect("semaphore open");
                let me = self.clone();
                running.spawn(async move {
                    me.attempt(claimed).await;
                    drop(permit);
                });
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(Duration::from_millis(self.settings.idle_poll_ms)) => {}
                _ = self.engine.webhooks_due.notified() => {}
            }
        }
        let _ = tokio::time::timeout(grace, async { while running.join_next().await.is_some() {} }).await;
        running.abort_all();
        if let Err(e) = self.store.release_webhook_leases(&self.settings.owner).await {
            tracing::warn!(error = %e, "could not give back webhook leases at shutdown; they will expire");
        }
    }

    async fn claim(&self, limit: u32) -> Vec<ClaimedWebhook> {
        let s = &self.settings;
        self.store.claim_webhooks(&s.owner, now_ms(), s.lease_ms, limit).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "claiming due webhooks failed");
            Vec::new()
        })
    }

    /// Makes one attempt at a claimed message and records it.
    pub async fn attempt(&self, c: ClaimedWebhook) {
        let m = &c.message;
        let started_ms = now_ms();
        let started = Instant::now();
        let answer = match self.send(m, started_ms).await {
            Ok(a) => a,
            Err(e) => {
                // Nothing was sent; the lease expires and the attempt is made again.
                tracing::warn!(message = %m.id, error = %e, "webhook attempt could not be prepared");
                return;
            }
        };
        let outcome = self.outcome(m.attempts + 1, &answer, started_ms);
        if outcome != AttemptOutcome::Delivered {
            let (status, error) = (answer.http_status, answer.failure.map(FailureKind::as_str));
            tracing::info!(message = %m.id, attempt = m.attempts + 1, ?status, ?error, outcome = outcome.as_str(), "webhook not delivered");
        }
        metrics::counter!("vidgate_webhook_deliveries_total", "outcome" => outcome.as_str()).increment(1);
        let record = WebhookAttempt {
            attempted_at: started_ms,
            http_status: answer.http_status,
            error: answer.failure.map(|f| f.as_str().to_owned()),
            duration_ms: started.elapsed().as_millis() as u64,
            outcome,
        };
        match self.store.record_webhook_attempt(&m.id, c.token, record).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(message = %m.id, "webhook lease lost; another process records its attempts"),
            Err(e) => tracing::warn!(message = %m.id, error = %e, "recording a webhook attempt failed; it is retried"),
        }
    }

    fn outcome(&self, attempt: u32, answer: &Answer, now: Millis) -> AttemptOutcome {
        match answer.verdict {
            Verdict::Delivered => AttemptOutcome::Delivered,
            Verdict::GiveUp => AttemptOutcome::GaveUp,
            Verdict::Retry { retry_after } => {
                let jitter = rand::random_range(-1.0..=1.0);
                match retry::next_delay(&self.settings.schedule, attempt, retry_after, jitter) {
                    Some(wait) => AttemptOutcome::Retry { at: now + wait.as_millis() as Millis },
                    None => AttemptOutcome::GaveUp,
                }
            }
        }
    }

    /// Renders, signs and POSTs one attempt. An `Err` is a store failure (nothing sent).
    async fn send(&self, m: &WebhookMessage, now: Millis) -> Result<Answer, vidgate_store::StoreError> {
        let Some(task) = self.store.task(&m.task_id).await? else {
            return Ok(Answer::failed(FailureKind::TaskMissing));
        };
        let url = match crate::net::check_url(&m.url, self.settings.policy) {
            Ok(url) => url,
            // The URL itself is refused under today's policy: no retry can change that.
            Err(_) => return Ok(Answer { verdict: Verdict::GiveUp, ..Answer::failed(FailureKind::TargetRefused) }),
        };
        let secret = self.store.account(&m.account_id).await?.map(|a| a.webhook_secret).unwrap_or_default();
        let Ok(key) = SigningKey::from_secret(&secret) else {
            tracing::error!(account = %m.account_id, "the account's webhook secret is unusable; rotate it");
            return Ok(Answer::failed(FailureKind::InvalidSecret));
        };
        let body = serde_json::to_vec(&task_object(&task, &self.urls, now)).expect("the task object serializes");
        let timestamp = now / 1000;
        let headers = SignedHeaders { id: m.id.clone(), timestamp, signature: key.sign(&m.id, timestamp, &body) };
        Ok(deliver::post(&self.client, &url, &headers, body, now).await)
    }
}
