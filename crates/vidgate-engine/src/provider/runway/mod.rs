//! Runway's Developer API (docs/upstreams.md §13): request building (`request`), reading
//! task answers and errors (`response`) and the provider (`client`). Built from an
//! `[[upstreams]]` entry of kind `runway`: `model` is the Runway model id (`gen4.5`,
//! `veo3.1`, …), `credentials` the `key_…` secret, `api_version` the `X-Runway-Version`.

mod client;
pub mod request;
pub mod response;

use vidgate_domain::runway::{DEFAULT_API_VERSION, DEFAULT_USD_PER_CREDIT};
use vidgate_domain::upstream::UpstreamConfig;

pub use client::RunwayProvider;

use super::settings::{Settings, base_url};

impl RunwayProvider {
    /// From config (`credentials` the API secret, or an absolute path to a file holding it,
    /// as for ModelArk); the base is the API root (paths carry their `/v1`).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the Runway API secret) are not set", u.name));
        }
        let version = if u.api_version.is_empty() { DEFAULT_API_VERSION } else { u.api_version.as_str() };
        Ok(RunwayProvider {
            base: base_url(&u.effective_base_url())?,
            key: super::modelark::api_key(u)?,
            version: version.to_owned(),
            usd_per_credit: u.usd_per_credit.unwrap_or(DEFAULT_USD_PER_CREDIT),
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
        })
    }
}
