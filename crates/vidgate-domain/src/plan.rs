//! Route planning: for a request (length, size, audio, image) and a model's ordered
//! routes, the cheapest upstream job each route can run that covers it (a native length
//! at least as long as asked, or, where the upstream documents extension and the route's
//! capabilities say it extends, an 8 s clip plus as few extensions as cover it; then an
//! exact trim), its upstream cost and the margin against the catalog price; and the
//! start-up report of every catalog combination with its plan, or why no route can
//! deliver it (docs/api.md §11).
//!
//! An extension's cost is not documented (its new 7 s, the 8 s it asks for, or its whole
//! stitched output): each one is costed as its whole output, the highest reading, so the
//! recorded cost and margin are never better than what the upstream may charge.
//!
//! Pure: it reads capabilities and prices, never an upstream.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::billing;
use crate::catalog::{Catalog, ModelSpec, Size};
use crate::money::Usd;
use crate::upstream::{AudioSupport, ExtensionCaps, GuideCaps, UpstreamConfig};

/// What a request asks of a route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanRequest {
    pub duration_seconds: u32,
    pub size: Size,
    pub audio: bool,
    pub image: bool,
    /// A last frame (the video must end on it, so the job is never trimmed).
    pub last_frame: bool,
    /// Reference images.
    pub references: u32,
    /// Whether any reference is a `style` one.
    pub style_references: bool,
}

impl PlanRequest {
    fn guided(&self) -> bool {
        self.last_frame || self.references > 0
    }
}

/// The job one route runs for a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePlan {
    /// The upstream's name.
    pub route: String,
    /// The native length asked of the upstream (the base clip of an extension chain).
    pub upstream_seconds: u32,
    /// Extension jobs chained after the base clip, each on the previous output (0 for plans
    /// stored before chaining existed).
    #[serde(default)]
    pub extensions: u32,
    /// Seconds each extension adds.
    #[serde(default)]
    pub extension_seconds: u32,
    /// Whether the upstream is asked for (or always makes) an audio track.
    pub upstream_audio: bool,
    /// The delivered file is cut to this length without re-encoding.
    pub trim_to_ms: u64,
    /// What the upstream's clip really lasts where that is longer than asked (MiniMax-H3:
    /// 5 s → 5167 ms, docs/upstreams.md §11.1); 0: the length asked. The extra is trimmed
    /// off and never billed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delivered_ms: u64,
    /// What the upstream charges for the job.
    pub upstream_cost: Usd,
    /// Catalog price of the request minus the upstream cost.
    pub margin: Usd,
}

/// The plan recorded on a task: every route that can deliver it, in preference order,
/// and the one in use (failover moves `current` on before an upstream accepted the job).
/// A sandbox task has a one-route plan like any other; a plan with no route is only read
/// back from a row that held none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPlan {
    pub current: usize,
    pub routes: Vec<RoutePlan>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RoutePlan {
    /// The length of the upstream's final video: the base clip plus its extensions.
    pub fn output_seconds(&self) -> u32 {
        self.upstream_seconds + self.extensions * self.extension_seconds
    }

    /// Upstream jobs the plan runs: the base clip and each extension.
    pub fn jobs(&self) -> u32 {
        1 + self.extensions
    }
}

impl TaskPlan {
    /// The route in use.
    pub fn route(&self) -> Option<&RoutePlan> {
        self.routes.get(self.current)
    }

    /// The plan moved on to the next route, if there is one.
    pub fn next(&self) -> Option<TaskPlan> {
        (self.current + 1 < self.routes.len())
            .then(|| TaskPlan { current: self.current + 1, routes: self.routes.clone() })
    }

    /// A plan of one route.
    pub fn single(route: RoutePlan) -> TaskPlan {
        TaskPlan { current: 0, routes: vec![route] }
    }

    /// Reads a task's stored plan. Rows written before sandbox plans were typed hold
    /// `{"provider", "upstream_seconds", "trim_to_ms"}`: that is read as a one-route plan
    /// (`upstream_audio` taken from `audio`, the task's own flag, as the sandbox always did).
    /// Anything else unreadable is a plan with no route.
    pub fn from_stored(value: &serde_json::Value, audio: bool) -> TaskPlan {
        if let Ok(plan) = serde_json::from_value::<TaskPlan>(value.clone()) {
            return plan;
        }
        let legacy = || -> Option<RoutePlan> {
            Some(RoutePlan {
                route: value.get("provider")?.as_str()?.to_owned(),
                upstream_seconds: u32::try_from(value.get("upstream_seconds")?.as_u64()?).ok()?,
                extensions: 0,
                extension_seconds: 0,
                upstream_audio: audio,
                trim_to_ms: value.get("trim_to_ms")?.as_u64()?,
                delivered_ms: 0,
                upstream_cost: Usd::ZERO,
                margin: Usd::ZERO,
            })
        };
        legacy().map(TaskPlan::single).unwrap_or_default()
    }

    /// The stored form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a plan serializes")
    }
}

/// Why one route cannot deliver a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unfit {
    ImageInput,
    Audio,
    Size,
    /// It takes no last frame.
    LastFrame,
    /// A last frame ends the video, so the job cannot be trimmed: it makes only these lengths.
    LastFrameLength {
        seconds: u32,
    },
    /// It takes no reference images, or not this many.
    References {
        max: u32,
    },
    /// It takes no `style` reference.
    StyleReference,
    /// It takes reference images only without a first or last frame.
    ReferencesWithFrames,
    /// It makes references only at these sizes (Veo: 16:9).
    ReferenceSize {
        sizes: Vec<Size>,
    },
    /// With a last frame or references it makes one clip of this length, no extensions.
    GuidedLength {
        seconds: u32,
    },
    /// Longer than the longest native length at this size, and no extension chain covers it.
    Duration {
        longest: u32,
        chain: NoChain,
    },
}

/// Why a route cannot chain extensions up to a length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoChain {
    /// The upstream documents no extension (or the entry turns it off).
    Undocumented,
    /// Extension exists, but not at this size (Gemini: 720p 16:9 or 9:16 only).
    Size { extension_seconds: u32 },
    /// The route does not make the base clip a chain starts from at this size.
    Base { base_seconds: u32 },
    /// Even the longest chain is shorter.
    TooLong { longest_chain: u32, max: u32 },
}

impl Unfit {
    /// The request field the refusal names.
    pub fn param(&self) -> &'static str {
        match self {
            Unfit::ImageInput => "source_image",
            Unfit::Audio => "audio",
            Unfit::Size => "size",
            Unfit::Duration { .. } | Unfit::LastFrameLength { .. } | Unfit::GuidedLength { .. } => "duration_seconds",
            Unfit::LastFrame => "last_frame",
            Unfit::References { .. } | Unfit::StyleReference | Unfit::ReferencesWithFrames => "reference_images",
            Unfit::ReferenceSize { .. } => "size",
        }
    }
}

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unfit::ImageInput => f.write_str("it takes no image input"),
            Unfit::Audio => f.write_str("it makes no audio"),
            Unfit::Size => f.write_str("it does not make this size"),
            Unfit::LastFrame => f.write_str("it takes no last frame"),
            Unfit::LastFrameLength { seconds } => write!(
                f,
                "it interpolates to a last frame only in {seconds} s clips, and a last frame ends the video so \
                 it is never trimmed: ask for {seconds} s"
            ),
            Unfit::References { max: 0 } => f.write_str("it takes no reference images"),
            Unfit::References { max } => write!(f, "it takes at most {max} reference images"),
            Unfit::StyleReference => f.write_str("it takes only asset reference images, not style ones"),
            Unfit::ReferencesWithFrames => f.write_str(
                "it takes reference images only without a first or last frame (the modes exclude each other)",
            ),
            Unfit::ReferenceSize { sizes } => {
                let sizes = sizes.iter().map(Size::to_string).collect::<Vec<_>>().join(", ");
                write!(f, "it makes reference-image videos only at {sizes} (16:9)")
            }
            Unfit::GuidedLength { seconds } => write!(
                f,
                "with a last frame or reference images it makes one {seconds} s clip and extends none, so \
                 at most {seconds} s"
            ),
            Unfit::Duration { longest, chain } => {
                write!(f, "its longest clip at this size is {longest} s")?;
                match chain {
                    NoChain::Undocumented => f.write_str(" and it documents no extension"),
                    NoChain::Size { extension_seconds } => write!(
                        f,
                        "; longer needs +{extension_seconds} s extensions, which are 720p only \
                         (1280x720 or 720x1280)"
                    ),
                    NoChain::Base { base_seconds } => {
                        write!(
                            f,
                            "; an extension chain starts from a {base_seconds} s clip, which it does not make here"
                        )
                    }
                    NoChain::TooLong { longest_chain, max } => {
                        write!(f, " and its longest extension chain is {longest_chain} s ({max} extensions)")
                    }
                }
            }
        }
    }
}

/// Why a request cannot be planned at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The model has no configured route (503 `model_unavailable`).
    NoRoute,
    /// Every configured route is unfit (400 `unsupported_value`), with each route's reason.
    Undeliverable(Vec<(String, Unfit)>),
}

impl Refusal {
    /// The request field to name: the first route's reason.
    pub fn param(&self) -> &'static str {
        match self {
            Refusal::Undeliverable(reasons) => reasons.first().map(|(_, u)| u.param()).unwrap_or("model"),
            Refusal::NoRoute => "model",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoRoute => f.write_str("no upstream route is configured for this model"),
            Refusal::Undeliverable(reasons) => {
                f.write_str("no configured route can deliver this combination: ")?;
                for (i, (route, why)) in reasons.iter().enumerate() {
                    write!(f, "{}{route}: {why}", if i == 0 { "" } else { "; " })?;
                }
                Ok(())
            }
        }
    }
}

/// The cheapest job `upstream` can run that covers `req`; `catalog_price` is what the
/// client pays for the whole request.
pub fn plan_route(upstream: &UpstreamConfig, req: &PlanRequest, catalog_price: Usd) -> Result<RoutePlan, Unfit> {
    let caps = upstream.caps();
    if req.image && !caps.image_input {
        return Err(Unfit::ImageInput);
    }
    if req.audio && caps.audio == AudioSupport::None {
        return Err(Unfit::Audio);
    }
    if !caps.sizes.is_empty() && !caps.sizes.contains(&req.size) {
        return Err(Unfit::Size);
    }
    let upstream_audio = match caps.audio {
        AudioSupport::Switchable => req.audio,
        AudioSupport::Always => true,
        AudioSupport::None => false,
    };
    let rate = upstream.price(req.size, upstream_audio);
    let lengths = caps.durations_by_size.get(&req.size).unwrap_or(&caps.durations);
    if req.guided() {
        let seconds = guided_length(&caps.guides, lengths, req)?;
        let upstream_cost = billing::estimate(rate, seconds);
        return Ok(RoutePlan {
            route: upstream.name.clone(),
            upstream_seconds: seconds,
            extensions: 0,
            extension_seconds: 0,
            upstream_audio,
            trim_to_ms: u64::from(req.duration_seconds) * 1000,
            delivered_ms: upstream.delivered_ms(seconds),
            upstream_cost,
            margin: catalog_price.minus(upstream_cost),
        });
    }
    // The same rate applies to every length, so the shortest covering one is the cheapest,
    // and any native length is cheaper than a chain (a chain's base alone is a native length).
    let native = match lengths.is_empty() {
        true => Some(req.duration_seconds),
        false => lengths.iter().copied().filter(|l| *l >= req.duration_seconds).min(),
    };
    let (upstream_seconds, extensions, extension_seconds) = match native {
        Some(seconds) => (seconds, 0, 0),
        None => {
            let longest = lengths.iter().copied().max().unwrap_or(0);
            let (base, n, ext) =
                chain(caps.extension.as_ref(), lengths, req).map_err(|chain| Unfit::Duration { longest, chain })?;
            (base, n, ext)
        }
    };
    let billed_seconds =
        upstream_seconds + (1..=extensions).map(|k| upstream_seconds + k * extension_seconds).sum::<u32>();
    let upstream_cost = billing::estimate(rate, billed_seconds);
    Ok(RoutePlan {
        route: upstream.name.clone(),
        upstream_seconds,
        extensions,
        extension_seconds,
        upstream_audio,
        trim_to_ms: u64::from(req.duration_seconds) * 1000,
        delivered_ms: if extensions == 0 { upstream.delivered_ms(upstream_seconds) } else { 0 },
        upstream_cost,
        margin: catalog_price.minus(upstream_cost),
    })
}

/// The one native job of a request with a last frame or reference images: the route must
/// take them, at this size, and make a covering length (the guided length where the route
/// has one); with a last frame exactly the requested length, since trimming would cut the
/// last frame off. Never a chain: an extension continues a video and takes no images.
fn guided_length(g: &GuideCaps, lengths: &[u32], req: &PlanRequest) -> Result<u32, Unfit> {
    if req.last_frame && !g.last_frame {
        return Err(Unfit::LastFrame);
    }
    if req.references > g.max_references {
        return Err(Unfit::References { max: g.max_references });
    }
    if req.style_references && !g.style_references {
        return Err(Unfit::StyleReference);
    }
    if req.references > 0 && g.references_alone && (req.image || req.last_frame) {
        return Err(Unfit::ReferencesWithFrames);
    }
    if req.references > 0 && !g.reference_sizes.is_empty() && !g.reference_sizes.contains(&req.size) {
        return Err(Unfit::ReferenceSize { sizes: g.reference_sizes.clone() });
    }
    let offered = |l: u32| lengths.is_empty() || lengths.contains(&l);
    let candidates: Vec<u32> = match g.seconds {
        Some(s) if offered(s) => vec![s],
        Some(_) => Vec::new(),
        None if lengths.is_empty() => vec![req.duration_seconds],
        None => lengths.to_vec(),
    };
    let longest = candidates.iter().copied().max().unwrap_or(0);
    if req.last_frame {
        return candidates
            .contains(&req.duration_seconds)
            .then_some(req.duration_seconds)
            .ok_or(Unfit::LastFrameLength { seconds: longest });
    }
    candidates.into_iter().filter(|l| *l >= req.duration_seconds).min().ok_or(Unfit::GuidedLength { seconds: longest })
}

/// The shortest extension chain covering `req`: (base seconds, extensions, seconds each).
fn chain(ext: Option<&ExtensionCaps>, lengths: &[u32], req: &PlanRequest) -> Result<(u32, u32, u32), NoChain> {
    let ext = ext.ok_or(NoChain::Undocumented)?;
    if !ext.sizes.contains(&req.size) {
        return Err(NoChain::Size { extension_seconds: ext.seconds });
    }
    if !lengths.contains(&ext.base_seconds) {
        return Err(NoChain::Base { base_seconds: ext.base_seconds });
    }
    let needed = req.duration_seconds.saturating_sub(ext.base_seconds).div_ceil(ext.seconds);
    if needed > ext.max {
        return Err(NoChain::TooLong { longest_chain: ext.base_seconds + ext.max * ext.seconds, max: ext.max });
    }
    Ok((ext.base_seconds, needed, ext.seconds))
}

/// The plan of a request on a model: each of its configured routes that can deliver it,
/// in the model's order. `upstreams` are the configured (and built) upstreams.
pub fn plan_request(model: &ModelSpec, req: &PlanRequest, upstreams: &[UpstreamConfig]) -> Result<TaskPlan, Refusal> {
    let price = billing::estimate(model.rate_for(req.size), req.duration_seconds);
    let mut routes = Vec::new();
    let mut unfit = Vec::new();
    let configured = model.routes.iter().filter_map(|r| upstreams.iter().find(|u| &u.name == r));
    for upstream in configured {
        match plan_route(upstream, req, price) {
            Ok(plan) => routes.push(plan),
            Err(why) => unfit.push((upstream.name.clone(), why)),
        }
    }
    match (routes.is_empty(), unfit.is_empty()) {
        (false, _) => Ok(TaskPlan { current: 0, routes }),
        (true, true) => Err(Refusal::NoRoute),
        (true, false) => Err(Refusal::Undeliverable(unfit)),
    }
}

/// One line of the start-up report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportLine {
    pub model: String,
    pub duration_seconds: u32,
    pub size: Size,
    pub audio: bool,
    pub price: Usd,
    pub outcome: Result<RoutePlan, Refusal>,
}

impl ReportLine {
    /// Whether the first route loses money on this combination.
    pub fn negative_margin(&self) -> bool {
        self.outcome.as_ref().is_ok_and(|p| p.margin.micros() < 0)
    }
}

impl fmt::Display for ReportLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let audio = if self.audio { "audio" } else { "silent" };
        write!(f, "{} {} s {} {audio} (price {} USD): ", self.model, self.duration_seconds, self.size, self.price)?;
        match &self.outcome {
            Ok(p) => write!(
                f,
                "{} makes {} s{}{}{}, trimmed to {} ms; upstream cost {} USD, margin {} USD",
                p.route,
                p.upstream_seconds,
                match p.delivered_ms {
                    0 => String::new(),
                    ms => format!(" (delivered as {ms} ms)"),
                },
                match p.extensions {
                    0 => String::new(),
                    n => format!(
                        " + {n} × {} s extension{} = {} s",
                        p.extension_seconds,
                        if n == 1 { "" } else { "s" },
                        p.output_seconds()
                    ),
                },
                if p.upstream_audio && !self.audio { " with audio (stripped)" } else { "" },
                p.trim_to_ms,
                p.upstream_cost,
                p.margin
            ),
            Err(refusal) => write!(f, "REFUSED: {refusal}"),
        }
    }
}

/// The totals of a start-up report, and where to go when they are not clean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportSummary {
    /// Combinations with a configured route (planned or refused).
    pub plans: usize,
    /// Planned at a loss on their first route.
    pub negative: usize,
    /// No configured route can deliver them (400 at submit).
    pub refused: usize,
}

impl ReportSummary {
    /// Counts a report's lines; models without any route are left out (their live
    /// requests are 503, not a margin question).
    pub fn of(lines: &[ReportLine]) -> ReportSummary {
        let routed = lines.iter().filter(|l| !matches!(l.outcome, Err(Refusal::NoRoute)));
        let (mut plans, mut negative, mut refused) = (0, 0, 0);
        for line in routed {
            plans += 1;
            negative += usize::from(line.negative_margin());
            refused += usize::from(line.outcome.is_err());
        }
        ReportSummary { plans, negative, refused }
    }

    /// Whether every routed combination is planned at a zero or positive margin.
    pub fn is_clean(&self) -> bool {
        self.negative == 0 && self.refused == 0
    }
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ReportSummary { plans, negative, refused } = *self;
        write!(f, "{plans} plans, {negative} lose money, {refused} cannot be delivered")?;
        if !self.is_clean() {
            f.write_str(
                "; sell what the routes make at or above their cost with [models.\"<id>\"] durations, sizes and \
                 prices (docs/configuration.md, \"Prices and margins\")",
            )?;
        }
        Ok(())
    }
}

/// Every catalog model × duration × size × audio (audio only where the model offers it)
/// with the first route's plan, or why it is refused (text-to-video; image input only
/// narrows routes that take no image).
pub fn report(catalog: &Catalog, upstreams: &[UpstreamConfig]) -> Vec<ReportLine> {
    let mut lines = Vec::new();
    for model in catalog.models() {
        let audios: &[bool] = if model.native_audio { &[false, true] } else { &[false] };
        for &duration_seconds in &model.durations {
            for &size in &model.sizes {
                for &audio in audios {
                    let req = PlanRequest { duration_seconds, size, audio, ..PlanRequest::default() };
                    let outcome = plan_request(model, &req, upstreams).map(|mut p| p.routes.swap_remove(0));
                    let price = billing::estimate(model.rate_for(size), duration_seconds);
                    lines.push(ReportLine { model: model.id.clone(), duration_seconds, size, audio, price, outcome });
                }
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(text: &str) -> UpstreamConfig {
        toml::from_str(text).expect("upstream parses")
    }

    fn vertex() -> UpstreamConfig {
        upstream(
            "name = \"vertex\"\nkind = \"vertex\"\nmodel = \"veo-3.1-generate-001\"\n\
             usd_per_second = { default = \"0.20\" }\nusd_per_second_with_audio = { default = \"0.40\" }\n",
        )
    }

    fn gemini() -> UpstreamConfig {
        upstream(
            "name = \"gemini\"\nkind = \"gemini\"\nmodel = \"veo-3.1-generate-preview\"\n\
             usd_per_second = { default = \"0.40\" }\n",
        )
    }

    fn veo_model(routes: &[&str]) -> ModelSpec {
        let mut m = Catalog::shipped().resolve("veo3.1").unwrap().clone();
        m.routes = routes.iter().map(|r| r.to_string()).collect();
        m
    }

    fn req(duration_seconds: u32, size: Size, audio: bool) -> PlanRequest {
        PlanRequest { duration_seconds, size, audio, ..PlanRequest::default() }
    }

    const HD: Size = Size::new(1280, 720);
    const FULL_HD: Size = Size::new(1920, 1080);

    #[test]
    fn a_five_second_veo_request_is_a_six_second_job_trimmed_to_five() {
        let p = plan_route(&vertex(), &req(5, HD, false), Usd(2_000_000)).unwrap();
        assert_eq!(p.upstream_seconds, 6);
        assert_eq!(p.trim_to_ms, 5000);
        assert_eq!(p.upstream_cost, Usd(1_200_000), "6 s at 0.20 silent");
        assert_eq!(p.margin, Usd(800_000));
        assert!(!p.upstream_audio);
    }

    #[test]
    fn audio_on_vertex_is_asked_for_and_priced_as_audio() {
        let p = plan_route(&vertex(), &req(5, HD, true), Usd(2_000_000)).unwrap();
        assert!(p.upstream_audio);
        assert_eq!(p.upstream_cost, Usd(2_400_000));
        assert_eq!(p.margin, Usd(-400_000));
    }

    #[test]
    fn gemini_always_makes_audio_even_for_a_silent_request() {
        let p = plan_route(&gemini(), &req(4, HD, false), Usd(1_600_000)).unwrap();
        assert_eq!((p.upstream_seconds, p.upstream_audio), (4, true));
    }

    #[test]
    fn veo_1080p_is_only_made_at_eight_seconds() {
        let p = plan_route(&vertex(), &req(5, FULL_HD, false), Usd(0)).unwrap();
        assert_eq!(p.upstream_seconds, 8);
        assert_eq!(p.trim_to_ms, 5000);
    }

    #[test]
    fn ten_seconds_on_gemini_is_an_eight_second_clip_plus_one_extension_trimmed_to_ten() {
        let p = plan_route(&gemini(), &req(10, HD, false), Usd(4_000_000)).unwrap();
        assert_eq!((p.upstream_seconds, p.extensions, p.extension_seconds), (8, 1, 7));
        assert_eq!((p.output_seconds(), p.jobs(), p.trim_to_ms), (15, 2, 10_000));
        assert_eq!(p.upstream_cost, Usd(9_200_000), "8 s base + the whole 15 s output of the extension, at 0.40");
        assert_eq!(p.margin, Usd(-5_200_000));
        let portrait = plan_route(&gemini(), &req(16, Size::new(720, 1280), false), Usd(0)).unwrap();
        assert_eq!((portrait.extensions, portrait.output_seconds()), (2, 22));
        assert_eq!(portrait.upstream_cost, Usd(18_000_000), "(8 + 15 + 22) s at 0.40");
    }

    #[test]
    fn a_native_length_is_always_chosen_over_a_chain() {
        let p = plan_route(&gemini(), &req(8, HD, false), Usd(0)).unwrap();
        assert_eq!((p.upstream_seconds, p.extensions, p.extension_seconds), (8, 0, 0));
    }

    #[test]
    fn ten_seconds_at_1080p_is_undeliverable_because_extension_is_720p_only() {
        let err = plan_request(&veo_model(&["gemini"]), &req(10, FULL_HD, false), &[gemini()]).unwrap_err();
        assert_eq!(err.param(), "duration_seconds");
        assert_eq!(
            err.to_string(),
            "no configured route can deliver this combination: gemini: its longest clip at this size is 8 s; \
             longer needs +7 s extensions, which are 720p only (1280x720 or 720x1280)"
        );
    }

    #[test]
    fn vertex_never_extends() {
        let err = plan_route(&vertex(), &req(10, HD, false), Usd(0)).unwrap_err();
        assert_eq!(err, Unfit::Duration { longest: 8, chain: NoChain::Undocumented });
        let err = plan_request(&veo_model(&["vertex"]), &req(10, HD, false), &[vertex()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no configured route can deliver this combination: vertex: its longest clip at this size is 8 s \
             and it documents no extension"
        );
    }

    #[test]
    fn a_gemini_model_other_than_veo_3_1_does_not_extend() {
        let mut veo3 = gemini();
        veo3.model = "veo-3.0-generate-preview".into();
        let err = plan_route(&veo3, &req(10, HD, false), Usd(0)).unwrap_err();
        assert_eq!(err, Unfit::Duration { longest: 8, chain: NoChain::Undocumented });
    }

    #[test]
    fn a_chain_longer_than_the_extension_limit_is_refused_with_the_longest_chain() {
        let p = plan_route(&gemini(), &req(148, HD, false), Usd(0)).unwrap();
        assert_eq!((p.extensions, p.output_seconds()), (20, 148));
        let err = plan_route(&gemini(), &req(149, HD, false), Usd(0)).unwrap_err();
        assert_eq!(err, Unfit::Duration { longest: 8, chain: NoChain::TooLong { longest_chain: 148, max: 20 } });
        let mut two = gemini();
        two.max_extensions = Some(2);
        assert_eq!(
            plan_route(&two, &req(23, HD, false), Usd(0)).unwrap_err().to_string(),
            "its longest clip at this size is 8 s and its longest extension chain is 22 s (2 extensions)"
        );
    }

    #[test]
    fn a_chain_needs_the_eight_second_base_clip() {
        let mut short = gemini();
        short.durations = Some(vec![4, 6]);
        let err = plan_route(&short, &req(10, HD, false), Usd(0)).unwrap_err();
        assert_eq!(err, Unfit::Duration { longest: 6, chain: NoChain::Base { base_seconds: 8 } });
    }

    #[test]
    fn plans_stored_before_chaining_read_as_native_jobs() {
        let old = serde_json::json!({"current": 0, "routes": [{"route": "gemini", "upstream_seconds": 6,
            "upstream_audio": true, "trim_to_ms": 5000, "upstream_cost": "2.4", "margin": "-0.4"}]});
        let plan = TaskPlan::from_stored(&old, false);
        let route = plan.route().unwrap();
        assert_eq!((route.upstream_seconds, route.extensions, route.output_seconds(), route.jobs()), (6, 0, 6, 1));
    }

    #[test]
    fn a_model_without_a_configured_route_has_no_route() {
        let err = plan_request(&veo_model(&["nowhere"]), &req(5, HD, false), &[vertex()]).unwrap_err();
        assert_eq!(err, Refusal::NoRoute);
    }

    #[test]
    fn every_fitting_route_is_planned_in_the_model_order_for_failover() {
        let plan = plan_request(&veo_model(&["gemini", "vertex"]), &req(5, HD, false), &[vertex(), gemini()]).unwrap();
        let names: Vec<_> = plan.routes.iter().map(|r| r.route.as_str()).collect();
        assert_eq!(names, ["gemini", "vertex"]);
        assert_eq!(plan.route().unwrap().route, "gemini");
        let next = plan.next().unwrap();
        assert_eq!((next.current, next.route().unwrap().route.as_str()), (1, "vertex"));
        assert_eq!(next.next(), None);
        assert_eq!(TaskPlan::from_stored(&plan.to_json(), false), plan);
    }

    #[test]
    fn a_route_without_image_input_is_unfit_for_image_to_video() {
        let mut u = vertex();
        u.image_input = Some(false);
        let r = PlanRequest { image: true, ..req(4, HD, false) };
        assert_eq!(plan_route(&u, &r, Usd(0)), Err(Unfit::ImageInput));
        assert_eq!(Unfit::ImageInput.param(), "source_image");
    }

    #[test]
    fn a_vidgate_upstream_is_asked_for_exactly_the_request() {
        let u = upstream("name = \"up\"\nkind = \"vidgate\"\nbase_url = \"http://x\"\n");
        let p = plan_route(&u, &req(10, FULL_HD, true), Usd(0)).unwrap();
        assert_eq!((p.upstream_seconds, p.upstream_audio, p.trim_to_ms), (10, true, 10_000));
    }

    #[test]
    fn the_report_covers_every_combination_and_marks_the_undeliverable() {
        let mut models = vec![veo_model(&["vertex"])];
        models[0].aliases.clear();
        let catalog = Catalog::new(models).unwrap();
        let lines = report(&catalog, &[vertex()]);
        assert_eq!(lines.len(), 2 * 6 * 2, "durations × sizes × audio");
        let five = &lines[0];
        assert_eq!((five.duration_seconds, five.size, five.audio), (5, HD, false));
        assert_eq!(
            five.to_string(),
            "veo3.1 5 s 1280x720 silent (price 2 USD): vertex makes 6 s, trimmed to 5000 ms; \
             upstream cost 1.2 USD, margin 0.8 USD"
        );
        let refused = lines.iter().filter(|l| l.outcome.is_err()).count();
        assert_eq!(refused, 12 + 4, "every 10 s combination, and 4K at 5 s: Vertex makes no 4K");
        let negative = lines.iter().filter(|l| l.negative_margin()).count();
        assert_eq!(negative, 4, "5 s with audio costs 6 s at 0.40 on every size: 2.4 (or 3.2) > 2");
    }

    #[test]
    fn a_stored_plan_is_read_typed_and_an_old_sandbox_plan_as_one_route() {
        let plan = TaskPlan::single(plan_route(&vertex(), &req(5, HD, false), Usd(2_000_000)).unwrap());
        assert_eq!(TaskPlan::from_stored(&plan.to_json(), false), plan);
        let old = serde_json::json!({"provider": "sandbox", "upstream_seconds": 5, "trim_to_ms": 5000});
        let read = TaskPlan::from_stored(&old, true);
        let route = read.route().expect("one route");
        assert_eq!((route.route.as_str(), route.upstream_seconds, route.trim_to_ms), ("sandbox", 5, 5000));
        assert!(route.upstream_audio, "the task's own audio flag");
        assert_eq!(TaskPlan::from_stored(&serde_json::Value::Null, false), TaskPlan::default());
    }

    #[test]
    fn the_summary_counts_losses_and_refusals_and_points_at_the_model_tables() {
        let mut models = vec![veo_model(&["vertex"])];
        models[0].aliases.clear();
        let mut unrouted = veo_model(&[]);
        unrouted.id = "unrouted".into();
        unrouted.aliases.clear();
        models.push(unrouted);
        let summary = ReportSummary::of(&report(&Catalog::new(models).unwrap(), &[vertex()]));
        assert_eq!(summary, ReportSummary { plans: 24, negative: 4, refused: 16 });
        assert_eq!(
            summary.to_string(),
            "24 plans, 4 lose money, 16 cannot be delivered; sell what the routes make at or above their cost \
             with [models.\"<id>\"] durations, sizes and prices (docs/configuration.md, \"Prices and margins\")"
        );
        let clean = ReportSummary { plans: 3, negative: 0, refused: 0 };
        assert_eq!(clean.to_string(), "3 plans, 0 lose money, 0 cannot be delivered");
    }

    fn guided(duration_seconds: u32, size: Size, last_frame: bool, references: u32) -> PlanRequest {
        PlanRequest { image: last_frame, last_frame, references, ..req(duration_seconds, size, false) }
    }

    #[test]
    fn reference_images_on_veo_are_an_eight_second_clip_trimmed_to_the_request() {
        let p = plan_route(&vertex(), &guided(5, HD, false, 3), Usd(2_000_000)).unwrap();
        assert_eq!((p.upstream_seconds, p.extensions, p.trim_to_ms), (8, 0, 5000));
        assert_eq!(p.upstream_cost, Usd(1_600_000), "8 s at 0.20 silent");
        let four_k = plan_route(&gemini(), &guided(5, Size::new(3840, 2160), false, 1), Usd(0)).unwrap();
        assert_eq!(four_k.upstream_seconds, 8);
    }

    #[test]
    fn a_minimax_h3_plan_asks_the_requested_seconds_knows_the_longer_clip_and_trims_it() {
        let h3 = upstream(
            "name = \"mm\"\nkind = \"minimax\"\nmodel = \"MiniMax-H3\"\nusd_per_second = { default = \"0.08\" }\n",
        );
        let p = plan_route(&h3, &req(5, Size::new(1344, 768), true), Usd(550_000)).unwrap();
        assert_eq!((p.upstream_seconds, p.delivered_ms, p.trim_to_ms), (5, 5167, 5000));
        assert_eq!((p.upstream_cost, p.margin), (Usd(400_000), Usd(150_000)), "5 s billed, not 5.167");
        let json = TaskPlan { current: 0, routes: vec![p.clone()] }.to_json();
        assert_eq!(json["routes"][0]["delivered_ms"], 5167);
        assert_eq!(TaskPlan::from_stored(&json, false).routes[0], p);
        let veo = plan_route(&upstream("name = \"g\"\nkind = \"gemini\"\nmodel = \"m\"\n"), &req(5, HD, true), Usd(0));
        assert_eq!(veo.unwrap().delivered_ms, 0, "as asked");
    }

    fn seedance(model: &str) -> UpstreamConfig {
        upstream(&format!("name = \"ark\"\nkind = \"modelark\"\nmodel = \"{model}\"\n"))
    }

    #[test]
    fn seedance_takes_frames_or_references_by_model_never_both_and_trims_nothing() {
        let two = seedance("dreamina-seedance-2-0-260128");
        let refs = PlanRequest { references: 3, ..req(5, HD, false) };
        let p = plan_route(&two, &refs, Usd(0)).unwrap();
        assert_eq!((p.upstream_seconds, p.trim_to_ms), (5, 5000), "a whole-second length is made as asked");
        let both = PlanRequest { image: true, ..refs };
        let err = plan_route(&two, &both, Usd(0)).unwrap_err();
        assert_eq!((err.clone(), err.param()), (Unfit::ReferencesWithFrames, "reference_images"));
        assert_eq!(plan_route(&two, &guided(5, HD, true, 0), Usd(0)).unwrap().upstream_seconds, 5);
        let pro = seedance("seedance-1-5-pro-251215");
        assert_eq!(plan_route(&pro, &guided(6, HD, true, 0), Usd(0)).unwrap().upstream_seconds, 6);
        assert_eq!(plan_route(&pro, &refs, Usd(0)), Err(Unfit::References { max: 0 }));
        let fast = seedance("seedance-1-0-pro-fast-251015");
        assert_eq!(plan_route(&fast, &guided(5, HD, true, 0), Usd(0)), Err(Unfit::LastFrame));
    }

    #[test]
    fn reference_images_are_refused_in_portrait_beyond_three_as_style_and_beyond_eight_seconds() {
        let portrait = plan_route(&gemini(), &guided(5, Size::new(720, 1280), false, 1), Usd(0)).unwrap_err();
        assert_eq!(
            portrait.to_string(),
            "it makes reference-image videos only at 1280x720, 1920x1080, 3840x2160 (16:9)"
        );
        assert_eq!(portrait.param(), "size");
        let four = plan_route(&gemini(), &guided(5, HD, false, 4), Usd(0)).unwrap_err();
        assert_eq!(
            (four.to_string().as_str(), four.param()),
            ("it takes at most 3 reference images", "reference_images")
        );
        let style = PlanRequest { style_references: true, ..guided(5, HD, false, 1) };
        assert_eq!(plan_route(&vertex(), &style, Usd(0)), Err(Unfit::StyleReference));
        let ten = plan_route(&gemini(), &guided(10, HD, false, 1), Usd(0)).unwrap_err();
        assert_eq!(ten, Unfit::GuidedLength { seconds: 8 }, "no extension chain carries references");
        assert_eq!(ten.param(), "duration_seconds");
    }

    #[test]
    fn a_last_frame_is_made_only_at_the_exact_native_length_because_it_is_never_trimmed() {
        let p = plan_route(&gemini(), &guided(8, FULL_HD, true, 0), Usd(0)).unwrap();
        assert_eq!((p.upstream_seconds, p.trim_to_ms), (8, 8000));
        let five = plan_request(&veo_model(&["vertex"]), &guided(5, HD, true, 0), &[vertex()]).unwrap_err();
        assert_eq!(five.param(), "duration_seconds");
        assert_eq!(
            five.to_string(),
            "no configured route can deliver this combination: vertex: it interpolates to a last frame only in \
             8 s clips, and a last frame ends the video so it is never trimmed: ask for 8 s"
        );
    }

    #[test]
    fn a_route_without_guide_images_is_unfit_for_them() {
        let openai = upstream("name = \"o\"\nkind = \"openai\"\nbase_url = \"http://x\"\nmodel = \"sora-2\"\n");
        assert_eq!(plan_route(&openai, &guided(4, HD, true, 0), Usd(0)), Err(Unfit::LastFrame));
        assert_eq!(plan_route(&openai, &guided(4, HD, false, 1), Usd(0)), Err(Unfit::References { max: 0 }));
        assert_eq!(Unfit::References { max: 0 }.to_string(), "it takes no reference images");
    }

    #[test]
    fn the_report_shows_extension_chains() {
        let mut models = vec![veo_model(&["gemini"])];
        models[0].aliases.clear();
        let lines = report(&Catalog::new(models).unwrap(), &[gemini()]);
        let ten = lines.iter().find(|l| (l.duration_seconds, l.size, l.audio) == (10, HD, false)).unwrap();
        assert_eq!(
            ten.to_string(),
            "veo3.1 10 s 1280x720 silent (price 4 USD): gemini makes 8 s + 1 × 7 s extension = 15 s with audio \
             (stripped), trimmed to 10000 ms; upstream cost 9.2 USD, margin -5.2 USD"
        );
        let refused: Vec<_> =
            lines.iter().filter(|l| l.outcome.is_err()).map(|l| (l.duration_seconds, l.size)).collect();
        let expected = [FULL_HD, Size::new(1080, 1920), Size::new(3840, 2160), Size::new(2160, 3840)];
        assert_eq!(refused, expected.iter().flat_map(|s| [(10, *s), (10, *s)]).collect::<Vec<_>>());
        let four_k = lines.iter().find(|l| (l.duration_seconds, l.size) == (5, Size::new(3840, 2160))).unwrap();
        assert_eq!(four_k.outcome.as_ref().map(|p| (p.upstream_seconds, p.trim_to_ms)), Ok((8, 5000)));
    }
}
