//! The task engine and the gateway's operations.
//!
//! Layout:
//! - [`gateway`]: the operations (authenticate, submit, read, wait, cancel, admin) as plain
//!   functions over typed values; HTTP handlers and tests call these.
//! - [`worker`]: the engine loop that leases due tasks and runs their steps.
//! - [`provider`]: the `Provider` trait and the providers (the sandbox, Veo on Vertex AI and the
//!   Gemini API, OpenAI-Videos-compatible gateways, other vidgates).
//! - [`upstreams`]: building the configured upstreams and the start-up plan report.
//! - [`postprocess`]: validating, trimming and splitting a result into the files a client gets.
//! - [`files`], [`signer`], [`view`]: stored files, signed URLs and the task object.
//! - [`notify`], [`sweeper`]: change notifications, retention and gauges.
//! - [`listen`]: wake-ups from the changes other replicas commit to the database.
//! - [`net`]: outbound requests to user-supplied URLs behind the SSRF guard.
//! - [`webhooks`]: delivering the signed terminal-status webhooks from the outbox.
//! - [`app`]: wiring all of it from a config and a data directory.
//!
//! The engine must not know about HTTP; the HTTP crate must not talk to the store.

pub mod app;
pub mod channels;
pub mod clock;
pub mod files;
pub mod gateway;
pub mod ipnet;
pub mod listen;
pub mod net;
pub mod notify;
pub mod postprocess;
pub mod provider;
pub mod signer;
pub mod start_error;
pub mod sweeper;
pub mod upstreams;
pub mod view;
pub mod webhooks;
pub mod worker;
