//! The OpenAI-Videos-compatible provider: Bearer key, `POST /videos` (JSON), `GET
//! /videos/{id}`, `GET /videos/{id}/content` (redirects followed, the key kept on its
//! origin). The API has no cancel for running jobs (DELETE only removes finished ones).

use std::path::Path;

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use url::Url;
use vidgate_domain::secret::Secret;
use vidgate_store::Millis;

use super::request::{content_url, create_body, create_url, video_url};
use super::response::{UnknownStatuses, Video, outcome};
use crate::provider::fit::fitted_image;
use crate::provider::http::{self, Call, Credential, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, Provider, ProviderError, SubmitError, Submitted};

/// An OpenAI-Videos-compatible upstream.
pub struct OpenAiProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) model: String,
    pub(super) key: Secret,
    pub(super) client: reqwest::Client,
    pub(super) unknown: UnknownStatuses,
}

impl OpenAiProvider {
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).timeout(self.settings.timeout)
    }

    async fn video(&self, id: &str, call: Call) -> Result<Video, ProviderError> {
        let url = video_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a video id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), call, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, call));
        }
        answer.json(call)
    }
}

fn error(answer: &http::Answer, call: Call) -> ProviderError {
    let detail = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_default();
    http::status_error(answer.status, answer.retry_after_ms(), &detail, call)
}

impl OpenAiProvider {}

#[async_trait]
impl Provider for OpenAiProvider {
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
        let fitted = fitted_image(job).await.map_err(SubmitError::unsent)?;
        let body = create_body(fitted.as_ref().unwrap_or(job), &self.model);
        let request = self.authorized(self.client.post(create_url(&self.base)).json(&body));
        let created = http::create_job(request, error, |t: Video| t.id).await;
        created.map(|id| self.settings.started(id, now)).map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let video = self.video(&upstream.job_id, Call::Read).await?;
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&video, &self.unknown, &self.settings.name) {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            PollOutcome::Running { progress, .. } => {
                // The upstream's own progress when it reports one, else a guess from the time.
                PollOutcome::Running { progress: if progress > 0 { progress } else { guess }, poll_at }
            }
            other => other,
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let url =
            content_url(&self.base, &upstream.job_id).ok_or_else(|| ProviderError::Refused("not a video id".into()))?;
        let bearer = format!("Bearer {}", self.key.expose());
        let credential = Credential::for_url(&url, AUTHORIZATION, &bearer)?;
        let (max, timeout) = (self.settings.max_result_bytes, self.settings.download_timeout);
        http::download(&self.client, url, Some(&credential), dst, max, timeout).await.map(drop)
    }

    async fn cancel(&self, _upstream: &JobRef) -> Result<(), ProviderError> {
        Ok(())
    }
}
