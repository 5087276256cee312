//! Wan's first-and-last-frame models on a `dashscope` entry (docs/upstreams.md §9.1, §9.3):
//! which ids take a last frame (`keyframe_model`), what they make (length, sizes, audio),
//! the path their create is sent to, and the checks that keep an entry's last-frame jobs
//! inside what its keyframe model makes.
//!
//! It must not build requests: that is the engine's provider.

use crate::catalog::Size;
use crate::upstream::{AudioSupport, GuideCaps, P720, P1080, UpstreamConfig, VEO_SIZES};

/// Where the 2.2/2.1 first-and-last-frame (kf2v) creates go when `keyframe_path` is empty:
/// seen in integrators' code, not in the API reference vidgate was built from
/// (docs/upstreams.md §9.3, UNCONFIRMED), hence configurable.
pub const KF2V_PATH: &str = "services/aigc/image2video/video-synthesis";
/// Where every other create goes (docs/upstreams.md §9.3).
pub const CREATE_PATH: &str = "services/aigc/video-generation/video-synthesis";

/// Whether a Wan id takes a first and a last frame: the kf2v ids (`input.first_frame_url`,
/// `input.last_frame_url`) and 2.7 image-to-video (`media[]` `first_frame` + `last_frame`).
pub fn takes_last_frame(model: &str) -> bool {
    model.contains("-kf2v") || model.starts_with("wan2.7-i2v")
}

/// Whether a Wan id takes its frames as the kf2v fields rather than 2.7's `media[]`.
pub fn is_kf2v(model: &str) -> bool {
    model.contains("-kf2v")
}

/// What a keyframe model makes (docs/upstreams.md §9.1, §9.7): the kf2v ids exactly 5 s and
/// silent, `wan2.2-kf2v-flash` at 720p and 1080p, `wanx2.1-kf2v-plus` at 720p only; 2.7
/// image-to-video whole seconds 2–15 at 720p and 1080p with switchable audio (`None`: the
/// entry's own lengths apply).
fn keyframe_caps(model: &str) -> (Option<u32>, Vec<Size>, AudioSupport) {
    if model.starts_with("wan2.2-kf2v") {
        (Some(5), [P720, P1080].concat(), AudioSupport::None)
    } else if is_kf2v(model) {
        (Some(5), P720.to_vec(), AudioSupport::None)
    } else {
        (None, VEO_SIZES.to_vec(), AudioSupport::Switchable)
    }
}

/// The entry's last-frame capability: none without a `keyframe_model`.
pub fn guides(u: &UpstreamConfig) -> GuideCaps {
    if u.keyframe_model.is_empty() {
        return GuideCaps::default();
    }
    GuideCaps { last_frame: true, seconds: keyframe_caps(&u.keyframe_model).0, ..GuideCaps::default() }
}

/// The create path of a job on `model`: the kf2v path (`keyframe_path`, or [`KF2V_PATH`])
/// for a kf2v id, [`CREATE_PATH`] for the others.
pub fn create_path<'a>(u: &'a UpstreamConfig, model: &str) -> &'a str {
    match is_kf2v(model) {
        true if !u.keyframe_path.is_empty() => &u.keyframe_path,
        true => KF2V_PATH,
        false => CREATE_PATH,
    }
}

/// A `keyframe_model` must take a last frame and make every size and the audio the entry
/// plans for, since a last-frame job is planned on the entry's own menu.
pub(crate) fn check(u: &UpstreamConfig) -> Result<(), String> {
    let (n, k) = (&u.name, &u.keyframe_model);
    if !u.keyframe_path.is_empty() && !is_kf2v(k) {
        return Err(format!("upstream {n}: keyframe_path applies to a kf2v keyframe_model only"));
    }
    let path = &u.keyframe_path;
    if path.starts_with('/') || path.contains("..") || path.contains(['?', '#']) {
        return Err(format!("upstream {n}: keyframe_path must be a relative path below the base URL"));
    }
    if k.is_empty() {
        return Ok(());
    }
    if !takes_last_frame(k) {
        return Err(format!(
            "upstream {n}: keyframe_model {k:?} takes no last frame (a -kf2v id or wan2.7-i2v, docs/upstreams.md §9.1)"
        ));
    }
    let caps = u.caps();
    let (_, sizes, audio) = keyframe_caps(k);
    if let Some(size) = caps.sizes.iter().find(|s| !sizes.contains(s)) {
        return Err(format!("upstream {n}: keyframe_model {k} does not make {size}; narrow sizes or pick another"));
    }
    if (audio == AudioSupport::None) != (caps.audio == AudioSupport::None) {
        return Err(format!("upstream {n}: keyframe_model {k} and model {} differ in audio", u.model));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> UpstreamConfig {
        toml::from_str(&format!("name = \"w\"\nkind = \"dashscope\"\n{extra}")).unwrap()
    }

    #[test]
    fn a_kf2v_keyframe_model_takes_a_last_frame_in_5_s_clips_on_its_own_path() {
        let u = entry(
            "model = \"wan2.2-t2v-plus\"\nimage_model = \"wan2.2-i2v-plus\"\nkeyframe_model = \"wan2.2-kf2v-flash\"\n",
        );
        u.check().unwrap();
        assert_eq!((u.caps().guides.last_frame, u.caps().guides.seconds), (true, Some(5)));
        assert_eq!(create_path(&u, "wan2.2-kf2v-flash"), KF2V_PATH);
        assert_eq!(create_path(&u, "wan2.2-i2v-plus"), CREATE_PATH);
        let moved =
            entry("model = \"wan2.2-t2v-plus\"\nkeyframe_model = \"wan2.2-kf2v-flash\"\nkeyframe_path = \"x/y\"\n");
        assert_eq!(create_path(&moved, "wan2.2-kf2v-flash"), "x/y");
        let none = entry("model = \"wan2.6-t2v\"\nimage_model = \"wan2.6-i2v\"\n");
        assert!(!none.caps().guides.last_frame);
    }

    #[test]
    fn wan_2_7_image_to_video_takes_a_last_frame_at_every_length_of_the_entry() {
        let u = entry("model = \"wan2.7-t2v\"\nimage_model = \"wan2.7-i2v\"\nkeyframe_model = \"wan2.7-i2v\"\n");
        u.check().unwrap();
        assert_eq!((u.caps().guides.last_frame, u.caps().guides.seconds), (true, None));
    }

    #[test]
    fn a_keyframe_model_that_takes_no_last_frame_or_misses_a_size_or_the_audio_is_refused() {
        let cases = [
            ("model = \"wan2.6-t2v\"\nkeyframe_model = \"wan2.6-i2v\"\n", "takes no last frame"),
            ("model = \"wan2.2-t2v-plus\"\nkeyframe_model = \"wanx2.1-kf2v-plus\"\n", "does not make 1920x1080"),
            ("model = \"wan2.6-t2v\"\nkeyframe_model = \"wan2.2-kf2v-flash\"\nsizes = [\"1280x720\"]\n", "audio"),
            ("model = \"wan2.7-t2v\"\nkeyframe_model = \"wan2.7-i2v\"\nkeyframe_path = \"a\"\n", "kf2v"),
            (
                "model = \"wan2.2-t2v-plus\"\nkeyframe_model = \"wan2.2-kf2v-flash\"\nkeyframe_path = \"/a\"\n",
                "relative",
            ),
        ];
        for (toml, why) in cases {
            let err = entry(toml).check().unwrap_err();
            assert!(err.contains(why), "{toml}: {err}");
        }
        let kling: UpstreamConfig =
            toml::from_str("name = \"k\"\nkind = \"kling\"\nmodel = \"kling-v3\"\nkeyframe_model = \"x\"\n").unwrap();
        assert!(kling.check().unwrap_err().contains("kind dashscope only"));
    }
}
