//! fal.ai as an `[[upstreams]]` entry of kind `fal` (docs/upstreams.md §12): the per-endpoint
//! input mappings ([`FalModel`]: field names, how the length is encoded, allowed lengths and
//! sizes, audio), the ones vidgate ships (`fal_models.toml`, the same format an operator
//! writes under `[upstreams.fal_models."<endpoint id>"]`), what an entry makes, and the keys
//! only a `fal` entry takes.
//!
//! It must not build requests: that is the engine's provider, which reads the mapping.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::catalog::Size;
use crate::upstream::{AudioSupport, UpstreamConfig, UpstreamKind};

/// The queue host (docs/upstreams.md §12.1).
pub const DEFAULT_BASE_URL: &str = "https://queue.fal.run";

/// How an endpoint takes the clip's length (docs/upstreams.md §12.8 trap 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationEncoding {
    /// A string with an `s` suffix: `"8s"` (Veo 3.1).
    SecondsSuffix,
    /// A string of the whole seconds: `"5"` (Kling, Seedance, Wan 2.6).
    String,
    /// A JSON integer: `6` (LTX-2.3, Wan 2.7).
    Integer,
    /// A frame count, `seconds × fps + 1` (Wan 2.2, LTX-2 19B): the clip runs one frame
    /// longer than asked and is trimmed.
    Frames,
}

/// One fal endpoint's input mapping. Field names left empty are not sent.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FalModel {
    /// The prompt field (`prompt`).
    #[serde(default = "default_prompt_field")]
    pub prompt_field: String,
    /// The first-frame image field (`image_url`, Kling `start_image_url`); empty: the
    /// endpoint takes no image. The image goes as a `data:` URI.
    #[serde(default)]
    pub image_field: String,
    /// The length field (`duration`, `num_frames`).
    #[serde(default = "default_duration_field")]
    pub duration_field: String,
    pub duration: DurationEncoding,
    /// `frames`: the frame rate the frames are counted at.
    #[serde(default)]
    pub fps: u32,
    /// `frames`: the field the frame rate is sent in (empty: not sent).
    #[serde(default)]
    pub fps_field: String,
    /// The lengths it makes, whole seconds.
    pub durations: Vec<u32>,
    /// The sizes it makes (`WxH`, each a 720p, 1080p or 4k size).
    pub sizes: Vec<Size>,
    /// Per-size lengths where they are narrower (Veo: 1080p and 4k at 8 s only).
    #[serde(default)]
    pub durations_by_size: BTreeMap<Size, Vec<u32>>,
    /// The resolution field (`resolution`); empty: the endpoint has a fixed tier.
    #[serde(default)]
    pub resolution_field: String,
    /// The value sent per resolution name (`720p`, `1080p`, `4k`); a name not listed is
    /// sent as itself (LTX: `4k = "2160p"`).
    #[serde(default)]
    pub resolutions: BTreeMap<String, String>,
    /// The aspect-ratio field (`aspect_ratio`), sent as `16:9` or `9:16`; empty: not sent.
    #[serde(default)]
    pub aspect_ratio_field: String,
    /// Whether the endpoint makes audio: `none`, `switchable` (`audio_field` is sent) or
    /// `always`.
    pub audio: AudioSupport,
    /// The audio switch (`generate_audio`, on by default upstream, trap 8).
    #[serde(default)]
    pub audio_field: String,
    /// The negative prompt field, where the endpoint takes one.
    #[serde(default)]
    pub negative_prompt_field: String,
    /// The seed field, where the endpoint takes one.
    #[serde(default)]
    pub seed_field: String,
    /// Fixed fields sent on every job (Veo `auto_fix = false`, trap 14); the fields above
    /// win over a key of the same name.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn default_prompt_field() -> String {
    "prompt".into()
}
fn default_duration_field() -> String {
    "duration".into()
}

impl FalModel {
    /// The length value for `seconds`.
    pub fn duration_value(&self, seconds: u32) -> serde_json::Value {
        match self.duration {
            DurationEncoding::SecondsSuffix => format!("{seconds}s").into(),
            DurationEncoding::String => seconds.to_string().into(),
            DurationEncoding::Integer => seconds.into(),
            DurationEncoding::Frames => (seconds * self.fps + 1).into(),
        }
    }

    /// What a job of `seconds` really delivers, ms, where longer than asked (frame counts);
    /// 0: the length asked.
    pub fn delivered_ms(&self, seconds: u32) -> u64 {
        match self.duration {
            DurationEncoding::Frames if self.fps > 0 => {
                (u64::from(seconds * self.fps + 1) * 1000).div_ceil(u64::from(self.fps))
            }
            _ => 0,
        }
    }

    /// The value sent for a resolution name.
    pub fn resolution_value<'a>(&'a self, name: &'a str) -> &'a str {
        self.resolutions.get(name).map_or(name, String::as_str)
    }

    fn check(&self, endpoint: &str) -> Result<(), String> {
        let e = endpoint;
        if self.durations.is_empty() || self.durations.contains(&0) {
            return Err(format!("fal model {e}: durations must list positive whole seconds"));
        }
        if self.sizes.is_empty() || self.sizes.iter().any(|s| s.resolution_and_aspect().is_none()) {
            return Err(format!("fal model {e}: sizes must list 720p, 1080p or 4k sizes (WxH)"));
        }
        if self.duration == DurationEncoding::Frames && self.fps == 0 {
            return Err(format!("fal model {e}: duration = \"frames\" needs fps"));
        }
        if self.audio == AudioSupport::Switchable && self.audio_field.is_empty() {
            return Err(format!("fal model {e}: audio = \"switchable\" needs audio_field"));
        }
        if self.prompt_field.is_empty() || self.duration_field.is_empty() {
            return Err(format!("fal model {e}: prompt_field and duration_field must not be empty"));
        }
        Ok(())
    }
}

/// The mappings vidgate ships, by endpoint id (`fal_models.toml`).
pub fn shipped() -> &'static BTreeMap<String, FalModel> {
    #[derive(Deserialize)]
    struct Shipped {
        fal_models: BTreeMap<String, FalModel>,
    }
    static SHIPPED: OnceLock<BTreeMap<String, FalModel>> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let shipped: Shipped = toml::from_str(include_str!("fal_models.toml")).expect("fal_models.toml parses");
        shipped.fal_models
    })
}

/// Whether an endpoint id is `owner/app[/path…]` of plain segments (it goes into the URL).
pub fn valid_endpoint(id: &str) -> bool {
    let segments: Vec<&str> = id.split('/').collect();
    segments.len() >= 2
        && segments.iter().all(|s| {
            !s.is_empty()
                && *s != "."
                && *s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

impl UpstreamConfig {
    /// The mapping of a fal endpoint: the entry's own `fal_models`, then the shipped ones.
    pub fn fal_model(&self, endpoint: &str) -> Option<&FalModel> {
        self.fal_models.get(endpoint).or_else(|| shipped().get(endpoint))
    }
}

/// What a `fal` entry makes: its `model` (text-to-video) endpoint's mapping, and whether it
/// takes a first frame (its `image_model` maps an image field).
pub(crate) fn caps(u: &UpstreamConfig) -> Option<(&FalModel, bool)> {
    let m = u.fal_model(&u.model)?;
    let image = !u.image_model.is_empty() && u.fal_model(&u.image_model).is_some_and(|i| !i.image_field.is_empty());
    Some((m, image))
}

/// What a job of `seconds` on a `fal` entry really delivers (0: the length asked).
pub(crate) fn delivered_ms(u: &UpstreamConfig, seconds: u32) -> u64 {
    u.fal_model(&u.model).map_or(0, |m| m.delivered_ms(seconds))
}

/// The keys only a `fal` entry takes, and that its endpoints have mappings.
pub(crate) fn check(u: &UpstreamConfig) -> Result<(), String> {
    let n = &u.name;
    if u.kind != UpstreamKind::Fal {
        if !u.fal_models.is_empty() {
            return Err(format!("upstream {n}: fal_models applies to kind fal only"));
        }
        return Ok(());
    }
    for (endpoint, m) in &u.fal_models {
        if !valid_endpoint(endpoint) {
            return Err(format!("upstream {n}: fal_models key {endpoint:?} is not an endpoint id (owner/app[/path])"));
        }
        m.check(endpoint).map_err(|e| format!("upstream {n}: {e}"))?;
    }
    for endpoint in [&u.model, &u.image_model].into_iter().filter(|e| !e.is_empty()) {
        if !valid_endpoint(endpoint) {
            return Err(format!("upstream {n}: {endpoint:?} is not a fal endpoint id (owner/app[/path])"));
        }
        if u.fal_model(endpoint).is_none() {
            return Err(format!(
                "upstream {n}: fal endpoint {endpoint:?} has no shipped mapping; describe it in \
                 [upstreams.fal_models.\"{endpoint}\"] (docs/configuration.md)"
            ));
        }
    }
    if u.fal_model(&u.model).is_some_and(|m| !m.image_field.is_empty()) {
        return Err(format!(
            "upstream {n}: model {:?} maps an image_field (an image-to-video endpoint); name it in \
             image_model and a text-to-video endpoint in model",
            u.model
        ));
    }
    if !u.image_model.is_empty() && u.fal_model(&u.image_model).is_some_and(|m| m.image_field.is_empty()) {
        return Err(format!("upstream {n}: image_model {:?} maps no image_field", u.image_model));
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
    fn every_shipped_mapping_is_valid_and_the_families_encode_lengths_their_own_way() {
        for (endpoint, m) in shipped() {
            assert!(valid_endpoint(endpoint), "{endpoint}");
            m.check(endpoint).unwrap();
        }
        let m = |id: &str| shipped().get(id).unwrap_or_else(|| panic!("{id} shipped"));
        assert_eq!(m("fal-ai/veo3.1").duration_value(8), serde_json::json!("8s"));
        assert_eq!(m("fal-ai/kling-video/v3/pro/text-to-video").duration_value(5), serde_json::json!("5"));
        assert_eq!(m("fal-ai/ltx-2.3/text-to-video").duration_value(6), serde_json::json!(6));
        assert_eq!(m("bytedance/seedance-2.0/text-to-video").duration_value(4), serde_json::json!("4"));
        let wan = m("fal-ai/wan/v2.2-a14b/text-to-video");
        assert_eq!((wan.duration_value(5), wan.delivered_ms(5)), (serde_json::json!(81), 5063));
        assert_eq!(m("fal-ai/kling-video/v3/pro/image-to-video").image_field, "start_image_url");
        assert_eq!(m("fal-ai/ltx-2.3/text-to-video").resolution_value("4k"), "2160p");
    }

    #[test]
    fn an_entry_takes_its_caps_from_the_mapping_and_an_operator_mapping_wins() {
        let u = entry(
            "name = \"fal\"\nkind = \"fal\"\nmodel = \"fal-ai/veo3.1\"\nimage_model = \"fal-ai/veo3.1/image-to-video\"\n",
        );
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!((caps.durations, caps.audio, caps.image_input), (vec![4, 6, 8], AudioSupport::Switchable, true));
        assert_eq!(u.effective_base_url(), DEFAULT_BASE_URL);
        let custom = entry(
            "name = \"fal\"\nkind = \"fal\"\nmodel = \"acme/clip/t2v\"\n\
             [fal_models.\"acme/clip/t2v\"]\nduration = \"integer\"\ndurations = [3]\nsizes = [\"1280x720\"]\naudio = \"none\"\n",
        );
        custom.check().unwrap();
        assert_eq!((custom.caps().durations, custom.caps().image_input), (vec![3], false));
    }

    #[test]
    fn unknown_endpoints_bad_ids_and_foreign_keys_are_refused() {
        let unknown = entry("name = \"fal\"\nkind = \"fal\"\nmodel = \"acme/unknown\"\n");
        assert!(unknown.check().unwrap_err().contains("has no shipped mapping"));
        let bad = entry("name = \"fal\"\nkind = \"fal\"\nmodel = \"../x\"\n");
        assert!(bad.check().unwrap_err().contains("not a fal endpoint id"));
        let text_only =
            entry("name = \"fal\"\nkind = \"fal\"\nmodel = \"fal-ai/veo3.1\"\nimage_model = \"fal-ai/veo3.1/fast\"\n");
        assert!(text_only.check().unwrap_err().contains("maps no image_field"));
        let frames = entry(
            "name = \"fal\"\nkind = \"fal\"\nmodel = \"a/b\"\n\
             [fal_models.\"a/b\"]\nduration = \"frames\"\ndurations = [3]\nsizes = [\"1280x720\"]\naudio = \"none\"\n",
        );
        assert!(frames.check().unwrap_err().contains("needs fps"));
    }
}
