//! The Kling provider (docs/upstreams.md §10): every call carries a bearer from [`Auth`]
//! (a JWT signed again before it expires, or the API key); a token the upstream calls
//! expired or not yet valid (1004, 1003) is dropped so the retry signs a new one. Results
//! are downloaded at once from the URL of the poll that found the task done, without
//! credentials (the URLs are hotlink-protected CDN links, not API calls); a 403 or 404 there
//! means the URL expired, so the task is asked again for the URL it names now. A create whose
//! answer was lost is looked up by its `external_task_id`, never sent again. There is no
//! cancel (§10.6): a started job runs on.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use url::Url;
use vidgate_domain::Usd;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::auth::Auth;
use super::request::{Endpoint, create_body, create_url, task_url};
use super::response::{KlingTask, outcome, task};
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// A Kuaishou Kling upstream.
pub struct KlingProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) auth: Auth,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl KlingProvider {
    /// Sends `request` with a fresh bearer and reads the task it answers with.
    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        call: Call,
    ) -> Result<(KlingTask, http::Answer), ProviderError> {
        let bearer = self.auth.bearer(unix_now());
        let request = request.bearer_auth(bearer.expose()).timeout(self.settings.timeout);
        let answer = http::send(request, call, MAX_API_BODY).await?;
        let read =
            if answer.status.is_success() { task(&answer, call) } else { Err(super::response::error(&answer, call)) };
        if let Err(ProviderError::Busy { message, .. }) = &read
            && (message.contains("code 1003") || message.contains("code 1004"))
        {
            self.auth.forget();
        }
        read.map(|t| (t, answer))
    }

    async fn task(&self, job: &JobSpec, id: &str) -> Result<(KlingTask, http::Answer), ProviderError> {
        let url = task_url(&self.base, Endpoint::of(job), id)
            .ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        self.call(self.client.get(url), Call::Read).await
    }

    /// After a create whose answer was lost: the task that carries the job's task id as
    /// `external_task_id` (§10.5: a task is read by it too), or the outcome stays unknown.
    /// Nothing is sent again; a create still in flight upstream may not be visible yet, and
    /// then the task fails as any unknown outcome does.
    async fn recover(&self, job: &JobSpec, why: String) -> Result<KlingTask, ProviderError> {
        let external = job.task.id.to_string();
        match self.task(job, &external).await {
            Ok((task, _)) if !task.id.is_empty() => {
                tracing::info!(upstream = %self.settings.name, job = %task.id, "lost create recovered by external_task_id");
                Ok(task)
            }
            Ok(_) => Err(ProviderError::OutcomeUnknown(why)),
            Err(e) => Err(ProviderError::OutcomeUnknown(format!("{why}; no task found by external_task_id ({e})"))),
        }
    }

    /// Downloads the result at `url` with no credential.
    async fn download(&self, url: &str, dst: &Path) -> Result<(), ProviderError> {
        http::download_signed(&self.client, &self.settings, url, dst).await
    }

    /// Asks the task for its URL again and downloads it.
    async fn fetch_fresh(&self, job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let (task, _) = self.task(job, &upstream.job_id).await?;
        let url = task.video_url.ok_or_else(|| ProviderError::Result("the finished task names no video URL".into()))?;
        self.download(&url, dst).await
    }
}

/// The polled answer's task.
fn polled_task(polled: &PolledResult) -> Option<KlingTask> {
    let body: serde_json::Value = serde_json::from_slice(&polled.0).ok()?;
    KlingTask::from_data(body.get("data")?)
}

impl KlingProvider {
    /// Sends the create request and reads the task its answer names; a lost answer is looked up.
    async fn send_create(
        &self,
        job: &JobSpec,
        request: reqwest::RequestBuilder,
        now: Millis,
    ) -> Result<Submitted, ProviderError> {
        let task = match self.call(request, Call::Submit).await {
            Ok((task, _)) => task,
            Err(ProviderError::OutcomeUnknown(why)) => self.recover(job, why).await?,
            Err(e) => return Err(e),
        };
        if task.id.is_empty() {
            return Err(ProviderError::OutcomeUnknown("the accepted create named no task id".into()));
        }
        Ok(self.settings.started(task.id, now))
    }
}

#[async_trait]
impl Provider for KlingProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    /// Kling documents no idempotency key, and whether a repeated `external_task_id` is
    /// refused is UNCONFIRMED (§10.8 trap 7), so a create whose outcome is unknown is never
    /// sent again: it is looked up by the task id it carried as `external_task_id`, and
    /// when none is found the task fails as a possible orphan.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        // Kling's image-to-video follows the first frame's aspect (§10.8 trap 12): fitted to
        // the planned frame first, the delivered clip is the size held for.
        let fitted = crate::provider::fit::fitted_image(job).await.map_err(SubmitError::unsent)?;
        let job = fitted.as_ref().unwrap_or(job);
        let body = create_body(job, &self.config)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no Kling mode", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        let request = self.client.post(create_url(&self.base, Endpoint::of(job))).json(&body);
        self.send_create(job, request, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let (task, answer) = self.task(job, &upstream.job_id).await?;
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&task, &answer, &self.settings.name) {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            // No progress field upstream (§10.5): a guess from the time elapsed.
            PollOutcome::Running { .. } => PollOutcome::Running { progress: guess, poll_at },
            other => other,
        })
    }

    async fn fetch(&self, job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        self.fetch_fresh(job, upstream, dst).await
    }

    async fn fetch_polled(
        &self,
        job: &JobSpec,
        upstream: &JobRef,
        polled: PolledResult,
        dst: &Path,
    ) -> Result<(), ProviderError> {
        let Some(url) = polled_task(&polled).and_then(|t| t.video_url) else {
            return self.fetch_fresh(job, upstream, dst).await;
        };
        http::download_or_refresh(
            self.download(&url, dst),
            self.fetch_fresh(job, upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// The measured cost: the billed units `final_unit_deduction` (§10.5) × `usd_per_unit`,
    /// where the entry sets one; otherwise the plan's estimate stands.
    fn measured_cost(&self, _job: &JobSpec, polled: &PolledResult) -> Option<Usd> {
        let per_unit = self.config.usd_per_unit?;
        let units = polled_task(polled)?.unit_micros()?;
        let micros = i128::from(per_unit.micros()) * i128::from(units) / 1_000_000;
        Some(Usd(i64::try_from(micros).unwrap_or(i64::MAX)))
    }

    /// Kling documents no cancel (§10.6): the job runs on upstream, and the task's cancel
    /// only stops vidgate waiting for it.
    async fn cancel(&self, _upstream: &JobRef) -> Result<(), ProviderError> {
        Err(ProviderError::Refused("Kling has no cancel endpoint".into()))
    }
}
