//! The task engine: a loop that leases due tasks from the store and runs one step of each
//! (submit, poll, or fetch-and-deliver) on a bounded set of workers. Every write carries
//! the lease's fencing token, so a worker that lost its lease (it was slow, or its process
//! was presumed dead) cannot overwrite the work of the one that took over; the terminal
//! write goes through [`LeaseStore::finish`](vidgate_store::LeaseStore::finish), which settles money exactly once.
//!
//! Crash safety: whatever a step did not record is redone by the next lease holder. The
//! one step that must not be redone blindly is an upstream submit whose outcome is
//! unknown: it is marked before sending, and a non-idempotent provider then fails the
//! task unbilled as a possible orphan instead of submitting twice (docs/api.md §7).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use vidgate_domain::task::{TaskErrorCode, TaskStatus};
use vidgate_media::MediaPool;
use vidgate_store::{Claimed, Millis, Phase, ProviderCaps, StepUpdate, Store, StoreError, Task, Terminal};

use crate::channels::signal::Signal;
use crate::clock::now_ms;
use crate::files::MediaStore;
use crate::notify::Notifier;
use crate::provider::{JobRef, JobSpec, PollOutcome, Provider, ProviderError, Providers, SubmitError, throttle};

mod at_cap;
mod chain;
#[cfg(test)]
mod deadline_tests;
mod fetch;
mod routes;
mod slots;
mod terminal;

/// How often a submit that could not reach its upstream is tried before the task fails.
pub const MAX_SUBMIT_ATTEMPTS: u32 = 5;
/// How often a result download is tried before the task fails.
pub const MAX_FETCH_ATTEMPTS: u32 = 5;

/// Engine knobs, from config.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    pub owner: String,
    pub workers: usize,
    pub lease_ms: Millis,
    pub idle_poll_ms: u64,
    pub caps: ProviderCaps,
    pub retention_ms: Millis,
    pub max_result_bytes: u64,
    /// Deliveries that gave their worker slot back while on the media pool (`engine.max_deliveries`).
    pub max_deliveries: usize,
}

/// The engine and everything a step needs.
pub struct Engine {
    pub store: Arc<dyn Store>,
    pub providers: Providers,
    pub files: MediaStore,
    pub media: Arc<MediaPool>,
    pub notifier: Notifier,
    pub settings: EngineSettings,
    /// Poked when new work may be due (a submit), so idle workers look at once.
    pub wake: Notify,
    /// Poked when a terminal transition wrote a webhook message (see `webhooks`).
    pub webhooks_due: Notify,
    /// The providers the last claim left at their cap (a submit to one needs no wake-up).
    pub at_cap: AtCap,
    /// Authenticated API keys kept for a short while (dropped at once on a revoke, here or
    /// announced by another replica).
    pub key_cache: crate::gateway::key_cache::KeyCache,
    /// Each upstream's routing state: health, cool-down, spend, the operator's switches.
    pub channels: crate::channels::Channels,
}

pub use at_cap::AtCap;

/// Why a step stopped short; it is taken up again when its lease expires.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Local scratch space or the media store (a file could not be written or published).
    #[error("files: {0}")]
    Files(String),
}

type StepResult = Result<(), StepError>;

impl Engine {
    /// Runs until `shutdown` resolves, then waits up to `grace` for steps in progress and
    /// gives back the leases of any still running.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>, grace: Duration) {
        let slots = slots::Slots::new(self.settings.workers, self.settings.max_deliveries);
        let mut running = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            while running.try_join_next().is_some() {}
            let free = slots.free() as u32;
            let claimed = if free == 0 { Vec::new() } else { self.claim(free).await };
            let full = !claimed.is_empty() && claimed.len() as u32 == free;
            for c in claimed {
                let slot = slots.take().await;
                let engine = self.clone();
                running.spawn(async move { slots::run_in(slot, engine.step(c)).await });
            }
            if full {
                // More may be due; wait only for a free worker (a step ended, or a delivery
                // gave its slot back while on the media pool).
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = running.join_next() => {}
                    _ = slots.freed.notified() => {}
                }
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = slots.freed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(self.settings.idle_poll_ms)) => {}
                _ = self.wake.notified() => {}
            }
        }
        let _ = tokio::time::timeout(grace, async { while running.join_next().await.is_some() {} }).await;
        running.abort_all();
        if let Err(e) = self.store.release_leases(&self.settings.owner).await {
            tracing::warn!(error = %e, "could not give back leases at shutdown; they will expire");
        }
    }

    async fn claim(&self, limit: u32) -> Vec<Claimed> {
        let s = &self.settings;
        match self.store.claim_batch(&s.owner, now_ms(), s.lease_ms, limit, &s.caps).await {
            Ok(batch) => {
                self.at_cap.set(batch.saturated);
                batch.claimed
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming due tasks failed");
                Vec::new()
            }
        }
    }

    /// Runs one step of a claimed task.
    pub async fn step(&self, c: Claimed) {
        let id = c.task.id.clone();
        if let Err(e) = self.step_inner(&c).await {
            tracing::warn!(task = %id, error = %e, "step failed; it is retried when the lease expires");
        }
        self.notifier.changed(&id);
        // A job may have ended and freed a slot that submits are waiting for.
        if c.task.phase != Phase::Submit {
            self.slot_may_have_freed(&c.task.provider);
        }
    }

    /// Wakes the engine if `provider` was at its cap (a job of it may have ended).
    pub fn slot_may_have_freed(&self, provider: &str) {
        if self.at_cap.take(provider) {
            self.wake.notify_one();
        }
    }

    /// Wakes the engine for a new submit to `provider`, unless it had no free slot at the
    /// last claim (the submit then waits for a slot, whose freeing wakes the engine).
    pub fn submitted(&self, provider: &str) {
        if !self.at_cap.contains(provider) {
            self.wake.notify_one();
        }
    }

    async fn step_inner(&self, c: &Claimed) -> StepResult {
        let task = &c.task;
        let Some(provider) = self.providers.get(&task.provider) else {
            let msg = format!("provider {} is not configured on this gateway", task.provider);
            return self.fail(c, TaskErrorCode::UpstreamError, &msg, false).await;
        };
        // A submit past the deadline is the next job of an extension chain whose time is up
        // (a first submit has no deadline yet). A poll looks at the job first (`poll_step`).
        if task.phase == Phase::Submit && routes::past_deadline(task, now_ms()) {
            return self.timed_out(c).await;
        }
        let source_image = match &task.params.source_image {
            Some(_) => self.store.source_image(&task.id).await?.map(|s| s.bytes),
            None => None,
        };
        // Only a submit sends the last frame and reference images.
        let guide_images = match task.phase {
            Phase::Submit => self.store.guide_images(&task.id).await?,
            _ => Vec::new(),
        };
        let spec = JobSpec { task: task.clone(), source_image, guide_images };
        // Every HTTP request of the step takes a slot of the upstream's throttle.
        throttle::scope(provider.throttle(), async {
            match task.phase {
                Phase::Submit => self.submit_step(c, provider, &spec).await,
                Phase::Poll => self.poll_step(c, provider, &spec).await,
                Phase::Done => Ok(()),
            }
        })
        .await
    }

    async fn submit_step(&self, c: &Claimed, provider: &dyn Provider, spec: &JobSpec) -> StepResult {
        let task = &c.task;
        if task.submitting && !provider.submit_is_idempotent() {
            metrics::counter!("vidgate_possible_orphans_total", "provider" => task.provider.clone()).increment(1);
            let msg = "the upstream submit was interrupted and may have reached the upstream; it is not sent twice";
            return self.fail(c, TaskErrorCode::UpstreamOutcomeUnknown, msg, true).await;
        }
        // Nothing was sent yet: a route taken out of rotation since (disabled, ejected, over
        // budget) hands the task to the next usable one.
        if let Some(plan) = self.out_of_rotation(task) {
            let why = ProviderError::Refused("the upstream is out of rotation".into());
            return self.fail_over(c, plan, &why).await;
        }
        if !self.store.mark_submitting(&task.id, c.token).await? {
            return Ok(());
        }
        let now = now_ms();
        let started = std::time::Instant::now();
        let outcome = provider.submit(spec, now).await;
        call_seconds(&task.provider, "submit", started);
        let signal = outcome.as_ref().map_or_else(|e| Signal::of(&e.error), |_| Signal::Success);
        self.channels.observe(self.store.as_ref(), &task.provider, signal, true, now).await;
        match outcome {
            Ok(s) => {
                let update = StepUpdate {
                    phase: Some(Phase::Poll),
                    status: s.running.then_some(TaskStatus::Running),
                    upstream_job: Some(s.job.job_id.clone()),
                    upstream_state: Some(s.job.state.clone()),
                    submitting: Some(false),
                    // A chain's later jobs keep the deadline set when its first was accepted.
                    deadline_at: Some(task.deadline_at.unwrap_or(s.deadline_at)),
                    next_run_at: s.poll_at,
                    ..Default::default()
                };
                if !self.store.save_step(&task.id, c.token, update, now).await? {
                    return self.accepted_after_the_end(task, &s.job).await;
                }
                if s.running {
                    transition(task, TaskStatus::Running);
                }
                Ok(())
            }
            Err(SubmitError { error, sent }) => {
                // A submit that never left is not counted as sent (`upstream_submits`).
                if !sent {
                    self.store.submit_not_sent(&task.id, c.token).await?;
                }
                self.submit_failed(c, provider, error, sent).await
            }
        }
    }

    async fn submit_failed(&self, c: &Claimed, provider: &dyn Provider, e: ProviderError, sent: bool) -> StepResult {
        let task = &c.task;
        if let ProviderError::Throttled { retry_after_ms } = e {
            return self.defer(c, Duration::from_millis(retry_after_ms)).await;
        }
        crate::provider::failure::log(&task.provider, &task.id, "submit", &e);
        // Not taken by this upstream: the next route of the plan, if any, gets the job.
        if let Some(plan) = self.next_route(task, &e) {
            return self.fail_over(c, plan, &e).await;
        }
        // Tries that never left count toward the limit too, though not as submits sent.
        let attempts = chain::submit_attempt(task) + routes::unsent_submits(task);
        // An unknown outcome may be resent only to an idempotent upstream (docs/api.md §7).
        let unknown = matches!(e, ProviderError::OutcomeUnknown(_));
        let resend = if unknown { provider.submit_is_idempotent() } else { e.is_retryable() };
        if resend && attempts < MAX_SUBMIT_ATTEMPTS {
            let update = StepUpdate {
                submitting: Some(false),
                counters: (!sent).then(|| routes::with_unsent_submit(task)),
                next_run_at: now_ms() + backoff_ms(attempts, &e),
                ..Default::default()
            };
            return self.store.save_step(&task.id, c.token, update, now_ms()).await.map(drop).map_err(Into::into);
        }
        match e {
            ProviderError::OutcomeUnknown(_) => {
                metrics::counter!("vidgate_possible_orphans_total", "provider" => task.provider.clone()).increment(1);
                let msg = "the upstream did not answer the submit; it may have started a job, which is not sent twice";
                self.fail(c, TaskErrorCode::UpstreamOutcomeUnknown, msg, true).await
            }
            ProviderError::ContentFiltered(m) => self.fail(c, TaskErrorCode::ContentFiltered, &m, false).await,
            other => self.fail(c, TaskErrorCode::UpstreamError, &client_message(&other), false).await,
        }
    }

    async fn poll_step(&self, c: &Claimed, provider: &dyn Provider, spec: &JobSpec) -> StepResult {
        let task = &c.task;
        let job = JobRef { job_id: task.upstream_job.clone().unwrap_or_default(), state: task.upstream_state.clone() };
        let now = now_ms();
        let answered = routes::poll_answered(task);
        let started = std::time::Instant::now();
        let polled = provider.poll(spec, &job, now).await;
        call_seconds(&task.provider, "poll", started);
        let signal = polled.as_ref().map_or_else(Signal::of, |_| Signal::Success);
        self.channels.observe(self.store.as_ref(), &task.provider, signal, false, now).await;
        let mut update = match polled {
            // The deadline fails only a job that is still unfinished now; a finished one below
            // is always fetched and delivered, however late this step runs.
            Ok(PollOutcome::Queued { .. } | PollOutcome::Running { .. }) if routes::past_deadline(task, now) => {
                return self.timed_out(c).await;
            }
            Ok(PollOutcome::Queued { poll_at }) => {
                StepUpdate { next_run_at: poll_at, counters: answered, ..Default::default() }
            }
            Ok(PollOutcome::Running { progress, poll_at }) => {
                if task.status == TaskStatus::Queued {
                    transition(task, TaskStatus::Running);
                }
                StepUpdate {
                    status: Some(TaskStatus::Running),
                    progress: Some(progress.max(task.progress)),
                    counters: answered,
                    next_run_at: poll_at,
                    ..Default::default()
                }
            }
            Ok(PollOutcome::Succeeded) => return self.fetch_step(c, provider, spec, &job, None).await,
            Ok(PollOutcome::SucceededWith(polled)) => {
                return self.fetch_step(c, provider, spec, &job, Some(polled)).await;
            }
            Ok(PollOutcome::Continue { state, progress }) => return self.continue_chain(c, state, progress).await,
            Ok(PollOutcome::Failed { code, message }) => return self.fail(c, code, &message, false).await,
            Err(ProviderError::Throttled { retry_after_ms }) => {
                return self.defer(c, Duration::from_millis(retry_after_ms)).await;
            }
            // No answer past the deadline: a job already seen finished (its download failed
            // before) spends one of its download tries; any other counts as unfinished.
            Err(e) if e.is_retryable() && routes::past_deadline(task, now) => {
                if routes::fetch_failures(task) > 0 {
                    return self.fetch_failed(c, e).await;
                }
                tracing::info!(task = %task.id, error = %e, "no poll answer past the deadline");
                return self.timed_out(c).await;
            }
            Err(e) if e.is_retryable() => {
                crate::provider::failure::log(&task.provider, &task.id, "poll", &e);
                // Backs off by the polls failed in a row, not by the task's age.
                let failures = routes::poll_failures(task) + 1;
                StepUpdate {
                    counters: Some(routes::with_poll_failure(task)),
                    next_run_at: now + backoff_ms(failures, &e),
                    ..Default::default()
                }
            }
            Err(e) => {
                crate::provider::failure::log(&task.provider, &task.id, "poll", &e);
                return self.fail(c, TaskErrorCode::UpstreamError, &client_message(&e), false).await;
            }
        };
        update.next_run_at = routes::by_deadline(task, update.next_run_at);
        self.store.save_step(&task.id, c.token, update, now).await.map(drop).map_err(Into::into)
    }

    fn heartbeat(&self, c: &Claimed) -> tokio::task::JoinHandle<()> {
        let (store, id, token, lease) = (self.store.clone(), c.task.id.clone(), c.token, self.settings.lease_ms);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis((lease / 3).max(100) as u64)).await;
                if !matches!(store.heartbeat(&id, token, now_ms() + lease).await, Ok(true)) {
                    return;
                }
            }
        })
    }

    /// Fails a task whose upstream job is still unfinished at its deadline, unbilled.
    async fn timed_out(&self, c: &Claimed) -> StepResult {
        let msg = "the upstream did not finish before the deadline (it may still finish; nothing is billed)";
        self.fail(c, TaskErrorCode::Timeout, msg, false).await
    }

    async fn fail(&self, c: &Claimed, code: TaskErrorCode, message: &str, possible_orphan: bool) -> StepResult {
        let end = Terminal::Failed { code, message: message.to_owned(), possible_orphan };
        self.finish(&c.task.id, Some(c.token), end, now_ms()).await?;
        Ok(())
    }
}

/// The per-second rate locked in at submit: the estimate is rate × requested seconds.
pub fn rate_per_second(task: &Task) -> vidgate_domain::Usd {
    vidgate_domain::Usd(task.estimated.micros() / i64::from(task.params.duration_seconds.max(1)))
}

/// Counts a status change for `/metrics`.
pub fn transition(task: &Task, to: TaskStatus) {
    metrics::counter!("vidgate_task_transitions_total", "model" => task.model.clone(), "provider" => task.provider.clone(), "status" => to.as_str())
        .increment(1);
}

/// Records how long an upstream took to answer one call (`vidgate_upstream_call_seconds`).
fn call_seconds(upstream: &str, call: &'static str, started: std::time::Instant) {
    metrics::histogram!("vidgate_upstream_call_seconds", "upstream" => upstream.to_owned(), "call" => call)
        .record(started.elapsed().as_secs_f64());
}

fn backoff_ms(attempt: u32, e: &ProviderError) -> Millis {
    if let ProviderError::Busy { retry_after_ms: Some(ms), .. } = e {
        return (*ms).min(600_000) as Millis;
    }
    (1000i64 << attempt.min(8)).min(120_000)
}

/// What a client may read about a provider error: its kind, never upstream internals.
fn client_message(e: &ProviderError) -> String {
    match e {
        ProviderError::Unreachable(_) => "the upstream could not be reached".into(),
        ProviderError::Refused(_) => "the upstream refused the job".into(),
        ProviderError::Busy { .. } => "the upstream stayed busy".into(),
        ProviderError::Result(_) => "the result could not be downloaded from the upstream".into(),
        ProviderError::OutcomeUnknown(_) => "the upstream did not answer".into(),
        ProviderError::ContentFiltered(_) => "the upstream's safety filter blocked the job".into(),
        ProviderError::Throttled { .. } => "the upstream's request limit was reached".into(),
    }
}
