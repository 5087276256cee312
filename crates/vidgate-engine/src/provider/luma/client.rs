//! The Luma provider (docs/upstreams.md §14): Bearer key on every API call (§14.2); results
//! downloaded at once from the signed URL of the poll that found the generation done (Agents:
//! 1 h, trap 3), without credentials; a 403 or 404 there means the URL expired, so the
//! generation is asked again for the URL it names now. No cost field exists: the plan's
//! estimate is the upstream cost.

use std::path::Path;

use async_trait::async_trait;
use url::Url;
use vidgate_domain::luma::LumaApi;
use vidgate_domain::task::TaskErrorCode;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::request::{create_body, create_url, generation_url};
use super::response::{Generation, error, outcome};
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::task_list::{Sends, unix_now};
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// A Luma upstream on one of its two APIs.
pub struct LumaProvider {
    pub(super) api: LumaApi,
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) key: vidgate_domain::secret::Secret,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
    /// The creates sent, for the list lookup of a lost one (Dream Machine, §14.6).
    pub(super) sends: Sends,
}

impl LumaProvider {
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).timeout(self.settings.timeout)
    }

    /// The generation and the answer that carried it; `None` on a 404.
    async fn generation(&self, id: &str) -> Result<Option<(Generation, http::Answer)>, ProviderError> {
        let url = generation_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a generation id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
        if answer.status.as_u16() == 404 {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(Some((answer.json(Call::Read)?, answer)))
    }

    /// Asks the generation for its URL again and downloads it.
    async fn fetch_fresh(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let Some((g, _)) = self.generation(&upstream.job_id).await? else {
            return Err(ProviderError::Refused("the upstream no longer knows the finished generation".into()));
        };
        let url =
            g.video_url().ok_or_else(|| ProviderError::Result("the finished generation names no video".into()))?;
        http::download_signed(&self.client, &self.settings, url, dst).await
    }
}

#[async_trait]
impl Provider for LumaProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    /// Neither API takes an idempotency key (trap 9), so a create whose outcome is unknown
    /// is never sent again.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let body = create_body(job, self.api, &self.config.model)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no Luma name", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        let request = self.client.post(create_url(&self.base, self.api)).json(&body);
        // A lost Dream Machine answer is looked up in its list (§14.6); Agents has none.
        let sent_at = unix_now();
        let send = self.sends.begin(super::lookup::signature(&body), sent_at);
        // Dream Machine answers 201; the Agents code is UNCONFIRMED (§14.4): any 2xx.
        let created = match http::create_job(self.authorized(request), error, |t: Generation| t.id).await {
            Err(ProviderError::OutcomeUnknown(why)) if self.api == LumaApi::DreamMachine => {
                self.recover(&body, send, sent_at, why).await
            }
            other => other,
        };
        match created {
            Ok(id) => {
                self.sends.holds(send, &id);
                Ok(self.settings.started(id, now))
            }
            Err(e) => {
                self.sends.forget(send);
                Err(SubmitError::after_send(e))
            }
        }
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let Some((g, answer)) = self.generation(&upstream.job_id).await? else {
            return Ok(PollOutcome::Failed {
                code: TaskErrorCode::UpstreamError,
                message: "the upstream no longer knows the generation; nothing is billed".into(),
            });
        };
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&g, &answer, self.api, &self.settings.name) {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            // No progress field on either API (§14.5): a guess from the time elapsed.
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
        let g: Generation = serde_json::from_slice(&polled.0).map_err(|e| ProviderError::Result(e.to_string()))?;
        let Some(url) = g.video_url() else { return self.fetch_fresh(upstream, dst).await };
        http::download_or_refresh(
            http::download_signed(&self.client, &self.settings, url, dst),
            self.fetch_fresh(upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// Agents has no cancel (§14.6, trap 4): the job runs on and only vidgate stops waiting.
    /// Dream Machine's `DELETE /generations/{id}` removes the record (whether it stops the job
    /// is UNCONFIRMED): it is sent only while the generation is `queued` or `dreaming`, never
    /// on a finished one.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        if self.api == LumaApi::Agents {
            return Err(ProviderError::Refused("the Luma Agents API has no cancel".into()));
        }
        let Some((g, _)) = self.generation(&upstream.job_id).await? else { return Ok(()) };
        if !g.is_unfinished() {
            return Err(ProviderError::Refused(format!("the generation is {}; it is not deleted", g.state)));
        }
        let url = generation_url(&self.base, &upstream.job_id)
            .ok_or_else(|| ProviderError::Refused("not a generation id".into()))?;
        let answer = http::send(self.authorized(self.client.delete(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(())
    }
}
