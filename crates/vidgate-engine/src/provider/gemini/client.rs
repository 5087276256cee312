//! The Gemini API Veo provider: `x-goog-api-key` on every call, `predictLongRunning`, the
//! operation GET, and the result downloaded from the Files API with the key, following
//! redirects (the key stays on the configured origin). No documented cancel.
//!
//! A task whose plan has extensions is a chain (`chain`): the base clip's submit and each
//! extension's are separate submits the engine records before sending; a poll that finds a
//! job of the chain done answers `Continue` with the output the next extension continues.

use std::path::Path;

use async_trait::async_trait;
use reqwest::header::HeaderName;
use vidgate_domain::secret::Secret;
use vidgate_store::Millis;

use super::chain::Chain;
use super::request::GeminiTarget;
use super::response::{outcome, video_uris};
use crate::provider::http::{self, Call, Credential, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::veo::{self, Operation};
use crate::provider::{JobRef, JobSpec, PollOutcome, Provider, ProviderError, SubmitError, Submitted};

/// The API key header.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// Veo on the Gemini API.
pub struct GeminiProvider {
    pub(super) settings: Settings,
    pub(super) target: GeminiTarget,
    pub(super) key: Secret,
    pub(super) client: reqwest::Client,
}

impl GeminiProvider {
    pub(super) fn with_key(&self, request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, ProviderError> {
        let mut value = reqwest::header::HeaderValue::from_str(self.key.expose())
            .map_err(|_| ProviderError::Refused("the API key is not a valid header".into()))?;
        value.set_sensitive(true);
        Ok(request.header(API_KEY_HEADER, value).timeout(self.settings.timeout))
    }

    async fn operation(&self, upstream: &JobRef) -> Result<Operation, ProviderError> {
        let url = self
            .target
            .operation_url(&upstream.job_id)
            .ok_or_else(|| ProviderError::Refused("not a Gemini operation name".into()))?;
        let answer = http::send(self.with_key(self.client.get(url))?, Call::Read, MAX_API_BODY).await?;
        veo::operation(&answer, Call::Read)
    }

    /// Sends the create request and reads the operation its answer names.
    async fn send_create(&self, request: reqwest::RequestBuilder, now: Millis) -> Result<Submitted, ProviderError> {
        let answer = http::send(request, Call::Submit, MAX_API_BODY).await?;
        let op = veo::operation(&answer, Call::Submit)?;
        if op.name.is_empty() {
            return Err(ProviderError::OutcomeUnknown("the accepted submit named no operation".into()));
        }
        Ok(self.settings.started(op.name, now))
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let pending = Chain::pending(&job.task.upstream_state);
        let body = match &pending {
            Some(Chain { video_uri: Some(uri), .. }) => self.target.extension_body(job, uri),
            _ => self.target.predict_body(job),
        }
        .ok_or_else(|| ProviderError::Refused(format!("Veo has no resolution for {}", job.task.params.size)))
        .map_err(SubmitError::unsent)?;
        let request =
            self.with_key(self.client.post(self.target.predict_url()).json(&body)).map_err(SubmitError::unsent)?;
        let mut submitted = self.send_create(request, now).await.map_err(SubmitError::after_send)?;
        let jobs = 1 + job.extensions();
        if jobs > 1 {
            let step = pending.map_or(0, |c| c.step);
            submitted.job.state = Chain { step, video_uri: None }.put(submitted.job.state);
            // The deadline covers the whole chain: `deadline_secs` for each of its jobs, set
            // once when the base is accepted (the engine keeps it for the extensions).
            submitted.deadline_at = now + self.settings.deadline_ms * i64::from(jobs);
        }
        Ok(submitted)
    }

    async fn poll(&self, job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let op = self.operation(upstream).await?;
        let jobs = 1 + job.extensions();
        let chain = Chain::of(&upstream.state);
        if let Some(chain) = chain.as_ref().filter(|c| c.step + 1 < jobs)
            && let Some(uri) = video_uris(&op).into_iter().next().filter(|_| op.done && op.error.is_none())
        {
            tracing::info!(operation = %op.name, step = chain.step, "chained job done; the next extension follows");
            return Ok(PollOutcome::Continue { state: chain.next(uri), progress: chain.next_progress(jobs) });
        }
        Ok(match outcome(&op) {
            PollOutcome::Running { .. } => {
                let (poll_at, progress) = self.settings.next_poll(upstream, now);
                let progress = chain.map_or(progress, |c| c.progress(jobs, progress));
                PollOutcome::Running { progress, poll_at }
            }
            other => other,
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let op = self.operation(upstream).await?;
        let uri = video_uris(&op).into_iter().next().ok_or_else(|| ProviderError::Refused("no result URI".into()))?;
        let url = self
            .target
            .download_url(&uri)
            .ok_or_else(|| ProviderError::Refused("the result URI names no Files API file".into()))?;
        let credential = Credential::for_url(&url, HeaderName::from_static(API_KEY_HEADER), self.key.expose())?;
        let (max, timeout) = (self.settings.max_result_bytes, self.settings.download_timeout);
        http::download(&self.client, url, Some(&credential), dst, max, timeout).await.map(drop)
    }

    async fn cancel(&self, _upstream: &JobRef) -> Result<(), ProviderError> {
        // No documented cancel for Veo operations (docs/upstreams.md §1.4, UNCONFIRMED).
        Ok(())
    }
}
