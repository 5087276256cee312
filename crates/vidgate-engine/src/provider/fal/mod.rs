//! fal.ai's queue API (docs/upstreams.md §12): request building from the endpoint's input
//! mapping (`request`), reading queue answers and errors (`response`) and the provider
//! (`client`). Built from an `[[upstreams]]` entry of kind `fal`: `model` is the
//! text-to-video endpoint id, `image_model` the image-to-video one, each described by a
//! shipped or operator mapping (`vidgate_domain::fal`).

mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::FalProvider;

use super::settings::{Settings, base_url};

impl FalProvider {
    /// From config (`credentials` the fal key `KEY_ID:KEY_SECRET`, or an absolute path to a
    /// file holding it); the base is the queue host (`https://queue.fal.run` when `base_url`
    /// is empty).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the fal key) are not set", u.name));
        }
        Ok(FalProvider {
            base: base_url(&u.effective_base_url())?,
            key: super::modelark::api_key(u)?,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
        })
    }
}
