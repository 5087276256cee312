//! Test helpers for provider unit tests: a task as the engine would hand it over.

use vidgate_domain::plan::{RoutePlan, TaskPlan};
use vidgate_domain::task::{Mode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};
use vidgate_store::{Phase, Task, TaskParams};

use super::JobSpec;

/// A `veo3.1` job for "a red fox" of `seconds` at `size`, planned as an upstream job of
/// `planned` seconds (no plan when `None`).
pub fn job(seconds: u32, size: &str, audio: bool, planned: Option<u32>) -> JobSpec {
    let plan = planned.map(|upstream_seconds| TaskPlan {
        current: 0,
        routes: vec![RoutePlan {
            route: "up".into(),
            upstream_seconds,
            extensions: 0,
            extension_seconds: 0,
            upstream_audio: audio,
            trim_to_ms: u64::from(seconds) * 1000,
            delivered_ms: 0,
            upstream_cost: Usd::ZERO,
            margin: Usd::ZERO,
        }],
    });
    let task = Task {
        id: TaskId::generate(),
        account_id: AccountId::generate(),
        key_id: KeyId::generate(),
        mode: Mode::Live,
        model: "veo3.1".into(),
        // Built from JSON so fields added later with serde defaults need no change here.
        params: serde_json::from_value::<TaskParams>(serde_json::json!({
            "prompt": "a red fox", "duration_seconds": seconds, "size": size, "audio": audio, "seed": null,
            "negative_prompt": null, "callback_url": null, "metadata": {}, "source_image": null,
        }))
        .expect("task params"),
        out_task_id: None,
        fingerprint: String::new(),
        status: TaskStatus::Queued,
        version: 1,
        progress: 0,
        estimated: Usd::ZERO,
        credits_used: Usd::ZERO,
        created_at: 0,
        started_at: None,
        completed_at: None,
        error: None,
        result: None,
        files_expire_at: None,
        files_expired: false,
        provider: "up".into(),
        phase: Phase::Submit,
        upstream_job: None,
        upstream_state: serde_json::Value::Null,
        counters: Default::default(),
        submitting: false,
        submit_attempts: 0,
        deadline_at: None,
        possible_orphan: false,
        plan: plan.unwrap_or_default(),
        upstream_cost: Usd::ZERO,
        attempts: 0,
    };
    JobSpec { task, source_image: None, guide_images: Vec::new() }
}
