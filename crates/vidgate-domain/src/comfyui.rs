//! What a `comfyui` upstream entry says beyond the common keys (docs/upstreams.md §15): the
//! ComfyUI servers of its pool, the workflow template it runs, how to reach servers behind a
//! reverse proxy, the template's frame rate and frame rounding, and the operator's cost per
//! GPU-second. It also owns the arithmetic of the frame rounding: the frames a job of N
//! seconds asks for and the length the clip really has.
//!
//! It performs no I/O: the template file is read and checked by the engine.

use serde::{Deserialize, Serialize};

use crate::money::Usd;
use crate::upstream::{UpstreamConfig, UpstreamKind};

/// How vidgate authenticates to the reverse proxy in front of ComfyUI (ComfyUI itself has no
/// authentication, docs/upstreams.md §15.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComfyuiAuth {
    /// No credential (a server on a private network).
    #[default]
    None,
    /// `Authorization: Bearer <credentials>`.
    Bearer,
    /// `Authorization: Basic`, `credentials` being `user:password`.
    Basic,
}

/// The `[upstreams.comfyui]` table of a `comfyui` entry.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComfyuiConfig {
    /// The ComfyUI servers (`http://gpu-1:8188`); a job goes to the one with the shortest queue.
    pub servers: Vec<String>,
    /// The workflow template: a shipped name (`ltx2`, `wan22-t2v`, `wan22-i2v`) or a path
    /// to a template file (docs/own-gpus.md).
    pub workflow: String,
    #[serde(default)]
    pub auth: ComfyuiAuth,
    /// Frames per second the template renders at (bound to its fps inputs).
    #[serde(default = "default_fps")]
    pub fps: u32,
    /// The model's frame rounding: a length is `frame_step × k + 1` frames (LTX-2: 8, Wan: 4).
    #[serde(default = "default_frame_step")]
    pub frame_step: u32,
    /// Width and height must be multiples of this (LTX-2: 32, Wan 2.2 14B: 16), since the
    /// model silently rounds other sizes (docs/upstreams.md §15.9).
    #[serde(default = "default_size_step")]
    pub size_step: u32,
    /// What a GPU-second costs the operator: the task's upstream cost is this × the seconds
    /// from `execution_start` to the end of the prompt.
    #[serde(default)]
    pub usd_per_gpu_second: Usd,
    /// The negative prompt bound to the template's negative text input (empty: the template's).
    #[serde(default)]
    pub negative_prompt: String,
    /// Whether the servers have the jobs API (`/api/jobs/{id}`, `/api/jobs/{id}/cancel`);
    /// without it, `/queue` and `/interrupt` are used (docs/upstreams.md §15.6).
    #[serde(default = "yes")]
    pub jobs_api: bool,
    /// How long a prompt may be in neither the history nor the queue of its server before it
    /// is taken as lost (a ComfyUI restart), seconds.
    #[serde(default = "default_lost_after_secs")]
    pub lost_after_secs: u64,
}

fn default_fps() -> u32 {
    24
}
fn default_frame_step() -> u32 {
    8
}
fn default_size_step() -> u32 {
    32
}
fn yes() -> bool {
    true
}
fn default_lost_after_secs() -> u64 {
    20
}

impl ComfyuiConfig {
    /// The frames a job of `seconds` asks for: the first `frame_step × k + 1` covering it.
    pub fn frames(&self, seconds: u32) -> u32 {
        let wanted = seconds * self.fps;
        let step = self.frame_step.max(1);
        if wanted <= 1 { 1 } else { 1 + (wanted - 1).div_ceil(step) * step }
    }

    /// The length in ms a job of `seconds` really delivers (LTX-2 at 24 fps: 5 s → 121 frames
    /// → 5.042 s); the plan trims it to the requested seconds.
    pub fn delivered_ms(&self, seconds: u32) -> u64 {
        (u64::from(self.frames(seconds)) * 1000).div_ceil(u64::from(self.fps.max(1)))
    }
}

/// Checks the comfyui keys of an entry: required on a `comfyui` entry, refused on others.
pub fn check(u: &UpstreamConfig) -> Result<(), String> {
    let n = &u.name;
    let Some(c) = &u.comfyui else {
        if u.kind == UpstreamKind::Comfyui {
            return Err(format!(
                "upstream {n}: a comfyui entry needs an [upstreams.comfyui] table (servers, workflow)"
            ));
        }
        return Ok(());
    };
    if u.kind != UpstreamKind::Comfyui {
        return Err(format!("upstream {n}: the comfyui table applies to kind comfyui only"));
    }
    if c.servers.is_empty() {
        return Err(format!("upstream {n}: comfyui.servers must name at least one ComfyUI server"));
    }
    for s in &c.servers {
        let url = url::Url::parse(s).map_err(|e| format!("upstream {n}: comfyui.servers: {s}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("upstream {n}: comfyui.servers must be http or https URLs"));
        }
    }
    if c.workflow.trim().is_empty() {
        return Err(format!("upstream {n}: comfyui.workflow must name a shipped template or a template file"));
    }
    if c.fps == 0 || c.frame_step == 0 || c.size_step == 0 || c.lost_after_secs == 0 {
        return Err(format!("upstream {n}: comfyui fps, frame_step, size_step and lost_after_secs must be positive"));
    }
    if c.auth != ComfyuiAuth::None && u.credentials.expose().is_empty() && u.credentials_env.is_empty() {
        return Err(format!("upstream {n}: comfyui.auth needs credentials (the proxy's token or user:password)"));
    }
    if c.usd_per_gpu_second.micros() < 0 {
        return Err(format!("upstream {n}: comfyui.usd_per_gpu_second must not be negative"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> UpstreamConfig {
        toml::from_str(text).expect("entry parses")
    }

    const LTX: &str =
        "name = \"gpu\"\nkind = \"comfyui\"\n[comfyui]\nservers = [\"http://gpu:8188\"]\nworkflow = \"ltx2\"\n";

    #[test]
    fn ltx2_makes_8k_plus_1_frames_at_24_fps_so_5_s_is_121_frames() {
        let c = entry(LTX).comfyui.unwrap();
        assert_eq!((c.frames(5), c.delivered_ms(5)), (121, 5042));
        assert_eq!((c.frames(1), c.frames(4), c.frames(10)), (25, 97, 241));
        let wan = ComfyuiConfig { fps: 16, frame_step: 4, ..c };
        assert_eq!((wan.frames(5), wan.delivered_ms(5)), (81, 5063));
    }

    #[test]
    fn a_comfyui_entry_needs_its_table_and_others_refuse_it() {
        entry(LTX).check().unwrap();
        let bare = entry("name = \"gpu\"\nkind = \"comfyui\"\n");
        assert!(bare.check().unwrap_err().contains("[upstreams.comfyui]"));
        let other =
            entry("name = \"v\"\nkind = \"vertex\"\nmodel = \"m\"\n[comfyui]\nservers = []\nworkflow = \"x\"\n");
        assert!(other.check().unwrap_err().contains("kind comfyui only"));
        let none = entry(&LTX.replace("[\"http://gpu:8188\"]", "[]"));
        assert!(none.check().unwrap_err().contains("at least one"));
        let auth = entry(&format!("{LTX}auth = \"bearer\"\n"));
        assert!(auth.check().unwrap_err().contains("needs credentials"));
    }
}
