//! The Vertex AI Veo provider: submit with `predictLongRunning`, poll with
//! `fetchPredictOperation` (a POST, not a GET), fetch the result inline or from Cloud
//! Storage with the same credentials. Veo operations have no documented cancel.
//!
//! A finished operation is read once: the poll that sees it done hands its answer to
//! `fetch_polled` (an inline result is decoded from that answer straight into the file).

use std::path::Path;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use url::Url;
use vidgate_domain::secret::Secret;
use vidgate_store::Millis;

use super::auth::{AccessToken, Signer, TokenCache, TokenResponse};
use super::request::{VertexTarget, gcs_media_url};
use super::response::{self, VideoSource, outcome, video_source};
use crate::clock::now_ms;
use crate::provider::http::{self, Call, Credential, MAX_API_BODY};
use crate::provider::settings::{Settings, never_sent};
use crate::provider::throttle::Throttle;
use crate::provider::veo;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// Veo on Vertex AI.
pub struct VertexProvider {
    pub(super) settings: Settings,
    pub(super) target: VertexTarget,
    pub(super) signer: Signer,
    pub(super) token_url: Url,
    pub(super) storage_base: Url,
    pub(super) tokens: TokenCache,
    pub(super) client: reqwest::Client,
}

impl VertexProvider {
    async fn token(&self) -> Result<Secret, ProviderError> {
        let now = now_ms();
        let token = self.tokens.get(now, || self.fetch_token(now)).await.map_err(never_sent)?;
        Ok(token.value)
    }

    pub(super) async fn fetch_token(&self, now: Millis) -> Result<AccessToken, ProviderError> {
        let assertion = self.signer.assertion(self.token_url.as_str(), now / 1000)?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let request = self
            .client
            .post(self.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .timeout(self.settings.timeout);
        let answer = http::send(request, Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            tracing::warn!(upstream = %self.settings.name, status = %answer.status, "the token endpoint refused the service account");
            return Err(http::status_error(answer.status, answer.retry_after_ms(), "token endpoint", Call::Read));
        }
        let t: TokenResponse = answer.json(Call::Read)?;
        Ok(AccessToken { value: t.access_token, expires_at: now + t.expires_in.max(60) * 1000 })
    }

    async fn post_json(
        &self,
        url: Url,
        body: &impl serde::Serialize,
        call: Call,
        cap: usize,
    ) -> Result<http::Answer, ProviderError> {
        let token = self.token().await?;
        self.post_json_as(&token, url, body, call, cap).await
    }

    /// [`Self::post_json`] with a token already in hand.
    async fn post_json_as(
        &self,
        token: &Secret,
        url: Url,
        body: &impl serde::Serialize,
        call: Call,
        cap: usize,
    ) -> Result<http::Answer, ProviderError> {
        let request = self.client.post(url).bearer_auth(token.expose()).json(body).timeout(self.settings.timeout);
        let answer = http::send(request, call, cap).await?;
        if answer.status == reqwest::StatusCode::UNAUTHORIZED {
            // A token revoked or expired early: not accepted, so ask again with a fresh one.
            self.tokens.invalidate().await;
            return Err(ProviderError::Busy { message: "401 with a cached token".into(), retry_after_ms: Some(1000) });
        }
        Ok(answer)
    }

    /// Sends the `predictLongRunning` create and reads the operation it names.
    async fn send_create(
        &self,
        token: &Secret,
        body: &veo::PredictRequest,
        now: Millis,
    ) -> Result<Submitted, ProviderError> {
        let answer = self.post_json_as(token, self.target.predict_url(), body, Call::Submit, MAX_API_BODY).await?;
        let op = veo::operation(&answer, Call::Submit)?;
        if op.name.is_empty() {
            return Err(ProviderError::OutcomeUnknown("the accepted submit named no operation".into()));
        }
        Ok(self.settings.started(op.name, now))
    }

    /// The `fetchPredictOperation` answer (a 2xx; its body may carry the result inline).
    async fn operation(&self, upstream: &JobRef) -> Result<http::Answer, ProviderError> {
        let url = self
            .target
            .fetch_operation_url(&upstream.job_id)
            .ok_or_else(|| ProviderError::Refused("not a Vertex operation name".into()))?;
        let body = serde_json::json!({"operationName": upstream.job_id});
        let answer = self.post_json(url, &body, Call::Read, self.settings.inline_cap()).await?;
        if !answer.status.is_success() {
            return Err(veo::http_error(&answer, Call::Read));
        }
        Ok(answer)
    }

    /// Writes the video of a finished operation's answer `body` to `dst`.
    async fn write_result(&self, body: &[u8], dst: &Path) -> Result<(), ProviderError> {
        let op = response::parse(body)?;
        let max = self.settings.max_result_bytes;
        match video_source(&op)? {
            VideoSource::Inline(b64) => http::write_base64(b64, dst, max).await.map(drop),
            VideoSource::Gcs(uri) => {
                let url = gcs_media_url(&self.storage_base, uri)
                    .ok_or_else(|| ProviderError::Refused("the result's gcsUri is not gs://BUCKET/OBJECT".into()))?;
                let token = self.token().await?;
                let bearer = format!("Bearer {}", token.expose());
                let credential = Credential::for_url(&url, AUTHORIZATION, &bearer)?;
                let timeout = self.settings.download_timeout;
                http::download(&self.client, url, Some(&credential), dst, max, timeout).await.map(drop)
            }
        }
    }
}

#[async_trait]
impl Provider for VertexProvider {
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
        let body = self.target.predict_body(job).ok_or_else(|| {
            SubmitError::unsent(ProviderError::Refused(format!("Veo has no resolution for {}", job.task.params.size)))
        })?;
        let token = self.token().await.map_err(SubmitError::unsent)?;
        self.send_create(&token, &body, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let answer = self.operation(upstream).await?;
        let found = outcome(&response::parse(&answer.body)?);
        Ok(match found {
            PollOutcome::Running { .. } => {
                let (poll_at, progress) = self.settings.next_poll(upstream, now);
                PollOutcome::Running { progress, poll_at }
            }
            // The answer says where the video is (or holds it): fetch reads it, not the upstream.
            PollOutcome::Succeeded => PollOutcome::SucceededWith(PolledResult(answer.body)),
            other => other,
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let answer = self.operation(upstream).await?;
        self.write_result(&answer.body, dst).await
    }

    async fn fetch_polled(
        &self,
        _job: &JobSpec,
        _upstream: &JobRef,
        polled: PolledResult,
        dst: &Path,
    ) -> Result<(), ProviderError> {
        self.write_result(&polled.0, dst).await
    }

    async fn cancel(&self, _upstream: &JobRef) -> Result<(), ProviderError> {
        // Veo documents no cancel; the job runs out upstream and is not fetched.
        Ok(())
    }
}
