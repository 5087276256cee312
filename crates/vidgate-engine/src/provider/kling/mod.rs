//! Kuaishou Kling through its legacy `model_name` endpoints (docs/upstreams.md §10): the
//! signed bearer token (`auth`), request building (`request`), reading answers and errors
//! (`response`) and the provider (`client`). Built from an `[[upstreams]]` entry of kind
//! `kling`: `model` is the `model_name` (`kling-v2-6`), `credentials` the access key and
//! secret key (`AK:SK`) or, with `auth = "api_key"`, the console's API key.

pub mod auth;
mod check;
mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::KlingProvider;

use super::settings::{Settings, base_url};

impl KlingProvider {
    /// From config (`credentials` inline, from `credentials_env`, or an absolute path to a
    /// file holding it, as for ModelArk); the base is the host (`/v1/videos/…` below it).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the Kling keys) are not set", u.name));
        }
        let key = super::modelark::api_key(u)?;
        Ok(KlingProvider {
            base: base_url(&u.effective_base_url())?,
            auth: auth::Auth::from_config(u, key)?,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
        })
    }
}
