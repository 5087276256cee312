//! The catalog (rate card): which models exist, under which aliases, what each offers
//! (durations, sizes, image input, native audio), what it costs, and the ordered upstream
//! routes that can run it. It is configuration: the shipped default below, or `[[models]]`
//! in the config file.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use crate::money::Usd;

/// The shipped default catalog (docs/api.md §11).
pub const DEFAULT_CATALOG_TOML: &str = include_str!("catalog_default.toml");

/// A frame size, `WIDTHxHEIGHT`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    /// A size.
    pub const fn new(width: u32, height: u32) -> Self {
        Size { width, height }
    }

    /// The size for a resolution name (`720p`, `1080p`, `4k`) and an aspect ratio (`16:9`, `9:16`).
    pub fn from_resolution(resolution: Resolution, aspect: AspectRatio) -> Size {
        let short = resolution.short_side();
        let long = short * 16 / 9;
        match aspect {
            AspectRatio::Landscape => Size::new(long, short),
            AspectRatio::Portrait => Size::new(short, long),
        }
    }

    /// The resolution name and aspect ratio of this size, when it has one.
    pub fn resolution_and_aspect(self) -> Option<(Resolution, AspectRatio)> {
        [Resolution::P720, Resolution::P1080, Resolution::P2160].into_iter().find_map(|r| {
            [AspectRatio::Landscape, AspectRatio::Portrait]
                .into_iter()
                .find(|a| Size::from_resolution(r, *a) == self)
                .map(|a| (r, a))
        })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

impl fmt::Debug for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Size {
    type Err = ();
    /// `"1280x720"`; both sides 1..=8192, plain digits only.
    fn from_str(s: &str) -> Result<Size, ()> {
        let (w, h) = s.split_once('x').ok_or(())?;
        let side = |t: &str| -> Result<u32, ()> {
            if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| b.is_ascii_digit()) || t.starts_with('0') {
                return Err(());
            }
            let v: u32 = t.parse().map_err(|_| ())?;
            if (1..=8192).contains(&v) { Ok(v) } else { Err(()) }
        };
        Ok(Size::new(side(w)?, side(h)?))
    }
}

impl serde::Serialize for Size {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| serde::de::Error::custom(format!("invalid size {text:?}, expected WIDTHxHEIGHT")))
    }
}

/// `720p`, `1080p` or `4k` (2160 lines, 3840x2160 or 2160x3840; Veo's spelling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    P720,
    P1080,
    P2160,
}

impl Resolution {
    /// Parses `720p` / `1080p` / `4k`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "720p" => Some(Self::P720),
            "1080p" => Some(Self::P1080),
            "4k" => Some(Self::P2160),
            _ => None,
        }
    }

    /// The short side in pixels.
    pub fn short_side(self) -> u32 {
        match self {
            Self::P720 => 720,
            Self::P1080 => 1080,
            Self::P2160 => 2160,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P720 => "720p",
            Self::P1080 => "1080p",
            Self::P2160 => "4k",
        }
    }
}

/// `16:9` or `9:16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AspectRatio {
    Landscape,
    Portrait,
}

impl AspectRatio {
    /// Parses `16:9` / `9:16`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "16:9" => Some(Self::Landscape),
            "9:16" => Some(Self::Portrait),
            _ => None,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landscape => "16:9",
            Self::Portrait => "9:16",
        }
    }
}

/// What a running task's cancel costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelPolicy {
    /// Release the whole hold (the default).
    Free,
    /// Capture the full estimate.
    Charge,
}

/// One model of the catalog, as written in config.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default = "default_owner")]
    pub owned_by: String,
    #[serde(default)]
    pub image_to_video: bool,
    #[serde(default)]
    pub native_audio: bool,
    /// Takes a `last_frame` (first-and-last-frame interpolation).
    #[serde(default)]
    pub last_frame: bool,
    /// Takes `reference_images`.
    #[serde(default)]
    pub reference_images: bool,
    pub durations: Vec<u32>,
    pub default_duration: u32,
    pub sizes: Vec<Size>,
    pub default_size: Size,
    pub max_prompt_chars: u32,
    pub usd_per_second: Usd,
    #[serde(default)]
    pub price_by_size: BTreeMap<Size, Usd>,
    #[serde(default = "default_cancel_policy")]
    pub cancel_policy: CancelPolicy,
    /// Names of configured upstreams, in order of preference, that serve live keys.
    #[serde(default)]
    pub routes: Vec<String>,
}

fn default_owner() -> String {
    "vidgate".into()
}

fn default_cancel_policy() -> CancelPolicy {
    CancelPolicy::Free
}

impl ModelSpec {
    /// USD per second at this size.
    pub fn rate_for(&self, size: Size) -> Usd {
        self.price_by_size.get(&size).copied().unwrap_or(self.usd_per_second)
    }

    /// Whether a duration is on the menu.
    pub fn offers_duration(&self, seconds: u32) -> bool {
        self.durations.contains(&seconds)
    }

    /// Whether a size is on the menu.
    pub fn offers_size(&self, size: Size) -> bool {
        self.sizes.contains(&size)
    }

    fn check(&self) -> Result<(), String> {
        let id = &self.id;
        if id.is_empty() || self.durations.is_empty() || self.sizes.is_empty() {
            return Err(format!("model {id:?}: id, durations and sizes must not be empty"));
        }
        if !self.offers_duration(self.default_duration) {
            return Err(format!("model {id}: default_duration {} is not in durations", self.default_duration));
        }
        if !self.offers_size(self.default_size) {
            return Err(format!("model {id}: default_size {} is not in sizes", self.default_size));
        }
        if self.durations.iter().any(|d| *d == 0 || *d > 600) {
            return Err(format!("model {id}: durations must be 1..=600 seconds"));
        }
        if let Some(size) = self.price_by_size.keys().find(|s| !self.offers_size(**s)) {
            return Err(format!("model {id}: price_by_size names {size}, which is not in sizes"));
        }
        if self.usd_per_second.micros() < 0 || self.price_by_size.values().any(|p| p.micros() < 0) {
            return Err(format!("model {id}: prices must not be negative"));
        }
        if self.max_prompt_chars == 0 {
            return Err(format!("model {id}: max_prompt_chars must be positive"));
        }
        Ok(())
    }
}

/// The whole rate card, with alias resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalog {
    models: Vec<ModelSpec>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    models: Vec<ModelSpec>,
}

impl Catalog {
    /// A catalog from model specs; refuses duplicate ids or aliases and inconsistent menus.
    pub fn new(models: Vec<ModelSpec>) -> Result<Catalog, String> {
        if models.is_empty() {
            return Err("the catalog has no models".into());
        }
        let mut names = HashSet::new();
        for m in &models {
            m.check()?;
            for name in std::iter::once(&m.id).chain(&m.aliases) {
                if !names.insert(name.clone()) {
                    return Err(format!("model name {name:?} appears twice in the catalog"));
                }
            }
        }
        Ok(Catalog { models })
    }

    /// The shipped default catalog.
    pub fn shipped() -> Catalog {
        let file: CatalogFile = toml::from_str(DEFAULT_CATALOG_TOML).expect("shipped catalog parses");
        Catalog::new(file.models).expect("shipped catalog is consistent")
    }

    /// The model with this id or alias.
    pub fn resolve(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.id == name || m.aliases.iter().any(|a| a == name))
    }

    /// Every model, in catalog order.
    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_has_the_five_models_of_the_contract_the_seedance_line_wan_and_kling() {
        let c = Catalog::shipped();
        let ids: Vec<_> = c.models().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "veo3.1",
                "veo3.1-fast",
                "veo3.1-lite",
                "sora2",
                "sora2-pro",
                "seedance2",
                "seedance2-fast",
                "seedance-2.0-pro-fast",
                "seedance-1.5-pro",
                "wan2.6",
                "minimax-h3",
                "hailuo-2.3",
                "kling2.6",
                "kling3.0",
                "ltx-2.3",
                "gen4.5",
                "ray-3.2",
                "ray-2"
            ]
        );
        assert_eq!(c.resolve("veo-3.1").unwrap().id, "veo3.1");
        let pro = c.resolve("sora-2-pro").unwrap();
        assert_eq!(pro.rate_for(Size::new(1280, 720)), Usd(300_000));
        assert_eq!(pro.rate_for(Size::new(1080, 1920)), Usd(500_000));
        assert_eq!(c.resolve("veo3.1").unwrap().usd_per_second, Usd(400_000));
        assert!(c.resolve("veo3.1").unwrap().native_audio);
        assert!(!c.resolve("veo3.1-fast").unwrap().native_audio);
    }

    #[test]
    fn the_seedance_models_answer_to_both_hosted_slugs_with_audio_and_whole_second_lengths() {
        let c = Catalog::shipped();
        assert_eq!(c.resolve("seedance-fast").unwrap().id, "seedance2-fast");
        assert_eq!(c.resolve("seedance-2.0").unwrap().id, "seedance2");
        assert_eq!(c.resolve("seedance-pro").unwrap().id, "seedance-1.5-pro");
        let fast = c.resolve("seedance2-fast").unwrap();
        assert_eq!((fast.durations.as_slice(), fast.sizes.len()), ([4, 5].as_slice(), 2));
        let pro = c.resolve("seedance-1.5-pro").unwrap();
        assert_eq!(pro.default_size, Size::new(1920, 1080));
        assert_eq!(pro.rate_for(Size::new(1280, 720)), Usd(84_000));
        assert_eq!(pro.rate_for(Size::new(1080, 1920)), Usd(150_000));
        assert!(c.models().iter().filter(|m| m.owned_by == "bytedance").all(|m| m.native_audio && m.image_to_video));
    }

    #[test]
    fn wan_2_6_makes_two_to_fifteen_whole_seconds_with_audio_above_its_upstream_price() {
        let wan = Catalog::shipped().resolve("wan-2.6").unwrap().clone();
        assert_eq!((wan.id.as_str(), wan.native_audio, wan.image_to_video), ("wan2.6", true, true));
        assert_eq!((wan.durations[0], *wan.durations.last().unwrap()), (2, 15));
        // Upstream $0.10 and $0.15 per second (docs/upstreams.md §9.7).
        assert_eq!(wan.rate_for(Size::new(1280, 720)), Usd(140_000));
        assert_eq!(wan.rate_for(Size::new(1080, 1920)), Usd(210_000));
    }

    #[test]
    fn kling_2_6_makes_five_or_ten_seconds_at_1080p_with_audio_above_its_upstream_price() {
        let kling = Catalog::shipped().resolve("kling-2.6").unwrap().clone();
        assert_eq!((kling.id.as_str(), kling.native_audio, kling.image_to_video), ("kling2.6", true, true));
        assert_eq!(kling.durations, [5, 10]);
        // Upstream about $0.14 per second with audio (docs/upstreams.md §10.7).
        assert_eq!(kling.rate_for(Size::new(1080, 1920)), Usd(200_000));
        let v3 = Catalog::shipped().resolve("kling-v3").unwrap().clone();
        assert_eq!(
            (v3.id.as_str(), v3.last_frame, v3.durations[0], *v3.durations.last().unwrap()),
            ("kling3.0", true, 3, 15)
        );
        // Upstream about $0.126 and $0.168 per second with audio (§10.7).
        assert_eq!(
            (v3.rate_for(Size::new(1280, 720)), v3.rate_for(Size::new(1920, 1080))),
            (Usd(180_000), Usd(240_000))
        );
    }

    #[test]
    fn sizes_parse_strictly() {
        assert_eq!("1280x720".parse::<Size>(), Ok(Size::new(1280, 720)));
        for bad in ["1280X720", "1280x", "x720", "01280x720", "1280x720x1", "-1x5", "99999x1", "0x0", " 1x1"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
    }

    #[test]
    fn resolution_and_aspect_normalise_to_sizes() {
        assert_eq!(Size::from_resolution(Resolution::P720, AspectRatio::Landscape), Size::new(1280, 720));
        assert_eq!(Size::from_resolution(Resolution::P1080, AspectRatio::Portrait), Size::new(1080, 1920));
        assert_eq!(Size::new(720, 1280).resolution_and_aspect(), Some((Resolution::P720, AspectRatio::Portrait)));
        assert_eq!(Size::new(160, 90).resolution_and_aspect(), None);
        assert_eq!(Size::from_resolution(Resolution::P2160, AspectRatio::Landscape), Size::new(3840, 2160));
        assert_eq!(Size::new(2160, 3840).resolution_and_aspect(), Some((Resolution::P2160, AspectRatio::Portrait)));
        assert_eq!(Resolution::parse("4k").map(Resolution::as_str), Some("4k"));
    }

    #[test]
    fn a_duplicate_alias_is_refused() {
        let mut m = Catalog::shipped().models()[0].clone();
        m.id = "other".into();
        let err = Catalog::new(vec![Catalog::shipped().models()[0].clone(), m]).unwrap_err();
        assert!(err.contains("veo-3.1"), "{err}");
    }
}
