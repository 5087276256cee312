//! The fetch step: a finished upstream job's result taken in three stages over one
//! [`Fetch`] context — download (bounded retries), post-process on the media pool (with one
//! more copy when the first is not a valid video), publish the files and finish the task
//! (billing what was delivered). The step holds its lease by heartbeats throughout and
//! gives its worker slot back while it waits for the media pool.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vidgate_domain::billing;
use vidgate_domain::task::{TaskErrorCode, TaskStatus};
use vidgate_store::{Claimed, StepUpdate, Task, Terminal};

use super::{
    Engine, MAX_FETCH_ATTEMPTS, StepError, StepResult, backoff_ms, rate_per_second, routes, slots, transition,
};
use crate::clock::now_ms;
use crate::postprocess::{self, Delivered, InvalidResult};
use crate::provider::{JobRef, JobSpec, PolledResult, Provider, ProviderError};

/// What every stage of one fetch step works on.
pub(super) struct Fetch<'a> {
    pub c: &'a Claimed,
    pub provider: &'a dyn Provider,
    pub spec: &'a JobSpec,
    pub job: &'a JobRef,
    /// The task's scratch directory, removed when the step ends.
    pub scratch: PathBuf,
}

impl Fetch<'_> {
    fn task(&self) -> &Task {
        &self.c.task
    }

    fn raw(&self) -> PathBuf {
        self.scratch.join("raw.mp4")
    }
}

/// How post-processing ended when it did not deliver: the step is already recorded (put
/// back or failed), with this result.
struct Recorded(StepResult);

impl Engine {
    /// Runs the three stages with a heartbeat and a scratch directory around them.
    pub(super) async fn fetch_step(
        &self,
        c: &Claimed,
        provider: &dyn Provider,
        spec: &JobSpec,
        job: &JobRef,
        polled: Option<PolledResult>,
    ) -> StepResult {
        if c.task.status == TaskStatus::Queued {
            transition(&c.task, TaskStatus::Running);
        }
        let scratch = self.files.scratch(&c.task.id).map_err(|e| StepError::Files(format!("scratch dir: {e}")))?;
        let f = Fetch { c, provider, spec, job, scratch };
        let heartbeat = self.heartbeat(c);
        let outcome = self.fetch_stages(&f, polled).await;
        heartbeat.abort();
        let _ = std::fs::remove_dir_all(&f.scratch);
        outcome
    }

    async fn fetch_stages(&self, f: &Fetch<'_>, polled: Option<PolledResult>) -> StepResult {
        let measured = polled.as_ref().and_then(|p| f.provider.measured_cost(f.spec, p));
        if let Err(e) = self.download(f, polled).await {
            return self.fetch_failed(f.c, e).await;
        }
        // From here on the step waits for and runs on the media pool without a worker slot.
        let _delivery = slots::delivering().await;
        match self.postprocess(f).await {
            Ok(delivered) => self.publish_and_finish(f, delivered, measured).await,
            Err(Recorded(result)) => result,
        }
    }

    /// Stage 1: the result to `raw.mp4`, from the answer of the poll that found it done
    /// when there is one.
    async fn download(&self, f: &Fetch<'_>, polled: Option<PolledResult>) -> Result<(), ProviderError> {
        match polled {
            Some(polled) => f.provider.fetch_polled(f.spec, f.job, polled, &f.raw()).await,
            None => f.provider.fetch(f.spec, f.job, &f.raw()).await,
        }
    }

    /// A failed result download: tried again later (bounded), or the task fails.
    pub(super) async fn fetch_failed(&self, c: &Claimed, e: ProviderError) -> StepResult {
        let task = &c.task;
        if let ProviderError::Throttled { retry_after_ms } = e {
            return self.defer(c, Duration::from_millis(retry_after_ms)).await;
        }
        let failures = routes::fetch_failures(task) + 1;
        if e.is_retryable() && failures < MAX_FETCH_ATTEMPTS {
            tracing::info!(task = %task.id, error = %e, failures, "result download failed; it is tried again");
            let update = StepUpdate {
                counters: Some(routes::with_fetch_failure(task)),
                // The job is finished: its download is bounded by its tries, not the deadline.
                next_run_at: now_ms() + backoff_ms(failures, &e),
                ..Default::default()
            };
            return self.store.save_step(&task.id, c.token, update, now_ms()).await.map(drop).map_err(Into::into);
        }
        tracing::info!(task = %task.id, error = %e, "result download failed for good");
        self.fail(c, TaskErrorCode::UpstreamError, "the result could not be downloaded from the upstream", false).await
    }

    /// Stage 2: validated and processed files. A download can come out short and still look
    /// complete (a Content-Length that matches the cut body): one more copy is downloaded
    /// before the result is refused.
    async fn postprocess(&self, f: &Fetch<'_>) -> Result<Delivered, Recorded> {
        let invalid = match self.process(f, None).await {
            Ok(delivered) => return Ok(delivered),
            Err(invalid) => invalid,
        };
        match self.download_again(f).await {
            Ok(Some(delivered)) => Ok(delivered),
            Ok(None) => Err(Recorded(Ok(()))),
            Err(again) => {
                let task = f.task();
                tracing::info!(task = %task.id, first = %invalid, again = %again, "the result is not a valid video");
                let msg = format!("the upstream's result is not a valid video: {invalid}");
                Err(Recorded(self.fail(f.c, TaskErrorCode::InvalidResult, &msg, false).await))
            }
        }
    }

    /// Validates and processes `raw.mp4` on the media pool; with `kept` (the first copy,
    /// moved aside), a second copy of the same bytes is refused at once.
    async fn process(&self, f: &Fetch<'_>, kept: Option<PathBuf>) -> Result<Delivered, InvalidResult> {
        let (raw, dir, t, max) = (f.raw(), f.scratch.clone(), f.task().clone(), self.settings.max_result_bytes);
        self.media
            .run(move || {
                if let Some(first) = kept.filter(|first| postprocess::same_bytes(first, &raw)) {
                    let _ = std::fs::remove_file(first);
                    return Err(InvalidResult("the upstream sent the same invalid bytes twice".into()));
                }
                postprocess::process(&raw, &dir, &t, max)
            })
            .await
    }

    /// The second and last copy of a result the first of which was invalid: `Ok(None)` when
    /// the step was put back (throttled), `Err` when this copy cannot be had or is invalid
    /// too (or the same bytes).
    async fn download_again(&self, f: &Fetch<'_>) -> Result<Option<Delivered>, String> {
        let (raw, kept) = (f.raw(), f.scratch.join("raw-first.mp4"));
        std::fs::rename(&raw, &kept).map_err(|e| e.to_string())?;
        metrics::counter!("vidgate_result_redownloads_total", "provider" => f.task().provider.clone()).increment(1);
        match f.provider.fetch(f.spec, f.job, &raw).await {
            Ok(()) => self.process(f, Some(kept)).await.map(Some).map_err(|e| e.to_string()),
            Err(ProviderError::Throttled { retry_after_ms }) => {
                self.defer(f.c, Duration::from_millis(retry_after_ms)).await.map_err(|e| e.to_string())?;
                Ok(None)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Stage 3: the files published under the task's names (only while the lease is held)
    /// and the task completed, billed per delivered second. When another path ended the task
    /// meanwhile (a cancel), its files are removed unless it completed.
    async fn publish_and_finish(
        &self,
        f: &Fetch<'_>,
        delivered: Delivered,
        measured: Option<vidgate_domain::Usd>,
    ) -> StepResult {
        let task = f.task();
        let files: Vec<(&Path, &str)> = delivered.files.iter().map(|(p, n)| (p.as_path(), *n)).collect();
        // A step that lost its lease publishes nothing: the new holder's files have these names.
        if !self.store.heartbeat(&task.id, f.c.token, now_ms() + self.settings.lease_ms).await? {
            return Ok(());
        }
        if let Err(e) = self.files.put(&task.id, &files).await {
            return Err(StepError::Files(format!("publishing: {e}")));
        }
        let credits_used = billing::price_for_ms(rate_per_second(task), delivered.result.billed_ms);
        let now = now_ms();
        let end = Terminal::Completed {
            result: delivered.result,
            credits_used,
            files_expire_at: now + self.settings.retention_ms,
            upstream_cost: measured,
        };
        if self.finish(&task.id, Some(f.c.token), end, now).await?.is_some() {
            return Ok(());
        }
        // A task still open means this step lost its lease: the worker that took the task
        // over publishes the same names, so they are not this step's to delete.
        let current = self.store.task(&task.id).await?;
        if current.as_ref().is_none_or(|t| t.status.is_terminal() && t.status != TaskStatus::Completed) {
            let _ = self.files.delete(&task.id).await;
        } else if current.is_some_and(|t| !t.status.is_terminal()) {
            tracing::info!(task = %task.id, "lost the lease while delivering; the new holder delivers");
        }
        Ok(())
    }
}
