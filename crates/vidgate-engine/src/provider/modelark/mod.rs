//! Seedance on BytePlus ModelArk and Volcengine Ark (docs/upstreams.md §8): request
//! building (`request`), reading task objects and errors (`response`) and the provider
//! (`client`). Built from an `[[upstreams]]` entry of kind `modelark`; the two flavours
//! differ only in their public host and model ids.

mod check;
mod client;
pub mod request;
pub mod response;

use vidgate_domain::secret::Secret;
use vidgate_domain::upstream::UpstreamConfig;

pub use client::ModelarkProvider;

use super::settings::{Settings, base_url};

impl ModelarkProvider {
    /// From config (`credentials` the API key, or an absolute path to a file holding it);
    /// the base is the API root with `/api/v3` (the flavour's public host
    /// when `base_url` is empty).
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        if u.credentials.is_empty() {
            return Err(format!("upstream {}: credentials (the ModelArk API key) are not set", u.name));
        }
        Ok(ModelarkProvider {
            base: base_url(&u.effective_base_url())?,
            model: u.model.clone(),
            key: api_key(u)?,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config: u.clone(),
        })
    }
}

/// The API key: `credentials` itself, or the trimmed contents of the file it names when it
/// is an absolute path (a key never starts with `/`). The error names the entry, never the key.
pub(crate) fn api_key(u: &UpstreamConfig) -> Result<Secret, String> {
    let creds = u.credentials.expose();
    if !creds.starts_with('/') {
        return Ok(u.credentials.clone());
    }
    let text = std::fs::read_to_string(creds)
        .map_err(|e| format!("upstream {}: reading the API key file named by credentials: {}", u.name, e.kind()))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(format!("upstream {}: the API key file named by credentials is empty", u.name));
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(credentials: &str) -> UpstreamConfig {
        let value = serde_json::json!({"name": "ark", "kind": "modelark", "model": "m", "credentials": credentials});
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_api_key_is_inline_or_read_trimmed_from_an_absolute_file_path() {
        assert_eq!(api_key(&entry("ark-123")).unwrap().expose(), "ark-123");
        let path = std::env::temp_dir().join(format!("vidgate-ark-key-{}", std::process::id()));
        std::fs::write(&path, "ark-from-file\n").unwrap();
        assert_eq!(api_key(&entry(path.to_str().unwrap())).unwrap().expose(), "ark-from-file");
        std::fs::write(&path, "  \n").unwrap();
        assert!(api_key(&entry(path.to_str().unwrap())).unwrap_err().contains("empty"));
        std::fs::remove_file(&path).unwrap();
        let err = api_key(&entry("/nonexistent/ark.key")).unwrap_err();
        assert!(err.contains("upstream ark") && !err.contains("nonexistent"), "{err}");
    }
}
