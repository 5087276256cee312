//! Luma's Ray models (docs/upstreams.md §14) on either of Luma's two APIs, picked by the
//! entry's model id: the Agents API (`ray-3.2`) or the legacy Dream Machine API (`ray-2`,
//! `ray-flash-2`, `ray-1-6`). Request building (`request`), reading generations and errors
//! (`response`), the provider (`client`) and the list lookup of a lost Dream Machine create
//! (`lookup`).

mod client;
mod lookup;
pub mod request;
pub mod response;

use vidgate_domain::luma::LumaApi;
use vidgate_domain::upstream::UpstreamConfig;

pub use client::LumaProvider;

use super::settings::{Settings, base_url};

impl LumaProvider {
    /// From config (`credentials` the API key of the model's API, or an absolute path to a
    /// file holding it); the base is the API root (the model's public host when `base_url`
    /// is empty).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the Luma API key) are not set", u.name));
        }
        let api = vidgate_domain::luma::api(&u.model).unwrap_or(LumaApi::Agents);
        Ok(LumaProvider {
            api,
            base: base_url(&u.effective_base_url())?,
            key: super::modelark::api_key(u)?,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
            sends: Default::default(),
        })
    }
}
