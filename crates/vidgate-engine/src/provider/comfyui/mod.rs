//! Self-hosted ComfyUI (docs/upstreams.md §15): a pool of servers running one workflow
//! template. The template and its bindings (`template`), its check against a server's
//! `/object_info` (`validate`), reading answers (`response`), the server pool and its
//! requests (`pool`) and the provider (`client`). Built from an `[[upstreams]]` entry of kind
//! `comfyui` and its `[upstreams.comfyui]` table.

mod check;
mod client;
mod pool;
pub mod response;
pub mod template;
pub mod validate;

use std::collections::BTreeSet;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use url::Url;
use vidgate_domain::comfyui::{ComfyuiAuth, ComfyuiConfig};
use vidgate_domain::upstream::UpstreamConfig;

use super::settings::{Settings, base_url};
use template::Template;

/// A ComfyUI pool upstream.
pub struct ComfyuiProvider {
    settings: Settings,
    config: ComfyuiConfig,
    servers: Vec<Url>,
    template: Template,
    /// The `Authorization` value for the reverse proxy, if any (never printed).
    authorization: Option<reqwest::header::HeaderValue>,
    client: reqwest::Client,
    /// Servers (by base URL) the template was checked against and fits.
    checked: Mutex<BTreeSet<String>>,
}

impl ComfyuiProvider {
    /// From config: the servers, the template (a shipped name or a file, checked on its own
    /// here and against each server before its first job) and the proxy credential.
    pub fn from_config(u: &UpstreamConfig, max_result_bytes: u64) -> Result<Self, String> {
        let n = &u.name;
        let config = u.comfyui.clone().ok_or_else(|| format!("upstream {n}: no [upstreams.comfyui] table"))?;
        let template = Template::load(&config.workflow).map_err(|e| format!("upstream {n}: {e}"))?;
        let caps = u.caps();
        if caps.image_input && !template.takes_image() {
            return Err(format!("upstream {n}: image_input is on but workflow {:?} binds no image", config.workflow));
        }
        if caps.audio == vidgate_domain::upstream::AudioSupport::Switchable && !template.switches_audio() {
            return Err(format!(
                "upstream {n}: audio is switchable but workflow {:?} has no without_audio",
                config.workflow
            ));
        }
        let servers = config.servers.iter().map(|s| base_url(s)).collect::<Result<Vec<_>, _>>()?;
        let authorization =
            authorization(config.auth, u.credentials.expose()).map_err(|e| format!("upstream {n}: {e}"))?;
        Ok(ComfyuiProvider {
            servers,
            template,
            authorization,
            client: super::http::api_client(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?,
            settings: Settings::from_config(u, max_result_bytes),
            config,
            checked: Mutex::default(),
        })
    }
}

fn authorization(auth: ComfyuiAuth, credentials: &str) -> Result<Option<reqwest::header::HeaderValue>, String> {
    use base64::Engine as _;
    let text = match auth {
        ComfyuiAuth::None => return Ok(None),
        ComfyuiAuth::Bearer => format!("Bearer {credentials}"),
        ComfyuiAuth::Basic if credentials.contains(':') => {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
        }
        ComfyuiAuth::Basic => return Err("auth basic needs credentials of the form user:password".into()),
    };
    let mut value = reqwest::header::HeaderValue::from_str(&text).map_err(|_| "credentials are not a valid header")?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// The `prompt_id` of a task on an upstream: a canonical lowercase UUID (version 4 bits)
/// derived from the task id and the upstream's name, so it is known before the first send
/// and the same on every resend (docs/upstreams.md §15.3: a lost answer is looked up by it).
pub fn prompt_id(task_id: &str, upstream: &str) -> String {
    let digest = Sha256::digest(format!("vidgate-comfyui:{task_id}:{upstream}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The seed of a task: from its id, so a resend renders the same graph, and different per
/// task, so ComfyUI's cache never replays another task's video (trap 3).
pub fn seed(task_id: &str) -> u64 {
    let digest = Sha256::digest(format!("vidgate-seed:{task_id}").as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_id_is_a_canonical_uuid_stable_per_task_and_upstream() {
        let id = prompt_id("task_1", "gpu");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase() || c == '-'));
        assert_eq!(id, prompt_id("task_1", "gpu"));
        assert_ne!(id, prompt_id("task_2", "gpu"));
        assert_ne!(id, prompt_id("task_1", "gpu-2"));
        assert_ne!(seed("task_1"), seed("task_2"));
    }

    /// The `[[upstreams]]` of docs/own-gpus.md build, with their shipped templates.
    #[test]
    fn the_own_gpus_example_builds_both_upstreams() {
        let page = include_str!("../../../../../docs/own-gpus.md");
        let block = page.split("```toml\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a toml block");
        let env = [("COMFY_TOKEN".to_owned(), "example-token".to_owned())];
        let config = vidgate_domain::config::Config::load(block, env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.upstreams.len(), 2);
        for u in &config.upstreams {
            ComfyuiProvider::from_config(u, 1 << 30).unwrap_or_else(|e| panic!("{e}"));
        }
        let ltx = config.upstreams[0].comfyui.as_ref().unwrap();
        assert_eq!((ltx.frames(5), config.upstreams[0].delivered_ms(5)), (121, 5042));
    }

    #[test]
    fn basic_auth_needs_a_user_and_password_and_bearer_sends_the_token() {
        assert!(authorization(ComfyuiAuth::Basic, "token").is_err());
        let basic = authorization(ComfyuiAuth::Basic, "u:p").unwrap().unwrap();
        assert_eq!(basic.to_str().unwrap(), "Basic dTpw");
        assert_eq!(authorization(ComfyuiAuth::Bearer, "t").unwrap().unwrap().to_str().unwrap(), "Bearer t");
        assert!(authorization(ComfyuiAuth::None, "").unwrap().is_none());
    }
}
