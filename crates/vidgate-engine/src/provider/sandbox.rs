//! The sandbox provider: a local "upstream" that renders real clips with the media crate.
//! It behaves like a remote job: a submit is accepted at once, the job waits in a simulated
//! queue (`queue_delay_ms`), runs (`run_delay_ms`), then its result can be fetched, which
//! is when the clip is rendered. Its whole state is the time it was accepted, so it
//! survives restarts, and submitting it again is harmless (idempotent).
//!
//! Tests script it through the task's metadata (docs/api.md §14): `sandbox.fault` makes the job
//! fail as an upstream would (`upstream_error`, `content_filtered`), deliver a broken file
//! (`invalid_result`), or never finish (`timeout`, caught by the engine's deadline);
//! `sandbox.delay_ms` overrides the run delay: a whole number of milliseconds up to
//! `sandbox.max_delay_ms`, checked at submit ([`check_hooks`]) so that one test key cannot
//! hold the sandbox's slots for hours.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use vidgate_domain::config::SandboxConfig;
use vidgate_domain::task::TaskErrorCode;
use vidgate_domain::{ErrorCode, RequestError};
use vidgate_media::MediaPool;
use vidgate_media::sandbox::RenderSpec;
use vidgate_store::Millis;

use super::{JobRef, JobSpec, PollOutcome, Provider, ProviderError, SubmitError, Submitted};

/// The provider name of the sandbox.
pub const SANDBOX: &str = "sandbox";
/// The metadata key that overrides the run delay of one task.
const DELAY_KEY: &str = "sandbox.delay_ms";

/// Refuses test hooks a task routed to the sandbox may not carry: a `sandbox.delay_ms`
/// that is not a whole number of milliseconds from 0 to `max_delay_ms`.
pub fn check_hooks(metadata: &BTreeMap<String, String>, max_delay_ms: u64) -> Result<(), RequestError> {
    let Some(delay) = metadata.get(DELAY_KEY) else { return Ok(()) };
    match delay.trim().parse::<u64>() {
        Ok(ms) if ms <= max_delay_ms => Ok(()),
        _ => Err(RequestError::param(
            ErrorCode::InvalidParam,
            format!("metadata.{DELAY_KEY}"),
            format!("metadata.{DELAY_KEY} must be a whole number of milliseconds from 0 to {max_delay_ms}"),
        )),
    }
}

/// Faults a test can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    UpstreamError,
    ContentFiltered,
    InvalidResult,
    Timeout,
}

impl Fault {
    fn parse(s: &str) -> Option<Fault> {
        match s {
            "upstream_error" => Some(Fault::UpstreamError),
            "content_filtered" => Some(Fault::ContentFiltered),
            "invalid_result" => Some(Fault::InvalidResult),
            "timeout" => Some(Fault::Timeout),
            _ => None,
        }
    }
}

/// The sandbox renderer as a provider.
pub struct SandboxProvider {
    config: SandboxConfig,
    pool: Arc<MediaPool>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct JobState {
    accepted_at: Millis,
    queue_ms: u64,
    run_ms: u64,
}

impl SandboxProvider {
    /// A sandbox rendering on `pool`.
    pub fn new(config: SandboxConfig, pool: Arc<MediaPool>) -> Self {
        SandboxProvider { config, pool }
    }

    fn run_ms(&self, job: &JobSpec) -> u64 {
        let meta = &job.task.params.metadata;
        meta.get(DELAY_KEY).and_then(|v| v.trim().parse().ok()).unwrap_or(self.config.run_delay_ms)
    }

    fn fault(job: &JobSpec) -> Option<Fault> {
        job.task.params.metadata.get("sandbox.fault").and_then(|f| Fault::parse(f))
    }

    fn state(upstream: &JobRef) -> Result<JobState, ProviderError> {
        serde_json::from_value(upstream.state.clone())
            .map_err(|e| ProviderError::Refused(format!("unknown sandbox job: {e}")))
    }
}

/// The spec the sandbox renders for a task.
pub fn render_spec(job: &JobSpec) -> RenderSpec {
    let p = &job.task.params;
    RenderSpec {
        width: p.size.width,
        height: p.size.height,
        duration_ms: u64::from(p.duration_seconds) * 1000,
        seed: u64::from(p.seed.unwrap_or(0)),
        prompt: p.prompt.clone(),
        audio: p.audio,
        source_image: job.source_image.clone(),
        // The render time, written as the MP4's creation time.
        created: std::time::Duration::from_millis(crate::clock::now_ms().max(0) as u64),
    }
}

#[async_trait]
impl Provider for SandboxProvider {
    fn name(&self) -> &str {
        SANDBOX
    }

    fn submit_is_idempotent(&self) -> bool {
        true
    }

    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError> {
        metrics::counter!("vidgate_provider_jobs_total", "provider" => SANDBOX).increment(1);
        let state = JobState { accepted_at: now, queue_ms: self.config.queue_delay_ms, run_ms: self.run_ms(job) };
        let total = (state.queue_ms + state.run_ms + self.config.deadline_grace_ms) as Millis;
        Ok(Submitted {
            job: JobRef {
                job_id: format!("sbx_{}", job.task.id),
                state: serde_json::to_value(&state).expect("serializes"),
            },
            running: false,
            poll_at: now + state.queue_ms as Millis,
            deadline_at: now + total,
        })
    }

    async fn poll(&self, job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError> {
        let s = Self::state(upstream)?;
        let starts = s.accepted_at + s.queue_ms as Millis;
        let ends = starts + s.run_ms as Millis;
        if now < starts {
            return Ok(PollOutcome::Queued { poll_at: starts });
        }
        let fault = Self::fault(job);
        if now < ends || fault == Some(Fault::Timeout) {
            let progress = ((now - starts) as u64 * 90).checked_div(s.run_ms).unwrap_or(90).min(90) as u8;
            // Report progress about twice a second, then exactly when the job ends.
            let poll_at = if now < ends { (now + 500).min(ends) } else { now + 1000 };
            return Ok(PollOutcome::Running { progress, poll_at });
        }
        Ok(match fault {
            Some(Fault::UpstreamError) => PollOutcome::Failed {
                code: TaskErrorCode::UpstreamError,
                message: "the sandbox failed this job as asked (sandbox.fault)".into(),
            },
            Some(Fault::ContentFiltered) => PollOutcome::Failed {
                code: TaskErrorCode::ContentFiltered,
                message: "the sandbox's pretend safety filter blocked this job (sandbox.fault)".into(),
            },
            _ => PollOutcome::Succeeded,
        })
    }

    async fn fetch(&self, job: &JobSpec, _upstream: &JobRef, dst: &Path) -> Result<(), ProviderError> {
        let spec = render_spec(job);
        let broken = Self::fault(job) == Some(Fault::InvalidResult);
        let dst = dst.to_owned();
        self.pool
            .run(move || -> Result<(), String> {
                vidgate_media::sandbox::render(&spec, &dst).map_err(|e| e.to_string())?;
                if broken {
                    // Deliver what a broken upstream would: the first third of the file.
                    let len = std::fs::metadata(&dst).map_err(|e| e.to_string())?.len();
                    let f = std::fs::OpenOptions::new().write(true).open(&dst).map_err(|e| e.to_string())?;
                    f.set_len(len / 3).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
            .await
            .map_err(ProviderError::Result)
    }

    async fn cancel(&self, _upstream: &JobRef) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(DELAY_KEY.to_owned(), value.to_owned())])
    }

    #[test]
    fn a_delay_up_to_the_maximum_is_accepted_and_anything_else_names_the_hook() {
        for ok in ["0", "2500", " 300000 ", "300000"] {
            assert_eq!(check_hooks(&delay(ok), 300_000), Ok(()), "{ok:?}");
        }
        assert_eq!(check_hooks(&BTreeMap::new(), 300_000), Ok(()), "no hook, nothing to check");
        for bad in ["300001", "3600000", "-1", "1.5", "soon", "", "18446744073709551616"] {
            let e = check_hooks(&delay(bad), 300_000).unwrap_err();
            assert_eq!((e.code, e.param.as_deref()), (ErrorCode::InvalidParam, Some("metadata.sandbox.delay_ms")));
            assert_eq!(e.message, "metadata.sandbox.delay_ms must be a whole number of milliseconds from 0 to 300000");
        }
    }
}
