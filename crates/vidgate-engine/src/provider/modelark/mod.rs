//! Seedance on BytePlus ModelArk and Volcengine Ark (docs/upstreams.md, ModelArk): request
//! building (`request`), reading task objects and errors (`response`) and the provider
//! (`client`). Built from an `[[upstreams]]` entry of kind `modelark`; the two flavours
//! differ only in their public host and model ids.

mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::ModelarkProvider;

use super::settings::{Settings, base_url};

impl ModelarkProvider {
    /// From config; the base is the API root with `/api/v3` (the flavour's public host
    /// when `base_url` is empty).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the ModelArk API key) are not set", u.name));
        }
        Ok(ModelarkProvider {
            base: base_url(u.effective_base_url())?,
            model: u.model.clone(),
            key: u.credentials.clone(),
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
        })
    }
}
