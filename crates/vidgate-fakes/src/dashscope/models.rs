//! The Wan models the fake serves (digest §1, docs/upstreams.md §9.1): per id, which of the
//! three request shapes it takes (trap 3), whether it makes audio, its whole-second lengths
//! and its resolution tiers.
//!
//! Owns the model table. It must not check requests.

/// How a model's create body is shaped (digest §3, trap 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 2.6/2.5/2.2/2.1 text-to-video: `input.prompt` and `parameters.size` (`W*H`).
    Size,
    /// 2.6/2.5/2.2/2.1 image-to-video: `input.img_url` and `parameters.resolution`.
    ImgUrl,
    /// 2.2/2.1 first+last frame: `input.first_frame_url`, `input.last_frame_url`, `resolution`.
    Frames,
    /// 2.7 text-to-video ("new protocol"): `input.prompt`, `parameters.resolution` and `ratio`.
    Ratio,
    /// 2.7 image-to-video: `input.media[]` and `parameters.resolution`.
    Media,
}

/// One served model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WanModel {
    /// The id in the `model` field.
    pub id: &'static str,
    pub shape: Shape,
    /// Whether it makes audio (2.5 and later; on by default, digest trap 5).
    pub audio: bool,
    /// The lengths `duration` may take, seconds.
    pub durations: &'static [u32],
    /// `480P`, `720P`, `1080P`.
    pub resolutions: &'static [&'static str],
    /// The resolution when none is sent (digest §3).
    pub default_resolution: &'static str,
}

const TWO_TO_15: &[u32] = &[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const HD: &[&str] = &["720P", "1080P"];
const ALL: &[&str] = &["480P", "720P", "1080P"];

fn model(
    id: &'static str,
    shape: Shape,
    audio: bool,
    durations: &'static [u32],
    resolutions: &'static [&'static str],
    default_resolution: &'static str,
) -> WanModel {
    WanModel { id, shape, audio, durations, resolutions, default_resolution }
}

/// The Wan ids of digest §1 the fake serves (the 2.6 and 2.7 reference-video and edit
/// models and wan3.0, whose inputs are not text or a first frame, are left out).
pub fn all() -> Vec<WanModel> {
    use Shape::*;
    vec![
        model("wan2.7-t2v", Ratio, true, TWO_TO_15, HD, "1080P"),
        model("wan2.7-i2v", Media, true, TWO_TO_15, HD, "1080P"),
        model("wan2.6-t2v", Size, true, TWO_TO_15, HD, "1080P"),
        model("wan2.6-i2v", ImgUrl, true, TWO_TO_15, HD, "1080P"),
        model("wan2.6-i2v-flash", ImgUrl, true, TWO_TO_15, HD, "1080P"),
        model("wan2.5-t2v-preview", Size, true, &[5, 10], ALL, "1080P"),
        model("wan2.5-i2v-preview", ImgUrl, true, &[5, 10], ALL, "1080P"),
        model("wan2.2-t2v-plus", Size, false, &[5], &["480P", "1080P"], "1080P"),
        model("wan2.2-i2v-plus", ImgUrl, false, &[5], &["480P", "1080P"], "1080P"),
        model("wan2.2-i2v-flash", ImgUrl, false, &[5], ALL, "720P"),
        model("wan2.2-kf2v-flash", Frames, false, &[5], ALL, "720P"),
        model("wanx2.1-t2v-turbo", Size, false, &[5], &["480P", "720P"], "720P"),
        model("wanx2.1-t2v-plus", Size, false, &[5], &["720P"], "720P"),
        model("wanx2.1-i2v-turbo", ImgUrl, false, &[3, 4, 5], &["480P", "720P"], "720P"),
        model("wanx2.1-i2v-plus", ImgUrl, false, &[5], &["720P"], "720P"),
        model("wanx2.1-kf2v-plus", Frames, false, &[5], &["480P", "720P"], "720P"),
    ]
}

/// The `W*H` sizes of a resolution tier (digest §3, `size`).
pub fn sizes(resolution: &str) -> &'static [&'static str] {
    match resolution {
        "480P" => &["832*480", "480*832", "624*624"],
        "720P" => &["1280*720", "720*1280", "960*960", "1088*832", "832*1088"],
        "1080P" => &["1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"],
        _ => &[],
    }
}

/// The tier a `W*H` size belongs to.
pub fn tier_of(size: &str) -> Option<&'static str> {
    ["480P", "720P", "1080P"].into_iter().find(|r| sizes(r).contains(&size))
}
