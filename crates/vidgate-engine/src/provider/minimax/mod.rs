//! MiniMax-H3 on the MiniMax Open Platform, the v2 video API (docs/upstreams.md §11): request
//! building (`request`), reading task answers and errors (`response`) and the provider
//! (`client`). Built from an `[[upstreams]]` entry of kind `minimax`: the platform (or
//! `base_url`) picks the host, `model` is the v2 model id (`MiniMax-H3`) or a v1 Hailuo id
//! (`MiniMax-Hailuo-2.3`, `v1`). A v2 create whose answer was lost is looked up in the
//! task list (`lookup`, §11.6), never sent again.

mod check;
mod client;
mod lookup;
pub mod request;
pub mod response;
pub mod v1;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::MinimaxProvider;

use super::settings::{Settings, base_url};

impl MinimaxProvider {
    /// From config (`credentials` the API key, or an absolute path to a file holding it, as
    /// for ModelArk); the base is the API root without `/v2` (the platform's public host
    /// when `base_url` is empty).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the MiniMax API key) are not set", u.name));
        }
        Ok(MinimaxProvider {
            base: base_url(&u.effective_base_url())?,
            key: super::modelark::api_key(u)?,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
            sends: Default::default(),
        })
    }
}
