//! The fal provider (docs/upstreams.md §12): `Authorization: Key …` on the queue host only;
//! the submit's status, result and cancel URLs kept on the task and used as sent (trap 1),
//! each checked to be on the queue's origin before the key goes with it (trap 11); the
//! result fetched in the same step as the poll that finds `COMPLETED` (it is kept for
//! minutes only, trap 4), a non-2xx there being the job's failure (trap 2); the video
//! downloaded from the public CDN without credentials (trap 13). A submit is never sent
//! twice: fal takes no idempotency key (trap 5).

use std::path::Path;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use url::Url;
use vidgate_domain::task::TaskErrorCode;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::request::{body, endpoint, queue_url, submit_url};
use super::response::{FalState, Queued, Status, error, result_failure, video_url};
use crate::provider::fit::fitted_image;
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// A fal.ai queue upstream.
pub struct FalProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) key: vidgate_domain::secret::Secret,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
}

impl FalProvider {
    fn authorized(&self, request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut value = HeaderValue::from_str(&format!("Key {}", self.key.expose()))
            .map_err(|_| ProviderError::Refused("the fal key is not a valid header value".into()))?;
        value.set_sensitive(true);
        Ok(request.header(AUTHORIZATION, value).timeout(self.settings.timeout))
    }

    fn state(upstream: &JobRef) -> Result<FalState, ProviderError> {
        serde_json::from_value(upstream.state.clone())
            .map_err(|_| ProviderError::Refused("the task keeps no fal queue URLs".into()))
    }

    /// A stored queue URL, if still on the queue's origin.
    fn queue(&self, text: &str) -> Result<Url, ProviderError> {
        queue_url(&self.base, text).ok_or_else(|| ProviderError::Refused("a queue URL off the queue's origin".into()))
    }

    /// `GET {response_url}`: the raw model output, or the job's failure.
    async fn result(&self, state: &FalState, status: &Status) -> Result<PollOutcome, ProviderError> {
        let url = self.queue(&state.response_url)?;
        let answer = http::send(self.authorized(self.client.get(url))?, Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return result_failure(&answer, status);
        }
        if video_url(&answer.body).is_none() {
            let message = "the upstream's result names no video; nothing is billed".into();
            return Ok(PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message });
        }
        Ok(PollOutcome::SucceededWith(PolledResult(answer.body)))
    }

    /// Asks the queue for the result again and downloads the video it names.
    async fn fetch_fresh(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let state = Self::state(upstream)?;
        match self.result(&state, &Status::default()).await? {
            PollOutcome::SucceededWith(result) => self.download(&result, dst).await,
            _ => Err(ProviderError::Refused("the upstream no longer gives the finished job's result".into())),
        }
    }

    async fn download(&self, result: &PolledResult, dst: &Path) -> Result<(), ProviderError> {
        let url = video_url(&result.0).ok_or_else(|| ProviderError::Result("the result names no video".into()))?;
        http::download_signed(&self.client, &self.settings, &url, dst).await
    }

    /// Sends the queue submit and reads the request id and queue URLs its answer names.
    async fn send_create(&self, request: reqwest::RequestBuilder, now: Millis) -> Result<Submitted, ProviderError> {
        let answer = http::send(request, Call::Submit, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Submit));
        }
        let queued: Queued = answer.json(Call::Submit)?;
        let followable = queue_url(&self.base, &queued.status_url).is_some()
            && queue_url(&self.base, &queued.response_url).is_some();
        if queued.request_id.is_empty() || !followable {
            return Err(ProviderError::OutcomeUnknown(
                "the accepted submit named no request id or queue URLs on the queue's origin".into(),
            ));
        }
        let mut submitted = self.settings.started(queued.request_id, now);
        let state = FalState {
            submitted_at: now,
            status_url: queued.status_url,
            response_url: queued.response_url,
            cancel_url: queued.cancel_url,
        };
        submitted.job.state = serde_json::to_value(state).expect("serializes");
        Ok(submitted)
    }
}

#[async_trait]
impl Provider for FalProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    /// fal documents no idempotency key (§12.8 trap 5) and no way to list requests, so a
    /// submit whose outcome is unknown is never sent again.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let endpoint = endpoint(job, &self.config);
        let model = self
            .config
            .fal_model(endpoint)
            .ok_or_else(|| ProviderError::Refused(format!("no input mapping for fal endpoint {endpoint}")))
            .map_err(SubmitError::unsent)?;
        // Image-to-video follows the image's aspect: fitted to the planned frame first.
        let fitted = fitted_image(job).await.map_err(SubmitError::unsent)?;
        let job = fitted.as_ref().unwrap_or(job);
        let input = body(job, model)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no resolution name", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        let request = self
            .client
            .post(submit_url(&self.base, endpoint))
            .header("x-fal-queue-priority", "normal")
            // Bounds the wait before processing starts (backlogs are unbounded, trap 12).
            .header("x-fal-request-timeout", self.config.deadline_secs.to_string())
            .json(&input);
        let request = self.authorized(request).map_err(SubmitError::unsent)?;
        self.send_create(request, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let state = Self::state(upstream)?;
        let url = self.queue(&state.status_url)?;
        let answer = http::send(self.authorized(self.client.get(url))?, Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        let status: Status = answer.json(Call::Read)?;
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        match status.status.as_str() {
            "IN_QUEUE" => Ok(PollOutcome::Queued { poll_at }),
            // No progress field upstream (§12.5): a guess from the time elapsed.
            "IN_PROGRESS" => Ok(PollOutcome::Running { progress: guess, poll_at }),
            "COMPLETED" => self.result(&state, &status).await,
            other => {
                let (name, job) = (&self.settings.name, &upstream.job_id);
                tracing::error!(upstream = %name, job = %job, status = other, "unknown fal status; the task fails");
                let message = "the upstream reported a status vidgate does not know; nothing is billed".into();
                Ok(PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message })
            }
        }
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
        http::download_or_refresh(
            self.download(&polled, dst),
            self.fetch_fresh(upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// `PUT {cancel_url}` (§12.6): a queued job is removed; a running one gets a cancel
    /// signal the model app may ignore. Best effort, as the trait asks.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        let state = Self::state(upstream)?;
        let url = self.queue(&state.cancel_url)?;
        let answer = http::send(self.authorized(self.client.put(url))?, Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(())
    }
}
