//! Providers: what an upstream does for the engine (submit a job, poll it, fetch its
//! result, cancel it), as the [`Provider`] trait, and [`Upstream`], the closed set of
//! providers a config can name, for dispatch.
//!
//! A provider only talks to its upstream. It never touches the store, money or the task's
//! status: it reports what the upstream said and the engine decides.
//!
//! Layout: [`sandbox`]; the real upstreams [`vertex`], [`gemini`] (sharing [`veo`]),
//! [`openai`], [`vidgate`], [`modelark`], [`dashscope`], [`minimax`], [`kling`], [`fal`], [`runway`], [`luma`], [`comfyui`] (self-hosted), each split into request building, response reading and the
//! client; what they share: [`http`] (error mapping, downloads), [`settings`],
//! [`schedule`] (when to poll), [`throttle`] (rate and concurrency per upstream).

pub mod check;
pub mod comfyui;
pub mod dashscope;
pub mod failure;
pub mod fal;
pub mod fit;
pub mod gemini;
pub mod http;
pub mod kling;
pub mod luma;
pub mod minimax;
pub mod modelark;
pub mod openai;
pub mod runway;
pub mod sandbox;
pub mod schedule;
pub mod settings;
pub mod task_list;
#[cfg(test)]
pub(crate) mod testing;
pub mod throttle;
pub mod veo;
pub mod vertex;
pub mod vidgate;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use vidgate_domain::task::TaskErrorCode;
use vidgate_domain::upstream::{UpstreamConfig, UpstreamKind};
use vidgate_store::{Millis, Task};

pub use comfyui::ComfyuiProvider;
pub use dashscope::DashscopeProvider;
pub use fal::FalProvider;
pub use gemini::GeminiProvider;
pub use kling::KlingProvider;
pub use luma::LumaProvider;
pub use minimax::MinimaxProvider;
pub use modelark::ModelarkProvider;
pub use openai::OpenAiProvider;
pub use runway::RunwayProvider;
pub use sandbox::SandboxProvider;
pub use throttle::Throttle;
pub use vertex::VertexProvider;
pub use vidgate::VidgateProvider;

/// The job a task asks an upstream for.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub task: Task,
    /// The source image bytes, for image-to-video.
    pub source_image: Option<Vec<u8>>,
    /// The last frame and reference images, in order (loaded for the submit step only).
    pub guide_images: Vec<vidgate_store::GuideImage>,
}

impl JobSpec {
    /// The route plan the job runs (the task's plan at its current route); `None` only for
    /// a task whose stored plan had no route.
    pub fn route(&self) -> Option<&vidgate_domain::plan::RoutePlan> {
        self.task.plan.route()
    }

    /// The native length the plan asks of the upstream (the request's own length without a
    /// route).
    pub fn upstream_seconds(&self) -> u32 {
        self.route().map_or(self.task.params.duration_seconds, |r| r.upstream_seconds)
    }

    /// Whether the plan asks the upstream for audio (the request's own flag without a route).
    pub fn upstream_audio(&self) -> bool {
        self.route().map_or(self.task.params.audio, |r| r.upstream_audio)
    }

    /// Extension jobs the plan chains after the base clip (0 without a route).
    pub fn extensions(&self) -> u32 {
        self.route().map_or(0, |r| r.extensions)
    }
}

/// An upstream job, as remembered on the task.
#[derive(Clone, Debug)]
pub struct JobRef {
    pub job_id: String,
    pub state: serde_json::Value,
}

/// The answer to a submit that reached the upstream and was accepted.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub job: JobRef,
    /// Whether the upstream already runs it (real upstreams: yes; the sandbox queues first).
    pub running: bool,
    /// When the engine should ask first.
    pub poll_at: Millis,
    /// After this the task fails with `timeout`.
    pub deadline_at: Millis,
}

/// What a poll found.
#[derive(Clone, Debug, PartialEq)]
pub enum PollOutcome {
    Queued {
        poll_at: Millis,
    },
    Running {
        progress: u8,
        poll_at: Millis,
    },
    /// The result is ready to fetch.
    Succeeded,
    /// One job of a chain (Gemini extension) is done and the next is to be submitted on its
    /// output: the engine keeps `state` as the task's upstream state and goes back to the
    /// submit phase, so the next submit is recorded before sending like the first (docs/api.md §7).
    Continue {
        state: serde_json::Value,
        progress: u8,
    },
    /// The result is ready, and the poll's answer already says where it is (or carries it
    /// inline): fetch it with [`Provider::fetch_polled`], without asking the upstream again.
    SucceededWith(PolledResult),
    Failed {
        code: TaskErrorCode,
        message: String,
    },
}

/// The answer of the poll that found a job done, handed to [`Provider::fetch_polled`]
/// (shared bytes, never copied; printed by length only).
#[derive(Clone, PartialEq)]
pub struct PolledResult(pub bytes::Bytes);

impl std::fmt::Debug for PolledResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PolledResult({} bytes)", self.0.len())
    }
}

/// Why an upstream call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The request never left (connect refused, DNS): safe to send again.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// The request may have reached the upstream and no answer was read.
    #[error("upstream outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The upstream answered that it will not do it.
    #[error("upstream refused: {0}")]
    Refused(String),
    /// The upstream's safety filter blocked it.
    #[error("content filtered: {0}")]
    ContentFiltered(String),
    /// A temporary condition (429, 5xx): try again later.
    #[error("upstream busy: {message}")]
    Busy { message: String, retry_after_ms: Option<u64> },
    /// The result could not be downloaded or stored.
    #[error("result unavailable: {0}")]
    Result(String),
    /// This process's throttle for the upstream had no request slot soon enough; nothing
    /// was sent. The step comes back after `retry_after_ms` (not a failure).
    #[error("throttled for {retry_after_ms} ms")]
    Throttled { retry_after_ms: u64 },
}

/// Why a submit started no job, and whether its create request left this process: what
/// the engine counts as a submit sent (`upstream_submits`) and what toward the attempts.
/// Each provider says on which side of the send an error arose, so the fact travels with
/// the error.
#[derive(Debug)]
pub struct SubmitError {
    pub error: ProviderError,
    /// The create request may have reached the upstream.
    pub sent: bool,
}

impl SubmitError {
    /// Failed before the create request was sent (building its body, fitting an image, an
    /// upload, a token, a lookup): it cannot have started a job.
    pub fn unsent(error: ProviderError) -> Self {
        SubmitError { error, sent: false }
    }

    /// Failed sending the create request or reading its answer: it left, unless the error
    /// itself says nothing left (no connection, this process's throttle had no slot).
    pub fn after_send(error: ProviderError) -> Self {
        let sent = !matches!(error, ProviderError::Unreachable(_) | ProviderError::Throttled { .. });
        SubmitError { error, sent }
    }
}

impl ProviderError {
    /// Whether the same call may be made again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Unreachable(_)
                | ProviderError::Busy { .. }
                | ProviderError::Result(_)
                | ProviderError::Throttled { .. }
        )
    }
}

/// What an upstream does.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The name routes use.
    fn name(&self) -> &str;
    /// Whether sending the same submit twice creates one job (so a submit whose outcome is
    /// unknown may be sent again).
    fn submit_is_idempotent(&self) -> bool;
    /// Starts a job; a failure says whether the create request left ([`SubmitError`]).
    async fn submit(&self, job: &JobSpec, now: Millis) -> Result<Submitted, SubmitError>;
    /// Asks how a job is doing.
    async fn poll(&self, job: &JobSpec, upstream: &JobRef, now: Millis) -> Result<PollOutcome, ProviderError>;
    /// Writes the finished job's MP4 to `dst`.
    async fn fetch(&self, job: &JobSpec, upstream: &JobRef, dst: &Path) -> Result<(), ProviderError>;
    /// Writes the finished job's MP4 to `dst` from the answer of the poll that found it
    /// done ([`PollOutcome::SucceededWith`]); by default, asks again like [`Provider::fetch`].
    async fn fetch_polled(
        &self,
        job: &JobSpec,
        upstream: &JobRef,
        _polled: PolledResult,
        dst: &Path,
    ) -> Result<(), ProviderError> {
        self.fetch(job, upstream, dst).await
    }
    /// What the upstream says the finished job cost, read from the answer of the poll that
    /// found it done (ModelArk: billed tokens × the configured token price); `None` keeps
    /// the plan's estimate as the task's upstream cost.
    fn measured_cost(&self, _job: &JobSpec, _polled: &PolledResult) -> Option<vidgate_domain::Usd> {
        None
    }
    /// Asks the upstream to stop a job, where it can; best effort.
    async fn cancel(&self, upstream: &JobRef) -> Result<(), ProviderError>;
    /// Whether the upstream takes the configured credentials and knows the model id, asked
    /// without generating anything (`vidgate upstreams check`).
    async fn check(&self) -> check::Check {
        check::Check::unsupported("this kind has no check")
    }
    /// The upstream's per-process rate and concurrency limits, applied to every HTTP
    /// request of a step (`throttle::scope`).
    fn throttle(&self) -> Option<&Throttle> {
        None
    }
}

/// Every provider a config can name: dispatch is a match, not a lookup of strings.
#[derive(Clone)]
pub enum Upstream {
    Sandbox(Arc<SandboxProvider>),
    Vertex(Arc<VertexProvider>),
    Gemini(Arc<GeminiProvider>),
    OpenAi(Arc<OpenAiProvider>),
    Vidgate(Arc<VidgateProvider>),
    Modelark(Arc<ModelarkProvider>),
    Dashscope(Arc<DashscopeProvider>),
    Minimax(Arc<MinimaxProvider>),
    Kling(Arc<KlingProvider>),
    Comfyui(Arc<ComfyuiProvider>),
    Fal(Arc<FalProvider>),
    Runway(Arc<RunwayProvider>),
    Luma(Arc<LumaProvider>),
}

impl Upstream {
    /// The provider behind this entry.
    pub fn provider(&self) -> &dyn Provider {
        match self {
            Upstream::Sandbox(p) => p.as_ref(),
            Upstream::Vertex(p) => p.as_ref(),
            Upstream::Gemini(p) => p.as_ref(),
            Upstream::OpenAi(p) => p.as_ref(),
            Upstream::Vidgate(p) => p.as_ref(),
            Upstream::Modelark(p) => p.as_ref(),
            Upstream::Dashscope(p) => p.as_ref(),
            Upstream::Minimax(p) => p.as_ref(),
            Upstream::Kling(p) => p.as_ref(),
            Upstream::Comfyui(p) => p.as_ref(),
            Upstream::Fal(p) => p.as_ref(),
            Upstream::Runway(p) => p.as_ref(),
            Upstream::Luma(p) => p.as_ref(),
        }
    }

    /// The provider an `[[upstreams]]` entry describes; `max_result_bytes` is
    /// `files.max_result_bytes`. Errors name the entry, never its credentials.
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Upstream, String> {
        Ok(match u.kind {
            UpstreamKind::Vertex => Upstream::Vertex(Arc::new(VertexProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Gemini => Upstream::Gemini(Arc::new(GeminiProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Openai => Upstream::OpenAi(Arc::new(OpenAiProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Vidgate => Upstream::Vidgate(Arc::new(VidgateProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Modelark => Upstream::Modelark(Arc::new(ModelarkProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Dashscope => {
                Upstream::Dashscope(Arc::new(DashscopeProvider::from_config(u, max_result_bytes)?))
            }
            UpstreamKind::Minimax => Upstream::Minimax(Arc::new(MinimaxProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Kling => Upstream::Kling(Arc::new(KlingProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Comfyui => Upstream::Comfyui(Arc::new(ComfyuiProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Fal => Upstream::Fal(Arc::new(FalProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Runway => Upstream::Runway(Arc::new(RunwayProvider::from_config(u, max_result_bytes)?)),
            UpstreamKind::Luma => Upstream::Luma(Arc::new(LumaProvider::from_config(u, max_result_bytes)?)),
        })
    }
}

/// The configured providers, by name.
#[derive(Clone, Default)]
pub struct Providers {
    entries: Vec<Upstream>,
}

impl Providers {
    /// Providers from their entries.
    pub fn new(entries: Vec<Upstream>) -> Self {
        Providers { entries }
    }

    /// The provider with this name.
    pub fn get(&self, name: &str) -> Option<&dyn Provider> {
        self.entries.iter().map(Upstream::provider).find(|p| p.name() == name)
    }

    /// Every provider name.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|u| u.provider().name().to_owned()).collect()
    }
}
