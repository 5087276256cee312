//! The vidgate-protocol provider: Bearer key; submits carry the task id as `out_task_id`,
//! so a submit whose outcome is unknown is simply sent again (the upstream answers with
//! the same task); the result is fetched from the upstream's signed `result_url`.

use std::path::Path;

use async_trait::async_trait;
use url::Url;
use vidgate_domain::secret::Secret;
use vidgate_store::Millis;

use super::request::{cancel_url, generation, submit_url, task_url};
use super::response::{UpstreamTask, outcome};
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, Provider, ProviderError, SubmitError, Submitted};

/// Another vidgate.
pub struct VidgateProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) model: String,
    pub(super) key: Secret,
    pub(super) client: reqwest::Client,
}

impl VidgateProvider {
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).timeout(self.settings.timeout)
    }

    async fn task(&self, id: &str) -> Result<UpstreamTask, ProviderError> {
        let url = task_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        answer.json(Call::Read)
    }
}

fn error(answer: &http::Answer, call: Call) -> ProviderError {
    let body = serde_json::from_slice::<serde_json::Value>(&answer.body).ok();
    let code = body.as_ref().and_then(|v| v.pointer("/error/code")).and_then(|c| c.as_str()).unwrap_or("");
    // A 503 `model_unavailable` there may be temporary ("all of them down", docs/api.md §10), so it
    // is busy like any 5xx: the next route is tried, or the same one again later.
    http::status_error(answer.status, answer.retry_after_ms(), code, call)
}

impl VidgateProvider {
    /// Sends the create request and reads the job its answer names.
    async fn send_create(&self, request: reqwest::RequestBuilder, now: Millis) -> Result<Submitted, ProviderError> {
        let answer = http::send(request, Call::Submit, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Submit));
        }
        let task: UpstreamTask = answer.json(Call::Submit)?;
        if task.task_id.is_empty() {
            return Err(ProviderError::OutcomeUnknown("the accepted submit named no task".into()));
        }
        let replayed = answer.headers.get("idempotent-replayed").is_some_and(|v| v.as_bytes() == b"true");
        if !replayed {
            metrics::counter!("vidgate_provider_jobs_total", "provider" => self.settings.name.clone()).increment(1);
        }
        Ok(self.settings.submitted(task.task_id, now))
    }
}

#[async_trait]
impl Provider for VidgateProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    fn submit_is_idempotent(&self) -> bool {
        true
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let body = generation(job, &self.model);
        let request = self.authorized(self.client.post(submit_url(&self.base)).json(&body));
        self.send_create(request, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let task = self.task(&upstream.job_id).await?;
        let (poll_at, _) = self.settings.next_poll(upstream, now);
        Ok(match outcome(&task) {
            Some(PollOutcome::Queued { .. }) => PollOutcome::Queued { poll_at },
            Some(PollOutcome::Running { progress, .. }) => PollOutcome::Running { progress, poll_at },
            Some(other) => other,
            None => {
                tracing::warn!(upstream = %self.settings.name, status = %task.status, "unknown upstream status; polling on");
                PollOutcome::Running { progress: task.progress.min(99), poll_at }
            }
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let task = self.task(&upstream.job_id).await?;
        let url = task.result_url.as_deref().ok_or_else(|| ProviderError::Result("no result_url yet".into()))?;
        let url = self.base.join(url).map_err(|_| ProviderError::Refused("result_url is not a URL".into()))?;
        let (max, timeout) = (self.settings.max_result_bytes, self.settings.download_timeout);
        // The URL is signed by the upstream; no credential goes with it.
        http::download(&self.client, url, None, dst, max, timeout).await.map(drop)
    }

    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        let url =
            cancel_url(&self.base, &upstream.job_id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.post(url)), Call::Read, MAX_API_BODY).await?;
        if answer.status.is_success() { Ok(()) } else { Err(error(&answer, Call::Read)) }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    use super::*;

    fn answer(status: u16, body: serde_json::Value) -> http::Answer {
        let status = StatusCode::from_u16(status).unwrap();
        http::Answer { status, headers: HeaderMap::new(), body: body.to_string().into() }
    }

    #[test]
    fn a_503_model_unavailable_is_busy_so_the_submit_fails_over_or_is_tried_again() {
        let down = answer(503, serde_json::json!({"error": {"code": "model_unavailable", "message": "all down"}}));
        assert!(matches!(error(&down, Call::Submit), ProviderError::Busy { .. }));
        let bad = answer(400, serde_json::json!({"error": {"code": "unsupported_value", "message": "no"}}));
        assert!(
            matches!(error(&bad, Call::Submit), ProviderError::Refused(ref m) if m == "400 Bad Request: unsupported_value")
        );
    }
}
