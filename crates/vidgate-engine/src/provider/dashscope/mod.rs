//! Wan on Alibaba Cloud Model Studio, the DashScope async task API (docs/upstreams.md §9):
//! request building (`request`), reading task answers and errors (`response`) and the
//! provider (`client`). Built from an `[[upstreams]]` entry of kind `dashscope`: the region
//! (or `base_url`) picks the host, `model` is the text-to-video id and `image_model` the
//! image-to-video one. A create whose answer was lost is looked up in the task list
//! (`lookup`, §9.6), never sent again.

mod check;
mod client;
mod lookup;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::DashscopeProvider;

use super::settings::{Settings, base_url};

impl DashscopeProvider {
    /// From config (`credentials` the API key, or an absolute path to a file holding it,
    /// as for ModelArk); the base is the API root with `/api/v1` (the region's public host
    /// when `base_url` is empty).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the DashScope API key) are not set", u.name));
        }
        Ok(DashscopeProvider {
            base: base_url(&u.effective_base_url())?,
            key: super::modelark::api_key(u)?,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
            sends: Default::default(),
        })
    }
}
