//! Runway's Developer API as an `[[upstreams]]` entry of kind `runway` (docs/upstreams.md
//! §13): the public host, the `X-Runway-Version` sent on every call, what each model id
//! makes (lengths, pixel `ratio` sizes, audio, last frame), and the keys only a `runway`
//! entry takes.
//!
//! It must not build requests: that is the engine's provider.

use std::collections::BTreeMap;

use crate::catalog::Size;
use crate::money::Usd;
use crate::upstream::{AudioSupport, GuideCaps, P720, RouteCaps, UpstreamConfig, UpstreamKind, VEO_SIZES};

/// The API host (docs/upstreams.md §13.1; `api.runwayml.com` answers 401, §13.8 trap 1).
pub const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com";

/// The `X-Runway-Version` every call carries (§13.2), unless the entry sets `api_version`.
pub const DEFAULT_API_VERSION: &str = "2024-11-06";

/// What one Runway credit costs (§13.7: 1 credit = $0.01), unless the entry sets
/// `usd_per_credit`.
pub const DEFAULT_USD_PER_CREDIT: Usd = Usd(10_000);

/// The model ids vidgate calls: text-to-video and image-to-video ids whose size field is a
/// pixel `ratio` (§13.1). `gen4_turbo` makes no text-to-video; the newer ids take aspect
/// ratios or a `resolution` instead of pixels (§13.8 trap 3), which the adapter does not send.
const KNOWN: [&str; 8] =
    ["gen4.5", "veo3.1", "veo3.1_fast", "veo3", "seedance2", "seedance2_fast", "seedance2_mini", "gemini_omni_flash"];

/// Whether the model takes the `audio` flag (§13.3: veo3.1, veo3.1_fast, seedance2*).
pub fn takes_audio(model: &str) -> bool {
    model.starts_with("veo3.1") || model.starts_with("seedance2")
}

/// Whether the model takes `negativePrompt` (§13.3: the Veo ids).
pub fn takes_negative_prompt(model: &str) -> bool {
    model.starts_with("veo3")
}

/// Whether the model takes `seed` (§13.3: gen4.5, veo3.1, seedance2).
pub fn takes_seed(model: &str) -> bool {
    model == "gen4.5" || model == "veo3.1" || model.starts_with("seedance2")
}

/// The longest `promptText` in UTF-16 units (§13.3: 1000 for gen4.5 and Veo, 3500 for
/// Seedance 2); gemini_omni_flash's is not given, so 1000 is assumed.
pub fn max_prompt_units(model: &str) -> usize {
    if model.starts_with("seedance2") { 3500 } else { 1000 }
}

/// What a model id makes (§13.1): gen4.5 whole seconds 2–10 at 1280:720 and 720:1280,
/// silent; veo3.1 and veo3.1_fast 4, 6 or 8 s at the four Veo sizes with switchable audio and
/// a last frame; veo3 exactly 8 s (its audio flag is UNCONFIRMED, so none is promised);
/// Seedance 2 switchable audio, 720p only on fast and mini, lengths UNCONFIRMED (4–15 as on
/// ModelArk); gemini_omni_flash 3–10 s at 720p, silent (UNCONFIRMED).
pub fn caps(model: &str) -> RouteCaps {
    let (durations, sizes, audio, last_frame): (Vec<u32>, Vec<Size>, AudioSupport, bool) = match model {
        "veo3.1" | "veo3.1_fast" => (vec![4, 6, 8], VEO_SIZES.to_vec(), AudioSupport::Switchable, true),
        "veo3" => (vec![8], VEO_SIZES.to_vec(), AudioSupport::None, false),
        "seedance2" => ((4..=15).collect(), VEO_SIZES.to_vec(), AudioSupport::Switchable, false),
        "seedance2_fast" | "seedance2_mini" => ((4..=15).collect(), P720.to_vec(), AudioSupport::Switchable, false),
        "gemini_omni_flash" => ((3..=10).collect(), P720.to_vec(), AudioSupport::None, false),
        _ => ((2..=10).collect(), P720.to_vec(), AudioSupport::None, false),
    };
    RouteCaps {
        durations,
        sizes,
        durations_by_size: BTreeMap::new(),
        audio,
        image_input: true,
        extension: None,
        guides: GuideCaps { last_frame, ..GuideCaps::default() },
    }
}

/// The keys only a `runway` entry takes, and its model id.
pub fn check(u: &UpstreamConfig) -> Result<(), String> {
    let n = &u.name;
    if u.kind != UpstreamKind::Runway {
        if !u.api_version.is_empty() || u.usd_per_credit.is_some() {
            return Err(format!("upstream {n}: api_version and usd_per_credit apply to kind runway only"));
        }
        return Ok(());
    }
    let m = u.model.as_str();
    if m == "gen4_turbo" {
        return Err(format!(
            "upstream {n}: gen4_turbo makes image-to-video only; a route must make text-to-video too \
             (docs/upstreams.md §13.8 trap 4)"
        ));
    }
    if !KNOWN.contains(&m) {
        return Err(format!(
            "upstream {n}: model {m:?} is not one vidgate calls on Runway; use one of {} (docs/upstreams.md §13.1)",
            KNOWN.join(", ")
        ));
    }
    let version = &u.api_version;
    if !version.is_empty() && !version.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Err(format!("upstream {n}: api_version must be a date such as {DEFAULT_API_VERSION}"));
    }
    if u.usd_per_credit.is_some_and(|p| p.micros() < 0) {
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
    fn gen4_5_makes_two_to_ten_seconds_at_720p_silent_on_the_dev_host() {
        let u = entry("name = \"r\"\nkind = \"runway\"\nmodel = \"gen4.5\"\n");
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!((caps.durations.clone(), caps.sizes.clone()), ((2..=10).collect::<Vec<_>>(), P720.to_vec()));
        assert_eq!((caps.audio, caps.image_input, caps.guides.last_frame), (AudioSupport::None, true, false));
        assert_eq!(u.effective_base_url(), "https://api.dev.runwayml.com");
    }

    #[test]
    fn veo_3_1_on_runway_makes_four_six_or_eight_seconds_with_audio_and_a_last_frame() {
        let caps = entry("name = \"r\"\nkind = \"runway\"\nmodel = \"veo3.1_fast\"\n").caps();
        assert_eq!((caps.durations.as_slice(), caps.sizes.len()), ([4, 6, 8].as_slice(), 4));
        assert_eq!((caps.audio, caps.guides.last_frame), (AudioSupport::Switchable, true));
        assert_eq!(entry("name = \"r\"\nkind = \"runway\"\nmodel = \"veo3\"\n").caps().durations, [8]);
        assert!(takes_audio("seedance2_mini") && !takes_audio("gen4.5"));
    }

    #[test]
    fn image_only_and_aspect_ratio_models_and_foreign_keys_are_refused() {
        let check = |model: &str| entry(&format!("name = \"r\"\nkind = \"runway\"\nmodel = \"{model}\"\n")).check();
        assert!(check("gen4_turbo").unwrap_err().contains("image-to-video only"));
        assert!(check("hailuo3").unwrap_err().contains("not one vidgate calls"));
        let bad_version = entry("name = \"r\"\nkind = \"runway\"\nmodel = \"gen4.5\"\napi_version = \"x y\"\n");
        assert!(bad_version.check().unwrap_err().contains("api_version"));
        let vertex = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\nusd_per_credit = \"0.01\"\n");
        assert!(vertex.check().unwrap_err().contains("kind runway only"));
    }
}
