//! Reading ComfyUI answers (docs/upstreams.md §15.3–§15.6): a `/prompt` refusal summarised
//! from its `error` and `node_errors`, a `/history/{id}` entry as a poll outcome, the video
//! file of its outputs (`SaveVideo` under `images` with `animated`, VHS under `gifs`, picked
//! by extension, trap 5), the GPU time between `execution_start` and the end, and where a
//! prompt id sits in `/queue`.
//!
//! Owns the JSON shapes. It must not send anything.

use serde_json::Value;
use vidgate_domain::task::TaskErrorCode;

use crate::provider::{PollOutcome, PolledResult};

/// A file a node saved: `{filename, subfolder, type}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFile {
    pub filename: String,
    pub subfolder: String,
    pub kind: String,
}

const VIDEO_EXTENSIONS: [&str; 4] = [".mp4", ".webm", ".mov", ".mkv"];

/// The first line of a message, at most 300 characters.
fn first_line(text: &str) -> String {
    crate::provider::http::truncate(text.lines().next().unwrap_or("").trim(), 300).to_owned()
}

/// A `/prompt` 400 (or a 200 with `node_errors`, trap 4) in one line: the error type and
/// message, then each failing node with its class and first error's details.
pub fn refusal(body: &Value) -> String {
    let error = &body["error"];
    let mut text = match error["message"].as_str() {
        Some(m) => format!("{}: {}", error["type"].as_str().unwrap_or("error"), first_line(m)),
        None => "the workflow was refused".to_owned(),
    };
    if let Some(nodes) = body["node_errors"].as_object() {
        for (id, node) in nodes.iter().take(5) {
            let class = node["class_type"].as_str().unwrap_or("?");
            let e = &node["errors"][0];
            let what = e["details"].as_str().filter(|d| !d.is_empty()).or(e["message"].as_str()).unwrap_or("");
            text.push_str(&format!("; node {id} ({class}): {}", first_line(what)));
        }
    }
    text
}

/// The message of the last `execution_error` or `execution_interrupted` in a history entry.
fn message<'a>(entry: &'a Value, kind: &str) -> Option<&'a Value> {
    let messages = entry.pointer("/status/messages")?.as_array()?;
    messages.iter().rev().find(|m| m[0] == kind).map(|m| &m[1])
}

/// Whether the history entry is an out-of-memory failure (trap 7).
fn out_of_memory(e: &Value) -> bool {
    let kind = e["exception_type"].as_str().unwrap_or("");
    let text = e["exception_message"].as_str().unwrap_or("");
    kind.contains("OutOfMemory") || text.contains("out of memory") || text.contains("ran out of memory")
}

/// What a finished history entry means: done with a video, or failed unbilled with the
/// upstream's message summarised.
pub fn outcome(entry: &Value, body: &[u8]) -> PollOutcome {
    let failed = |message: String| PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message };
    if let Some(e) = message(entry, "execution_error") {
        let at = format!("node {} ({})", e["node_id"].as_str().unwrap_or("?"), e["node_type"].as_str().unwrap_or("?"));
        if out_of_memory(e) {
            return failed(format!("the ComfyUI server ran out of GPU memory at {at}; nothing is billed"));
        }
        let detail = first_line(e["exception_message"].as_str().unwrap_or(""));
        let kind = e["exception_type"].as_str().unwrap_or("error");
        return failed(format!("the ComfyUI workflow failed at {at}: {kind}: {detail}; nothing is billed"));
    }
    if message(entry, "execution_interrupted").is_some() {
        return failed("the job was interrupted on the ComfyUI server; nothing is billed".into());
    }
    match entry.pointer("/status/status_str").and_then(Value::as_str) {
        Some("success") if video(entry).is_some() => PollOutcome::SucceededWith(PolledResult(body.to_vec().into())),
        Some("success") => failed("the ComfyUI workflow finished without a video output; nothing is billed".into()),
        other => failed(format!("the ComfyUI job ended with status {other:?}; nothing is billed")),
    }
}

/// The video file among a history entry's outputs.
pub fn video(entry: &Value) -> Option<SavedFile> {
    let outputs = entry["outputs"].as_object()?;
    let items = outputs.values().flat_map(|o| ["images", "gifs"].into_iter().filter_map(move |k| o[k].as_array()));
    items.flatten().find_map(|item| {
        let filename = item["filename"].as_str()?;
        let is_video = VIDEO_EXTENSIONS.iter().any(|x| filename.to_ascii_lowercase().ends_with(x))
            || item["format"].as_str().is_some_and(|f| f.starts_with("video/"));
        is_video.then(|| SavedFile {
            filename: filename.to_owned(),
            subfolder: item["subfolder"].as_str().unwrap_or("").to_owned(),
            kind: item["type"].as_str().unwrap_or("output").to_owned(),
        })
    })
}

/// Milliseconds of GPU time: from `execution_start` to `execution_success` (or the error).
pub fn gpu_ms(entry: &Value) -> Option<u64> {
    let messages = entry.pointer("/status/messages")?.as_array()?;
    let at = |kind: &str| messages.iter().find(|m| m[0] == kind).and_then(|m| m[1]["timestamp"].as_u64());
    let start = at("execution_start")?;
    let end = at("execution_success").or_else(|| at("execution_error"))?;
    end.checked_sub(start)
}

/// Where a prompt id is in a `/queue` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queued {
    Running,
    Pending,
    Absent,
}

/// Finds `id` in `{"queue_running": [[n, id, …]], "queue_pending": […]}`.
pub fn in_queue(queue: &Value, id: &str) -> Queued {
    let has = |key: &str| queue[key].as_array().is_some_and(|items| items.iter().any(|i| i[1] == id));
    if has("queue_running") {
        Queued::Running
    } else if has("queue_pending") {
        Queued::Pending
    } else {
        Queued::Absent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(status: &str, messages: Value, outputs: Value) -> Value {
        json!({"outputs": outputs, "status": {"status_str": status, "completed": status == "success", "messages": messages}})
    }

    #[test]
    fn a_save_video_under_images_or_a_vhs_gif_is_the_video_and_a_png_is_not() {
        let core = json!({"9": {"images": [{"filename": "x.png", "subfolder": "", "type": "output"}]},
            "75": {"images": [{"filename": "vidgate_00001_.mp4", "subfolder": "video", "type": "output"}], "animated": [true]}});
        let e = entry("success", json!([]), core);
        assert_eq!(
            video(&e).unwrap(),
            SavedFile { filename: "vidgate_00001_.mp4".into(), subfolder: "video".into(), kind: "output".into() }
        );
        let vhs = json!({"3": {"gifs": [{"filename": "X_00001-audio.mp4", "subfolder": "", "type": "output", "format": "video/h264-mp4"}]}});
        assert_eq!(video(&entry("success", json!([]), vhs)).unwrap().filename, "X_00001-audio.mp4");
        let done = entry("success", json!([]), json!({}));
        assert!(matches!(outcome(&done, b""), PollOutcome::Failed { .. }));
    }

    #[test]
    fn an_oom_error_is_named_and_the_gpu_time_runs_from_start_to_the_end() {
        let messages = json!([["execution_start", {"timestamp": 1000}],
            ["execution_error", {"node_id": "15", "node_type": "SamplerCustomAdvanced", "exception_type": "torch.OutOfMemoryError",
              "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB\nThis error means you ran out of memory on your GPU.", "timestamp": 4500}]]);
        let e = entry("error", messages, json!({}));
        let PollOutcome::Failed { message, .. } = outcome(&e, b"") else { panic!() };
        assert!(message.contains("out of GPU memory at node 15 (SamplerCustomAdvanced)"), "{message}");
        assert_eq!(gpu_ms(&e), Some(3500));
    }

    #[test]
    fn a_refusal_names_each_failing_node() {
        let body = json!({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
            "node_errors": {"4": {"class_type": "CheckpointLoaderSimple", "errors": [{"type": "value_not_in_list",
              "message": "Value not in list", "details": "ckpt_name: 'x' not in (list of length 31)"}]}}});
        assert_eq!(
            refusal(&body),
            "prompt_outputs_failed_validation: Prompt outputs failed validation; \
            node 4 (CheckpointLoaderSimple): ckpt_name: 'x' not in (list of length 31)"
        );
        let queue = json!({"queue_running": [[1, "a", {}, {}, []]], "queue_pending": [[2, "b", {}, {}, []]]});
        assert_eq!(
            (in_queue(&queue, "a"), in_queue(&queue, "b"), in_queue(&queue, "c")),
            (Queued::Running, Queued::Pending, Queued::Absent)
        );
    }
}
