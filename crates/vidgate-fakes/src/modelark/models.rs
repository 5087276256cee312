//! The Seedance models the fake serves, per flavour (docs/upstreams.md §8.1): BytePlus ids
//! without the `doubao-` prefix (2.x ones start `dreamina-`), Volcengine ids with it; audio,
//! whole-second length range and resolutions per model.
//!
//! Owns the model table. It must not check requests.

/// One served model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArkModel {
    /// The id in the `model` field.
    pub id: String,
    /// Whether `generate_audio` is honoured (2.x and 1.5 pro).
    pub audio: bool,
    /// Shortest clip, seconds.
    pub min_seconds: u32,
    /// Longest clip, seconds.
    pub max_seconds: u32,
    /// `480p`, `720p`, `1080p`.
    pub resolutions: &'static [&'static str],
}

const FULL: &[&str] = &["480p", "720p", "1080p"];
const NO_1080: &[&str] = &["480p", "720p"];

fn model(id: &str, audio: bool, seconds: (u32, u32), resolutions: &'static [&'static str]) -> ArkModel {
    ArkModel { id: id.into(), audio, min_seconds: seconds.0, max_seconds: seconds.1, resolutions }
}

/// BytePlus ModelArk's Seedance ids (docs/upstreams.md §8.1).
pub fn byteplus() -> Vec<ArkModel> {
    vec![
        model("dreamina-seedance-2-5-260628", true, (4, 30), NO_1080),
        model("dreamina-seedance-2-0-260128", true, (4, 15), FULL),
        model("dreamina-seedance-2-0-fast-260128", true, (4, 15), NO_1080),
        model("dreamina-seedance-2-0-mini-260615", true, (4, 15), NO_1080),
        model("seedance-1-5-pro-251215", true, (4, 12), FULL),
        model("seedance-1-0-pro-250528", false, (2, 12), FULL),
        model("seedance-1-0-pro-fast-251015", false, (2, 12), FULL),
    ]
}

/// Volcengine Ark's Seedance ids (docs/upstreams.md §8.1).
pub fn volcengine() -> Vec<ArkModel> {
    vec![
        model("doubao-seedance-2-0-260128", true, (4, 15), FULL),
        model("doubao-seedance-2-0-fast-260128", true, (4, 15), NO_1080),
        model("doubao-seedance-2-0-mini-260615", true, (4, 15), NO_1080),
        model("doubao-seedance-1-5-pro-251215", true, (4, 12), FULL),
        model("doubao-seedance-1-0-pro-250528", false, (2, 12), FULL),
        model("doubao-seedance-1-0-pro-fast-251015", false, (2, 12), FULL),
        model("doubao-seedance-1-0-lite-t2v-250428", false, (2, 12), NO_1080),
        model("doubao-seedance-1-0-lite-i2v-250428", false, (2, 12), FULL),
    ]
}
