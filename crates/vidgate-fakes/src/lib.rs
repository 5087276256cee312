//! Fake upstream servers for vidgate's tests, written from the protocol documentation
//! (the upstream protocol notes, summarised for operators in `docs/upstreams.md`: Vertex AI
//! Veo, Gemini API Veo, OpenAI Videos, BytePlus ModelArk, Alibaba DashScope, MiniMax, Kuaishou Kling, fal.ai, Runway, Luma, self-hosted ComfyUI; `docs/api.md` for the vidgate
//! protocol), never from the gateway's adapters, so that the adapters are tested against the
//! documents.
//!
//! Each fake binds 127.0.0.1:0, serves real MP4 results of the upstream's native length,
//! refuses requests that break the documented protocol with the upstream's own error shape,
//! and records them. A test starts one, points an adapter at [`FakeVertex::base_url`] (or the
//! others'), scripts [`Faults`], and reads the [`Journal`]. See `docs/testing-upstreams.md`.
//!
//! # Layout
//!
//! - [`vertex`], [`gemini`], [`openai`], [`vidgate`], [`modelark`], [`dashscope`], [`minimax`], [`kling`], [`fal`], [`runway`], [`luma`], [`comfyui`]: one module per fake (`routes`,
//!   `request`, `response`, `state`).
//! - `faults` (what goes wrong) and `journal` (what was seen): the test's controls.
//! - `core`: the parts every fake shares, and the middleware that counts requests and carries
//!   out transport faults; `conn`: sockets a fault can cut; `server`: the loopback listener.
//! - `errors`: the error envelopes; `google`: checks the two Veo fakes share;
//!   `jobs`: latency; `media`: the clips; `blobs`: download redirect targets.

mod blobs;
pub mod comfyui;
mod conn;
mod core;
pub mod dashscope;
mod errors;
pub mod fal;
mod faults;
pub mod gemini;
mod google;
mod jobs;
mod journal;
pub mod kling;
pub mod luma;
pub mod media;
pub mod minimax;
pub mod modelark;
pub mod openai;
pub mod runway;
mod server;
pub mod vertex;
pub mod vidgate;

pub use comfyui::{ComfyuiConfig, FakeComfyui};
pub use dashscope::{DashscopeConfig, FakeDashscope};
pub use fal::{FakeFal, FalConfig, FalEndpoint};
pub use faults::{Endpoint, Fault, Faults, Latency, Outcome};
pub use gemini::{FakeGemini, GeminiConfig};
pub use journal::{Counters, ExtensionJob, JobGuides, Journal, KeyedCall, Note, Rejection, RejectionKind};
pub use kling::{FakeKling, KlingConfig};
pub use luma::{FakeLuma, LumaApi, LumaConfig};
pub use minimax::{FakeMinimax, MinimaxConfig};
pub use modelark::{FakeModelark, ModelarkConfig};
pub use openai::{FakeOpenAi, OpenAiConfig};
pub use runway::{FakeRunway, RunwayConfig};
pub use vertex::{FakeVertex, VertexConfig};
pub use vidgate::{FakeVidgate, VidgateConfig};
