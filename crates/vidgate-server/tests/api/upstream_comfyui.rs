//! Self-hosted ComfyUI end to end (docs/upstreams.md §15) against `FakeComfyui`: the shipped
//! LTX-2 template with a first frame and audio and the Wan 2.2 one, each delivered at the
//! requested length after the model's frame rounding (LTX-2 8k+1 frames, Wan 4k+1) and billed
//! exactly, with the GPU-second cost recorded; a lost submit answer resent with the same
//! `prompt_id` making exactly one job; an out-of-memory error, a template the server cannot
//! run, cancels while queued and while running (jobs API and the legacy queue delete and
//! interrupt) and while the submit's answer is in flight, and a server restart, each ending unbilled.

use serde_json::{Value, json};
use vidgate_domain::catalog::ModelSpec;
use vidgate_fakes::{ComfyuiConfig, Endpoint, FakeComfyui, Fault, Latency, Outcome};

use crate::upstream_helpers::{
    Live, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, config_with, png_data_url,
    until, with,
};

/// The test catalog's rate for both ComfyUI models, micro-dollars per second.
const RATE: i64 = 100_000;

fn model(id: &str, audio: bool) -> ModelSpec {
    let text = format!(
        "id = \"{id}\"\nimage_to_video = true\nnative_audio = {audio}\ndurations = [2]\ndefault_duration = 2\n\
         sizes = [\"160x96\"]\ndefault_size = \"160x96\"\nmax_prompt_chars = 500\nusd_per_second = \"0.10\"\n"
    );
    toml::from_str(&text).expect("a comfyui test model")
}

/// An entry serving `ltx-2` with the shipped LTX-2 template (or serving `wan2.2` with Wan's).
fn entry(fake: &FakeComfyui, workflow: &str) -> Value {
    let ltx = workflow == "ltx2";
    let (fps, step, size_step) = if ltx { (24, 8, 32) } else { (16, 4, 16) };
    json!({
        "name": format!("gpu-{workflow}"), "kind": "comfyui", "serves": [if ltx { "ltx-2" } else { "wan2.2" }],
        "audio": if ltx { "switchable" } else { "none" }, "image_input": true,
        "expected_latency_secs": 1, "deadline_secs": 60, "timeout_secs": 10, "requests_per_second": 0,
        "comfyui": {"servers": [fake.base_url()], "workflow": workflow, "fps": fps, "frame_step": step,
            "size_step": size_step, "usd_per_gpu_second": "0.0005", "lost_after_secs": 1},
    })
}

/// The chaos test's entry: the shipped Wan 2.2 template on the fake, for 160x96 clips.
pub fn chaos_entry(fake: &FakeComfyui) -> Value {
    let mut e = entry(fake, "wan22-t2v");
    e["name"] = json!("comfyui");
    e["serves"] = json!([]);
    e["image_input"] = json!(false);
    e["comfyui"]["lost_after_secs"] = json!(20);
    e
}

async fn live(entries: Vec<Value>) -> Live {
    let mut config = config_with(entries);
    config.models.push(model("ltx-2", true));
    config.models.push(model("wan2.2", false));
    Live::start_with(config).await
}

async fn fake() -> FakeComfyui {
    let fake = FakeComfyui::start().await;
    fake.faults().set_latency(Latency::polls(0));
    fake.set_gpu_ms(Some(4000));
    fake
}

fn task(model: &str, prompt: &str, extra: Value) -> Value {
    with(json!({"model": model, "prompt": prompt, "duration_seconds": 2, "size": "160x96"}), extra)
}

fn input<'a>(graph: &'a Value, class: &str, name: &str) -> &'a Value {
    let node = graph.as_object().unwrap().values().find(|n| n["class_type"] == class);
    &node.unwrap_or_else(|| panic!("no {class} in {graph}"))["inputs"][name]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ltx2_task_with_a_first_frame_and_audio_is_trimmed_from_49_frames_to_2_s_and_costs_its_gpu_seconds() {
    let fake = fake().await;
    let live = live(vec![entry(&fake, "ltx2")]).await;
    let body = task("ltx-2", "a red fox sings", json!({"audio": true, "source_image": png_data_url(160, 96)}));
    let done = live.wait(&live.submit(body).await).await;
    let spent = assert_billed(&done, RATE, 2);
    assert_delivered(&live.probe_result(&done).await, 160, 96, 2000, true);
    let (id, graph) = fake.graphs().remove(0);
    assert_eq!(fake.uploads(), [format!("vidgate-{id}.png")]);
    assert_eq!(input(&graph, "LoadImage", "image"), &json!(format!("vidgate-{id}.png")));
    assert_eq!(
        (input(&graph, "EmptyLTXVLatentVideo", "length"), input(&graph, "LTXVEmptyLatentAudio", "frames_number")),
        (&json!(49), &json!(49))
    );
    assert_eq!(input(&graph, "CLIPTextEncode", "text"), &json!("a red fox sings"));
    assert!(input(&graph, "CreateVideo", "audio").is_array(), "the audio path is kept");
    let admin = live.admin_task(done["task_id"].as_str().unwrap()).await;
    assert_eq!(admin["upstream_cost_usd"], json!(0.002), "4 GPU-seconds × $0.0005");
    let route = &admin["plan"]["routes"][0];
    assert_eq!((route["delivered_ms"].clone(), route["trim_to_ms"].clone()), (json!(2042), json!(2000)));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert_eq!(fake.journal().notes(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_ltx2_task_and_a_wan22_task_drop_what_they_do_not_use() {
    let fake = fake().await;
    let live = live(vec![entry(&fake, "ltx2"), entry(&fake, "wan22-i2v")]).await;
    let silent = live.wait(&live.submit(task("ltx-2", "a quiet lake", json!({"audio": false}))).await).await;
    assert_billed(&silent, RATE, 2);
    assert_delivered(&live.probe_result(&silent).await, 160, 96, 2000, false);
    let wan = live.wait(&live.submit(task("wan2.2", "a lighthouse at night", json!({}))).await).await;
    assert_billed(&wan, RATE, 2);
    assert_delivered(&live.probe_result(&wan).await, 160, 96, 2000, false);
    let graphs = fake.graphs();
    let classes = |g: &Value| {
        g.as_object().unwrap().values().map(|n| n["class_type"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert!(
        !classes(&graphs[0].1).contains(&"LoadImage".to_owned())
            && !classes(&graphs[0].1).contains(&"LTXVAudioVAEDecode".to_owned())
    );
    // Wan 2.2 at 16 fps: 2 s → 33 frames (4k+1), 2.063 s, trimmed to 2 s; no image: no start_image.
    assert_eq!(
        (input(&graphs[1].1, "WanImageToVideo", "length"), input(&graphs[1].1, "CreateVideo", "fps")),
        (&json!(33), &json!(16))
    );
    assert!(input(&graphs[1].1, "WanImageToVideo", "start_image").is_null());
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_submit_answer_is_looked_up_and_resent_with_the_same_prompt_id_making_one_job() {
    for (fault, sends) in [(Fault::ResetAfter, 1), (Fault::Reset, 2)] {
        let fake = fake().await;
        fake.faults().push(Endpoint::Submit, fault.clone());
        let live = live(vec![entry(&fake, "ltx2")]).await;
        let done = live.wait(&live.submit(task("ltx-2", "a fox", json!({}))).await).await;
        let spent = assert_billed(&done, RATE, 2);
        let counters = fake.journal().counters();
        assert_eq!(counters.jobs_created, 1, "{fault:?}: exactly one job");
        assert_eq!(counters.received(Endpoint::Submit), sends, "{fault:?}");
        let ids: Vec<_> = counters.submits_by_key.keys().cloned().collect();
        assert_eq!(ids.len(), 1, "{fault:?}: one prompt_id");
        assert!(fake.journal().notes().is_empty(), "{fault:?}: the id was never reused");
        live.assert_settled(spent).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_memory_error_and_a_template_the_server_cannot_run_end_unbilled() {
    let fake = fake().await;
    fake.faults().push_outcome(Outcome::Error { code: "oom".into(), message: "CUDA out of memory.".into() });
    let live = live(vec![entry(&fake, "ltx2")]).await;
    let done = live.wait(&live.submit(task("ltx-2", "too big for the GPU", json!({}))).await).await;
    assert_failed_unbilled(&done, "upstream_error");
    assert!(done["error"]["message"].as_str().unwrap().contains("out of GPU memory"), "{done}");
    let dir = crate::restart::fresh_data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("ltx2-missing-model.json");
    let shipped: Value = serde_json::from_str(include_str!("../../../../deploy/comfyui/ltx2.json")).unwrap();
    let mut bad = shipped;
    bad["workflow"]["1"]["inputs"]["ckpt_name"] = json!("ltx-2-not-downloaded.safetensors");
    std::fs::write(&template, bad.to_string()).unwrap();
    let mut e = entry(&fake, "ltx2");
    e["comfyui"]["workflow"] = json!(template.to_str().unwrap());
    let live = self::live(vec![e]).await;
    let done = live.wait(&live.submit(task("ltx-2", "never queued", json!({}))).await).await;
    assert_failed_unbilled(&done, "upstream_error");
    assert_eq!(fake.journal().counters().jobs_created, 1, "only the OOM task reached the queue");
    live.assert_settled(0).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_while_queued_and_while_running_land_on_the_server_with_and_without_the_jobs_api() {
    for jobs_api in [true, false] {
        let fake =
            FakeComfyui::start_with(ComfyuiConfig { authorization: Some("Bearer proxy-token".into()), jobs_api }).await;
        fake.faults().push_outcome(Outcome::Never).push_outcome(Outcome::Never);
        let mut e = entry(&fake, "ltx2");
        e["credentials"] = json!("proxy-token");
        e["comfyui"]["auth"] = json!("bearer");
        e["comfyui"]["jobs_api"] = json!(jobs_api);
        let live = live(vec![with(e, json!({"expected_latency_secs": 30, "deadline_secs": 60}))]).await;
        let running = live.submit(task("ltx-2", "runs forever", json!({}))).await;
        until("the first prompt runs", || fake.queue().1.is_some()).await;
        let queued = live.submit(task("ltx-2", "waits behind it", json!({}))).await;
        until("the second prompt is queued", || fake.queue().0.len() == 1).await;
        for id in [&queued, &running] {
            let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
            assert_eq!((status, body["status"].clone()), (reqwest::StatusCode::OK, json!("cancelled")), "{body}");
        }
        until("the queue is empty and nothing runs", || fake.queue() == (vec![], None)).await;
        let history = fake.history();
        assert_eq!((history.len(), history[0].1.as_str()), (1, "error"), "only the running one was interrupted");
        if !jobs_api {
            assert_eq!(fake.interrupts(), [Some(history[0].0.clone())], "an interrupt by id, never a global one");
        }
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    }
}

/// A cancel that arrives while the submit's answer is still on its way finds no job on the
/// task; the worker, whose save then finds the task ended, cancels the job it was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_submit_is_in_flight_stops_the_job_it_started() {
    let fake = fake().await;
    fake.faults().push_outcome(Outcome::Never);
    fake.faults().push(Endpoint::Submit, Fault::Slow(std::time::Duration::from_secs(3)));
    let live = live(vec![entry(&fake, "ltx2")]).await;
    let id = live.submit(task("ltx-2", "cancelled before its answer", json!({}))).await;
    until("the prompt runs", || fake.queue().1.is_some()).await;
    let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
    assert_eq!((status, body["status"].clone()), (reqwest::StatusCode::OK, json!("cancelled")), "{body}");
    assert_eq!(fake.faults().pending(Endpoint::Submit), 0, "the submit was still unanswered at the cancel");
    until("the job is interrupted and nothing runs", || fake.queue() == (vec![], None)).await;
    assert_eq!(fake.history().len(), 1, "the job ended on the server");
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_that_loses_the_running_job_fails_the_task_unbilled() {
    let fake = fake().await;
    fake.faults().push_outcome(Outcome::Never);
    let live = live(vec![entry(&fake, "ltx2")]).await;
    let id = live.submit(task("ltx-2", "lost in a restart", json!({}))).await;
    until("the prompt runs", || fake.queue().1.is_some()).await;
    fake.restart();
    let done = live.wait(&id).await;
    assert_failed_unbilled(&done, "upstream_error");
    assert!(done["error"]["message"].as_str().unwrap().contains("lost the job"), "{done}");
    assert_eq!(fake.journal().counters().jobs_created, 1, "never resent");
    live.assert_settled(0).await;
}
