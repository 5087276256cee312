//! The chaos test's fleet (`upstream_chaos.rs`): the upstreams in round-robin order, one fake
//! each, their `[[upstreams]]` entries with the test's limits, a chaos model per upstream at
//! the smallest size and shortest length it makes, and the failure code each fake's scripted
//! errors carry.

use serde_json::json;
use vidgate_domain::catalog::ModelSpec;
use vidgate_domain::config::Config;
use vidgate_fakes::vidgate::catalog::{Model, default_models};
use vidgate_fakes::{
    FakeComfyui, FakeDashscope, FakeFal, FakeGemini, FakeKling, FakeLuma, FakeMinimax, FakeModelark, FakeOpenAi,
    FakeRunway, FakeVertex, FakeVidgate, VidgateConfig,
};

use crate::upstream_cases::Fake;
use crate::upstream_helpers::{
    config_with, dashscope_entry, fal_entry, gemini_entry, kling_entry, luma_dream_entry, luma_entry, minimax_entry,
    modelark_entry, openai_entry, runway_entry, vertex_entry, vidgate_entry, with,
};

/// The upstreams' deadline: generous for jobs done at their second poll, yet bounded.
pub const DEADLINE_SECS: i64 = 60;
/// The upstreams' request timeout (`timeout_secs`).
pub const TIMEOUT_SECS: i64 = 2;

/// The upstreams, in round-robin order (`luma` on the Agents API, `luma-dm` on Dream Machine).
pub const UPSTREAMS: [&str; 13] = [
    "vertex",
    "gemini",
    "openai",
    "chained",
    "modelark",
    "dashscope",
    "minimax",
    "kling",
    "comfyui",
    "fal",
    "runway",
    "luma",
    "luma-dm",
];

/// One fake per upstream (Luma twice: one per API).
pub struct Fakes {
    vertex: FakeVertex,
    gemini: FakeGemini,
    openai: FakeOpenAi,
    vidgate: FakeVidgate,
    modelark: FakeModelark,
    dashscope: FakeDashscope,
    minimax: FakeMinimax,
    kling: FakeKling,
    comfyui: FakeComfyui,
    fal: FakeFal,
    runway: FakeRunway,
    luma: FakeLuma,
    luma_dream: FakeLuma,
}

impl Fakes {
    pub async fn start() -> Fakes {
        let tiny = Model {
            id: "chaos-chained".into(),
            aliases: Vec::new(),
            durations: vec![1],
            default_duration: 1,
            sizes: vec!["160x90".into()],
            native_audio: false,
            image_to_video: false,
            micro_usd_per_second: 50_000,
            size_prices: Vec::new(),
            max_prompt_chars: 200,
        };
        let vidgate_config = VidgateConfig { models: [default_models(), vec![tiny]].concat(), ..Default::default() };
        Fakes {
            vertex: FakeVertex::start().await,
            gemini: FakeGemini::start().await,
            openai: FakeOpenAi::start().await,
            vidgate: FakeVidgate::start_with(vidgate_config).await,
            modelark: FakeModelark::start().await,
            dashscope: FakeDashscope::start().await,
            minimax: FakeMinimax::start().await,
            kling: FakeKling::start().await,
            comfyui: FakeComfyui::start().await,
            fal: FakeFal::start().await,
            runway: FakeRunway::start().await,
            luma: FakeLuma::start().await,
            luma_dream: FakeLuma::start().await,
        }
    }

    pub fn by_index(&self, i: usize) -> &dyn Fake {
        [
            &self.vertex as &dyn Fake,
            &self.gemini,
            &self.openai,
            &self.vidgate,
            &self.modelark,
            &self.dashscope,
            &self.minimax,
            &self.kling,
            &self.comfyui,
            &self.fal,
            &self.runway,
            &self.luma,
            &self.luma_dream,
        ][i]
    }
}

/// A chaos model: `seconds` at `size` only, no audio, 0.10 USD/s.
fn model(id: &str, size: &str, seconds: u32) -> ModelSpec {
    let text = format!(
        "id = \"{id}\"\ndurations = [{seconds}]\ndefault_duration = {seconds}\nsizes = [\"{size}\"]\n\
         default_size = \"{size}\"\nmax_prompt_chars = 200\nusd_per_second = \"0.10\"\n"
    );
    toml::from_str(&text).expect("a chaos model")
}

pub fn config(fakes: &Fakes) -> Config {
    let limits = json!({
        "timeout_secs": TIMEOUT_SECS, "deadline_secs": DEADLINE_SECS, "max_in_flight": 200,
        "max_concurrent_requests": 32, "requests_per_second": 0,
        // Each model here has one route, and 30% faults would open its breaker, which then
        // refuses new tasks with 503 (`channels.rs` tests that). This test is about money
        // and exactly-once under faults, so its breakers never open.
        "breaker": {"min_requests": 1_000_000},
    });
    let entries = [
        with(vertex_entry(&fakes.vertex), json!({"storage_uri": "gs://chaos-results/veo"})),
        gemini_entry(&fakes.gemini),
        openai_entry("openai", &fakes.openai),
        vidgate_entry(&fakes.vidgate),
        modelark_entry("modelark", &fakes.modelark),
        dashscope_entry(&fakes.dashscope),
        minimax_entry(&fakes.minimax),
        kling_entry(&fakes.kling),
        crate::upstream_comfyui::chaos_entry(&fakes.comfyui),
        fal_entry(&fakes.fal, "fal-ai/wan/v2.7/text-to-video", "", ""),
        runway_entry(&fakes.runway),
        luma_entry(&fakes.luma),
        luma_dream_entry(&fakes.luma_dream),
    ];
    let entries = entries
        .into_iter()
        .zip(UPSTREAMS)
        .map(|(entry, name)| with(with(entry, limits.clone()), json!({"serves": [format!("chaos-{name}")]})))
        .collect();
    let mut c = config_with(entries);
    for name in ["vertex", "gemini", "openai", "modelark", "dashscope"] {
        c.models.push(model(&format!("chaos-{name}"), "1280x720", 4));
    }
    c.models.push(model("chaos-minimax", "1344x768", 4));
    // Kling 2.6 makes 5 or 10 s at 1080p only.
    c.models.push(model("chaos-kling", "1920x1080", 5));
    c.models.push(model("chaos-chained", "160x90", 1));
    c.models.push(model("chaos-comfyui", "160x96", 1));
    // Wan 2.7 on fal and gen4.5 on Runway make 2 s at the least, Luma 5 s (docs/upstreams.md
    // §12.3, §13.1, §14.1).
    c.models.push(model("chaos-fal", "1280x720", 2));
    c.models.push(model("chaos-runway", "1280x720", 2));
    c.models.push(model("chaos-luma", "1280x720", 5));
    c.models.push(model("chaos-luma-dm", "1280x720", 5));
    c.engine.max_in_flight_per_provider = 200;
    c.engine.workers = 32;
    c
}

/// The code of a scripted job failure on `upstream`'s fake: one its adapter reads as the job's
/// own failure.
pub fn failure_code(upstream: &str) -> &'static str {
    match upstream {
        "vertex" | "gemini" => "13",
        "openai" => "internal_error",
        "modelark" => "InternalServiceError",
        "dashscope" => "InternalError",
        "minimax" => "1000",
        "kling" => "5000",
        "comfyui" => "oom",
        // A failed fal request shows as its result's own status (docs/upstreams.md §12.5).
        "fal" => "500",
        "runway" => "INTERNAL.BAD_OUTPUT.CODE01",
        "luma" | "luma-dm" => "generation_failed",
        _ => "upstream_error",
    }
}
