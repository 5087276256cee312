//! The Runway video models of digest §1 and §7, as the fake serves them: which endpoints take
//! each id, its lengths, its pixel `ratio` values, its optional fields and its credits per
//! second.
//!
//! Owns the model table. It must not parse requests.

/// One model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunwayModel {
    /// The id sent as `model`.
    pub id: &'static str,
    /// Served by `POST /v1/text_to_video`.
    pub text: bool,
    /// Lengths in whole seconds.
    pub durations: &'static [u32],
    /// `ratio` values of text-to-video.
    pub text_ratios: &'static [&'static str],
    /// `ratio` values of image-to-video.
    pub image_ratios: &'static [&'static str],
    /// Takes `audio`.
    pub audio: bool,
    /// Takes a `"last"` `promptImage` (with a first one).
    pub last_frame: bool,
    /// Takes `negativePrompt`.
    pub negative_prompt: bool,
    /// Takes `seed`.
    pub seed: bool,
    /// The longest `promptText`, UTF-16 units.
    pub max_prompt: usize,
    /// Credits per output second (with audio where the model takes it).
    pub credits: u32,
    /// Credits per second with `audio: true`.
    pub credits_audio: u32,
}

const P720: &[&str] = &["1280:720", "720:1280"];
const GEN4: &[&str] = &["1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"];
const VEO: &[&str] = &["1280:720", "720:1280", "1080:1920", "1920:1080"];
const TWO_TO_TEN: &[u32] = &[2, 3, 4, 5, 6, 7, 8, 9, 10];
/// Seedance 2 lengths: "int" in the spec, range UNCONFIRMED; ModelArk's 4–15.
const SEEDANCE: &[u32] = &[4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

const fn model(id: &'static str, durations: &'static [u32], ratios: &'static [&'static str]) -> RunwayModel {
    RunwayModel {
        id,
        text: true,
        durations,
        text_ratios: ratios,
        image_ratios: ratios,
        audio: false,
        last_frame: false,
        negative_prompt: false,
        seed: false,
        max_prompt: 1000,
        credits: 0,
        credits_audio: 0,
    }
}

/// Every served model (digest §1; the Seedance and Gemini rates are UNCONFIRMED, the fake
/// charges 20 credits a second).
pub fn all() -> Vec<RunwayModel> {
    let veo = |id, credits, credits_audio| RunwayModel {
        audio: true,
        last_frame: true,
        negative_prompt: true,
        seed: id == "veo3.1",
        credits,
        credits_audio,
        ..model(id, &[4, 6, 8], VEO)
    };
    let seedance = |id, ratios| RunwayModel {
        audio: true,
        seed: true,
        max_prompt: 3500,
        credits: 20,
        credits_audio: 20,
        ..model(id, SEEDANCE, ratios)
    };
    vec![
        RunwayModel {
            text_ratios: P720,
            image_ratios: GEN4,
            seed: true,
            credits: 12,
            ..model("gen4.5", TWO_TO_TEN, P720)
        },
        RunwayModel {
            text: false,
            image_ratios: GEN4,
            seed: true,
            credits: 5,
            ..model("gen4_turbo", TWO_TO_TEN, GEN4)
        },
        veo("veo3.1", 20, 40),
        veo("veo3.1_fast", 10, 15),
        RunwayModel { negative_prompt: true, credits: 40, ..model("veo3", &[8], VEO) },
        seedance("seedance2", VEO),
        seedance("seedance2_fast", P720),
        seedance("seedance2_mini", P720),
        RunwayModel { credits: 20, ..model("gemini_omni_flash", &[3, 4, 5, 6, 7, 8, 9, 10], P720) },
    ]
}
