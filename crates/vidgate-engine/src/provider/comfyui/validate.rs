//! Checking a workflow template against a server's `GET /object_info` (docs/upstreams.md
//! §15.8): every node class installed, every required input given, every model file and
//! other choice the template names offered by the server. A template that passes may still
//! fail at run time (a GPU out of memory), but never for a missing node or model file.
//!
//! Owns the reading of `/object_info`. It must not send anything.

use serde_json::{Map, Value};

use super::template::{Template, link_source};

/// The choices of a combo input spec: V1 `[["a", "b"], {…}]`, V3 `["COMBO", {"options": […]}]`.
fn choices(spec: &Value) -> Option<Vec<&str>> {
    let first = spec.get(0)?;
    let list = match first {
        Value::Array(list) => list,
        Value::String(kind) if kind == "COMBO" => spec.get(1)?.get("options")?.as_array()?,
        _ => return None,
    };
    Some(list.iter().filter_map(Value::as_str).collect())
}

/// The inputs the template fills itself, whose template values need not be on the server.
fn bound(template: &Template) -> Vec<&str> {
    let b = &template.bindings;
    [&b.image, &b.filename_prefix, &b.prompt, &b.negative_prompt].into_iter().flatten().map(String::as_str).collect()
}

/// Every problem of `template` on a server whose `/object_info` is `info`, one line each
/// naming the node, its class and its title; empty when it fits.
pub fn problems(template: &Template, info: &Map<String, Value>) -> Vec<String> {
    let bound = bound(template);
    let mut found = Vec::new();
    for (id, node) in &template.workflow {
        let class = node["class_type"].as_str().unwrap_or("");
        let title = node.pointer("/_meta/title").and_then(Value::as_str).unwrap_or(class);
        let at = format!("node {id} ({class}, \"{title}\")");
        let Some(def) = info.get(class) else {
            found.push(format!("{at}: the node class is not installed on the server"));
            continue;
        };
        let inputs = node["inputs"].as_object().cloned().unwrap_or_default();
        let required = def.pointer("/input/required").and_then(Value::as_object).cloned().unwrap_or_default();
        for name in required.keys() {
            if !inputs.contains_key(name) {
                found.push(format!("{at}: the required input {name:?} is missing"));
            }
        }
        let optional = def.pointer("/input/optional").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, value) in &inputs {
            let Some(spec) = required.get(name).or_else(|| optional.get(name)) else {
                found.push(format!("{at}: the server's {class} has no input {name:?}"));
                continue;
            };
            if link_source(value).is_some() || bound.contains(&format!("{id}.{name}").as_str()) {
                continue;
            }
            if let (Some(options), Some(text)) = (choices(spec), value.as_str())
                && !options.contains(&text)
            {
                found.push(format!(
                    "{at}: {name} {text:?} is not on the server (not among its {} choices)",
                    options.len()
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info() -> Map<String, Value> {
        let mut m = json!({
            "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["a.safetensors"], {}]}}},
            "SaveVideo": {"input": {"required": {"video": ["VIDEO", {}], "filename_prefix": ["STRING", {}],
                "format": ["COMBO", {"options": ["auto", "mp4"]}], "codec": ["COMBO", {"options": ["auto", "h264"]}]}}},
        });
        m.as_object_mut().unwrap().clone()
    }

    #[test]
    fn a_missing_class_input_or_model_file_is_named_with_its_node() {
        let mut t = Template::load("wan22-t2v").unwrap();
        t.workflow.retain(|id, _| id == "42");
        let ok = problems(&t, &info());
        assert_eq!(ok, Vec::<String>::new());
        t.workflow.insert(
            "1".into(),
            json!({"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "b.safetensors"}}),
        );
        t.workflow.insert("2".into(), json!({"class_type": "LTXVScheduler", "inputs": {}}));
        let found = problems(&t, &info());
        assert!(
            found[0].contains("node 1 (CheckpointLoaderSimple")
                && found[0].contains("\"b.safetensors\" is not on the server")
        );
        assert!(found[1].contains("node 2 (LTXVScheduler") && found[1].contains("not installed"), "{found:?}");
    }
}
