//! The ComfyUI provider (docs/upstreams.md §15): a job is the template rendered for the task
//! and queued with `POST /prompt` under a `prompt_id` derived from the task, on the pool's
//! server with the shortest queue. Before a resend (an earlier send may have arrived) every
//! server's history and queue are searched for that id, since ComfyUI does not refuse a
//! reused id (trap 2): a found job is taken over, never queued twice. The poll reads
//! `/history/{id}`, which is `{}` while queued, running and for a lost job (trap 1): `/queue`
//! tells them apart, then the history is read again so a job that finished in between is not
//! taken for lost; one in neither, past `lost_after_secs`, was lost in a restart and fails
//! unbilled. The video is downloaded through `/view`; the GPU time of the history entry × the
//! configured rate is the task's upstream cost. No websocket: progress is a guess from the
//! time elapsed.

use std::path::Path;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;
use vidgate_domain::Usd;
use vidgate_store::Millis;

use super::response::{Queued, gpu_ms, outcome, refusal, video};
use super::template::Fill;
use super::{ComfyuiProvider, prompt_id, seed};
use crate::provider::fit::fitted_image;
use crate::provider::http::{self, Call, Credential, MAX_API_BODY};
use crate::provider::throttle::Throttle;
use crate::provider::{JobRef, JobSpec, PollOutcome, PolledResult, Provider, ProviderError, SubmitError, Submitted};

impl ComfyuiProvider {
    /// An accepted (or found) job: its state records the server that holds it.
    fn accepted(&self, id: String, server: &Url, now: Millis) -> Submitted {
        let mut submitted = self.settings.submitted(id, now);
        submitted.job.state["server"] = json!(server.as_str());
        submitted
    }

    fn server_of(&self, job: &JobRef) -> Result<Url, ProviderError> {
        let text = job.state["server"].as_str().unwrap_or_default();
        Url::parse(text).map_err(|_| ProviderError::Refused("the job's state names no ComfyUI server".into()))
    }

    /// The graph for `job`, its first frame uploaded to `server` first.
    async fn graph(&self, job: &JobSpec, server: &Url, id: &str) -> Result<Value, ProviderError> {
        let p = &job.task.params;
        let step = self.config.size_step;
        if !p.size.width.is_multiple_of(step) || !p.size.height.is_multiple_of(step) {
            return Err(ProviderError::Refused(format!(
                "size {} is not a multiple of {step}, which the workflow would silently round",
                p.size
            )));
        }
        let fitted = fitted_image(job).await?;
        let job = fitted.as_ref().unwrap_or(job);
        let image = match (&job.source_image, &p.source_image) {
            (Some(bytes), Some(_)) if self.template.takes_image() => {
                // Fitted images are PNG; the name is per task so servers never mix them up.
                Some(self.upload(server, bytes.clone(), "image/png", &format!("vidgate-{id}.png")).await?)
            }
            _ => None,
        };
        let seconds = job.upstream_seconds();
        let task_id = job.task.id.to_string();
        let prefix = format!("vidgate/{id}");
        let fill = Fill {
            prompt: &p.prompt,
            negative_prompt: &self.config.negative_prompt,
            seed: seed(&task_id),
            width: p.size.width,
            height: p.size.height,
            frames: self.config.frames(seconds),
            fps: self.config.fps,
            image: image.as_deref(),
            audio: job.upstream_audio(),
            filename_prefix: &prefix,
        };
        Ok(Value::Object(self.template.render(&fill)))
    }

    /// Takes a job queued with dropped outputs back off the queue (trap 4), best effort.
    async fn withdraw(&self, server: &Url, id: &str) {
        let request = self.request(Method::POST, server, "queue").json(&json!({"delete": [id]}));
        if let Err(e) = http::send(request, Call::Read, MAX_API_BODY).await {
            tracing::warn!(upstream = %self.settings.name, error = %e, "could not withdraw a partly refused prompt");
        }
    }

    async fn download(&self, server: &Url, entry: &Value, dst: &Path) -> Result<(), ProviderError> {
        let file = video(entry).ok_or_else(|| ProviderError::Result("the finished job names no video".into()))?;
        let mut url = server.join("view").map_err(|e| ProviderError::Result(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("filename", &file.filename)
            .append_pair("subfolder", &file.subfolder)
            .append_pair("type", &file.kind);
        let credential = match &self.authorization {
            Some(v) => Some(Credential::for_url(&url, reqwest::header::AUTHORIZATION, v.to_str().unwrap_or(""))?),
            None => None,
        };
        let s = &self.settings;
        http::download(&self.client, url, credential.as_ref(), dst, s.max_result_bytes, s.download_timeout)
            .await
            .map(drop)
    }

    /// Queues the prompt on `server` and reads whether it was taken.
    async fn send_create(
        &self,
        server: &Url,
        id: String,
        body: &Value,
        now: Millis,
    ) -> Result<Submitted, ProviderError> {
        let answer =
            http::send(self.request(Method::POST, server, "prompt").json(&body), Call::Submit, MAX_API_BODY).await?;
        let parsed: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let status = answer.status;
        if status.is_success() {
            if parsed["node_errors"].as_object().is_some_and(|e| !e.is_empty()) {
                self.withdraw(server, &id).await;
                return Err(ProviderError::Refused(format!(
                    "ComfyUI refused part of the workflow: {}",
                    refusal(&parsed)
                )));
            }
            metrics::counter!("vidgate_provider_jobs_total", "provider" => self.settings.name.clone()).increment(1);
            return Ok(self.accepted(id, server, now));
        }
        if status.as_u16() == 400 && parsed.is_object() {
            return Err(ProviderError::Refused(format!("ComfyUI refused the workflow: {}", refusal(&parsed))));
        }
        let detail = String::from_utf8_lossy(&answer.body).into_owned();
        Err(http::status_error(status, answer.retry_after_ms(), &detail, Call::Submit))
    }
}

#[async_trait]
impl Provider for ComfyuiProvider {
    fn name(&self) -> &str {
        &self.settings.name
    }

    async fn check(&self) -> crate::provider::check::Check {
        self.check_live().await
    }

    /// The `prompt_id` is the task's own (derived, so known before the first send) and a
    /// resend looks it up on every server first: a lost answer never makes a second job.
    fn submit_is_idempotent(&self) -> bool {
        true
    }

    fn throttle(&self) -> Option<&Throttle> {
        Some(&self.settings.throttle)
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        let id = prompt_id(&job.task.id.to_string(), &self.settings.name);
        let maybe_sent = job.task.submit_attempts > 0 || job.task.submitting;
        if maybe_sent && let Some(server) = self.find(&id).await.map_err(SubmitError::unsent)? {
            tracing::info!(upstream = %self.settings.name, prompt_id = %id, "an earlier send arrived; not sent again");
            return Ok(self.accepted(id, &server, now));
        }
        let server = self.pick().await.map_err(SubmitError::unsent)?;
        self.ensure_fits(&server).await.map_err(SubmitError::unsent)?;
        let graph = self.graph(job, &server, &id).await.map_err(SubmitError::unsent)?;
        let body = json!({"prompt": graph, "prompt_id": id, "client_id": format!("vidgate-{}", self.settings.name)});
        self.send_create(&server, id, &body, now).await.map_err(SubmitError::after_send)
    }

    async fn poll(&self, _job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let (server, id) = (self.server_of(upstream)?, &upstream.job_id);
        let finished = |entry: Value| outcome(&entry, &serde_json::to_vec(&entry).unwrap_or_default());
        if let Some(entry) = self.history(&server, id).await? {
            return Ok(finished(entry));
        }
        let (poll_at, guess) = self.settings.next_poll(upstream, now);
        match self.queued(&server, id).await? {
            Queued::Running => return Ok(PollOutcome::Running { progress: guess, poll_at }),
            Queued::Pending => return Ok(PollOutcome::Queued { poll_at }),
            Queued::Absent => {}
        }
        // Finished between the two asks (history is written as the job leaves the queue)?
        if let Some(entry) = self.history(&server, id).await? {
            return Ok(finished(entry));
        }
        let submitted_at = upstream.state["submitted_at"].as_i64().unwrap_or(now);
        if now - submitted_at < (self.config.lost_after_secs * 1000) as Millis {
            return Ok(PollOutcome::Queued { poll_at });
        }
        tracing::warn!(upstream = %self.settings.name, prompt_id = %id, server = %server, "job in neither history nor queue: lost");
        Ok(PollOutcome::Failed {
            code: vidgate_domain::task::TaskErrorCode::UpstreamError,
            message: "the ComfyUI server lost the job (restarted: its queue and history are gone); nothing is billed"
                .into(),
        })
    }

    async fn fetch(&self, _job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let server = self.server_of(upstream)?;
        let entry = self
            .history(&server, &upstream.job_id)
            .await?
            .ok_or_else(|| ProviderError::Result("the finished job is no longer in the history".into()))?;
        self.download(&server, &entry, dst).await
    }

    async fn fetch_polled(
        &self,
        job: &JobSpec,
        upstream: &JobRef,
        polled: PolledResult,
        dst: &Path,
    ) -> Result<(), ProviderError> {
        match serde_json::from_slice::<Value>(&polled.0) {
            Ok(entry) => self.download(&self.server_of(upstream)?, &entry, dst).await,
            Err(_) => self.fetch(job, upstream, dst).await,
        }
    }

    /// GPU-seconds (from `execution_start` to the end) × `usd_per_gpu_second`, rounded up
    /// to the micro-dollar; `None` without a rate.
    fn measured_cost(&self, _job: &JobSpec, polled: &PolledResult) -> Option<Usd> {
        let rate = self.config.usd_per_gpu_second.micros();
        if rate <= 0 {
            return None;
        }
        let ms = gpu_ms(&serde_json::from_slice(&polled.0).ok()?)?;
        let micros = (i128::from(rate) * i128::from(ms) + 999) / 1000;
        Some(Usd(i64::try_from(micros).unwrap_or(i64::MAX)))
    }

    /// `POST /api/jobs/{id}/cancel` where the jobs API exists (dequeues or interrupts that
    /// job only); otherwise the id is deleted from the queue and, only if it is the one
    /// running, interrupted by id (trap 9: never a global interrupt).
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError> {
        let (server, id) = (self.server_of(upstream)?, &upstream.job_id);
        if self.config.jobs_api {
            let request = self.request(Method::POST, &server, &format!("api/jobs/{id}/cancel"));
            let answer = http::send(request, Call::Read, MAX_API_BODY).await?;
            if answer.status.is_success() {
                return Ok(());
            }
            if answer.status.as_u16() != 404 {
                return Err(http::status_error(answer.status, None, "cancel", Call::Read));
            }
        }
        let delete = self.request(Method::POST, &server, "queue").json(&json!({"delete": [id]}));
        http::send(delete, Call::Read, MAX_API_BODY).await?;
        if self.queued(&server, id).await? == Queued::Running {
            let interrupt = self.request(Method::POST, &server, "interrupt").json(&json!({"prompt_id": id}));
            http::send(interrupt, Call::Read, MAX_API_BODY).await?;
        }
        Ok(())
    }
}
