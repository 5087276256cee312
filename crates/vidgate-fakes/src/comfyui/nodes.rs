//! The node classes the fake ComfyUI knows (docs/upstreams.md §15.2, the LTX-2 and Wan 2.2
//! nodes), served as `/object_info`; validating an API-format graph the way `POST /prompt`
//! does (digest §3: `missing_node_type`, `prompt_no_outputs`, per-node `node_errors` such as
//! `required_input_missing`, `bad_linked_input`, `value_not_in_list` for a model file that is
//! not installed, `custom_validation_failed` for a `LoadImage` of a file never uploaded); and
//! reading what video a valid graph makes, with the models' silent rounding (trap 11).
//!
//! Owns the node table. It must not know queues or HTTP.

use serde_json::{Map, Value, json};

use crate::media::ClipSpec;

const CHECKPOINTS: &[&str] = &["ltx-2-19b-dev-fp8.safetensors", "ltx-2-19b-distilled-fp8.safetensors"];
const TEXT_ENCODERS: &[&str] = &["gemma_3_12B_it_fp4_mixed.safetensors", "umt5_xxl_fp8_e4m3fn_scaled.safetensors"];
const LORAS: &[&str] = &["ltx-2-19b-distilled-lora-384.safetensors"];
const UNETS: &[&str] = &[
    "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors",
    "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors",
    "wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors",
    "wan2.2_i2v_low_noise_14B_fp8_scaled.safetensors",
    "wan2.2_ti2v_5B_fp16.safetensors",
];
const VAES: &[&str] = &["wan_2.1_vae.safetensors", "wan2.2_vae.safetensors"];
const SAMPLERS: &[&str] = &["euler", "euler_ancestral", "dpmpp_2m", "uni_pc"];
const SCHEDULERS: &[&str] = &["simple", "normal", "karras", "sgm_uniform"];
const ON_OFF: &[&str] = &["enable", "disable"];

/// An input's spec: a type name, or a combo with its choices.
#[derive(Clone, Copy)]
enum Spec {
    Type(&'static str),
    Combo(&'static [&'static str]),
}
use Spec::{Combo, Type};

type Inputs = &'static [(&'static str, Spec)];

/// `(class, required inputs, optional inputs, is an output node)`.
const NODES: &[(&str, Inputs, Inputs, bool)] = &[
    ("CheckpointLoaderSimple", &[("ckpt_name", Combo(CHECKPOINTS))], &[], false),
    (
        "LTXAVTextEncoderLoader",
        &[("text_encoder", Combo(TEXT_ENCODERS)), ("ckpt_name", Combo(CHECKPOINTS))],
        &[],
        false,
    ),
    ("LTXVAudioVAELoader", &[("ckpt_name", Combo(CHECKPOINTS))], &[], false),
    (
        "LoraLoaderModelOnly",
        &[("model", Type("MODEL")), ("lora_name", Combo(LORAS)), ("strength_model", Type("FLOAT"))],
        &[],
        false,
    ),
    ("CLIPTextEncode", &[("text", Type("STRING")), ("clip", Type("CLIP"))], &[], false),
    (
        "LTXVConditioning",
        &[("positive", Type("CONDITIONING")), ("negative", Type("CONDITIONING")), ("frame_rate", Type("FLOAT"))],
        &[],
        false,
    ),
    (
        "EmptyLTXVLatentVideo",
        &[("width", Type("INT")), ("height", Type("INT")), ("length", Type("INT")), ("batch_size", Type("INT"))],
        &[],
        false,
    ),
    (
        "LTXVEmptyLatentAudio",
        &[
            ("frames_number", Type("INT")),
            ("frame_rate", Type("INT")),
            ("batch_size", Type("INT")),
            ("audio_vae", Type("VAE")),
        ],
        &[],
        false,
    ),
    (
        "LTXVImgToVideoInplace",
        &[
            ("vae", Type("VAE")),
            ("image", Type("IMAGE")),
            ("latent", Type("LATENT")),
            ("strength", Type("FLOAT")),
            ("bypass", Type("BOOLEAN")),
        ],
        &[],
        false,
    ),
    ("LTXVConcatAVLatent", &[("video_latent", Type("LATENT")), ("audio_latent", Type("LATENT"))], &[], false),
    ("LTXVSeparateAVLatent", &[("av_latent", Type("LATENT"))], &[], false),
    (
        "LTXVScheduler",
        &[
            ("steps", Type("INT")),
            ("max_shift", Type("FLOAT")),
            ("base_shift", Type("FLOAT")),
            ("stretch", Type("BOOLEAN")),
            ("terminal", Type("FLOAT")),
        ],
        &[("latent", Type("LATENT"))],
        false,
    ),
    ("LTXVAudioVAEDecode", &[("samples", Type("LATENT")), ("audio_vae", Type("VAE"))], &[], false),
    ("RandomNoise", &[("noise_seed", Type("INT"))], &[], false),
    ("KSamplerSelect", &[("sampler_name", Combo(SAMPLERS))], &[], false),
    (
        "CFGGuider",
        &[
            ("model", Type("MODEL")),
            ("positive", Type("CONDITIONING")),
            ("negative", Type("CONDITIONING")),
            ("cfg", Type("FLOAT")),
        ],
        &[],
        false,
    ),
    (
        "SamplerCustomAdvanced",
        &[
            ("noise", Type("NOISE")),
            ("guider", Type("GUIDER")),
            ("sampler", Type("SAMPLER")),
            ("sigmas", Type("SIGMAS")),
            ("latent_image", Type("LATENT")),
        ],
        &[],
        false,
    ),
    (
        "VAEDecodeTiled",
        &[
            ("samples", Type("LATENT")),
            ("vae", Type("VAE")),
            ("tile_size", Type("INT")),
            ("overlap", Type("INT")),
            ("temporal_size", Type("INT")),
            ("temporal_overlap", Type("INT")),
        ],
        &[],
        false,
    ),
    ("VAEDecode", &[("samples", Type("LATENT")), ("vae", Type("VAE"))], &[], false),
    ("CreateVideo", &[("images", Type("IMAGE")), ("fps", Type("FLOAT"))], &[("audio", Type("AUDIO"))], false),
    (
        "SaveVideo",
        &[
            ("video", Type("VIDEO")),
            ("filename_prefix", Type("STRING")),
            ("format", Combo(&["auto", "mp4"])),
            ("codec", Combo(&["auto", "h264"])),
        ],
        &[],
        true,
    ),
    ("LoadImage", &[("image", Type("IMAGEUPLOAD"))], &[], false),
    (
        "UNETLoader",
        &[("unet_name", Combo(UNETS)), ("weight_dtype", Combo(&["default", "fp8_e4m3fn", "fp8_e5m2"]))],
        &[],
        false,
    ),
    (
        "CLIPLoader",
        &[("clip_name", Combo(TEXT_ENCODERS)), ("type", Combo(&["stable_diffusion", "wan", "ltxv"]))],
        &[("device", Combo(&["default", "cpu"]))],
        false,
    ),
    ("VAELoader", &[("vae_name", Combo(VAES))], &[], false),
    ("ModelSamplingSD3", &[("model", Type("MODEL")), ("shift", Type("FLOAT"))], &[], false),
    (
        "EmptyHunyuanLatentVideo",
        &[("width", Type("INT")), ("height", Type("INT")), ("length", Type("INT")), ("batch_size", Type("INT"))],
        &[],
        false,
    ),
    (
        "WanImageToVideo",
        &[
            ("positive", Type("CONDITIONING")),
            ("negative", Type("CONDITIONING")),
            ("vae", Type("VAE")),
            ("width", Type("INT")),
            ("height", Type("INT")),
            ("length", Type("INT")),
            ("batch_size", Type("INT")),
        ],
        &[("start_image", Type("IMAGE")), ("clip_vision_output", Type("CLIP_VISION_OUTPUT"))],
        false,
    ),
    (
        "Wan22ImageToVideoLatent",
        &[
            ("vae", Type("VAE")),
            ("width", Type("INT")),
            ("height", Type("INT")),
            ("length", Type("INT")),
            ("batch_size", Type("INT")),
        ],
        &[("start_image", Type("IMAGE"))],
        false,
    ),
    (
        "KSamplerAdvanced",
        &[
            ("model", Type("MODEL")),
            ("add_noise", Combo(ON_OFF)),
            ("noise_seed", Type("INT")),
            ("steps", Type("INT")),
            ("cfg", Type("FLOAT")),
            ("sampler_name", Combo(SAMPLERS)),
            ("scheduler", Combo(SCHEDULERS)),
            ("positive", Type("CONDITIONING")),
            ("negative", Type("CONDITIONING")),
            ("latent_image", Type("LATENT")),
            ("start_at_step", Type("INT")),
            ("end_at_step", Type("INT")),
            ("return_with_leftover_noise", Combo(ON_OFF)),
        ],
        &[],
        false,
    ),
    (
        "VHS_VideoCombine",
        &[
            ("images", Type("IMAGE")),
            ("frame_rate", Type("FLOAT")),
            ("loop_count", Type("INT")),
            ("filename_prefix", Type("STRING")),
            ("format", Combo(&["video/h264-mp4", "image/gif"])),
            ("pingpong", Type("BOOLEAN")),
            ("save_output", Type("BOOLEAN")),
        ],
        &[("audio", Type("AUDIO"))],
        true,
    ),
];

fn spec_json(spec: Spec) -> Value {
    match spec {
        Type(t) => json!([t, {}]),
        Combo(options) => json!([options, {}]),
    }
}

/// `GET /object_info`: every class with its inputs (V1 combo lists).
pub(crate) fn object_info() -> Value {
    let mut all = Map::new();
    for (class, required, optional, output) in NODES {
        let req: Map<String, Value> = required.iter().map(|(n, s)| ((*n).to_owned(), spec_json(*s))).collect();
        let opt: Map<String, Value> = optional.iter().map(|(n, s)| ((*n).to_owned(), spec_json(*s))).collect();
        let order: Vec<&str> = required.iter().map(|(n, _)| *n).collect();
        all.insert(
            (*class).to_owned(),
            json!({"input": {"required": req, "optional": opt}, "input_order": {"required": order},
                "name": class, "display_name": class, "output_node": output, "category": "vidgate-fakes"}),
        );
    }
    Value::Object(all)
}

fn node(class: &str) -> Option<&'static (&'static str, Inputs, Inputs, bool)> {
    NODES.iter().find(|(c, ..)| *c == class)
}

/// Whether `class` is an output node.
pub(crate) fn is_output(class: &str) -> bool {
    node(class).is_some_and(|(.., out)| *out)
}

fn link(value: &Value) -> Option<&str> {
    match value.as_array()?.as_slice() {
        [Value::String(n), Value::Number(_)] => Some(n),
        _ => None,
    }
}

fn error(kind: &str, message: &str, details: String, input: &str) -> Value {
    json!({"type": kind, "message": message, "details": details, "extra_info": {"input_name": input}})
}

/// A refused graph: the top-level `error` and the `node_errors`.
pub(crate) struct Invalid {
    pub(crate) error: Value,
    pub(crate) node_errors: Value,
}

/// Validates a graph (digest §3); `uploaded` tells whether an input file exists.
pub(crate) fn validate(graph: &Map<String, Value>, uploaded: impl Fn(&str) -> bool) -> Result<(), Invalid> {
    for (id, n) in graph {
        let class = n["class_type"].as_str().unwrap_or("");
        if node(class).is_none() {
            let message = format!("Node '{class}' not found. The custom node may not be installed.");
            let error = json!({"type": "missing_node_type", "message": message, "details": "",
                "extra_info": {"node_id": id, "class_type": class, "node_title": n.pointer("/_meta/title")}});
            return Err(Invalid { error, node_errors: json!({}) });
        }
    }
    let outputs: Vec<&String> =
        graph.iter().filter(|(_, n)| is_output(n["class_type"].as_str().unwrap_or(""))).map(|(id, _)| id).collect();
    if outputs.is_empty() {
        let error =
            json!({"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "", "extra_info": {}});
        return Err(Invalid { error, node_errors: json!({}) });
    }
    let mut node_errors = Map::new();
    for (id, n) in graph {
        let class = n["class_type"].as_str().unwrap_or("");
        let (_, required, optional, _) = node(class).expect("checked above");
        let inputs = n["inputs"].as_object().cloned().unwrap_or_default();
        let mut errors = Vec::new();
        for (name, spec) in required.iter().chain(optional.iter()) {
            let is_required = required.iter().any(|(r, _)| r == name);
            let Some(value) = inputs.get(*name) else {
                if is_required {
                    errors.push(error("required_input_missing", "Required input is missing", (*name).to_owned(), name));
                }
                continue;
            };
            if let Some(source) = link(value) {
                if !graph.contains_key(source) {
                    errors.push(error(
                        "bad_linked_input",
                        "Bad linked input",
                        format!("{name}: no node {source}"),
                        name,
                    ));
                }
                continue;
            }
            match (spec, value.as_str()) {
                (Combo(options), Some(v)) if !options.contains(&v) => errors.push(error(
                    "value_not_in_list",
                    "Value not in list",
                    format!("{name}: '{v}' not in (list of length {})", options.len()),
                    name,
                )),
                (Type("IMAGEUPLOAD"), Some(v)) if !uploaded(v) => errors.push(error(
                    "custom_validation_failed",
                    "Custom validation failed for node",
                    format!("{name} - Invalid image file: {v}"),
                    name,
                )),
                _ => {}
            }
        }
        if !errors.is_empty() {
            node_errors
                .insert(id.clone(), json!({"errors": errors, "dependent_outputs": outputs, "class_type": class}));
        }
    }
    if node_errors.is_empty() {
        return Ok(());
    }
    let error = json!({"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
        "details": "", "extra_info": {}});
    Err(Invalid { error, node_errors: Value::Object(node_errors) })
}

/// What a valid graph's video output makes: the first output node's video, its size and
/// length from the latent node it descends from, rounded as the model silently rounds, its
/// fps from `CreateVideo` or VHS, audio when an audio input is linked. `None`: no video.
pub(crate) fn clip_of(graph: &Map<String, Value>) -> Option<(String, ClipSpec, bool)> {
    let (out_id, out) =
        graph.iter().find(|(_, n)| matches!(n["class_type"].as_str(), Some("SaveVideo" | "VHS_VideoCombine")))?;
    let vhs = out["class_type"] == "VHS_VideoCombine";
    let video_node = if vhs { out } else { graph.get(link(&out["inputs"]["video"])?)? };
    let fps = video_node["inputs"][if vhs { "frame_rate" } else { "fps" }].as_f64().unwrap_or(24.0).max(1.0);
    let audio = video_node["inputs"].get("audio").and_then(link).is_some();
    let (class, latent) = ancestors(graph, video_node).into_iter().find_map(|n| {
        let class = n["class_type"].as_str()?;
        matches!(
            class,
            "EmptyLTXVLatentVideo" | "EmptyHunyuanLatentVideo" | "WanImageToVideo" | "Wan22ImageToVideoLatent"
        )
        .then_some((class, n))
    })?;
    let (size_step, frame_step) = match class {
        "EmptyLTXVLatentVideo" | "Wan22ImageToVideoLatent" => (32, if class == "EmptyLTXVLatentVideo" { 8 } else { 4 }),
        _ => (16, 4),
    };
    let int = |k: &str| latent["inputs"][k].as_u64().unwrap_or(0);
    let frames = (int("length").max(1) - 1) / frame_step * frame_step + 1;
    let spec = ClipSpec {
        width: (int("width") / size_step * size_step).max(size_step) as u32,
        height: (int("height") / size_step * size_step).max(size_step) as u32,
        duration_ms: (frames as f64 * 1000.0 / fps).round() as u64,
        audio,
    };
    Some((out_id.clone(), spec, vhs))
}

/// Every node `from` links to, transitively, nearest first.
fn ancestors<'a>(graph: &'a Map<String, Value>, from: &'a Value) -> Vec<&'a Value> {
    let mut seen = Vec::new();
    let mut todo = vec![from];
    let mut ids = std::collections::BTreeSet::new();
    while let Some(n) = todo.pop() {
        for value in n["inputs"].as_object().into_iter().flat_map(|i| i.values()) {
            if let Some(source) = link(value)
                && ids.insert(source.to_owned())
                && let Some(next) = graph.get(source)
            {
                seen.push(next);
                todo.insert(0, next);
            }
        }
    }
    seen
}
