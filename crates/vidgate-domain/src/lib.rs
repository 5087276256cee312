//! The pure domain of vidgate: what a task, a model, a request and money *are*.
//!
//! Layout:
//! - [`ids`]: typed identifiers (`TaskId`, `AccountId`, `KeyId`).
//! - [`money`]: `Usd`, an integer number of micro-dollars; never a float.
//! - [`catalog`]: the rate card (models, aliases, durations, sizes, prices), loaded from config.
//! - [`model_overrides`]: the config's `models`: a whole catalog, or `[models."<id>"]` changes.
//! - [`request`]: turning a client's JSON into a typed [`request::SubmitRequest`], with the
//!   contract's exact error codes and `param` names.
//! - [`task`]: the task state machine and task error codes.
//! - [`billing`]: billed seconds and prices.
//! - [`config`]: the typed configuration (file + `VIDGATE_…` environment overrides).
//! - [`database_url`]: `database.url`, printed without its password.
//! - [`effective`]: the database URL, media directory and public URL derived when empty.
//! - [`duration`]: durations as config writes them (`250ms`, `5s`, `30m`, `2h`).
//! - [`error`]: the contract's error codes and their HTTP status mapping.
//! - [`upstream`]: `[[upstreams]]`: kinds, credentials, limits, capabilities, prices;
//!   [`kling`]: what a Kling model id makes and the keys only a `kling` entry takes;
//!   [`comfyui`]: the `[upstreams.comfyui]` table and its frame rounding.
//!   [`runway`] and [`luma`]: the same for Runway and Luma.
//! - [`routing`]: an upstream's priority, weight, circuit breaker and spend caps.
//! - [`plan`]: the cheapest covering upstream job per route, and the start-up report.
//!
//! This crate performs no I/O: no files, no network, no clock reads except where a
//! caller passes the time in.

pub mod billing;
pub mod catalog;
pub mod comfyui;
pub mod config;
pub mod database_url;
pub mod duration;
pub mod effective;
pub mod error;
pub mod fal;
pub mod ids;
pub mod kling;
pub mod luma;
pub mod model_overrides;
pub mod money;
pub mod plan;
pub mod pool;
pub mod request;
pub mod routing;
pub mod runway;
pub mod secret;
pub mod task;
pub mod task_list;
pub mod upstream;
pub mod wan;

pub use error::{ErrorCode, RequestError};
pub use ids::{AccountId, KeyId, TaskId};
pub use money::Usd;
