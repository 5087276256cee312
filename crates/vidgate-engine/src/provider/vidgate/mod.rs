//! Another vidgate as an upstream (docs/api.md §4–§6), so gateways can be chained: request
//! building (`request`), reading its task object (`response`) and the provider
//! (`client`). Built from an `[[upstreams]]` entry of kind `vidgate`. Its submit is
//! idempotent through `out_task_id`.

mod check;
mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::VidgateProvider;

use super::settings::{Settings, base_url};

impl VidgateProvider {
    /// From config.
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the API key) are not set", u.name));
        }
        Ok(VidgateProvider {
            base: base_url(&u.base_url)?,
            model: u.model.clone(),
            key: u.credentials.clone(),
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
        })
    }
}
