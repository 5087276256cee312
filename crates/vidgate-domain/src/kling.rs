//! Kuaishou Kling as an `[[upstreams]]` entry of kind `kling` (docs/upstreams.md §10):
//! what each legacy `model_name` makes (lengths, sizes, audio, last frame), the public
//! host, how the entry authenticates, and the keys only a `kling` entry takes.
//!
//! It must not build requests or sign tokens: that is the engine's provider.

use serde::{Deserialize, Serialize};

use crate::catalog::Size;
use crate::upstream::{AudioSupport, P1080, UpstreamConfig, UpstreamKind, VEO_SIZES};

/// The international host (docs/upstreams.md §10.1; `api.klingai.com` is the old one).
pub const DEFAULT_BASE_URL: &str = "https://api-singapore.klingai.com";

/// The shortest token lifetime an entry may set: tokens are signed again a minute before
/// they run out, so the lifetime must be longer than that minute.
pub const MIN_TOKEN_TTL_SECS: u64 = 61;

/// How a `kling` entry proves who it is (docs/upstreams.md §10.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KlingAuth {
    /// `credentials` = `ACCESS_KEY:SECRET_KEY`; each call carries an HS256 JWT
    /// (`iss` = access key, `exp`, `nbf`) signed with the secret key.
    #[default]
    Jwt,
    /// `credentials` = the console's API key, sent as a bearer token.
    ApiKey,
}

/// Whether a model id makes 3 to 15 whole seconds (the 3.0 line).
fn is_v3(model: &str) -> bool {
    model.starts_with("kling-v3") || model.starts_with("kling-3.0")
}

/// What a legacy `model_name` makes (docs/upstreams.md §10.1, §10.7): 3.0 and 3.0 Turbo
/// whole seconds 3–15 at 720p and 1080p (4k is not on the legacy endpoints), 3.0 with audio
/// switched per job and Turbo always with audio; 2.6 5 or 10 s with switchable audio, at
/// 1080p only because its audio is made at 1080p only (a silent 720p route is an operator's
/// `sizes`); 2.1 and 2.0 Master 1080p only; the older ones 720p and 1080p; all silent before
/// 2.6. An unknown id gets 2.6's menu.
pub fn caps(model: &str) -> (Vec<u32>, Vec<Size>, AudioSupport) {
    let all = VEO_SIZES.to_vec();
    if model.starts_with("kling-3.0-turbo") || model.starts_with("kling-v3-turbo") {
        ((3..=15).collect(), all, AudioSupport::Always)
    } else if is_v3(model) {
        ((3..=15).collect(), all, AudioSupport::Switchable)
    } else if model.ends_with("-master") {
        (vec![5, 10], P1080.to_vec(), AudioSupport::None)
    } else if model.starts_with("kling-v2-6") || !model.starts_with("kling-v") {
        (vec![5, 10], P1080.to_vec(), AudioSupport::Switchable)
    } else {
        (vec![5, 10], all, AudioSupport::None)
    }
}

/// Whether the model takes a last frame (`image_tail`): 3.0 documents `last_frame`
/// (docs/upstreams.md §10.3); 3.0 Turbo takes a first frame only; for the older ids the
/// protocol notes of docs/upstreams.md §10 name no model, so none is assumed (UNCONFIRMED).
pub fn takes_last_frame(model: &str) -> bool {
    is_v3(model) && !model.contains("turbo")
}

/// Whether the model makes audio at all (and so takes `sound`).
pub fn makes_audio(model: &str) -> bool {
    caps(model).2 != AudioSupport::None
}

/// The keys only a `kling` entry takes, and its model id: a legacy `model_name`, never a
/// new-standard path segment, an Omni model (another endpoint) or a reseller's id.
pub fn check(u: &UpstreamConfig) -> Result<(), String> {
    let n = &u.name;
    if u.kind != UpstreamKind::Kling {
        if u.auth.is_some() || u.token_ttl_secs.is_some() || u.usd_per_unit.is_some() {
            return Err(format!("upstream {n}: auth, token_ttl_secs and usd_per_unit apply to kind kling only"));
        }
        return Ok(());
    }
    let m = &u.model;
    if m.contains("omni") || m.contains("o1") {
        return Err(format!(
            "upstream {n}: model {m:?} is an Omni model, which vidgate does not call (docs/upstreams.md §10.1)"
        ));
    }
    if !m.starts_with("kling-v") && m != "kling-3.0-turbo" {
        return Err(format!(
            "upstream {n}: model {m:?} is not a Kling model_name; use the legacy name such as kling-v2-6 or \
             kling-v3 (docs/upstreams.md §10.1)"
        ));
    }
    if u.token_ttl_secs.is_some_and(|t| t < MIN_TOKEN_TTL_SECS) {
        return Err(format!("upstream {n}: token_ttl_secs must be at least {MIN_TOKEN_TTL_SECS}"));
    }
    if u.token_ttl_secs.is_some() && u.auth == Some(KlingAuth::ApiKey) {
        return Err(format!("upstream {n}: token_ttl_secs applies to auth = \"jwt\" only"));
    }
    if u.usd_per_unit.is_some_and(|p| p.micros() < 0) {
        return Err(format!("upstream {n}: prices must not be negative"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> UpstreamConfig {
        toml::from_str(text).expect("entry parses")
    }

    #[test]
    fn kling_2_6_makes_five_or_ten_seconds_at_1080p_with_switchable_audio_on_the_singapore_host() {
        let u = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v2-6\"\n");
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!((caps.durations.as_slice(), caps.sizes.as_slice()), ([5, 10].as_slice(), P1080.as_slice()));
        assert_eq!((caps.audio, caps.image_input, caps.guides.last_frame), (AudioSupport::Switchable, true, false));
        assert_eq!(u.effective_base_url(), "https://api-singapore.klingai.com");
        assert_eq!(u.auth.unwrap_or_default(), KlingAuth::Jwt);
    }

    #[test]
    fn kling_3_makes_three_to_fifteen_seconds_with_a_last_frame_and_older_models_are_silent() {
        let v3 = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v3\"\n").caps();
        assert_eq!((v3.durations[0], *v3.durations.last().unwrap(), v3.sizes.len()), (3, 15, 4));
        assert!(v3.guides.last_frame);
        let turbo = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-3.0-turbo\"\n").caps();
        assert_eq!((turbo.audio, turbo.guides.last_frame), (AudioSupport::Always, false));
        let old = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v2-5-turbo\"\n").caps();
        assert_eq!((old.audio, old.durations.as_slice(), old.sizes.len()), (AudioSupport::None, [5, 10].as_slice(), 4));
        let master = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v2-1-master\"\n").caps();
        assert_eq!(master.sizes, P1080.to_vec());
    }

    #[test]
    fn new_standard_omni_and_reseller_ids_and_foreign_keys_are_refused() {
        let check = |model: &str| entry(&format!("name = \"k\"\nkind = \"kling\"\nmodel = \"{model}\"\n")).check();
        assert!(check("kling-2.6").unwrap_err().contains("legacy name"));
        assert!(check("fal-ai/kling-video/v3").unwrap_err().contains("legacy name"));
        assert!(check("kling-v3-omni").unwrap_err().contains("Omni"));
        assert!(check("kling-video-o1").unwrap_err().contains("Omni"));
        let short = entry("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v3\"\ntoken_ttl_secs = 60\n");
        assert!(short.check().unwrap_err().contains("at least 61"));
        let vertex = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\nauth = \"api_key\"\n");
        assert!(vertex.check().unwrap_err().contains("kind kling only"));
    }
}
