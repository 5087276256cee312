//! fal.ai's queue end to end (docs/upstreams.md §12) against `FakeFal`: three shipped
//! endpoint mappings (Veo 3.1 with audio, Kling v3 text and image, Seedance 2.0, LTX-2.3),
//! each billed per delivered second with the upstream cost recorded; a failure that shows
//! only when the result is fetched, a result already gone, a lost submit answer, a submit
//! refused before queueing, a result fetch cut off; and an endpoint an operator describes in
//! TOML alone.

use serde_json::{Value, json};
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_fakes::{Endpoint, FakeFal, FalEndpoint, Fault, Latency, Outcome, fal::Length};

use crate::upstream_cases::{
    Price, bad_outcomes_fail_unbilled, read_fault_is_retried, submit_fault_is_retried, unknown_submit_is_never_resent,
};
use crate::upstream_helpers::{
    Live, SEEDANCE2_RATE, VEO31_RATE, WAN26_RATE, assert_billed, assert_delivered, assert_failed_unbilled,
    assert_no_violations, config_with, fal_entry, png_data_url, with,
};

/// `kling3.0` at 1080p and `ltx-2.3` at 1080p, micro-dollars per second.
const KLING3_1080P_RATE: i64 = 240_000;
const LTX23_RATE: i64 = 120_000;

async fn start() -> FakeFal {
    let fake = FakeFal::start().await;
    fake.faults().set_latency(Latency::polls(0));
    fake
}

fn veo_task(prompt: &str) -> Value {
    json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5, "audio": true})
}

/// Every request the fake refused or noted: none.
fn assert_clean(fake: &FakeFal) {
    assert_no_violations(fake.journal());
    assert_eq!(fake.journal().notes(), Vec::new(), "no defaulted audio, length or unknown field");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veo_with_audio_is_a_six_second_job_trimmed_to_five_billed_per_delivered_second_with_its_cost() {
    let fake = start().await;
    let live = Live::start(vec![fal_entry(&fake, "fal-ai/veo3.1", "fal-ai/veo3.1/image-to-video", "veo3.1")]).await;
    let id = live.submit(veo_task("a lighthouse in a storm")).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    // 6 s at the audio rate, $0.40/s.
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(2.4));
    let (endpoint, body) = &fake.submits()[0];
    assert_eq!(endpoint, "fal-ai/veo3.1");
    assert_eq!(
        body,
        &json!({"prompt": "a lighthouse in a storm", "duration": "6s", "resolution": "720p", "aspect_ratio": "16:9",
            "generate_audio": true, "auto_fix": false})
    );
    let counters = fake.journal().counters();
    let result_fetches = counters.received(Endpoint::Retrieve);
    assert_eq!((counters.submits(), counters.jobs_created, result_fetches, counters.downloads()), (1, 1, 1, 1));
    live.assert_settled(spent).await;
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kling_v3_sends_a_string_length_and_its_image_as_start_image_url_on_the_image_endpoint() {
    let fake = start().await;
    let kling = fal_entry(
        &fake,
        "fal-ai/kling-video/v3/pro/text-to-video",
        "fal-ai/kling-video/v3/pro/image-to-video",
        "kling3.0",
    );
    let live = Live::start(vec![kling]).await;
    let task = json!({"model": "kling3.0", "prompt": "a paper boat", "duration_seconds": 7, "size": "1920x1080"});
    let done = live.run(task.clone()).await;
    let mut spent = assert_billed(&done, KLING3_1080P_RATE, 7);
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 7000, false);
    let done = live.run(with(task, json!({"source_image": png_data_url(640, 360)}))).await;
    spent += assert_billed(&done, KLING3_1080P_RATE, 7);
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 7000, false);
    let submits = fake.submits();
    assert_eq!(
        submits[0],
        (
            "fal-ai/kling-video/v3/pro/text-to-video".into(),
            json!({"prompt": "a paper boat", "duration": "7", "aspect_ratio": "16:9", "generate_audio": false})
        )
    );
    assert_eq!(submits[1].0, "fal-ai/kling-video/v3/pro/image-to-video");
    assert!(submits[1].1["start_image_url"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert_eq!((submits[1].1.get("image_url"), submits[1].1.get("aspect_ratio")), (None, None));
    live.assert_settled(spent).await;
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seedance_2_and_ltx_2_3_encode_their_lengths_their_own_way_and_ltx_keeps_its_audio() {
    let fake = start().await;
    let seedance = fal_entry(&fake, "bytedance/seedance-2.0/text-to-video", "", "seedance2");
    let ltx = with(fal_entry(&fake, "fal-ai/ltx-2.3/text-to-video", "", "ltx-2.3"), json!({"name": "fal-ltx"}));
    let live = Live::start(vec![seedance, ltx]).await;
    let done =
        live.run(json!({"model": "seedance2", "prompt": "a kite", "duration_seconds": 5, "size": "720x1280"})).await;
    let mut spent = assert_billed(&done, SEEDANCE2_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    let id =
        live.submit(json!({"model": "ltx-2.3", "prompt": "a drum solo", "duration_seconds": 6, "audio": true})).await;
    let done = live.wait(&id).await;
    spent += assert_billed(&done, LTX23_RATE, 6);
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 6000, true);
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(2.4), "6 s × $0.40 with audio");
    let submits = fake.submits();
    assert_eq!(
        submits[0].1,
        json!({"prompt": "a kite", "duration": "5", "resolution": "720p", "aspect_ratio": "9:16", "generate_audio": false})
    );
    assert_eq!(
        submits[1].1,
        json!({"prompt": "a drum solo", "duration": 6, "resolution": "1080p", "aspect_ratio": "16:9", "generate_audio": true})
    );
    live.assert_settled(spent).await;
    assert_clean(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_shown_only_when_the_result_is_fetched_fails_the_task_unbilled() {
    let fake = start().await;
    let cases = [
        (Outcome::SafetyBlock, "content_filtered"),
        (Outcome::Error { code: "500".into(), message: "CUDA out of memory".into() }, "upstream_error"),
        (Outcome::Error { code: "image_too_large".into(), message: "m".into() }, "upstream_error"),
    ];
    let body = veo_task("a scene that fails");
    bad_outcomes_fail_unbilled(&fake, fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1"), body, &cases).await;
    let counters = fake.journal().counters();
    assert_eq!((counters.received(Endpoint::Retrieve), counters.downloads()), (3, 0), "each result asked for once");
}

#[tokio::test]
async fn a_result_already_gone_when_fetched_fails_the_task_unbilled_and_nothing_is_resubmitted() {
    let fake = start().await;
    fake.set_result_ttl(std::time::Duration::ZERO);
    let live = Live::start(vec![fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1")]).await;
    let done = live.run(veo_task("a result nobody fetched in time")).await;
    assert_failed_unbilled(&done, "upstream_error");
    let counters = fake.journal().counters();
    let result_fetches = counters.received(Endpoint::Retrieve);
    assert_eq!((counters.submits(), result_fetches, counters.downloads()), (1, 1, 0));
    live.assert_settled(0).await;
    assert_clean(&fake);
}

#[tokio::test]
async fn a_lost_submit_answer_ends_upstream_outcome_unknown_unbilled_and_is_never_resent() {
    let fake = start().await;
    let entry = fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1");
    unknown_submit_is_never_resent(&fake, entry, veo_task("a lost answer"), Fault::ResetAfter, 1).await;
}

#[tokio::test]
async fn an_ingress_error_on_submit_is_unknown_but_a_429_is_sent_again() {
    let fake = start().await;
    let e = fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1");
    unknown_submit_is_never_resent(&fake, e, veo_task("a 502 at the door"), Fault::Status(502), 0).await;
    let fake = start().await;
    let e = fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1");
    let price = Price { rate: VEO31_RATE, seconds: 5 };
    submit_fault_is_retried(&fake, e, veo_task("busy"), Fault::RateLimited { retry_after_secs: 1 }, price).await;
}

#[tokio::test]
async fn a_result_fetch_cut_off_is_asked_again_and_the_task_completes() {
    let fake = start().await;
    let e = fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1");
    let price = Price { rate: VEO31_RATE, seconds: 5 };
    read_fault_is_retried(&fake, e, veo_task("a cut answer"), Endpoint::Retrieve, Fault::Reset, price).await;
}

/// The `[[upstreams]]` entry an operator writes for an endpoint vidgate does not ship.
fn operator_toml(fake: &FakeFal) -> String {
    format!(
        r#"[[upstreams]]
name = "fal-clipper"
kind = "fal"
model = "acme/clipper/v1"
serves = ["wan2.6"]
base_url = "{base}"
credentials = "{key}"
usd_per_second = {{ default = "0.05" }}
expected_latency_secs = 1
requests_per_second = 0

[upstreams.fal_models."acme/clipper/v1"]
duration_field = "length_seconds"
duration = "integer"
durations = [3, 5]
sizes = ["1280x720", "720x1280"]
resolution_field = "quality"
resolutions = {{ "720p" = "hd" }}
aspect_ratio_field = "shape"
audio = "switchable"
audio_field = "with_sound"
"#,
        base = fake.base_url(),
        key = fake.key()
    )
}

#[tokio::test]
async fn an_endpoint_described_in_toml_alone_is_served_with_its_own_field_names() {
    let fake = start().await;
    fake.serve(
        FalEndpoint::new("acme/clipper/v1", "length_seconds", Length::Integer(vec![3, 5]), 3)
            .resolution("quality", &[("hd", 720)])
            .aspect("shape", &["16:9", "9:16"])
            .audio("with_sound"),
    );
    #[derive(serde::Deserialize)]
    struct Doc {
        upstreams: Vec<UpstreamConfig>,
    }
    let doc: Doc = toml::from_str(&operator_toml(&fake)).expect("the operator's TOML parses");
    let mut config = config_with(Vec::new());
    config.upstreams = doc.upstreams;
    let live = Live::start_with(config).await;
    let id = live
        .submit(
            json!({"model": "wan2.6", "prompt": "a clip", "duration_seconds": 5, "size": "720x1280", "audio": true}),
        )
        .await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, WAN26_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, true);
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.25), "5 s × $0.05");
    assert_eq!(
        fake.submits()[0],
        (
            "acme/clipper/v1".into(),
            json!({"prompt": "a clip", "length_seconds": 5, "quality": "hd", "shape": "9:16", "with_sound": true})
        )
    );
    live.assert_settled(spent).await;
    assert_clean(&fake);
}

#[tokio::test]
async fn a_task_cancelled_while_queued_is_cancelled_with_put_at_the_stored_url_and_costs_nothing() {
    let fake = start().await;
    // Never polled before the cancel: the first poll is 15 s after the submit.
    let e = with(fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1"), json!({"expected_latency_secs": 30}));
    let live = Live::start(vec![e]).await;
    let id = live.submit(veo_task("changed my mind")).await;
    crate::upstream_helpers::until("the request is queued", || fake.journal().counters().jobs_created == 1).await;
    let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
    assert_eq!((status, body["status"].clone()), (reqwest::StatusCode::OK, json!("cancelled")), "{body}");
    crate::upstream_helpers::until("the request is cancelled", || fake.statuses().iter().any(|s| s.2)).await;
    assert_eq!(fake.journal().counters().received(Endpoint::Delete), 1);
    live.assert_settled(0).await;
    assert_clean(&fake);
}

#[tokio::test]
async fn a_video_gone_from_the_cdn_is_asked_for_once_more_then_fails_the_task_unbilled() {
    let fake = start().await;
    fake.delete_cdn_files();
    let live = Live::start(vec![fal_entry(&fake, "fal-ai/veo3.1", "", "veo3.1")]).await;
    let done = live.run(veo_task("a video deleted too soon")).await;
    assert_failed_unbilled(&done, "upstream_error");
    let counters = fake.journal().counters();
    let result_fetches = counters.received(Endpoint::Retrieve);
    assert_eq!((counters.submits(), result_fetches, counters.downloads()), (1, 2, 2), "the result asked for again");
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}
