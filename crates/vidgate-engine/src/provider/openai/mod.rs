//! An OpenAI-Videos-compatible upstream (docs/upstreams.md §3): request and URL building
//! (`request`), reading `Video` objects (`response`) and the provider (`client`). Built
//! from an `[[upstreams]]` entry of kind `openai`. Audio is always generated there.

mod check;
mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::OpenAiProvider;

use super::settings::{Settings, base_url};

impl OpenAiProvider {
    /// From config; `base_url` is the SDK's base (with `/v1`).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the bearer key) are not set", u.name));
        }
        Ok(OpenAiProvider {
            base: base_url(&u.base_url)?,
            model: u.model.clone(),
            key: u.credentials.clone(),
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            unknown: Default::default(),
            settings: Settings::from_config(u, max_result_bytes),
        })
    }
}
