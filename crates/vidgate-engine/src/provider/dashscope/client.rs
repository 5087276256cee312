//! The DashScope provider (docs/upstreams.md §9): Bearer key; the create carries
//! `X-DashScope-Async: enable` (§9.3; the task GET and cancel do not, §9.8 trap 1); results
//! downloaded at once from the signed `output.video_url` of the poll that found the task done
//! (valid 24 h, §9.5), without credentials (the key never goes to the storage host); a 403 or
//! 404 there means the URL expired, so the task is asked again for the URL it names now.
//! A create whose answer was lost is looked up in the task list (`lookup`), never sent again.

use std::path::Path;

use async_trait::async_trait;
use url::Url;
use vidgate_domain::Usd;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::request::{cancel_url, create_body, create_url, job_model, task_url};
use super::response::{WanTask, error, outcome};
use crate::provider::fit::fitted_frames;
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::task_list::{Sends, unix_now};
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// An Alibaba Cloud Model Studio (DashScope) upstream.
pub struct DashscopeProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) key: vidgate_domain::secret::Secret,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
    /// This process's creates, for the lookup of a lost one.
    pub(super) sends: Sends,
}

impl DashscopeProvider {
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).timeout(self.settings.timeout)
    }

    pub(super) async fn task(&self, id: &str) -> Result<(WanTask, http::Answer), ProviderError> {
        let url = task_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok((answer.json(Call::Read)?, answer))
    }

    /// Sends the create to `url`; the task id its answer names.
    async fn create(&self, url: Url, body: &serde_json::Value) -> Result<String, ProviderError> {
        let request = self.client.post(url).header("X-DashScope-Async", "enable").json(body);
        let answer = http::send(self.authorized(request), Call::Submit, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Submit));
        }
        let task: WanTask = answer.json(Call::Submit)?;
        if task.output.task_id.is_empty() {
            return Err(ProviderError::OutcomeUnknown("the accepted create named no task id".into()));
        }
        Ok(task.output.task_id)
    }

    /// Downloads the result at `url` with no credential.
    async fn download(&self, url: &str, dst: &Path) -> Result<(), ProviderError> {
        http::download_signed(&self.client, &self.settings, url, dst).await
    }

    /// Asks the task for its URL again and downloads it.
    async fn fetch_fresh(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let (task, _) = self.task(&upstream.job_id).await?;
        let url =
            task.video_url().ok_or_else(|| ProviderError::Result("the finished task names no video URL".into()))?;
        self.download(url, dst).await
    }

    /// Sends the create request and reads the task its answer names; a lost answer is looked up.
    async fn send_create(&self, url: Url, body: &serde_json::Value, now: Millis) -> Result<Submitted, ProviderError> {
        let sent_at = unix_now();
        let send = self.sends.begin(super::lookup::signature(body), sent_at);
        let job_id = match self.create(url, body).await {
            Ok(id) => id,
            Err(ProviderError::OutcomeUnknown(why)) => self.recover(body, send, sent_at, why).await?,
            Err(e) => {
                self.sends.forget(send);
                return Err(e);
            }
        };
        self.sends.holds(send, &job_id);
        Ok(self.settings.started(job_id, now))
    }
}

#[async_trait]
impl Provider for DashscopeProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    /// The API takes no idempotency key or client task id (§9.8 trap 12), so a create whose
    /// outcome is unknown is never sent again: it is looked up in the task list (§9.6), and
    /// when not found exactly once the task fails as a possible orphan.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        // Wan's image-to-video keeps the image's aspect (docs/upstreams.md §9.3): fitted to
        // the planned frame first (the last frame too), the delivered clip is the size held for.
        let fitted = fitted_frames(job).await.map_err(SubmitError::unsent)?;
        let job = fitted.as_ref().unwrap_or(job);
        let body = create_body(job, &self.config)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no DashScope name", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        let url = create_url(&self.base, &self.config, job_model(job, &self.config))
            .ok_or_else(|| ProviderError::Refused("keyframe_path is not a path below the base URL".into()))
            .map_err(SubmitError::unsent)?;
        self.send_create(url, &body, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let (task, answer) = self.task(&upstream.job_id).await?;
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&task, &answer, &self.settings.name) {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            // No progress field upstream (§9.5): a guess from the time elapsed.
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
        let task: WanTask = serde_json::from_slice(&polled.0).map_err(|e| ProviderError::Result(e.to_string()))?;
        let Some(url) = task.video_url() else { return self.fetch_fresh(upstream, dst).await };
        http::download_or_refresh(
            self.download(url, dst),
            self.fetch_fresh(upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// The measured cost: the billed seconds `usage.duration` (§9.5, §9.8 trap 9) × the
    /// configured price per second at the task's size, with or without audio as asked.
    fn measured_cost(&self, job: &JobSpec, polled: &PolledResult) -> Option<Usd> {
        let task: WanTask = serde_json::from_slice(&polled.0).ok()?;
        let millis = task.billed_millis()?;
        let price = self.config.price(job.task.params.size, job.upstream_audio());
        if price == Usd::ZERO {
            return None;
        }
        let micros = i128::from(price.micros()) * i128::from(millis) / 1000;
        Some(Usd(i64::try_from(micros).unwrap_or(i64::MAX)))
    }

    /// `POST /tasks/{id}/cancel` stops a task while it is `PENDING` (§9.6); a running one is
    /// refused (the job runs on and is not billed to the client). Best effort, as the trait
    /// asks.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        let url =
            cancel_url(&self.base, &upstream.job_id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.post(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(())
    }
}
