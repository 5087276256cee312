//! The ModelArk provider (docs/upstreams.md §8): Bearer key; create, get and
//! `DELETE` of content-generation tasks; results downloaded at once from the pre-signed
//! `content.video_url` of the poll that found the task done, without credentials (the URL
//! is signed; the key never goes to the storage host) and byte-exact; a 403 or 404 there
//! means the URL expired, so the task is asked again for a freshly signed one.

use std::path::Path;

use async_trait::async_trait;
use url::Url;
use vidgate_domain::Usd;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::request::{create_body, task_url, tasks_url};
use super::response::{ArkTask, error, outcome};
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// A BytePlus ModelArk or Volcengine Ark upstream.
pub struct ModelarkProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) model: String,
    pub(super) key: vidgate_domain::secret::Secret,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
}

impl ModelarkProvider {
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).timeout(self.settings.timeout)
    }

    async fn task(&self, id: &str) -> Result<(ArkTask, http::Answer), ProviderError> {
        let url = task_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok((answer.json(Call::Read)?, answer))
    }

    /// Downloads the result at `url` with no credential.
    async fn download(&self, url: &str, dst: &Path) -> Result<(), ProviderError> {
        http::download_signed(&self.client, &self.settings, url, dst).await
    }

    /// Asks the task for its (freshly signed) URL and downloads it.
    async fn fetch_fresh(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let (task, _) = self.task(&upstream.job_id).await?;
        let url =
            task.video_url().ok_or_else(|| ProviderError::Result("the finished task names no video URL".into()))?;
        self.download(url, dst).await
    }
}

#[async_trait]
impl Provider for ModelarkProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    /// The service takes no idempotency key (`X-Client-Request-Id` is a trace id only), so
    /// a create whose outcome is unknown is never sent again.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let body = create_body(job, &self.model)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no ModelArk name", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        let request = self.authorized(self.client.post(tasks_url(&self.base)).json(&body));
        let created = http::create_job(request, error, |t: ArkTask| t.id).await;
        created.map(|id| self.settings.started(id, now)).map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let (task, answer) = self.task(&upstream.job_id).await?;
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&task, &answer, &self.settings.name) {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            // No progress field upstream: a guess from the time elapsed.
            PollOutcome::Running { .. } => PollOutcome::Running { progress: guess, poll_at },
            other => other,
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        self.fetch_fresh(upstream, dst).await
    }

    async fn fetch_polled(
        &self,
        _job: &JobSpec,
        upstream: &JobRef,
        polled: PolledResult,
        dst: &Path,
    ) -> Result<(), ProviderError> {
        let task: ArkTask = serde_json::from_slice(&polled.0).map_err(|e| ProviderError::Result(e.to_string()))?;
        let Some(url) = task.video_url() else { return self.fetch_fresh(upstream, dst).await };
        http::download_or_refresh(
            self.download(url, dst),
            self.fetch_fresh(upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// The measured cost: `usage.completion_tokens` × the configured price per million
    /// tokens at the task's size, with or without audio as asked (never an estimate of
    /// tokens).
    fn measured_cost(&self, job: &JobSpec, polled: &PolledResult) -> Option<Usd> {
        let task: ArkTask = serde_json::from_slice(&polled.0).ok()?;
        let tokens = task.usage?.completion_tokens;
        let price = self.config.token_price(job.task.params.size, job.upstream_audio());
        if price == Usd::ZERO {
            return None;
        }
        let micros = i128::from(price.micros()) * i128::from(tokens) / 1_000_000;
        Some(Usd(i64::try_from(micros).unwrap_or(i64::MAX)))
    }

    /// `DELETE` cancels a task while it is `queued`; a running one is refused (the job runs
    /// on and is not billed to the client), a finished one is deleted upstream, which the
    /// cancelled task no longer needs. Best effort, as the trait asks.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        let url =
            task_url(&self.base, &upstream.job_id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.delete(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(())
    }
}
