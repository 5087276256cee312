//! Upstream configuration (`[[upstreams]]`): which real upstream a route talks to, with
//! which credentials, under which limits, what it can make (native lengths, sizes, audio,
//! image input) and what it charges per second. The capabilities default per kind to what
//! docs/upstreams.md documents; an operator may narrow or widen them.
//!
//! It owns only the description. Planning a request on these capabilities is `plan.rs`;
//! talking to the upstream is the engine's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Resolution, Size};
pub use crate::kling::KlingAuth;
use crate::money::Usd;
use crate::secret::Secret;

/// The protocols vidgate speaks to upstreams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamKind {
    /// Veo on Vertex AI (service-account OAuth, `predictLongRunning`, `fetchPredictOperation`).
    Vertex,
    /// Veo on the Gemini API (`x-goog-api-key`, `predictLongRunning`, operation GET).
    Gemini,
    /// An OpenAI-Videos-compatible gateway (`/v1/videos`).
    Openai,
    /// Another vidgate (`/v1/videos/generations`, `/v1/videos/tasks/{id}`).
    Vidgate,
    /// Seedance on BytePlus ModelArk or Volcengine Ark (`/contents/generations/tasks`):
    /// one protocol, the flavour picks the public host (docs/upstreams.md §8).
    Modelark,
    /// Wan on Alibaba Cloud Model Studio (DashScope async tasks,
    /// `/services/aigc/video-generation/video-synthesis`, `/tasks/{id}`): the region picks
    /// the public host (docs/upstreams.md §9).
    Dashscope,
    /// MiniMax video on the MiniMax Open Platform: the v2 API (`/v2/video_generation`) for
    /// MiniMax-H3, the v1 API (`/v1/video_generation`, [`minimax_is_v1`]) for a Hailuo model
    /// id; the platform picks the public host (docs/upstreams.md §11).
    Minimax,
    /// Kuaishou Kling, the legacy (`model_name`) endpoints `/v1/videos/text2video` and
    /// `/v1/videos/image2video` with an access-key JWT or an API key (docs/upstreams.md §10).
    Kling,
    /// Self-hosted ComfyUI servers running a workflow template (`/prompt`, `/history/{id}`,
    /// `/view`), a pool picked by queue length (docs/upstreams.md §15).
    Comfyui,
    /// fal.ai's queue (`Authorization: Key …`, `POST queue.fal.run/{endpoint}`, status and
    /// result at the URLs the submit returns), one input mapping per endpoint
    /// (docs/upstreams.md §12).
    Fal,
    /// Runway's Developer API (`/v1/text_to_video`, `/v1/image_to_video`, `/v1/tasks/{id}`)
    /// with `X-Runway-Version` on every call (docs/upstreams.md §13).
    Runway,
    /// Luma's Ray models: the Agents API (`/v1/generations`) for `ray-3.2`, the legacy Dream
    /// Machine API (`/dream-machine/v1/generations/video`) for `ray-2` and older ids
    /// (docs/upstreams.md §14).
    Luma,
}

/// Which MiniMax Open Platform a `minimax` upstream calls: keys are per platform, and a key
/// on the other platform's host is refused as an auth error (docs/upstreams.md §11.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MinimaxPlatform {
    /// platform.minimax.io, `https://api.minimax.io`.
    #[default]
    International,
    /// platform.minimaxi.com, `https://api.minimaxi.com`.
    Mainland,
}

impl MinimaxPlatform {
    /// The public API base of the platform (paths carry their own `/v2`).
    pub fn base_url(self) -> &'static str {
        match self {
            MinimaxPlatform::International => "https://api.minimax.io",
            MinimaxPlatform::Mainland => "https://api.minimaxi.com",
        }
    }
}

/// Which Model Studio region a `dashscope` upstream calls: model, host and API key must all
/// belong to it (docs/upstreams.md §9.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DashscopeRegion {
    /// China (Beijing), the SDK's default.
    #[default]
    Beijing,
    /// Singapore: the workspace host when `workspace` is set, else the legacy shared host.
    Singapore,
    /// US (Virginia).
    Us,
}

impl DashscopeRegion {
    /// The public API base of the region (`workspace`: the Singapore workspace id).
    pub fn base_url(self, workspace: &str) -> String {
        match self {
            DashscopeRegion::Beijing => "https://dashscope.aliyuncs.com/api/v1".into(),
            DashscopeRegion::Singapore if !workspace.is_empty() => {
                format!("https://{workspace}.ap-southeast-1.maas.aliyuncs.com/api/v1")
            }
            DashscopeRegion::Singapore => "https://dashscope-intl.aliyuncs.com/api/v1".into(),
            DashscopeRegion::Us => "https://dashscope-us.aliyuncs.com/api/v1".into(),
        }
    }
}

/// Which ModelArk deployment a `modelark` upstream is: the same protocol on two hosts with
/// their own model ids (BytePlus `dreamina-…`/bare ids, Volcengine `doubao-…`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelarkFlavor {
    /// BytePlus ModelArk, international (`ark.ap-southeast.bytepluses.com`).
    #[default]
    Byteplus,
    /// Volcengine Ark, China (`ark.cn-beijing.volces.com`).
    Volcengine,
}

impl ModelarkFlavor {
    /// The public API base of the flavour, used when `base_url` is empty. BytePlus serves
    /// Seedance in ap-southeast-1 only (its eu-west host has no Seedance).
    pub fn default_base_url(self) -> &'static str {
        match self {
            ModelarkFlavor::Byteplus => "https://ark.ap-southeast.bytepluses.com/api/v3",
            ModelarkFlavor::Volcengine => "https://ark.cn-beijing.volces.com/api/v3",
        }
    }
}

impl UpstreamKind {
    /// The spelling in config.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamKind::Vertex => "vertex",
            UpstreamKind::Gemini => "gemini",
            UpstreamKind::Openai => "openai",
            UpstreamKind::Vidgate => "vidgate",
            UpstreamKind::Modelark => "modelark",
            UpstreamKind::Dashscope => "dashscope",
            UpstreamKind::Minimax => "minimax",
            UpstreamKind::Kling => "kling",
            UpstreamKind::Comfyui => "comfyui",
            UpstreamKind::Fal => "fal",
            UpstreamKind::Runway => "runway",
            UpstreamKind::Luma => "luma",
        }
    }
}

/// Whether an upstream makes an audio track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioSupport {
    /// Silent clips only.
    None,
    /// Audio can be turned on and off per job (Vertex `generateAudio`, vidgate `audio`).
    Switchable,
    /// Every clip has audio (Gemini API Veo 3.x, Sora); `audio: false` strips the track.
    Always,
}

/// What a route can make. Empty `durations` or `sizes` mean "whatever is asked" (a
/// vidgate upstream plans for itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteCaps {
    pub durations: Vec<u32>,
    pub sizes: Vec<Size>,
    /// Per-size restrictions of `durations` (Veo: 1080p only at 8 s).
    pub durations_by_size: BTreeMap<Size, Vec<u32>>,
    pub audio: AudioSupport,
    pub image_input: bool,
    /// How clips can be extended, where the upstream documents extension and vidgate
    /// chains it (Gemini API Veo 3.1 only).
    pub extension: Option<ExtensionCaps>,
    /// What it does with a last frame and reference images.
    pub guides: GuideCaps,
}

/// A route's last frame and reference images (docs/upstreams.md §1.3, §2.2 for Veo).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuideCaps {
    /// Takes a last frame (with the first frame: interpolation).
    pub last_frame: bool,
    /// Reference images one job takes (0: none).
    pub max_references: u32,
    /// Takes `style` references (Veo 3.1: no, on either platform).
    pub style_references: bool,
    /// The sizes reference images work at (empty: every size it makes).
    pub reference_sizes: Vec<Size>,
    /// The one native length of a job with a last frame or references (Veo: 8 s).
    pub seconds: Option<u32>,
    /// Reference images go only without a first or last frame (ModelArk: the modes are
    /// mutually exclusive, docs/upstreams.md §8.2).
    pub references_alone: bool,
}

/// Extension on the Gemini API (docs/upstreams.md §1.3 `video (extend)`): a base clip, then
/// each extension a new job on the previous output that adds `seconds`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionCaps {
    /// Seconds one extension adds (7).
    pub seconds: u32,
    /// Extensions one chain may have (20).
    pub max: u32,
    /// The base clip's length: "must be 8 with extension" may mean the base or the
    /// extension request, so the base is always 8 s and every extension asks for 8 too.
    pub base_seconds: u32,
    /// The sizes extension works at (720p, 16:9 or 9:16; extension output is 720p only).
    pub sizes: Vec<Size>,
}

/// Seconds one Gemini API Veo 3.1 extension adds (docs/upstreams.md §1.3).
pub const GEMINI_EXTENSION_SECONDS: u32 = 7;
/// Extensions one Gemini API chain may have (docs/upstreams.md §1.3).
pub const GEMINI_MAX_EXTENSIONS: u32 = 20;
/// The length of the base clip of an extension chain and of every extension request.
pub const EXTENSION_BASE_SECONDS: u32 = 8;

/// One `[[upstreams]]` entry.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The name routes use (`[[models]] routes`, task `provider`).
    pub name: String,
    pub kind: UpstreamKind,
    /// Base URL; empty: the kind's public endpoint (vidgate and openai need one).
    #[serde(default)]
    pub base_url: String,
    /// The model id at the upstream (`veo-3.1-generate-001`, `sora-2`); vidgate: empty
    /// means the catalog id of the task's model.
    #[serde(default)]
    pub model: String,
    /// Catalog models this upstream is a route for, appended to their `routes`.
    #[serde(default)]
    pub serves: Vec<String>,
    /// Vertex: the service-account JSON key, inline or as a file path; Gemini: the API
    /// key; openai and vidgate: the bearer key.
    #[serde(default)]
    pub credentials: Secret,
    /// Reads `credentials` from this environment variable instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_env: String,
    /// Vertex: the project (default: the key's `project_id`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    /// Vertex: the region (default `us-central1`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// Vertex: the OAuth token endpoint (default: the key's `token_uri`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_url: String,
    /// Vertex: the Cloud Storage JSON API base for `gs://` results.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_url: String,
    /// Vertex: `gs://BUCKET/PREFIX` for results (empty: inline bytes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_uri: String,
    /// Veo `personGeneration`; empty: the documented value for text or image input.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub person_generation: String,
    /// Upstream jobs in flight at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// Requests per second sent to it (a token bucket; 0 = unlimited).
    #[serde(default = "default_rps")]
    pub requests_per_second: f64,
    /// Requests to it in progress at once from one process.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: u32,
    /// Timeout of one API request, seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Timeout of one result download, seconds.
    #[serde(default = "default_download_timeout_secs")]
    pub download_timeout_secs: u64,
    /// How long a job usually takes, seconds (polls are dense near it).
    #[serde(default = "default_expected_latency_secs")]
    pub expected_latency_secs: u64,
    /// After this long the task fails unbilled with `timeout`, seconds.
    #[serde(default = "default_deadline_secs")]
    pub deadline_secs: u64,
    /// Routing group: a model's routes of the lowest priority that can take a task are
    /// chosen first (docs/channels.md). Unset: the route's position in the model's routes,
    /// so routes without priorities keep their strict order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Share of its group's new tasks (0: it leads no task, it only takes failover).
    #[serde(default = "crate::routing::default_weight", skip_serializing_if = "crate::routing::is_default_weight")]
    pub weight: u32,
    /// `[upstreams.breaker]`: when failures eject it, and rate-limit cool-downs.
    #[serde(default)]
    pub breaker: crate::routing::BreakerConfig,
    /// Spend cap per UTC day, counted from the recorded upstream cost of its tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_budget_usd: Option<Usd>,
    /// Spend cap per UTC calendar month, counted the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_budget_usd: Option<Usd>,
    /// What the upstream charges per second: keys `default`, `720p`, `1080p` or `WxH`.
    #[serde(default)]
    pub usd_per_second: BTreeMap<String, Usd>,
    /// The same when it generates audio, where that costs more (empty: as above).
    #[serde(default)]
    pub usd_per_second_with_audio: BTreeMap<String, Usd>,
    /// Native lengths (default per kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durations: Option<Vec<u32>>,
    /// Sizes (default per kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<Size>>,
    /// Per-size lengths (default per kind: Veo 1080p only at 8 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durations_by_size: Option<BTreeMap<Size, Vec<u32>>>,
    /// `none`, `switchable` or `always` (default per kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioSupport>,
    /// Whether it takes a first-frame image (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_input: Option<bool>,
    /// Gemini: seconds one extension adds (default 7 for `veo-3.1*` models, none for
    /// others; 0 turns chaining off). Other kinds document no extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_seconds: Option<u32>,
    /// Gemini: extensions one chain may have (default 20; 0 turns chaining off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_extensions: Option<u32>,
    /// ModelArk: `byteplus` (default) or `volcengine`; picks the public host when
    /// `base_url` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<ModelarkFlavor>,
    /// ModelArk: what the upstream charges per million output tokens (its bill is
    /// `usage.completion_tokens`); the same keys as `usd_per_second`. The task's measured
    /// upstream cost is computed from it.
    #[serde(default)]
    pub usd_per_million_tokens: BTreeMap<String, Usd>,
    /// ModelArk: the same for jobs that generate audio, where that costs more (Seedance
    /// 1.5 pro: double); empty: as above.
    #[serde(default)]
    pub usd_per_million_tokens_with_audio: BTreeMap<String, Usd>,
    /// DashScope: `beijing` (default), `singapore` or `us`; picks the public host when
    /// `base_url` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<DashscopeRegion>,
    /// DashScope, Singapore: the workspace id of the workspace host
    /// (`{workspace}.ap-southeast-1.maas.aliyuncs.com`); empty: the legacy shared host.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workspace: String,
    /// DashScope: the image-to-video model id (`wan2.6-i2v`) used when a task has a first
    /// frame; `model` is the text-to-video one. Empty: the entry takes no image. fal: the
    /// image-to-video endpoint id, the same way.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_model: String,
    /// DashScope: the first-and-last-frame model id (`wan2.2-kf2v-flash`, `wan2.7-i2v`) used
    /// when a task has a last frame. Empty: the entry takes no last frame.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyframe_model: String,
    /// DashScope: the create path of a kf2v `keyframe_model` below the base URL; empty:
    /// `services/aigc/image2video/video-synthesis` (docs/upstreams.md §9.3, UNCONFIRMED).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyframe_path: String,
    /// MiniMax: `international` (default) or `mainland`; picks the public host when
    /// `base_url` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<MinimaxPlatform>,
    /// DashScope and MiniMax (v2): how a create whose answer was lost is looked up in the
    /// upstream's task list (docs/upstreams.md §9.6, §11.6); absent: the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_list_lookup: Option<crate::task_list::TaskListLookup>,
    /// Kling: `jwt` (default: `credentials` is `ACCESS_KEY:SECRET_KEY`, signed into an HS256
    /// token) or `api_key` (`credentials` is the console's API key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<KlingAuth>,
    /// Kling, `auth = "jwt"`: the lifetime of a signed token, seconds (default 1800, the
    /// official sample's); it is signed again a minute before it runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl_secs: Option<u64>,
    /// Kling: dollars per billed unit (`final_unit_deduction`), to record the measured
    /// upstream cost; empty: the cost is `usd_per_second` × seconds. The rate is
    /// UNCONFIRMED upstream (docs/upstreams.md §10.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_unit: Option<Usd>,
    /// ComfyUI: the `[upstreams.comfyui]` table (servers, workflow template, GPU-second cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comfyui: Option<crate::comfyui::ComfyuiConfig>,
    /// fal: input mappings by endpoint id, added to (or replacing) the shipped ones
    /// (`[upstreams.fal_models."<endpoint id>"]`, docs/configuration.md).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fal_models: BTreeMap<String, crate::fal::FalModel>,
    /// Runway: the `X-Runway-Version` header (default `2024-11-06`, docs/upstreams.md §13.2).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Runway: dollars per credit, to record the measured upstream cost from the task's
    /// `cost.credits` (default $0.01, docs/upstreams.md §13.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_credit: Option<Usd>,
    /// `[[upstreams.pool]]`: several credentials, each its own channel `<name>:<label>`
    /// (docs/channels.md "Credential pools"); absent: the entry's own `credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<Vec<crate::pool::PoolMember>>,
    /// Set on a pool member's channel only: the entry it came from (never read from a file).
    #[serde(skip)]
    pub pool_of: String,
}

fn default_max_in_flight() -> u32 {
    10
}
fn default_rps() -> f64 {
    5.0
}
fn default_max_concurrent_requests() -> u32 {
    8
}
fn default_timeout_secs() -> u64 {
    60
}
fn default_download_timeout_secs() -> u64 {
    600
}
fn default_expected_latency_secs() -> u64 {
    90
}
fn default_deadline_secs() -> u64 {
    1200
}

pub(crate) const P720: [Size; 2] = [Size::new(1280, 720), Size::new(720, 1280)];
pub(crate) const VEO_SIZES: [Size; 4] =
    [Size::new(1280, 720), Size::new(720, 1280), Size::new(1920, 1080), Size::new(1080, 1920)];
/// `4k` (docs/upstreams.md §1.3): Gemini API Veo 3.1 and 3.1 Fast, not Lite; only at 8 s.
const VEO_4K: [Size; 2] = [Size::new(3840, 2160), Size::new(2160, 3840)];

/// What a Seedance model id makes (docs/upstreams.md §8.1): whole seconds in its range,
/// 720p (and 1080p where it has it), audio switched per job on 2.x and 1.5 pro, none on 1.0.
/// The same on both flavours (`doubao-` or not); an `ep-…` endpoint id names no
/// model, so it gets 1.5 pro's menu, which an entry may override.
fn seedance_caps(model: &str) -> (Vec<u32>, Vec<Size>, AudioSupport) {
    let m = model.strip_prefix("doubao-").unwrap_or(model);
    let m = m.strip_prefix("dreamina-").unwrap_or(m);
    let (all, p720) = (VEO_SIZES.to_vec(), P720.to_vec());
    if m.starts_with("seedance-2-5") {
        ((4..=30).collect(), p720, AudioSupport::Switchable)
    } else if m.starts_with("seedance-2-0-fast") || m.starts_with("seedance-2-0-mini") {
        ((4..=15).collect(), p720, AudioSupport::Switchable)
    } else if m.starts_with("seedance-2-0") {
        ((4..=15).collect(), all, AudioSupport::Switchable)
    } else if m.starts_with("seedance-1-0-lite") {
        ((2..=12).collect(), p720, AudioSupport::None)
    } else if m.starts_with("seedance-1-0") {
        ((2..=12).collect(), all, AudioSupport::None)
    } else {
        ((4..=12).collect(), all, AudioSupport::Switchable)
    }
}

/// The last frame and reference images a Seedance model takes (docs/upstreams.md §8.1
/// and §8.2): 2.x first+last frame and 1–9 reference images
/// (2.5: 30), 1.5 pro and 1.0 pro first+last frame, 1.0 pro fast neither, 1.0 lite
/// first+last frame and 1–4 reference images; reference mode never with a frame. An `ep-…`
/// endpoint id gets 1.5 pro's, like its menu.
fn seedance_guides(model: &str) -> GuideCaps {
    let m = model.strip_prefix("doubao-").unwrap_or(model);
    let m = m.strip_prefix("dreamina-").unwrap_or(m);
    let (last_frame, max_references) = if m.starts_with("seedance-2-5") {
        (true, 30)
    } else if m.starts_with("seedance-2-") {
        (true, 9)
    } else if m.starts_with("seedance-1-0-pro-fast") {
        (false, 0)
    } else if m.starts_with("seedance-1-0-lite") {
        (true, 4)
    } else {
        (true, 0)
    };
    GuideCaps {
        last_frame,
        max_references,
        style_references: false,
        reference_sizes: Vec::new(),
        seconds: None,
        references_alone: true,
    }
}

pub(crate) const P1080: [Size; 2] = [Size::new(1920, 1080), Size::new(1080, 1920)];

/// What a Wan model id makes (docs/upstreams.md §9.1): 2.6 and 2.7 whole seconds 2–15,
/// 2.5 only 5 or 10, 2.2 and 2.1 exactly 5; 720p and 1080p (2.2 plus 1080p only, 2.2
/// flash and 2.1 720p only; 480p is not in the catalog's vocabulary); audio switched per
/// job from 2.5 on, none on 2.2 and 2.1. An unknown id gets 2.6's menu.
fn wan_caps(model: &str) -> (Vec<u32>, Vec<Size>, AudioSupport) {
    let all = VEO_SIZES.to_vec();
    if model.starts_with("wan2.5") {
        (vec![5, 10], all, AudioSupport::Switchable)
    } else if model.starts_with("wan2.2") && model.contains("-plus") {
        (vec![5], P1080.to_vec(), AudioSupport::None)
    } else if model.starts_with("wan2.2") || model.starts_with("wanx2.1") || model.starts_with("wan2.1") {
        (vec![5], P720.to_vec(), AudioSupport::None)
    } else {
        ((2..=15).collect(), all, AudioSupport::Switchable)
    }
}

/// Whether a Wan model id is an image-to-video one (`-i2v`, `-kf2v`), which a DashScope
/// entry names in `image_model`, never in `model` (docs/upstreams.md §9.1).
pub fn wan_takes_image(model: &str) -> bool {
    model.contains("-i2v") || model.contains("-kf2v")
}

/// MiniMax-H3's 768P and 2K frames (docs/upstreams.md §11.1: 1344×768 measured on the open
/// weights, the API's own 768P size unconfirmed, so `sizes` may override it; 2K 2560×1440
/// measured); H3-Max's 480P (832×480) and 768P.
const H3_768P: [Size; 2] = [Size::new(1344, 768), Size::new(768, 1344)];
const H3_2K: [Size; 2] = [Size::new(2560, 1440), Size::new(1440, 2560)];
const H3_480P: [Size; 2] = [Size::new(832, 480), Size::new(480, 832)];

/// What a MiniMax v2 model id makes (docs/upstreams.md §11.1): `MiniMax-H3` whole seconds
/// 4–15 at 768P and 2K; the `-Max` ids 5–15 at 480P and 768P; `-Fast` 5–15 at 480P.
/// Every H3 id switches its native audio per job (`generate_audio`, on by default
/// upstream). An unknown id gets H3's menu.
fn minimax_caps(model: &str) -> (Vec<u32>, Vec<Size>) {
    if model.starts_with("MiniMax-H3-Max") {
        ((5..=15).collect(), [H3_480P, H3_768P].concat())
    } else if model.starts_with("MiniMax-H3-Fast") {
        ((5..=15).collect(), H3_480P.to_vec())
    } else {
        ((4..=15).collect(), [H3_768P, H3_2K].concat())
    }
}

/// Hailuo's v1 frames (docs/upstreams.md §11.5: a 768P result answers 1366×768; 1080P is
/// 1920×1080). v1 takes no ratio, so text-to-video is landscape and a first frame is fitted
/// to the landscape frame.
const HAILUO_768P: Size = Size::new(1366, 768);
const HAILUO_1080P: Size = Size::new(1920, 1080);

/// Whether a MiniMax model id speaks the v1 API (`/v1/video_generation`, docs/upstreams.md
/// §11.5): the Hailuo 2.3 and 02 ids. Every other id is a v2 (H3) one.
pub fn minimax_is_v1(model: &str) -> bool {
    model.starts_with("MiniMax-Hailuo-")
}

/// Whether a Hailuo v1 model id takes `last_frame_image`: Hailuo-02 only (docs/upstreams.md
/// §11.1, §11.5); the clip is the length asked, so the last frame is never trimmed off.
pub fn hailuo_takes_last_frame(model: &str) -> bool {
    model.starts_with("MiniMax-Hailuo-02")
}

/// What a Hailuo v1 model id makes (docs/upstreams.md §11.1): 6 or 10 s, 10 s only at 768P;
/// 768P and 1080P (Hailuo-02's 512P is not in the catalog's vocabulary). Silent.
fn hailuo_caps() -> (Vec<u32>, Vec<Size>, BTreeMap<Size, Vec<u32>>) {
    (vec![6, 10], vec![HAILUO_768P, HAILUO_1080P], BTreeMap::from([(HAILUO_1080P, vec![6])]))
}

/// The length MiniMax-H3 really delivers for a request of `seconds`: frames come in 17n + 5
/// at 24 fps, the first such count covering the request (docs/upstreams.md §11.7: 5 s gives
/// 124 frames, 5.167 s). The upstream bills the requested seconds; vidgate trims to them.
pub fn minimax_delivered_ms(seconds: u32) -> u64 {
    let wanted = u64::from(seconds) * 24;
    let frames = if wanted <= 5 { 5 } else { 5 + (wanted - 5).div_ceil(17) * 17 };
    (frames * 1000).div_ceil(24)
}

/// A price table's entry for `size`: the exact size, then its resolution name, then
/// `default`; zero when none is configured.
fn lookup(table: &BTreeMap<String, Usd>, size: Size) -> Usd {
    let resolution = size.resolution_and_aspect().map(|(r, _)| r.as_str());
    table
        .get(&size.to_string())
        .or_else(|| resolution.and_then(|r| table.get(r)))
        .or_else(|| table.get("default"))
        .copied()
        .unwrap_or(Usd::ZERO)
}

impl UpstreamConfig {
    /// The capabilities: the kind's documented defaults (docs/upstreams.md §1.3, §2.2, §3.2)
    /// with this entry's overrides.
    pub fn caps(&self) -> RouteCaps {
        // 1080p and 4k only at 8 s; the 4k entries are harmless where 4k is not offered and
        // keep an operator who adds 4k `sizes` (e.g. on Vertex) from planning 4 or 6 s jobs.
        let veo_8s_only = || VEO_SIZES[2..].iter().chain(&VEO_4K).map(|s| (*s, vec![8])).collect();
        let base = match self.kind {
            UpstreamKind::Vertex | UpstreamKind::Gemini => RouteCaps {
                durations: vec![4, 6, 8],
                sizes: self.veo_sizes(),
                durations_by_size: veo_8s_only(),
                audio: if self.kind == UpstreamKind::Vertex { AudioSupport::Switchable } else { AudioSupport::Always },
                image_input: true,
                extension: self.gemini_extension(),
                guides: GuideCaps {
                    last_frame: true,
                    max_references: 3,
                    style_references: false,
                    // "16:9 only" (one doc version): the landscape sizes.
                    reference_sizes: [VEO_SIZES[0], VEO_SIZES[2], VEO_4K[0]].to_vec(),
                    seconds: Some(EXTENSION_BASE_SECONDS),
                    references_alone: false,
                },
            },
            UpstreamKind::Openai => RouteCaps {
                durations: vec![4, 8, 12],
                sizes: P720.to_vec(),
                durations_by_size: BTreeMap::new(),
                audio: AudioSupport::Always,
                image_input: true,
                extension: None,
                guides: GuideCaps::default(),
            },
            UpstreamKind::Modelark => {
                let (durations, sizes, audio) = seedance_caps(&self.model);
                RouteCaps {
                    durations,
                    sizes,
                    durations_by_size: BTreeMap::new(),
                    audio,
                    image_input: true,
                    extension: None,
                    guides: seedance_guides(&self.model),
                }
            }
            UpstreamKind::Dashscope => {
                let (durations, sizes, audio) = wan_caps(&self.model);
                RouteCaps {
                    durations,
                    sizes,
                    durations_by_size: BTreeMap::new(),
                    audio,
                    image_input: !self.image_model.is_empty(),
                    extension: None,
                    guides: crate::wan::guides(self),
                }
            }
            UpstreamKind::Minimax if minimax_is_v1(&self.model) => {
                let (durations, sizes, durations_by_size) = hailuo_caps();
                RouteCaps {
                    durations,
                    sizes,
                    durations_by_size,
                    audio: AudioSupport::None,
                    image_input: true,
                    extension: None,
                    // `last_frame_image` is Hailuo-02's only (§11.1, §11.5).
                    guides: GuideCaps { last_frame: hailuo_takes_last_frame(&self.model), ..GuideCaps::default() },
                }
            }
            UpstreamKind::Minimax => {
                let (durations, sizes) = minimax_caps(&self.model);
                RouteCaps {
                    durations,
                    sizes,
                    durations_by_size: BTreeMap::new(),
                    audio: AudioSupport::Switchable,
                    image_input: true,
                    extension: None,
                    // A last frame is documented (first+last, last only), but the clip runs
                    // past the requested length and the trim would cut that frame off: not
                    // offered until vidgate can deliver the clip untrimmed.
                    guides: GuideCaps::default(),
                }
            }
            UpstreamKind::Kling => {
                let (durations, sizes, audio) = crate::kling::caps(&self.model);
                RouteCaps {
                    durations,
                    sizes,
                    durations_by_size: BTreeMap::new(),
                    audio,
                    image_input: true,
                    extension: None,
                    guides: GuideCaps {
                        last_frame: crate::kling::takes_last_frame(&self.model),
                        ..GuideCaps::default()
                    },
                }
            }
            // Whatever the operator's `[[models]]` entry asks; the template and `durations`,
            // `sizes`, `audio` and `image_input` of the entry say what it makes.
            UpstreamKind::Comfyui => RouteCaps {
                durations: Vec::new(),
                sizes: Vec::new(),
                durations_by_size: BTreeMap::new(),
                audio: AudioSupport::None,
                image_input: false,
                extension: None,
                guides: GuideCaps::default(),
            },
            UpstreamKind::Fal => {
                let fal = crate::fal::caps(self);
                RouteCaps {
                    durations: fal.map(|(m, _)| m.durations.clone()).unwrap_or_default(),
                    sizes: fal.map(|(m, _)| m.sizes.clone()).unwrap_or_default(),
                    durations_by_size: fal.map(|(m, _)| m.durations_by_size.clone()).unwrap_or_default(),
                    audio: fal.map_or(AudioSupport::None, |(m, _)| m.audio),
                    image_input: fal.is_some_and(|(_, image)| image),
                    extension: None,
                    // The mappings send no last frame or references (docs/upstreams.md §12.3).
                    guides: GuideCaps::default(),
                }
            }
            UpstreamKind::Runway => crate::runway::caps(&self.model),
            UpstreamKind::Luma => crate::luma::caps(&self.model),
            UpstreamKind::Vidgate => RouteCaps {
                durations: Vec::new(),
                sizes: Vec::new(),
                durations_by_size: BTreeMap::new(),
                audio: AudioSupport::Switchable,
                image_input: true,
                extension: None,
                // The vidgate adapter forwards neither (docs/upstreams.md §6).
                guides: GuideCaps::default(),
            },
        };
        RouteCaps {
            durations: self.durations.clone().unwrap_or(base.durations),
            sizes: self.sizes.clone().unwrap_or(base.sizes),
            durations_by_size: self.durations_by_size.clone().unwrap_or(base.durations_by_size),
            audio: self.audio.unwrap_or(base.audio),
            image_input: self.image_input.unwrap_or(base.image_input),
            extension: base.extension,
            guides: base.guides,
        }
    }

    /// Veo's sizes: 720p and 1080p everywhere; 4k on the Gemini API's Veo 3.1 and 3.1 Fast
    /// (its docs since 2026-01; not Lite). Vertex documents 4k in one preview doc version
    /// only, so its GA models are not assumed to make it (`sizes` can add it).
    fn veo_sizes(&self) -> Vec<Size> {
        let model = self.model.trim_start_matches("models/");
        let four_k = self.kind == UpstreamKind::Gemini && model.starts_with("veo-3.1") && !model.contains("-lite");
        let extra: &[Size] = if four_k { &VEO_4K } else { &[] };
        VEO_SIZES.iter().chain(extra).copied().collect()
    }

    /// Extension where the Gemini API documents it: Veo 3.1 models only (docs/upstreams.md §1.3),
    /// unless the entry turns it off. Vertex documents none, so it never chains.
    fn gemini_extension(&self) -> Option<ExtensionCaps> {
        let veo31 = self.model.trim_start_matches("models/").starts_with("veo-3.1");
        if self.kind != UpstreamKind::Gemini || !veo31 {
            return None;
        }
        let seconds = self.extension_seconds.unwrap_or(GEMINI_EXTENSION_SECONDS);
        let max = self.max_extensions.unwrap_or(GEMINI_MAX_EXTENSIONS);
        (seconds > 0 && max > 0).then(|| ExtensionCaps {
            seconds,
            max,
            base_seconds: EXTENSION_BASE_SECONDS,
            sizes: P720.to_vec(),
        })
    }

    /// What the upstream charges per second at `size`, with or without generated audio:
    /// the exact size, then its resolution name, then `default`; zero when not configured.
    pub fn price(&self, size: Size, audio: bool) -> Usd {
        let table = if audio && !self.usd_per_second_with_audio.is_empty() {
            &self.usd_per_second_with_audio
        } else {
            &self.usd_per_second
        };
        lookup(table, size)
    }

    /// The per-million-token price at `size`, with or without audio, looked up as
    /// [`UpstreamConfig::price`] does.
    pub fn token_price(&self, size: Size, audio: bool) -> Usd {
        let table = if audio && !self.usd_per_million_tokens_with_audio.is_empty() {
            &self.usd_per_million_tokens_with_audio
        } else {
            &self.usd_per_million_tokens
        };
        lookup(table, size)
    }

    /// The public base URL when `base_url` is empty (ModelArk: the flavour's host;
    /// DashScope: the region's).
    pub fn effective_base_url(&self) -> std::borrow::Cow<'_, str> {
        if self.base_url.is_empty() && self.kind == UpstreamKind::Modelark {
            return self.flavor.unwrap_or_default().default_base_url().into();
        }
        if self.base_url.is_empty() && self.kind == UpstreamKind::Minimax {
            return self.platform.unwrap_or_default().base_url().into();
        }
        if self.base_url.is_empty() && self.kind == UpstreamKind::Kling {
            return crate::kling::DEFAULT_BASE_URL.into();
        }
        if self.base_url.is_empty() && self.kind == UpstreamKind::Fal {
            return crate::fal::DEFAULT_BASE_URL.into();
        }
        if self.base_url.is_empty() && self.kind == UpstreamKind::Runway {
            return crate::runway::DEFAULT_BASE_URL.into();
        }
        if self.base_url.is_empty() && self.kind == UpstreamKind::Luma {
            return crate::luma::default_base_url(&self.model).into();
        }
        if self.base_url.is_empty() && self.kind == UpstreamKind::Dashscope {
            return self.region.unwrap_or_default().base_url(&self.workspace).into();
        }
        self.base_url.as_str().into()
    }

    /// What a job of `seconds` really delivers, in ms, where that is longer than asked
    /// (MiniMax-H3's 17n + 5 frames, docs/upstreams.md §11.1); 0: the length asked.
    pub fn delivered_ms(&self, seconds: u32) -> u64 {
        match self.kind {
            UpstreamKind::Minimax if self.model.starts_with("MiniMax-H3") => minimax_delivered_ms(seconds),
            UpstreamKind::Comfyui => self.comfyui.as_ref().map_or(0, |c| c.delivered_ms(seconds)),
            UpstreamKind::Fal => crate::fal::delivered_ms(self, seconds),
            _ => 0,
        }
    }

    /// Whether any price is configured.
    pub fn has_prices(&self) -> bool {
        !self.usd_per_second.is_empty() || !self.usd_per_second_with_audio.is_empty()
    }

    /// Checks one entry on its own.
    pub fn check(&self) -> Result<(), String> {
        let n = &self.name;
        // A pool member's channel is `<entry>:<label>`: the entry's name is checked as a name.
        let entry = if self.pool_of.is_empty() { n.as_str() } else { self.pool_of.as_str() };
        if entry.is_empty() || !entry.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(format!("upstream name {entry:?} must be non-empty [A-Za-z0-9._-]"));
        }
        if !self.pool_of.is_empty() {
            crate::pool::check_member_name(n, &self.pool_of)?;
        }
        if entry == "sandbox" {
            return Err("upstream name \"sandbox\" is reserved for the built-in sandbox".into());
        }
        let needs_base = matches!(self.kind, UpstreamKind::Openai | UpstreamKind::Vidgate);
        if needs_base && self.base_url.is_empty() {
            return Err(format!("upstream {n}: base_url is required for kind {}", self.kind.as_str()));
        }
        for (key, value) in
            [("base_url", &self.base_url), ("token_url", &self.token_url), ("storage_url", &self.storage_url)]
        {
            if !value.is_empty() {
                let url = url::Url::parse(value).map_err(|e| format!("upstream {n}: {key}: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("upstream {n}: {key} must be an http or https URL"));
                }
            }
        }
        let needs_model = !matches!(self.kind, UpstreamKind::Vidgate | UpstreamKind::Comfyui);
        if needs_model && self.model.is_empty() {
            return Err(format!("upstream {n}: model (the model id at the upstream) is required"));
        }
        if !self.storage_uri.is_empty() && !self.storage_uri.starts_with("gs://") {
            return Err(format!("upstream {n}: storage_uri must be gs://BUCKET/PREFIX"));
        }
        let positive = [
            ("max_in_flight", u64::from(self.max_in_flight)),
            ("max_concurrent_requests", u64::from(self.max_concurrent_requests)),
            ("timeout_secs", self.timeout_secs),
            ("download_timeout_secs", self.download_timeout_secs),
            ("expected_latency_secs", self.expected_latency_secs),
            ("deadline_secs", self.deadline_secs),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("upstream {n}: {key} must be positive"));
        }
        if !self.requests_per_second.is_finite() || self.requests_per_second < 0.0 {
            return Err(format!("upstream {n}: requests_per_second must be 0 (unlimited) or positive"));
        }
        let extends = self.extension_seconds.is_some() || self.max_extensions.is_some();
        if extends && self.kind != UpstreamKind::Gemini {
            return Err(format!("upstream {n}: extension_seconds and max_extensions apply to kind gemini only"));
        }
        if self.max_extensions.is_some_and(|m| m > GEMINI_MAX_EXTENSIONS) {
            return Err(format!(
                "upstream {n}: max_extensions must be at most {GEMINI_MAX_EXTENSIONS} (docs/upstreams.md §1.3)"
            ));
        }
        if self.kind != UpstreamKind::Modelark
            && (self.flavor.is_some()
                || !self.usd_per_million_tokens.is_empty()
                || !self.usd_per_million_tokens_with_audio.is_empty())
        {
            return Err(format!("upstream {n}: flavor and usd_per_million_tokens apply to kind modelark only"));
        }
        self.check_dashscope()?;
        if self.platform.is_some() && self.kind != UpstreamKind::Minimax {
            return Err(format!("upstream {n}: platform applies to kind minimax only"));
        }
        crate::kling::check(self)?;
        crate::task_list::check(self)?;
        crate::comfyui::check(self)?;
        crate::fal::check(self)?;
        crate::runway::check(self)?;
        crate::luma::check(self)?;
        crate::routing::check(self)?;
        if self.deadline_secs < self.expected_latency_secs {
            return Err(format!("upstream {n}: deadline_secs must be at least expected_latency_secs"));
        }
        let price_keys = self.usd_per_second.keys().chain(self.usd_per_second_with_audio.keys());
        let token_keys = self.usd_per_million_tokens.keys().chain(self.usd_per_million_tokens_with_audio.keys());
        for key in price_keys.chain(token_keys) {
            let known = key == "default" || Resolution::parse(key).is_some() || key.parse::<Size>().is_ok();
            if !known {
                return Err(format!("upstream {n}: price key {key:?} must be default, 720p, 1080p, 4k or WxH"));
            }
        }
        let mut prices = self.usd_per_second.values().chain(self.usd_per_second_with_audio.values());
        let mut tokens = self.usd_per_million_tokens.values().chain(self.usd_per_million_tokens_with_audio.values());
        if prices.any(|p| p.micros() < 0) || tokens.any(|p| p.micros() < 0) {
            return Err(format!("upstream {n}: prices must not be negative"));
        }
        Ok(())
    }
}

impl UpstreamConfig {
    /// The keys only a `dashscope` entry takes, and its model ids in the right places.
    fn check_dashscope(&self) -> Result<(), String> {
        let n = &self.name;
        if self.kind != UpstreamKind::Dashscope {
            let image_model = !self.image_model.is_empty() && self.kind != UpstreamKind::Fal;
            let keyframe = !self.keyframe_model.is_empty() || !self.keyframe_path.is_empty();
            if self.region.is_some() || !self.workspace.is_empty() || image_model || keyframe {
                return Err(format!(
                    "upstream {n}: region, workspace and keyframe_model apply to kind dashscope only, image_model \
                     to dashscope and fal"
                ));
            }
            return Ok(());
        }
        if wan_takes_image(&self.model) {
            return Err(format!(
                "upstream {n}: model {:?} is an image-to-video id; name it in image_model and a \
                 text-to-video id in model (docs/upstreams.md §9.1)",
                self.model
            ));
        }
        if !self.image_model.is_empty() && !wan_takes_image(&self.image_model) {
            return Err(format!("upstream {n}: image_model {:?} is not an image-to-video id", self.image_model));
        }
        let ws = &self.workspace;
        if !ws.is_empty() && !ws.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("upstream {n}: workspace must be the workspace id ([A-Za-z0-9-])"));
        }
        if !ws.is_empty() && self.region != Some(DashscopeRegion::Singapore) {
            return Err(format!("upstream {n}: workspace applies to region singapore only"));
        }
        crate::wan::check(self)
    }
}

/// Checks every entry and that names are unique.
pub fn check_all(upstreams: &[UpstreamConfig]) -> Result<(), String> {
    for (i, u) in upstreams.iter().enumerate() {
        u.check()?;
        if upstreams[..i].iter().any(|other| other.name == u.name) {
            return Err(format!("upstream name {:?} appears twice", u.name));
        }
    }
    Ok(())
}

/// The catalog with each upstream appended to the routes of the models it `serves`, and a
/// route naming a pool entry replaced by the entry's members (`upstreams`: the channels,
/// [`crate::pool::expand`]).
pub fn with_served_routes(catalog: Catalog, upstreams: &[UpstreamConfig]) -> Result<Catalog, String> {
    let pooled = upstreams.iter().any(|u| !u.pool_of.is_empty());
    if upstreams.iter().all(|u| u.serves.is_empty()) && !pooled {
        return Ok(catalog);
    }
    let mut models = catalog.models().to_vec();
    for model in models.iter_mut().filter(|_| pooled) {
        model.routes = model.routes.iter().flat_map(|route| pool_members(upstreams, route)).collect();
    }
    for u in upstreams {
        for name in &u.serves {
            let model = models
                .iter_mut()
                .find(|m| &m.id == name || m.aliases.contains(name))
                .ok_or_else(|| format!("upstream {}: serves {name:?}, which is not in the catalog", u.name))?;
            if !model.routes.contains(&u.name) {
                model.routes.push(u.name.clone());
            }
        }
    }
    Catalog::new(models)
}

/// A route's channels: the members of the pool entry it names, else the route itself.
fn pool_members(upstreams: &[UpstreamConfig], route: &str) -> Vec<String> {
    let members: Vec<String> = upstreams.iter().filter(|u| u.pool_of == route).map(|u| u.name.clone()).collect();
    if members.is_empty() { vec![route.to_owned()] } else { members }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> UpstreamConfig {
        toml::from_str(text).expect("entry parses")
    }

    #[test]
    fn veo_on_vertex_defaults_to_four_six_eight_seconds_and_1080p_only_at_eight() {
        let u = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"veo-3.1-generate-001\"\n");
        let caps = u.caps();
        assert_eq!(caps.durations, [4, 6, 8]);
        assert_eq!(caps.durations_by_size.get(&Size::new(1920, 1080)), Some(&vec![8]));
        assert_eq!(caps.audio, AudioSupport::Switchable);
        assert_eq!(caps.extension, None);
        assert_eq!(u.max_in_flight, 10);
        u.check().unwrap();
    }

    #[test]
    fn four_k_is_made_by_gemini_veo_3_1_and_fast_at_eight_seconds_but_not_by_lite_or_vertex() {
        let four_k = Size::new(3840, 2160);
        for model in ["veo-3.1-generate-preview", "models/veo-3.1-fast-generate-preview"] {
            let caps = entry(&format!("name = \"g\"\nkind = \"gemini\"\nmodel = \"{model}\"\n")).caps();
            assert!(caps.sizes.contains(&four_k) && caps.sizes.contains(&Size::new(2160, 3840)), "{model}");
            assert_eq!(caps.durations_by_size.get(&four_k), Some(&vec![8]), "{model}");
        }
        let lite = entry("name = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.1-lite-generate-preview\"\n").caps();
        assert_eq!(lite.sizes.len(), 4);
        let vertex = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"veo-3.1-generate-001\"\n").caps();
        assert!(!vertex.sizes.contains(&four_k));
        let priced = entry(
            "name = \"g\"\nkind = \"gemini\"\nmodel = \"m\"\nusd_per_second = { \"4k\" = \"0.60\", default = \"0.40\" }\n",
        );
        priced.check().unwrap();
        assert_eq!(priced.price(Size::new(2160, 3840), true), Usd(600_000));
    }

    #[test]
    fn gemini_audio_is_always_on_and_veo_3_1_extends_by_seven_seconds_up_to_twenty_times_at_720p() {
        let caps = entry("name = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.1-fast-generate-preview\"\n").caps();
        assert_eq!(caps.audio, AudioSupport::Always);
        let ext = caps.extension.unwrap();
        assert_eq!((ext.seconds, ext.max, ext.base_seconds), (7, 20, 8));
        assert_eq!(ext.sizes, [Size::new(1280, 720), Size::new(720, 1280)]);
    }

    #[test]
    fn only_gemini_veo_3_1_extends_and_an_entry_can_turn_it_off() {
        assert_eq!(
            entry("name = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.0-generate-preview\"\n").caps().extension,
            None
        );
        let off = entry("name = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.1-generate-preview\"\nmax_extensions = 0\n");
        assert_eq!(off.caps().extension, None);
        let two = entry("name = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.1-generate-preview\"\nmax_extensions = 2\n");
        assert_eq!(two.caps().extension.unwrap().max, 2);
        let vertex =
            entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"veo-3.1-generate-001\"\nextension_seconds = 7\n");
        assert!(vertex.check().unwrap_err().contains("kind gemini only"));
        let many =
            entry("name = \"g\"\nkind = \"gemini\"\nmodel = \"veo-3.1-generate-preview\"\nmax_extensions = 21\n");
        assert!(many.check().unwrap_err().contains("at most 20"));
    }

    #[test]
    fn prices_fall_back_from_size_to_resolution_to_default() {
        let u = entry(
            "name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\n\
             usd_per_second = { default = \"0.10\", \"1080p\" = \"0.12\", \"720x1280\" = \"0.11\" }\n\
             usd_per_second_with_audio = { default = \"0.20\" }\n",
        );
        assert_eq!(u.price(Size::new(1280, 720), false), Usd(100_000));
        assert_eq!(u.price(Size::new(1920, 1080), false), Usd(120_000));
        assert_eq!(u.price(Size::new(720, 1280), false), Usd(110_000));
        assert_eq!(u.price(Size::new(1920, 1080), true), Usd(200_000));
    }

    #[test]
    fn an_openai_upstream_needs_a_base_url_and_a_model() {
        let err = entry("name = \"o\"\nkind = \"openai\"\nmodel = \"sora-2\"\n").check().unwrap_err();
        assert!(err.contains("base_url"), "{err}");
        let err = entry("name = \"o\"\nkind = \"openai\"\nbase_url = \"http://x\"\n").check().unwrap_err();
        assert!(err.contains("model"), "{err}");
    }

    #[test]
    fn an_upstream_serving_a_model_is_appended_to_its_routes() {
        let mut u = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\n");
        u.serves = vec!["veo-3.1".into()];
        let c = with_served_routes(Catalog::shipped(), std::slice::from_ref(&u)).unwrap();
        assert_eq!(c.resolve("veo3.1").unwrap().routes, ["v"]);
        u.serves = vec!["nope".into()];
        assert!(with_served_routes(Catalog::shipped(), &[u.clone()]).unwrap_err().contains("nope"));
        u.serves.clear();
        assert!(check_all(&[u.clone(), u]).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_modelark_upstream_makes_four_to_twelve_seconds_with_switchable_audio_on_its_flavours_host() {
        let u = entry("name = \"ark\"\nkind = \"modelark\"\nmodel = \"seedance-1-5-pro-251215\"\n");
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!(caps.durations, (4..=12).collect::<Vec<_>>());
        assert_eq!((caps.audio, caps.image_input, caps.sizes.len()), (AudioSupport::Switchable, true, 4));
        assert_eq!(u.effective_base_url(), "https://ark.ap-southeast.bytepluses.com/api/v3");
        let fast = entry("name = \"a\"\nkind = \"modelark\"\nmodel = \"dreamina-seedance-2-0-fast-260128\"\n").caps();
        assert_eq!((fast.durations.len(), fast.sizes.len()), (12, 2), "4-15 s, 720p only");
        let old = entry("name = \"a\"\nkind = \"modelark\"\nmodel = \"doubao-seedance-1-0-pro-250528\"\n").caps();
        assert_eq!((old.durations[0], old.audio), (2, AudioSupport::None));
        let cn = entry(
            "name = \"ark\"\nkind = \"modelark\"\nflavor = \"volcengine\"\nmodel = \"doubao-seedance-2-0-260128\"\n\
             usd_per_million_tokens = { default = \"6.5\", \"1080p\" = \"7.2\" }\n\
             usd_per_million_tokens_with_audio = { default = \"13\" }\n",
        );
        assert_eq!(cn.effective_base_url(), "https://ark.cn-beijing.volces.com/api/v3");
        assert_eq!(cn.token_price(Size::new(1280, 720), false), Usd(6_500_000));
        assert_eq!(cn.token_price(Size::new(1080, 1920), false), Usd(7_200_000));
        assert_eq!(cn.token_price(Size::new(1080, 1920), true), Usd(13_000_000));
        let err = entry("name = \"ark\"\nkind = \"modelark\"\n").check().unwrap_err();
        assert!(err.contains("model"), "{err}");
        let err = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\nflavor = \"byteplus\"\n").check().unwrap_err();
        assert!(err.contains("kind modelark only"), "{err}");
    }

    #[test]
    fn a_dashscope_upstream_makes_two_to_fifteen_seconds_with_switchable_audio_on_its_regions_host() {
        let u = entry(
            "name = \"wan\"\nkind = \"dashscope\"\nmodel = \"wan2.6-t2v\"\nimage_model = \"wan2.6-i2v\"\n\
             usd_per_second = { \"720p\" = \"0.10\", \"1080p\" = \"0.15\" }\n",
        );
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!(caps.durations, (2..=15).collect::<Vec<_>>());
        assert_eq!((caps.audio, caps.image_input, caps.sizes.len()), (AudioSupport::Switchable, true, 4));
        assert_eq!(u.effective_base_url(), "https://dashscope.aliyuncs.com/api/v1");
        assert_eq!(u.price(Size::new(1080, 1920), true), Usd(150_000));
        let text_only = entry("name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.7-t2v\"\nregion = \"us\"\n");
        assert!(!text_only.caps().image_input);
        assert_eq!(text_only.effective_base_url(), "https://dashscope-us.aliyuncs.com/api/v1");
        let sg = "name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.5-t2v-preview\"\nregion = \"singapore\"\n";
        assert_eq!(entry(sg).effective_base_url(), "https://dashscope-intl.aliyuncs.com/api/v1");
        let ws = entry(&format!("{sg}workspace = \"ws-123\"\n"));
        assert_eq!(ws.effective_base_url(), "https://ws-123.ap-southeast-1.maas.aliyuncs.com/api/v1");
        assert_eq!(ws.caps().durations, [5, 10]);
        let old = entry("name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.2-t2v-plus\"\n").caps();
        assert_eq!(
            (old.durations.as_slice(), old.audio, old.sizes[0]),
            ([5].as_slice(), AudioSupport::None, Size::new(1920, 1080))
        );
    }

    #[test]
    fn a_minimax_upstream_makes_h3_lengths_and_sizes_with_switchable_audio_on_its_platforms_host() {
        let u = entry(
            "name = \"mm\"\nkind = \"minimax\"\nmodel = \"MiniMax-H3\"\n\
             usd_per_second = { default = \"0.08\", \"2560x1440\" = \"0.13\" }\n",
        );
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!(caps.durations, (4..=15).collect::<Vec<_>>());
        assert_eq!(
            caps.sizes,
            [Size::new(1344, 768), Size::new(768, 1344), Size::new(2560, 1440), Size::new(1440, 2560)]
        );
        assert_eq!((caps.audio, caps.image_input, caps.guides.last_frame), (AudioSupport::Switchable, true, false));
        assert_eq!(u.effective_base_url(), "https://api.minimax.io");
        assert_eq!(u.price(Size::new(2560, 1440), true), Usd(130_000));
        assert_eq!(u.price(Size::new(1344, 768), false), Usd(80_000));
        let cn = entry("name = \"mm\"\nkind = \"minimax\"\nmodel = \"MiniMax-H3-Max\"\nplatform = \"mainland\"\n");
        assert_eq!(cn.effective_base_url(), "https://api.minimaxi.com");
        assert_eq!((cn.caps().durations[0], cn.caps().sizes[0]), (5, Size::new(832, 480)));
        let vertex = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\nplatform = \"mainland\"\n");
        assert!(vertex.check().unwrap_err().contains("kind minimax only"));
    }

    #[test]
    fn a_minimax_hailuo_upstream_speaks_v1_and_makes_silent_6_or_10_s_landscape_clips() {
        let u = entry("name = \"mm\"\nkind = \"minimax\"\nmodel = \"MiniMax-Hailuo-2.3\"\n");
        u.check().unwrap();
        let caps = u.caps();
        assert_eq!((caps.durations, caps.audio, caps.image_input), (vec![6, 10], AudioSupport::None, true));
        assert_eq!(caps.sizes, [Size::new(1366, 768), Size::new(1920, 1080)]);
        assert_eq!(caps.durations_by_size, BTreeMap::from([(Size::new(1920, 1080), vec![6])]));
        assert!(minimax_is_v1("MiniMax-Hailuo-02") && !minimax_is_v1("MiniMax-H3-Max"));
        assert!(!caps.guides.last_frame, "last_frame_image is Hailuo-02's only");
        let h02 = entry("name = \"mm\"\nkind = \"minimax\"\nmodel = \"MiniMax-Hailuo-02\"\n");
        assert!(h02.caps().guides.last_frame);
    }

    #[test]
    fn minimax_h3_delivers_17n_plus_5_frames_at_24_fps() {
        assert_eq!(minimax_delivered_ms(5), 5167, "124 frames, as measured");
        let v1 = entry("name = \"mm\"\nkind = \"minimax\"\nmodel = \"MiniMax-Hailuo-2.3\"\n");
        assert_eq!(v1.delivered_ms(6), 0, "a v1 clip is the length asked");
        assert_eq!(minimax_delivered_ms(4), 4459, "107 frames");
        assert_eq!(minimax_delivered_ms(10), 10_125, "243 frames");
        assert!((4..=15).all(|s| minimax_delivered_ms(s) >= u64::from(s) * 1000));
    }

    #[test]
    fn a_dashscope_entry_names_its_image_model_apart_and_its_keys_belong_to_it() {
        let swapped = entry("name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.6-i2v\"\n");
        assert!(swapped.check().unwrap_err().contains("name it in image_model"));
        let wrong = entry("name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.6-t2v\"\nimage_model = \"wan2.6-t2v\"\n");
        assert!(wrong.check().unwrap_err().contains("not an image-to-video id"));
        let ws = entry("name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.6-t2v\"\nworkspace = \"ws\"\n");
        assert!(ws.check().unwrap_err().contains("region singapore only"));
        let bad = entry(
            "name = \"w\"\nkind = \"dashscope\"\nmodel = \"wan2.6-t2v\"\nregion = \"singapore\"\nworkspace = \"a.b/c\"\n",
        );
        assert!(bad.check().unwrap_err().contains("workspace id"));
        let vertex = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\nregion = \"us\"\n");
        assert!(vertex.check().unwrap_err().contains("kind dashscope only"));
    }

    #[test]
    fn unknown_price_keys_and_the_sandbox_name_are_refused() {
        let bad = entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\nusd_per_second = { \"8k\" = \"1\" }\n");
        assert_eq!(bad.check().unwrap_err(), "upstream v: price key \"8k\" must be default, 720p, 1080p, 4k or WxH");
        let sandbox = entry("name = \"sandbox\"\nkind = \"vidgate\"\nbase_url = \"http://x\"\n");
        assert!(sandbox.check().unwrap_err().contains("reserved"));
    }
}
