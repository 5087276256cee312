//! The models the vidgate fake serves: by default the shipped catalog of docs/api.md §11 (ids,
//! aliases, durations, sizes, audio, image input, prices, prompt limits).
//!
//! Owns the default table. It must not validate requests.

/// One model of the rate card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The canonical id.
    pub id: String,
    /// Other names that resolve to it.
    pub aliases: Vec<String>,
    /// Offered lengths in seconds.
    pub durations: Vec<u32>,
    /// The default length.
    pub default_duration: u32,
    /// Offered sizes, `"WxH"`; the first is the default.
    pub sizes: Vec<String>,
    /// Whether `audio: true` is offered.
    pub native_audio: bool,
    /// Whether `source_image` is accepted.
    pub image_to_video: bool,
    /// Price in micro-dollars per second.
    pub micro_usd_per_second: u64,
    /// Price per second for particular sizes.
    pub size_prices: Vec<(String, u64)>,
    /// Longest prompt (and negative prompt) in characters.
    pub max_prompt_chars: usize,
}

impl Model {
    /// The micro-dollar rate for `size`.
    pub fn rate(&self, size: &str) -> u64 {
        self.size_prices.iter().find(|(s, _)| s == size).map_or(self.micro_usd_per_second, |(_, p)| *p)
    }
}

fn model(id: &str, alias: &str, durations: &[u32], sizes: &[&str], audio: bool, micro: u64, prompt: usize) -> Model {
    Model {
        id: id.into(),
        aliases: vec![alias.into()],
        durations: durations.to_vec(),
        default_duration: 5,
        sizes: sizes.iter().map(|s| s.to_string()).collect(),
        native_audio: audio,
        image_to_video: true,
        micro_usd_per_second: micro,
        size_prices: Vec::new(),
        max_prompt_chars: prompt,
    }
}

/// The shipped default catalog (docs/api.md §11).
pub fn default_models() -> Vec<Model> {
    let full = ["1280x720", "1920x1080", "720x1280", "1080x1920"];
    let hd = ["1280x720", "720x1280"];
    let sora = ["1280x720", "720x1280", "1920x1080", "1080x1920"];
    let mut pro = model("sora2-pro", "sora-2-pro", &[4, 5, 8, 10, 12, 15, 20], &sora, true, 300_000, 32000);
    pro.size_prices = vec![("1920x1080".into(), 500_000), ("1080x1920".into(), 500_000)];
    vec![
        model("veo3.1", "veo-3.1", &[5, 10], &full, true, 400_000, 4000),
        model("veo3.1-fast", "veo-3.1-fast", &[5, 10], &hd, false, 200_000, 4000),
        model("veo3.1-lite", "veo-3.1-lite", &[5, 10], &hd, false, 50_000, 4000),
        model("sora2", "sora-2", &[4, 5, 8, 10, 12, 15], &sora, true, 100_000, 32000),
        pro,
    ]
}
