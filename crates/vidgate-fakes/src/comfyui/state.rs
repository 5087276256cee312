//! The fake ComfyUI's one worker (digest §1: prompts run serially) and what it keeps in
//! memory: the pending queue (run lowest `number` first, FIFO for vidgate's submits), the
//! running prompt, the history (written only when a prompt finishes, trap 1), uploaded
//! inputs and saved outputs. A restart wipes the queue and the history, not the files
//! (digest §9).
//!
//! The worker moves lazily: every request first lets it finish what is done and start the
//! next prompt. Owns the queue; it must not know HTTP.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::core::Core;
use crate::faults::Outcome;
use crate::jobs::Progress;
use crate::media::ClipSpec;

/// A queued or running prompt.
#[derive(Debug, Clone)]
pub(crate) struct Prompt {
    pub(crate) number: u64,
    pub(crate) id: String,
    pub(crate) graph: Map<String, Value>,
    pub(crate) extra: Value,
    pub(crate) outputs: Vec<String>,
    pub(crate) outcome: Outcome,
    pub(crate) progress: Progress,
    pub(crate) started_ms: u64,
    pub(crate) clip: Option<(String, ClipSpec, bool)>,
}

impl Prompt {
    /// `[number, prompt_id, graph, extra_data, outputs_to_execute]`, as `/queue` and history show it.
    pub(crate) fn item(&self) -> Value {
        json!([self.number, self.id, self.graph, self.extra, self.outputs])
    }
}

/// What a saved output file holds.
#[derive(Debug, Clone)]
pub(crate) enum Saved {
    Clip(ClipSpec),
    Corrupt,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub(crate) pending: Vec<Prompt>,
    pub(crate) running: Option<Prompt>,
    pub(crate) history: Vec<(String, Value)>,
    pub(crate) uploads: HashMap<String, Bytes>,
    pub(crate) files: HashMap<(String, String), Saved>,
    pub(crate) next_number: u64,
    pub(crate) next_file: u64,
    pub(crate) gpu_ms: Option<u64>,
    pub(crate) interrupts: Vec<Option<String>>,
    pub(crate) graphs: Vec<(String, Value)>,
}

/// The fake's state.
#[derive(Debug)]
pub(crate) struct ComfyState {
    pub(crate) core: std::sync::Arc<Core>,
    pub(crate) authorization: Option<String>,
    pub(crate) jobs_api: bool,
    inner: Mutex<Inner>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl ComfyState {
    pub(crate) fn new(core: std::sync::Arc<Core>, authorization: Option<String>, jobs_api: bool) -> Self {
        Self { core, authorization, jobs_api, inner: Mutex::default() }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    /// Finishes the running prompt if it is done and starts the next, until one is running
    /// and unfinished or the queue is empty.
    pub(crate) fn advance(&mut self) {
        loop {
            if let Some(running) = &self.running {
                if running.outcome == Outcome::Never || !running.progress.is_done() {
                    return;
                }
                let prompt = self.running.take().expect("running");
                self.finish(prompt, false);
                continue;
            }
            let Some(next) = self.pending.iter().enumerate().min_by_key(|(_, p)| p.number).map(|(i, _)| i) else {
                return;
            };
            let mut prompt = self.pending.remove(next);
            prompt.started_ms = now_ms();
            if let Some((_, spec, _)) = prompt.clip
                && prompt.outcome.renders()
            {
                crate::media::warm(spec);
            }
            self.running = Some(prompt);
        }
    }

    /// Writes the history entry of a prompt that ended: as scripted, or `interrupted`.
    pub(crate) fn finish(&mut self, p: Prompt, interrupted: bool) {
        let start = p.started_ms;
        let end = start + self.gpu_ms.unwrap_or_else(|| now_ms().saturating_sub(start));
        let mut messages = vec![json!(["execution_start", {"prompt_id": p.id, "timestamp": start}])];
        let mut outputs = json!({});
        let failure = |kind: &str, text: &str| {
            json!(["execution_error", {"prompt_id": p.id, "node_id": "15", "node_type": "SamplerCustomAdvanced",
                "executed": [], "exception_type": kind, "exception_message": text, "traceback": [],
                "current_inputs": {}, "current_outputs": [], "timestamp": end}])
        };
        let status = if interrupted {
            messages.push(json!(["execution_interrupted", {"prompt_id": p.id, "node_id": "15",
                "node_type": "SamplerCustomAdvanced", "executed": [], "timestamp": end}]));
            "error"
        } else {
            match (&p.outcome, &p.clip) {
                (Outcome::Error { code, message }, _) => {
                    let kind = if code == "oom" { "torch.OutOfMemoryError" } else { code.as_str() };
                    messages.push(failure(kind, message));
                    "error"
                }
                (Outcome::SafetyBlock, _) => {
                    messages.push(failure("RuntimeError", "the fake refused to render this prompt"));
                    "error"
                }
                (_, Some((node, spec, vhs))) => {
                    outputs = self.save(node, *spec, *vhs, &p);
                    messages.push(json!(["execution_success", {"prompt_id": p.id, "timestamp": end}]));
                    "success"
                }
                (_, None) => {
                    messages.push(json!(["execution_success", {"prompt_id": p.id, "timestamp": end}]));
                    "success"
                }
            }
        };
        let entry = json!({"prompt": p.item(), "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages}, "meta": {}});
        self.history.retain(|(id, _)| *id != p.id);
        self.history.push((p.id, entry));
    }

    /// Saves the video file under `<prefix>_<counter:05>_.mp4` and answers the node's `ui`.
    fn save(&mut self, node: &str, spec: ClipSpec, vhs: bool, p: &Prompt) -> Value {
        self.next_file += 1;
        let prefix = p.graph[node]["inputs"]["filename_prefix"].as_str().unwrap_or("ComfyUI");
        let (subfolder, base) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let filename = match vhs {
            true if spec.audio => format!("{base}_{:05}-audio.mp4", self.next_file),
            true => format!("{base}_{:05}.mp4", self.next_file),
            false => format!("{base}_{:05}_.mp4", self.next_file),
        };
        let saved = if p.outcome == Outcome::CorruptMedia { Saved::Corrupt } else { Saved::Clip(spec) };
        self.files.insert((subfolder.to_owned(), filename.clone()), saved);
        let item = json!({"filename": filename, "subfolder": subfolder, "type": "output"});
        let ui = if vhs {
            let mut item = item;
            item["format"] = json!("video/h264-mp4");
            json!({"gifs": [item]})
        } else {
            json!({"images": [item], "animated": [true]})
        };
        json!({ node: ui })
    }

    /// The history entry of `id`, if written.
    pub(crate) fn entry(&self, id: &str) -> Option<&Value> {
        self.history.iter().find(|(i, _)| i == id).map(|(_, e)| e)
    }
}
