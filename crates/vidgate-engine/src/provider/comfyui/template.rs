//! Workflow templates (docs/upstreams.md §15.2, docs/own-gpus.md): an API-format ComfyUI graph
//! with declared bindings of a task's fields to node inputs, and the two graph edits a
//! template may declare (a node bypassed without a first frame, inputs dropped for a silent
//! clip). Rendering fills the bindings and prunes the nodes no output needs any more.
//!
//! Owns the template format and rendering. It must not send anything: checking a template
//! against a server's `/object_info` is `validate`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The output node classes whose video vidgate downloads (§15.4).
pub const OUTPUT_CLASSES: [&str; 3] = ["SaveVideo", "SaveWEBM", "VHS_VideoCombine"];

/// The templates shipped in `deploy/comfyui/`, compiled in so a fresh clone (or a binary
/// without the repository) finds them by name.
const SHIPPED: [(&str, &str); 3] = [
    ("ltx2", include_str!("../../../../../deploy/comfyui/ltx2.json")),
    ("wan22-t2v", include_str!("../../../../../deploy/comfyui/wan22-t2v.json")),
    ("wan22-i2v", include_str!("../../../../../deploy/comfyui/wan22-i2v.json")),
];

/// Where a task field goes: `"node_id.input"` targets.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bindings {
    #[serde(default)]
    pub prompt: Vec<String>,
    #[serde(default)]
    pub negative_prompt: Vec<String>,
    #[serde(default)]
    pub seed: Vec<String>,
    #[serde(default)]
    pub width: Vec<String>,
    #[serde(default)]
    pub height: Vec<String>,
    /// The length in frames (`frame_step × k + 1`).
    #[serde(default)]
    pub frames: Vec<String>,
    #[serde(default)]
    pub fps: Vec<String>,
    /// The uploaded first frame's name (`LoadImage.image`).
    #[serde(default)]
    pub image: Vec<String>,
    /// The output's `filename_prefix`.
    #[serde(default)]
    pub filename_prefix: Vec<String>,
}

/// A parsed template.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub vidgate_template: u32,
    #[serde(default)]
    pub description: String,
    pub bindings: Bindings,
    /// Without a first frame, each of these nodes is removed and every link to it is
    /// replaced by the given link (`{"50": ["43", 0]}`: the empty latent instead of the
    /// image-conditioned one), or removed where the link is `null`.
    #[serde(default)]
    pub without_image: BTreeMap<String, Value>,
    /// For a silent clip these `"node.input"` inputs are removed (`CreateVideo.audio`).
    #[serde(default)]
    pub without_audio: Vec<String>,
    pub workflow: Map<String, Value>,
}

/// What a rendering fills in.
#[derive(Clone, Debug)]
pub struct Fill<'a> {
    pub prompt: &'a str,
    pub negative_prompt: &'a str,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub fps: u32,
    /// The uploaded image's name, for image-to-video.
    pub image: Option<&'a str>,
    pub audio: bool,
    pub filename_prefix: &'a str,
}

fn split(target: &str) -> Option<(&str, &str)> {
    target.split_once('.')
}

impl Template {
    /// A shipped template by name, or the template file at `workflow`.
    pub fn load(workflow: &str) -> Result<Template, String> {
        let text = match SHIPPED.iter().find(|(name, _)| *name == workflow) {
            Some((_, text)) => (*text).to_owned(),
            None => std::fs::read_to_string(workflow).map_err(|e| {
                let names: Vec<_> = SHIPPED.iter().map(|(n, _)| *n).collect();
                format!("workflow {workflow:?}: not a shipped template ({}) nor a readable file: {e}", names.join(", "))
            })?,
        };
        let t: Template = serde_json::from_str(&text).map_err(|e| format!("workflow {workflow:?}: {e}"))?;
        t.check().map_err(|e| format!("workflow {workflow:?}: {e}"))?;
        Ok(t)
    }

    /// Whether the template can take a first frame.
    pub fn takes_image(&self) -> bool {
        !self.bindings.image.is_empty()
    }

    /// Whether the template can make a silent clip and one with audio.
    pub fn switches_audio(&self) -> bool {
        !self.without_audio.is_empty()
    }

    fn all_targets(&self) -> impl Iterator<Item = &String> {
        let b = &self.bindings;
        [
            &b.prompt,
            &b.negative_prompt,
            &b.seed,
            &b.width,
            &b.height,
            &b.frames,
            &b.fps,
            &b.image,
            &b.filename_prefix,
            &self.without_audio,
        ]
        .into_iter()
        .flatten()
    }

    /// The checks that need no server: format version, every target an existing input, an
    /// output node, prompt, size and length bound.
    fn check(&self) -> Result<(), String> {
        if self.vidgate_template != 1 {
            return Err("vidgate_template must be 1".into());
        }
        for target in self.all_targets() {
            let (node, input) = split(target).ok_or_else(|| format!("binding {target:?} is not \"node.input\""))?;
            let inputs = self.workflow.get(node).and_then(|n| n.get("inputs")).and_then(Value::as_object);
            if !inputs.is_some_and(|i| i.contains_key(input)) {
                return Err(format!("binding {target:?}: the workflow has no node {node:?} with input {input:?}"));
            }
        }
        for node in self.without_image.keys() {
            if !self.workflow.contains_key(node) {
                return Err(format!("without_image names node {node:?}, which is not in the workflow"));
            }
        }
        if self.output_nodes(&self.workflow).is_empty() {
            return Err(format!("the workflow has no output node ({})", OUTPUT_CLASSES.join(", ")));
        }
        let b = &self.bindings;
        for (what, targets) in
            [("prompt", &b.prompt), ("width", &b.width), ("height", &b.height), ("frames", &b.frames)]
        {
            if targets.is_empty() {
                return Err(format!("bindings.{what} is empty: the template must bind it"));
            }
        }
        Ok(())
    }

    fn output_nodes(&self, graph: &Map<String, Value>) -> Vec<String> {
        graph
            .iter()
            .filter(|(_, n)| n["class_type"].as_str().is_some_and(|c| OUTPUT_CLASSES.contains(&c)))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The API-format graph for one job.
    pub fn render(&self, fill: &Fill<'_>) -> Map<String, Value> {
        let mut graph = self.workflow.clone();
        if fill.image.is_none() {
            for (node, link) in &self.without_image {
                graph.remove(node);
                relink(&mut graph, node, link);
            }
        }
        if !fill.audio {
            for target in &self.without_audio {
                if let Some((node, input)) = split(target)
                    && let Some(inputs) = graph.get_mut(node).and_then(|n| n["inputs"].as_object_mut())
                {
                    inputs.remove(input);
                }
            }
        }
        let b = &self.bindings;
        let mut set = |targets: &[String], value: Value| {
            for (node, input) in targets.iter().filter_map(|t| split(t)) {
                if let Some(inputs) = graph.get_mut(node).and_then(|n| n["inputs"].as_object_mut()) {
                    inputs.insert(input.to_owned(), value.clone());
                }
            }
        };
        set(&b.prompt, json!(fill.prompt));
        if !fill.negative_prompt.is_empty() {
            set(&b.negative_prompt, json!(fill.negative_prompt));
        }
        set(&b.seed, json!(fill.seed));
        set(&b.width, json!(fill.width));
        set(&b.height, json!(fill.height));
        set(&b.frames, json!(fill.frames));
        set(&b.fps, json!(fill.fps));
        set(&b.filename_prefix, json!(fill.filename_prefix));
        if let Some(image) = fill.image {
            set(&b.image, json!(image));
        }
        let keep = self.needed(&graph);
        graph.retain(|id, _| keep.contains(id));
        graph
    }

    /// The output nodes and every node they link to, transitively.
    fn needed(&self, graph: &Map<String, Value>) -> BTreeSet<String> {
        let mut keep = BTreeSet::new();
        let mut todo = self.output_nodes(graph);
        while let Some(id) = todo.pop() {
            if !keep.insert(id.clone()) {
                continue;
            }
            let inputs = graph.get(&id).and_then(|n| n["inputs"].as_object());
            for value in inputs.into_iter().flat_map(|i| i.values()) {
                if let Some(source) = link_source(value)
                    && graph.contains_key(source)
                {
                    todo.push(source.to_owned());
                }
            }
        }
        keep
    }
}

/// The source node of a link input `[node_id, output_index]`.
pub fn link_source(value: &Value) -> Option<&str> {
    match value.as_array()?.as_slice() {
        [Value::String(node), Value::Number(_)] => Some(node),
        _ => None,
    }
}

/// Every input linked to `node` now takes `link` instead (`null`: the input is removed, for
/// an optional one such as `WanImageToVideo.start_image`).
fn relink(graph: &mut Map<String, Value>, node: &str, link: &Value) {
    for n in graph.values_mut() {
        if let Some(inputs) = n["inputs"].as_object_mut() {
            inputs.retain(|_, value| !(link.is_null() && link_source(value) == Some(node)));
            for value in inputs.values_mut() {
                if link_source(value) == Some(node) {
                    *value = link.clone();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(image: Option<&str>, audio: bool) -> Fill<'_> {
        Fill {
            prompt: "a fox",
            negative_prompt: "",
            seed: 7,
            width: 768,
            height: 512,
            frames: 121,
            fps: 24,
            image,
            audio,
            filename_prefix: "vidgate/t1",
        }
    }

    #[test]
    fn the_shipped_templates_load_and_bind_what_their_models_take() {
        let ltx = Template::load("ltx2").unwrap();
        assert!(ltx.takes_image() && ltx.switches_audio());
        for name in ["wan22-t2v", "wan22-i2v"] {
            let wan = Template::load(name).unwrap();
            assert!(!wan.switches_audio(), "{name}: Wan 2.2 has no audio");
        }
        assert!(Template::load("wan22-i2v").unwrap().takes_image());
        assert!(Template::load("nope").unwrap_err().contains("not a shipped template"));
    }

    #[test]
    fn ltx2_without_image_or_audio_drops_the_image_and_audio_decode_nodes() {
        let ltx = Template::load("ltx2").unwrap();
        let full = ltx.render(&fill(Some("in.png"), true));
        let classes = |g: &Map<String, Value>| -> BTreeSet<String> {
            g.values().map(|n| n["class_type"].as_str().unwrap().to_owned()).collect()
        };
        assert!(classes(&full).contains("LoadImage") && classes(&full).contains("LTXVAudioVAEDecode"));
        let bare = ltx.render(&fill(None, false));
        assert!(!classes(&bare).contains("LoadImage") && !classes(&bare).contains("LTXVImgToVideoInplace"));
        assert!(!classes(&bare).contains("LTXVAudioVAEDecode"));
        for node in bare.values() {
            for v in node["inputs"].as_object().unwrap().values() {
                if let Some(src) = link_source(v) {
                    assert!(bare.contains_key(src), "a dangling link to {src}");
                }
            }
        }
        let lengths: Vec<_> = ltx.bindings.frames.iter().filter_map(|t| split(t)).collect();
        for (node, input) in lengths {
            assert_eq!(full[node]["inputs"][input], json!(121));
        }
    }

    #[test]
    fn a_binding_to_a_missing_input_is_refused_with_its_name() {
        let mut t = Template::load("wan22-t2v").unwrap();
        t.bindings.seed = vec!["999.noise_seed".into()];
        assert!(t.check().unwrap_err().contains("999"));
    }
}
