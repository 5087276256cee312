//! A client's submit, as typed values. [`parse`] turns the JSON body of
//! `POST /v1/videos/generations` and `POST /v1/tasks/submit` into a [`SubmitRequest`];
//! past that edge there are no raw strings for sizes, durations or money.

pub mod fingerprint;
pub mod openai;
pub mod parse;
#[cfg(any(test, feature = "testkit"))]
pub mod parse_cases;

use std::collections::BTreeMap;

use crate::catalog::Size;

pub use parse::body::echo;
pub use parse::{ParseOptions, SubmitLimits, check_out_task_id, parse_submit};

/// The MIME types a source image may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageMime {
    Png,
    Jpeg,
    Webp,
}

impl ImageMime {
    /// `image/png` and so on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    /// Parses `image/png`, `image/jpeg` (also `image/jpg`), `image/webp`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "image/png" => Some(Self::Png),
            "image/jpeg" | "image/jpg" => Some(Self::Jpeg),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    /// Sniffs the type from the first bytes of an image.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }
}

/// Where the image of an image-to-video request comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceImageInput {
    /// To be fetched during the submit, through the SSRF guard.
    Url(url::Url),
    /// Already in the request (a data URI or an uploaded file).
    Inline { mime: ImageMime, bytes: Vec<u8> },
}

/// What a reference image gives the video: a subject (`asset`) or a look (`style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuideRole {
    /// The frame the video ends on (interpolation from the first frame).
    LastFrame,
    /// A reference image of a subject to keep (Veo `referenceType: "asset"`).
    Asset,
    /// A reference image of a style to follow (`"style"`; no Veo 3.1 route makes it).
    Style,
}

impl GuideRole {
    /// The wire spelling (`last_frame`, `asset`, `style`).
    pub fn as_str(self) -> &'static str {
        match self {
            GuideRole::LastFrame => "last_frame",
            GuideRole::Asset => "asset",
            GuideRole::Style => "style",
        }
    }
}

/// The images besides the first frame that guide a generation: a last frame, or up to
/// three reference images, in the order sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuideImages {
    pub last_frame: Option<SourceImageInput>,
    /// `(Asset | Style, image)`.
    pub reference_images: Vec<(GuideRole, SourceImageInput)>,
}

impl GuideImages {
    /// Every guide image with its role: the last frame first, then the references.
    pub fn all(&self) -> Vec<(GuideRole, &SourceImageInput)> {
        let last = self.last_frame.iter().map(|i| (GuideRole::LastFrame, i));
        last.chain(self.reference_images.iter().map(|(r, i)| (*r, i))).collect()
    }
}

/// A validated submit. Every value here is on the model's menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitRequest {
    /// The canonical model id (aliases resolved).
    pub model: String,
    pub prompt: String,
    pub duration_seconds: u32,
    pub size: Size,
    pub audio: bool,
    pub source_image: Option<SourceImageInput>,
    pub seed: Option<u32>,
    pub negative_prompt: Option<String>,
    /// A last frame and reference images.
    pub guides: GuideImages,
    /// The client's idempotency key (body `out_task_id` or `Idempotency-Key` header).
    pub out_task_id: Option<String>,
    pub callback_url: Option<url::Url>,
    pub metadata: BTreeMap<String, String>,
}
