//! The MiniMax provider (docs/upstreams.md §11): Bearer key on every API call; the create
//! is never sent twice (no idempotency key, §11.8 trap 14); the task queried with its id in
//! the path (a v2 create whose answer was lost is looked up in the task list, `lookup`); the
//! result downloaded at once from the time-limited `content.url` of the poll
//! that found the task done (trap 15), without credentials; a 403 or 404 there means the URL
//! expired, so the task is queried again for a fresh one. The clip runs a little longer than
//! asked (5 s → 5.167 s, §11.7); the post-process trims it to the requested length, which
//! is what MiniMax bills (`usage.output_seconds`) and what the client is billed.
//!
//! A Hailuo model id (`MiniMax-Hailuo-2.3`, `-02`) speaks the v1 API instead (§11.5, `v1`):
//! the job's state records `"api": "v1"` at submit, and every later call of the job picks its
//! endpoints from that record, never from the entry's model, so a v1 job is never queried on
//! v2 (§11.8 trap 1). A v1 `Success` names only a `file_id`: the file is retrieved for its
//! `download_url` (9 h), downloaded at once, and retrieved again when the URL has expired; a
//! failed retrieve is a retryable fetch failure, so the task is never done without its video
//! (trap 3). v1 has no cancel and returns no usage.

use std::path::Path;

use async_trait::async_trait;
use url::Url;
use vidgate_domain::Usd;
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::Millis;

use super::request::{create_body, create_url, delete_url, query_url};
use super::response::{H3Task, Query, error, error_code, outcome};
use super::v1::{self, V1Query};
use crate::provider::fit::fitted_frames;
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::settings::Settings;
use crate::provider::task_list::{Sends, unix_now};
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

/// A MiniMax Open Platform upstream (v2 API).
pub struct MinimaxProvider {
    pub(super) settings: Settings,
    pub(super) base: Url,
    pub(super) key: vidgate_domain::secret::Secret,
    pub(super) client: reqwest::Client,
    pub(super) config: UpstreamConfig,
    /// This process's v2 creates, for the lookup of a lost one.
    pub(super) sends: Sends,
}

/// `{"task_id": "..."}` of an accepted create.
#[derive(serde::Deserialize)]
struct Created {
    #[serde(default)]
    task_id: String,
}

fn is_v1(job: &JobRef) -> bool {
    v1::created_on_v1(&job.state)
}

impl MinimaxProvider {
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.key.expose()).timeout(self.settings.timeout)
    }

    async fn task(&self, id: &str) -> Result<(H3Task, http::Answer), ProviderError> {
        let url = query_url(&self.base, id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() || error_code(&answer.body).is_some() {
            return Err(error(&answer, Call::Read));
        }
        Ok((answer.json::<Query>(Call::Read)?.task, answer))
    }

    /// A v1 query; a `base_resp` error without a status is an error of the call, a `Fail`
    /// keeps its code for the outcome.
    async fn v1_task(&self, id: &str) -> Result<(V1Query, http::Answer), ProviderError> {
        let request = self.authorized(self.client.get(v1::query_url(&self.base, id)));
        let answer = http::send(request, Call::Read, MAX_API_BODY).await?;
        let query = answer.json::<V1Query>(Call::Read).ok().filter(|q| !q.status.is_empty());
        match query {
            Some(query) if answer.status.is_success() => Ok((query, answer)),
            _ => Err(error(&answer, Call::Read)),
        }
    }

    /// `files/retrieve` for the file's time-limited `download_url`; any failure is the
    /// call's error (retryable when transient), so the fetch is tried again.
    async fn v1_download_url(&self, file_id: &str) -> Result<String, ProviderError> {
        let request = self.authorized(self.client.get(v1::retrieve_url(&self.base, file_id)));
        let answer = http::send(request, Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() || error_code(&answer.body).is_some() {
            return Err(error(&answer, Call::Read));
        }
        v1::download_url(&answer.body)
            .ok_or_else(|| ProviderError::Result("the retrieved file names no download URL".into()))
    }

    /// Retrieves the file and downloads it; an expired URL is retrieved once more.
    async fn v1_fetch_file(&self, upstream: &JobRef, file_id: &str, dst: &Path) -> Result<(), ProviderError> {
        let url = self.v1_download_url(file_id).await?;
        http::download_or_refresh(
            self.download(&url, dst),
            async { self.download(&self.v1_download_url(file_id).await?, dst).await },
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// Queries a v1 task for its `file_id`, then fetches the file.
    async fn v1_fetch(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let (query, _) = self.v1_task(&upstream.job_id).await?;
        let file_id =
            query.file_id().ok_or_else(|| ProviderError::Result("the finished task names no file id".into()))?;
        self.v1_fetch_file(upstream, &file_id, dst).await
    }

    /// A v1 create (§11.5); the job's state records the protocol.
    async fn v1_submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let body = v1::create_body(job, &self.config.model)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no MiniMax v1 name", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        let request = self.client.post(v1::create_url(&self.base)).json(&body);
        let sent = http::send(self.authorized(request), Call::Submit, MAX_API_BODY).await;
        let mut submitted = sent.and_then(|answer| self.created(answer, now)).map_err(SubmitError::after_send)?;
        v1::record(&mut submitted.job.state);
        Ok(submitted)
    }

    /// An accepted create's task id, or the error the answer holds (trap 2: maybe in a 200).
    fn created(&self, answer: http::Answer, now: Millis) -> Result<Submitted, ProviderError> {
        if !answer.status.is_success() || error_code(&answer.body).is_some() {
            return Err(error(&answer, Call::Submit));
        }
        let created: Created = answer.json(Call::Submit)?;
        if created.task_id.is_empty() {
            return Err(ProviderError::OutcomeUnknown("the accepted create named no task id".into()));
        }
        Ok(self.settings.started(created.task_id, now))
    }

    /// Downloads the result at `url` with no credential.
    async fn download(&self, url: &str, dst: &Path) -> Result<(), ProviderError> {
        http::download_signed(&self.client, &self.settings, url, dst).await
    }

    /// Queries the task for a fresh URL and downloads it.
    async fn fetch_fresh(&self, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let (task, _) = self.task(&upstream.job_id).await?;
        let url =
            task.video_url().ok_or_else(|| ProviderError::Result("the finished task names no video URL".into()))?;
        self.download(url, dst).await
    }

    /// Sends the v2 create and reads the task its answer names; a lost answer is looked up.
    async fn send_create(&self, body: &serde_json::Value, now: Millis) -> Result<Submitted, ProviderError> {
        let sent_at = unix_now();
        let send = self.sends.begin(super::lookup::signature(body), sent_at);
        let request = self.client.post(create_url(&self.base)).json(&body);
        let sent = http::send(self.authorized(request), Call::Submit, MAX_API_BODY).await;
        let submitted = match sent.and_then(|answer| self.created(answer, now)) {
            Ok(submitted) => submitted,
            Err(ProviderError::OutcomeUnknown(why)) => {
                let job_id = self.recover(body, send, sent_at, why).await?;
                self.settings.started(job_id, now)
            }
            Err(e) => {
                self.sends.forget(send);
                return Err(e);
            }
        };
        self.sends.holds(send, &submitted.job.job_id);
        Ok(submitted)
    }
}

#[async_trait]
impl Provider for MinimaxProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    /// Neither MiniMax API takes an idempotency key or a client request id (§11.8 trap 14):
    /// a create whose outcome is unknown is never sent again. A v2 one is looked up in the
    /// task list (§11.6, `lookup`); a v1 one (no list) fails as a possible orphan.
    fn submit_is_idempotent(&self) -> bool {
        false
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        // With a first frame the video follows the image's aspect (§11.3): fitted to the
        // planned frame first (a last frame too), the delivered clip is the size held for.
        let fitted = fitted_frames(job).await.map_err(SubmitError::unsent)?;
        let job = fitted.as_ref().unwrap_or(job);
        if vidgate_domain::upstream::minimax_is_v1(&self.config.model) {
            return self.v1_submit(job, now).await;
        }
        let body = create_body(job, &self.config.model)
            .ok_or_else(|| ProviderError::Refused(format!("size {} has no MiniMax name", job.task.params.size)))
            .map_err(SubmitError::unsent)?;
        self.send_create(&body, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        let found = if is_v1(upstream) {
            let (query, answer) = self.v1_task(&upstream.job_id).await?;
            v1::outcome(&query, &answer.body, &self.settings.name)
        } else {
            let (task, answer) = self.task(&upstream.job_id).await?;
            outcome(&task, &answer, &self.settings.name)
        };
        Ok(match found {
            PollOutcome::Queued { .. } => PollOutcome::Queued { poll_at },
            // No progress field upstream (§11.5): a guess from the time elapsed.
            PollOutcome::Running { .. } => PollOutcome::Running { progress: guess, poll_at },
            other => other,
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        if is_v1(upstream) {
            return self.v1_fetch(upstream, dst).await;
        }
        self.fetch_fresh(upstream, dst).await
    }

    async fn fetch_polled(
        &self,
        _job: &JobSpec,
        upstream: &JobRef,
        polled: PolledResult,
        dst: &Path,
    ) -> Result<(), ProviderError> {
        if is_v1(upstream) {
            let query: V1Query = serde_json::from_slice(&polled.0).map_err(|e| ProviderError::Result(e.to_string()))?;
            return match query.file_id() {
                Some(file_id) => self.v1_fetch_file(upstream, &file_id, dst).await,
                None => self.v1_fetch(upstream, dst).await,
            };
        }
        let query: Query = serde_json::from_slice(&polled.0).map_err(|e| ProviderError::Result(e.to_string()))?;
        let Some(url) = query.task.video_url() else { return self.fetch_fresh(upstream, dst).await };
        http::download_or_refresh(
            self.download(url, dst),
            self.fetch_fresh(upstream, dst),
            &self.settings.name,
            &upstream.job_id,
        )
        .await
    }

    /// The measured cost: the billed `usage.output_seconds` (§11.5, the requested seconds,
    /// never the longer delivered length) × the configured price per second at the task's
    /// size.
    fn measured_cost(&self, job: &JobSpec, polled: &PolledResult) -> Option<Usd> {
        let query: Query = serde_json::from_slice(&polled.0).ok()?;
        let seconds = query.task.output_seconds()?;
        let price = self.config.price(job.task.params.size, job.upstream_audio());
        if price == Usd::ZERO {
            return None;
        }
        let micros = i128::from(price.micros()) * i128::from(seconds);
        Some(Usd(i64::try_from(micros).unwrap_or(i64::MAX)))
    }

    /// `DELETE /v2/video_generation/{id}` (§11.6). Whether it stops a running task and what
    /// it refunds are unconfirmed; it is sent as the best effort the trait asks for, and the
    /// client is not billed for a cancelled task either way.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        // v1 has no cancel (§11.6).
        if is_v1(upstream) {
            return Ok(());
        }
        let url =
            delete_url(&self.base, &upstream.job_id).ok_or_else(|| ProviderError::Refused("not a task id".into()))?;
        let answer = http::send(self.authorized(self.client.delete(url)), Call::Read, MAX_API_BODY).await?;
        if !answer.status.is_success() {
            return Err(error(&answer, Call::Read));
        }
        Ok(())
    }
}
