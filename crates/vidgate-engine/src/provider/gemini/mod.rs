//! Veo on the Gemini API (docs/upstreams.md §1): request and URL building (`request`),
//! reading operations (`response`), extension chains (`chain`) and the provider (`client`). Built from an
//! `[[upstreams]]` entry of kind `gemini`. Audio is always generated there; a silent
//! request gets the track stripped at delivery.

pub mod chain;
mod check;
mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::{API_KEY_HEADER, GeminiProvider};

use super::settings::{Settings, base_url};
use request::GeminiTarget;

/// The Gemini API.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

impl GeminiProvider {
    /// From config.
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the API key) are not set", u.name));
        }
        let base = if u.base_url.is_empty() { DEFAULT_BASE_URL } else { u.base_url.as_str() };
        Ok(GeminiProvider {
            target: GeminiTarget {
                base: base_url(base)?,
                model: u.model.clone(),
                person_generation: u.person_generation.clone(),
            },
            key: u.credentials.clone(),
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
        })
    }
}
