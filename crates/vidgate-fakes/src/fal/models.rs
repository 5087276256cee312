//! The fal endpoints the fake serves (digest §1 "Input schemas", docs/upstreams.md §12.3):
//! per endpoint id, how it takes the length (trap 6), its image field (trap 7), resolution
//! and aspect values, and whether it has the `generate_audio` switch (trap 8). Public, so a
//! test can serve an endpoint of its own ([`super::FakeFal::serve`]).
//!
//! Owns the model table. It must not check requests.

/// How an endpoint takes the clip's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Length {
    /// A string `"<n>s"` with n in the list (Veo 3.1).
    Suffixed(Vec<u32>),
    /// A string of digits in the list (Kling, Seedance, Wan 2.6); `auto` as well when
    /// `auto_seconds` is set (Seedance 2.0: the length is the model's choice, trap 9).
    Digits { values: Vec<u32>, auto_seconds: Option<u32> },
    /// A JSON integer in the list (LTX-2.3, Wan 2.7).
    Integer(Vec<u32>),
    /// A frame count in `min..=max` with the rate in `fps_field` (default `fps`) (Wan 2.2).
    Frames { min: u32, max: u32, fps_field: String, fps: u32 },
}

/// One served endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FalEndpoint {
    /// `owner/app[/path]`.
    pub id: String,
    /// The length field (`duration`, `num_frames`).
    pub length_field: String,
    pub length: Length,
    /// The length when the field is omitted, seconds (frames: the frame count).
    pub default_length: u32,
    /// The first-frame field, required when set (`image_url`, `start_image_url`).
    pub image_field: Option<String>,
    /// The resolution field and its values with their short side in pixels; without one
    /// the tier is fixed at `fixed_short_side`.
    pub resolution_field: Option<String>,
    pub resolutions: Vec<(String, u32)>,
    pub fixed_short_side: u32,
    /// The aspect field and its values (`16:9`, `9:16`, `1:1`, `auto`).
    pub aspect_field: Option<String>,
    pub aspects: Vec<String>,
    /// The audio switch (`generate_audio`, default true).
    pub audio_field: Option<String>,
    /// Other fields the schema has (accepted as they are).
    pub other_fields: Vec<String>,
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| s(x)).collect()
}

fn tiers(v: &[(&str, u32)]) -> Vec<(String, u32)> {
    v.iter().map(|(n, px)| (s(n), *px)).collect()
}

impl FalEndpoint {
    /// An endpoint with `prompt` and `length` only, 720p fixed, no aspect or audio.
    pub fn new(id: &str, length_field: &str, length: Length, default_length: u32) -> Self {
        FalEndpoint {
            id: s(id),
            length_field: s(length_field),
            length,
            default_length,
            image_field: None,
            resolution_field: None,
            resolutions: Vec::new(),
            fixed_short_side: 720,
            aspect_field: None,
            aspects: Vec::new(),
            audio_field: None,
            other_fields: Vec::new(),
        }
    }

    /// With a resolution field and its values.
    pub fn resolution(mut self, field: &str, values: &[(&str, u32)]) -> Self {
        self.resolution_field = Some(s(field));
        self.resolutions = tiers(values);
        self
    }

    /// With an aspect field and its values.
    pub fn aspect(mut self, field: &str, values: &[&str]) -> Self {
        self.aspect_field = Some(s(field));
        self.aspects = strings(values);
        self
    }

    /// With a required first-frame field.
    pub fn image(mut self, field: &str) -> Self {
        self.image_field = Some(s(field));
        self
    }

    /// With an audio switch (default on).
    pub fn audio(mut self, field: &str) -> Self {
        self.audio_field = Some(s(field));
        self
    }

    /// With other accepted fields.
    pub fn others(mut self, fields: &[&str]) -> Self {
        self.other_fields.extend(strings(fields));
        self
    }

    /// The app part of the id (`owner/app`), which status and result URLs keep (trap 1).
    pub fn app(&self) -> String {
        self.id.split('/').take(2).collect::<Vec<_>>().join("/")
    }
}

const VEO_RES: &[(&str, u32)] = &[("720p", 720), ("1080p", 1080), ("4k", 2160)];
const SEEDANCE_RES: &[(&str, u32)] = &[("480p", 480), ("720p", 720), ("1080p", 1080), ("4k", 2160)];
const LTX_RES: &[(&str, u32)] = &[("1080p", 1080), ("1440p", 1440), ("2160p", 2160)];
const WIDE: &[&str] = &["16:9", "9:16"];

fn veo(id: &str, image: bool) -> FalEndpoint {
    let e = FalEndpoint::new(id, "duration", Length::Suffixed(vec![4, 6, 8]), 8)
        .resolution("resolution", VEO_RES)
        .audio("generate_audio")
        .others(&["negative_prompt", "seed", "auto_fix", "safety_tolerance"]);
    if image {
        e.image("image_url").aspect("aspect_ratio", &["auto", "16:9", "9:16"])
    } else {
        e.aspect("aspect_ratio", WIDE)
    }
}

fn kling(id: &str, short: u32, image: bool) -> FalEndpoint {
    let mut e = FalEndpoint::new(id, "duration", Length::Digits { values: (3..=15).collect(), auto_seconds: None }, 5)
        .audio("generate_audio")
        .others(&["negative_prompt", "cfg_scale", "voice_ids", "elements", "multi_prompt"]);
    e.fixed_short_side = short;
    if image {
        e.image("start_image_url").others(&["end_image_url"])
    } else {
        e.aspect("aspect_ratio", &["16:9", "9:16", "1:1"])
    }
}

fn seedance(id: &str, image: bool) -> FalEndpoint {
    let length = Length::Digits { values: (4..=15).collect(), auto_seconds: Some(5) };
    let e = FalEndpoint::new(id, "duration", length, 0)
        .resolution("resolution", SEEDANCE_RES)
        .aspect("aspect_ratio", &["auto", "21:9", "16:9", "4:3", "1:1", "3:4", "9:16"])
        .audio("generate_audio")
        .others(&["seed"]);
    if image { e.image("image_url").others(&["end_image_url"]) } else { e }
}

fn ltx(id: &str, image: bool) -> FalEndpoint {
    let e = FalEndpoint::new(id, "duration", Length::Integer(vec![6, 8, 10]), 6)
        .resolution("resolution", LTX_RES)
        .audio("generate_audio");
    if image {
        e.image("image_url").aspect("aspect_ratio", &["auto", "16:9", "9:16"])
    } else {
        e.aspect("aspect_ratio", WIDE)
    }
}

fn wan22(id: &str, image: bool) -> FalEndpoint {
    let length = Length::Frames { min: 17, max: 161, fps_field: s("frames_per_second"), fps: 16 };
    let e = FalEndpoint::new(id, "num_frames", length, 81)
        .resolution("resolution", &[("480p", 480), ("580p", 580), ("720p", 720)])
        .others(&["negative_prompt", "seed", "adjust_fps_for_interpolation"]);
    if image { e.image("image_url") } else { e.aspect("aspect_ratio", &["16:9", "9:16", "1:1"]) }
}

/// The endpoints of digest §1 the fake serves.
pub fn all() -> Vec<FalEndpoint> {
    let wan_hd = &[("720p", 720), ("1080p", 1080)];
    vec![
        veo("fal-ai/veo3.1", false),
        veo("fal-ai/veo3.1/fast", false),
        veo("fal-ai/veo3.1/image-to-video", true),
        veo("fal-ai/veo3.1/fast/image-to-video", true),
        kling("fal-ai/kling-video/v3/pro/text-to-video", 1080, false),
        kling("fal-ai/kling-video/v3/pro/image-to-video", 1080, true),
        kling("fal-ai/kling-video/v3/standard/text-to-video", 720, false),
        seedance("bytedance/seedance-2.0/text-to-video", false),
        seedance("bytedance/seedance-2.0/image-to-video", true),
        ltx("fal-ai/ltx-2.3/text-to-video", false),
        ltx("fal-ai/ltx-2.3/image-to-video", true),
        wan22("fal-ai/wan/v2.2-a14b/text-to-video", false),
        wan22("fal-ai/wan/v2.2-a14b/image-to-video", true),
        FalEndpoint::new(
            "wan/v2.6/image-to-video",
            "duration",
            Length::Digits { values: vec![5, 10, 15], auto_seconds: None },
            5,
        )
        .image("image_url")
        .resolution("resolution", wan_hd)
        .others(&["negative_prompt", "seed", "audio_url"]),
        FalEndpoint::new("fal-ai/wan/v2.7/text-to-video", "duration", Length::Integer((2..=15).collect()), 5)
            .resolution("resolution", wan_hd)
            .aspect("aspect_ratio", &["16:9", "9:16", "1:1", "4:3", "3:4"])
            .others(&["negative_prompt", "seed", "audio_url"]),
    ]
}
