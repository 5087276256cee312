//! Luma's Ray models as an `[[upstreams]]` entry of kind `luma` (docs/upstreams.md §14): the
//! model id picks the API (`ray-3.2` the current Luma Agents API, `ray-2`, `ray-flash-2`,
//! `ray-1-6` the legacy Dream Machine API), its public host, and what each id makes.
//!
//! It must not build requests: that is the engine's provider.

use std::collections::BTreeMap;

use crate::upstream::{AudioSupport, GuideCaps, P720, RouteCaps, UpstreamConfig, UpstreamKind, VEO_SIZES};

/// The Luma Agents API (§14.1).
pub const AGENTS_BASE_URL: &str = "https://agents.lumalabs.ai/v1";
/// The legacy Dream Machine API (§14.1).
pub const DREAM_MACHINE_BASE_URL: &str = "https://api.lumalabs.ai/dream-machine/v1";

/// Which of Luma's two APIs an entry speaks (§14.8 trap 1: one per entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LumaApi {
    /// `POST /v1/generations` with `type: "video"`, `video.duration`, `output[].url`.
    Agents,
    /// `POST /generations/video` with top-level `duration`, `assets.video`.
    DreamMachine,
}

const AGENTS_MODELS: [&str; 1] = ["ray-3.2"];
const DREAM_MACHINE_MODELS: [&str; 3] = ["ray-2", "ray-flash-2", "ray-1-6"];

/// The API a model id belongs to; `None` for an id vidgate does not call.
pub fn api(model: &str) -> Option<LumaApi> {
    if AGENTS_MODELS.contains(&model) {
        Some(LumaApi::Agents)
    } else if DREAM_MACHINE_MODELS.contains(&model) {
        Some(LumaApi::DreamMachine)
    } else {
        None
    }
}

/// The public base of the model's API.
pub fn default_base_url(model: &str) -> &'static str {
    match api(model) {
        Some(LumaApi::DreamMachine) => DREAM_MACHINE_BASE_URL,
        _ => AGENTS_BASE_URL,
    }
}

/// What a model id makes (§14.1, §14.7): ray-3.2 5 or 10 s, with a first and a last frame
/// (inline, §14.3a); the Dream Machine ids 5 or 9 s (ray-1-6: 5 s at 720p), from text only
/// because their images must be public URLs (§14.8 trap 6), which vidgate does not hand out.
/// None makes audio. The 720p and 1080p pixel sizes are UNCONFIRMED (Luma names
/// resolutions and aspect ratios, not pixels); an entry's `sizes` overrides them.
pub fn caps(model: &str) -> RouteCaps {
    let (durations, sizes, image) = match (api(model), model) {
        (Some(LumaApi::Agents), _) => (vec![5, 10], VEO_SIZES.to_vec(), true),
        (_, "ray-1-6") => (vec![5], P720.to_vec(), false),
        _ => (vec![5, 9], VEO_SIZES.to_vec(), false),
    };
    RouteCaps {
        durations,
        sizes,
        durations_by_size: BTreeMap::new(),
        audio: AudioSupport::None,
        image_input: image,
        extension: None,
        guides: GuideCaps { last_frame: image, ..GuideCaps::default() },
    }
}

/// A `luma` entry's model id.
pub fn check(u: &UpstreamConfig) -> Result<(), String> {
    if u.kind != UpstreamKind::Luma || api(&u.model).is_some() {
        return Ok(());
    }
    Err(format!(
        "upstream {}: model {:?} is not a Luma video model vidgate calls; use ray-3.2 (Agents API) or ray-2, \
         ray-flash-2, ray-1-6 (Dream Machine API) (docs/upstreams.md §14.1)",
        u.name, u.model
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(model: &str) -> UpstreamConfig {
        toml::from_str(&format!("name = \"l\"\nkind = \"luma\"\nmodel = \"{model}\"\n")).expect("entry parses")
    }

    #[test]
    fn ray_3_2_speaks_the_agents_api_with_five_or_ten_seconds_and_both_frames() {
        let u = entry("ray-3.2");
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!((caps.durations.as_slice(), caps.sizes.len()), ([5, 10].as_slice(), 4));
        assert_eq!((caps.audio, caps.image_input, caps.guides.last_frame), (AudioSupport::None, true, true));
        assert_eq!(u.effective_base_url(), "https://agents.lumalabs.ai/v1");
    }

    #[test]
    fn dream_machine_ids_make_five_or_nine_seconds_from_text_on_the_legacy_host() {
        let u = entry("ray-2");
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!((caps.durations.as_slice(), caps.image_input), ([5, 9].as_slice(), false));
        assert_eq!(u.effective_base_url(), "https://api.lumalabs.ai/dream-machine/v1");
        assert_eq!(entry("ray-1-6").caps().durations, [5]);
        assert!(entry("ray-3").check().unwrap_err().contains("not a Luma video model"));
    }
}
