//! The Runway provider (docs/upstreams.md §13): Bearer key and `X-Runway-Version` on every
//! API call (§13.2, §13.8 trap 2); results downloaded at once from the signed `output[0]` of
//! the poll that found the task done (valid 24–48 h, trap 9), without credentials (the key
//! never goes to the CDN); a 403 or 404 there means the URL expired, so the task is asked
//! again for the URL it names now. Cancel deletes only a task still `PENDING`, `THROTTLED`
//! or `RUNNING`: DELETE on a finished task deletes its output (trap 5).

use std::path::Path;

use async_trait::async_trait;
use url::Url;
use vidgate_domain::Usd;
use vidgate_domain::task::TaskErrorCode;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::request::{Endpoint, create_body, create_url, task_url};
use super::response::{Created, RunwayTask, error, outcome};
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// A Runway Developer API upstream.
pub struct RunwayProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) key: vidgate_domain::secret::Secret,
    pub(super) version: String,
    pub(super) usd_per_credit: Usd,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
}

impl RunwayProvider {
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).header("X-Runway-Version", &self.version).timeout(self.settings.timeout)
    }

    /// The task and the answer that carried it; `None` on a 404 (deleted, cancelled, or never
    /// issued, §13.4).
    async fn task(&self, id: &str) -> Result<Option<(RunwayTask, http::Answer)>, ProviderError> {
        let url = task_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
        if answer.status.as_u16() == 404 {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(Some((answer.json(Call::Read)?, answer)))
    }

    /// Asks the task for its URL again and downloads it.
    async fn fetch_fresh(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let Some((task, _)) = self.task(&upstream.job_id).await? else {
            return Err(ProviderError::Refused("the upstream no longer knows the finished task".into()));
        };
        let url = task.video_url().ok_or_else(|| ProviderError::Result("the finished task names no output".into()))?;
        http::download_signed(&self.client, &self.settings, url, dst).await
    }
}

#[async_trait]
impl Provider for RunwayProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    /// No idempotency key and no list of tasks (§13.1, trap 7): a create whose outcome is
    /// unknown is never sent again, nor can it be looked up.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let body = create_body(job, &self.config.model).map_err(ProviderError::Refused).map_err(SubmitError::unsent)?;
        let request = self.client.post(create_url(&self.base, Endpoint::of(job))).json(&body);
        let created = http::create_job(self.authorized(request), error, |t: Created| t.id).await;
        created.map(|id| self.settings.started(id, now)).map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let (task, answer) = match self.task(&upstream.job_id).await? {
            Some(found) => found,
            None => {
                return Ok(PollOutcome::Failed {
                    code: TaskErrorCode::UpstreamError,
                    message: "the upstream no longer knows the job (deleted or cancelled); nothing is billed".into(),
                });
            }
        };
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&task, &answer, &self.settings.name) {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            // `progress` comes only while RUNNING, and not always (trap 13).
            PollOutcome::Running { progress, .. } => PollOutcome::Running { progress: progress.max(guess), poll_at },
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
        let task: RunwayTask = serde_json::from_slice(&polled.0).map_err(|e| ProviderError::Result(e.to_string()))?;
        let Some(url) = task.video_url() else { return self.fetch_fresh(upstream, dst).await };
        http::download_or_refresh(
            http::download_signed(&self.client, &self.settings, url, dst),
            self.fetch_fresh(upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// The measured cost: the finished task's `cost.credits` (§13.5) × the price of a credit.
    fn measured_cost(&self, _job: &JobSpec, polled: &PolledResult) -> Option<Usd> {
        let task: RunwayTask = serde_json::from_slice(&polled.0).ok()?;
        let millis = task.credit_millis()?;
        let micros = i128::from(self.usd_per_credit.micros()) * i128::from(millis) / 1000;
        Some(Usd(i64::try_from(micros).unwrap_or(i64::MAX)))
    }

    /// `DELETE /v1/tasks/{id}` cancels a task that is `PENDING`, `THROTTLED` or `RUNNING`
    /// (§13.6). The task is read first: on a finished task the same call deletes it and its
    /// output (trap 5), so it is never sent then. Best effort, as the trait asks.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        let Some((task, _)) = self.task(&upstream.job_id).await? else { return Ok(()) };
        if !task.is_unfinished() {
            return Err(ProviderError::Refused(format!("the upstream task is {}; it is not deleted", task.status)));
        }
        let url =
            task_url(&self.base, &upstream.job_id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let request = self.authorized(self.client.delete(url)).header(reqwest::header::ACCEPT, "*/*");
        let answer = http::send(request, Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(())
    }
}
