//! Veo on Vertex AI (docs/upstreams.md §2): service-account OAuth (`auth`), the request and
//! URL building (`request`), reading operations (`response`), and the provider
//! (`client`). Built from an `[[upstreams]]` entry of kind `vertex`.

pub mod auth;
mod check;
mod client;
pub mod request;
pub mod response;

use vidgate_domain::upstream::UpstreamConfig;

pub use client::VertexProvider;

use super::settings::{Settings, base_url};
use auth::{DEFAULT_TOKEN_URL, Signer, TokenCache};
use request::VertexTarget;

/// The Cloud Storage JSON API.
pub const DEFAULT_STORAGE_URL: &str = "https://storage.googleapis.com";
/// The region when none is configured.
pub const DEFAULT_LOCATION: &str = "us-central1";

impl VertexProvider {
    /// From config. `credentials` is the key's JSON, or a path to the key file (read here,
    /// at start-up). Errors never contain the key.
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        let creds = u.credentials.expose().trim();
        if creds.is_empty() {
            return Err(format!("upstream {}: credentials (the service-account key) are not set", u.name));
        }
        let text = if creds.starts_with('{') {
            creds.to_owned()
        } else {
            std::fs::read_to_string(creds).map_err(|e| {
                format!(
                    "upstream {}: reading the key file {creds} (`credentials` of its [[upstreams]] entry): {e}",
                    u.name
                )
            })?
        };
        let signer = Signer::from_json(&text).map_err(|e| format!("upstream {}: {e}", u.name))?;
        let key = signer.key();
        let project = if u.project.is_empty() { key.project_id.clone() } else { u.project.clone() };
        if project.is_empty() {
            return Err(format!("upstream {}: project is not set and the key names none", u.name));
        }
        let location = if u.location.is_empty() { DEFAULT_LOCATION.to_owned() } else { u.location.clone() };
        let base = if u.base_url.is_empty() {
            format!("https://{location}-aiplatform.googleapis.com")
        } else {
            u.base_url.clone()
        };
        let token_url = match (u.token_url.as_str(), key.token_uri.as_str()) {
            ("", "") => DEFAULT_TOKEN_URL.to_owned(),
            ("", from_key) => from_key.to_owned(),
            (configured, _) => configured.to_owned(),
        };
        let storage = if u.storage_url.is_empty() { DEFAULT_STORAGE_URL } else { u.storage_url.as_str() };
        let settings = Settings::from_config(u, max_result_bytes);
        let client = super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
        Ok(VertexProvider {
            target: VertexTarget {
                base: base_url(&base)?,
                project,
                location,
                model: u.model.clone(),
                storage_uri: u.storage_uri.clone(),
                person_generation: u.person_generation.clone(),
            },
            token_url: url::Url::parse(&token_url).map_err(|e| format!("upstream {}: token_url: {e}", u.name))?,
            storage_base: base_url(storage)?,
            signer,
            tokens: TokenCache::default(),
            client,
            settings,
        })
    }
}
