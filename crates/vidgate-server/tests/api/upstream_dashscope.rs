//! Wan on Alibaba Cloud Model Studio (DashScope) end to end (docs/upstreams.md §9) against
//! `FakeDashscope`, what only this adapter does: the exact create body of each request shape
//! (2.6 text `size` as `W*H`, 2.6 image `img_url` + `resolution`, 2.7 `resolution` + `ratio`),
//! the upstream cost from `usage.duration`, moderation at create and after running, an
//! unpaid account, a task the upstream no longer knows, a result URL that expired before its
//! download, cancel while queued, and a create whose answer was lost found in the task list
//! (§9.6) when exactly one task of its prompt is there, unknown otherwise. What every
//! adapter does is table-driven in `upstream_cases.rs`.

use serde_json::{Value, json};
use std::time::Duration;
use vidgate_fakes::{Endpoint, FakeDashscope, Fault, Latency, Outcome};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    Live, WAN26_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, dashscope_entry,
    png_data_url, until, with,
};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "wan2.6", "prompt": prompt, "duration_seconds": 5}), extra)
}

/// A fake whose jobs are done at the first poll, and the entry pointing at it.
async fn start() -> (FakeDashscope, Value) {
    let fake = FakeDashscope::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = dashscope_entry(&fake);
    (fake, entry)
}

/// The adapter kept to the digest's advice too: `audio` and `prompt_extend` always sent.
fn assert_no_notes(fake: &FakeDashscope) {
    assert_eq!(fake.journal().notes(), Vec::new(), "no defaulted audio or prompt rewrite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wan_5_s_720p_task_with_audio_completes_billed_per_second_with_the_cost_from_usage() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task("a kitten yawns at the camera", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, WAN26_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    // usage.duration 5 × $0.10 at 720p.
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.5));
    assert_eq!(
        fake.create_bodies()[0],
        json!({"model": "wan2.6-t2v", "input": {"prompt": "a kitten yawns at the camera"},
            "parameters": {"size": "1280*720", "duration": 5, "audio": true, "prompt_extend": false,
                "watermark": false}})
    );
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert_no_notes(&fake);
}

#[tokio::test]
async fn the_source_image_goes_to_the_image_model_fitted_to_the_frame_with_a_resolution_and_wobbly_usage_is_read() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![entry]).await;
    // A square image for a 16:9 task: Wan would keep the square, so it is sent cover-fitted.
    let id = live.submit(task("the picture comes alive", json!({"source_image": png_data_url(640, 640)}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, WAN26_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    let body = &fake.create_bodies()[0];
    assert_eq!(body["model"], "wan2.6-i2v");
    let sent = body["input"]["img_url"].as_str().unwrap();
    let png = sent.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("{body}"));
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png).unwrap();
    assert_eq!(vidgate_media::decode_image_dimensions(&png).unwrap(), (1280, 720), "fitted to the frame");
    assert_eq!((body["parameters"]["resolution"].clone(), body["parameters"].get("size")), (json!("720P"), None));
    // The fake answers image jobs with `"duration": 5.0` and `"SR": "720"` (trap 8).
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.5));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert_no_notes(&fake);
}

#[tokio::test]
async fn a_wan_2_7_entry_sends_resolution_and_ratio_for_text_and_a_first_frame_media_item_for_an_image() {
    let (fake, entry) = start().await;
    let entry = with(entry, json!({"model": "wan2.7-t2v", "image_model": "wan2.7-i2v"}));
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a paper boat", json!({"size": "720x1280"}))).await;
    let spent = assert_billed(&done, WAN26_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    let done = live.run(task("the picture comes alive", json!({"source_image": png_data_url(1280, 720)}))).await;
    let spent = spent + assert_billed(&done, WAN26_RATE, 5);
    let bodies = fake.create_bodies();
    assert_eq!(
        (bodies[0]["model"].clone(), bodies[0]["parameters"]["ratio"].clone()),
        (json!("wan2.7-t2v"), json!("9:16"))
    );
    assert_eq!(bodies[0]["parameters"]["resolution"], "720P");
    assert_eq!(
        (bodies[1]["model"].clone(), bodies[1]["input"]["media"][0]["type"].clone()),
        (json!("wan2.7-i2v"), json!("first_frame"))
    );
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_at_create_or_after_running_an_unpaid_account_and_an_unknown_task_fail_unbilled() {
    let error = |code: &str| Outcome::Error { code: code.into(), message: "m".into() };
    let rows = vec![
        (error("DataInspectionFailed"), "content_filtered", 0),
        (error("IPInfringementSuspect"), "content_filtered", 0),
        (Outcome::SafetyBlock, "content_filtered", 1),
        // Arrearage is a 400 (trap 11): a refusal, not a bad request of the client's.
        (error("Arrearage"), "upstream_error", 0),
        (Outcome::Status("UNKNOWN".into()), "upstream_error", 1),
    ];
    each(rows, |(outcome, code, jobs)| async move {
        let (fake, entry) = start().await;
        fake.faults().push_outcome(outcome);
        let live = Live::start(vec![entry]).await;
        let id = live.submit(task("a scene the upstream will not make", json!({}))).await;
        let done = live.wait(&id).await;
        assert_failed_unbilled(&done, code);
        assert_eq!(live.admin_task(&id).await["possible_orphan"], false);
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, jobs, 0), "never resent");
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test]
async fn a_result_url_that_expired_before_its_download_is_fetched_again_from_a_new_poll() {
    let (fake, entry) = start().await;
    fake.hand_out_expired_urls(1);
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a slow download", json!({}))).await;
    let spent = assert_billed(&done, WAN26_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!(counters.downloads(), 2, "the expired URL, then the one the task names now");
    assert_eq!(counters.polls(), 2, "the poll that found it done, then one for the URL");
    let refused: Vec<u16> = fake.journal().rejections().iter().map(|r| r.status).collect();
    assert_eq!(refused, [403], "the storage host refused the expired URL once");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_task_cancelled_while_queued_upstream_is_cancelled_there_and_costs_nothing() {
    let (fake, entry) = start().await;
    // Never polled before the cancel: the first poll is 2 s after the submit.
    let live = Live::start(vec![with(entry, json!({"expected_latency_secs": 30, "deadline_secs": 60}))]).await;
    let id = live.submit(task("changed my mind", json!({}))).await;
    until("the upstream task exists", || fake.journal().counters().jobs_created == 1).await;
    let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled", "{body}");
    until("the upstream task is cancelled", || fake.statuses().iter().any(|(_, s)| s == "CANCELED")).await;
    assert_eq!(fake.journal().counters().received(Endpoint::Delete), 1);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

/// A task made on the fake directly, as another client of the same key would: the body
/// vidgate sends for `task(prompt, {})`.
async fn create_elsewhere(fake: &FakeDashscope, prompt: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let body = json!({"model": "wan2.6-t2v", "input": {"prompt": prompt},
        "parameters": {"size": "1280*720", "duration": 5, "audio": true, "prompt_extend": false, "watermark": false}});
    let url = format!("{}/services/aigc/video-generation/video-synthesis", fake.api_base());
    let request = reqwest::Client::new().post(url).bearer_auth(fake.api_key()).header("X-DashScope-Async", "enable");
    assert_eq!(request.json(&body).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_found_in_the_task_list_by_its_prompt_and_never_sent_again() {
    // Each fault lets the create make its task and loses the answer (§9.8 trap 12). A task of
    // another prompt made just before
    // (a decoy) is in the list too in two rows, and is not taken.
    let rows =
        vec![(Fault::ResetAfter, false), (Fault::MalformedJson, true), (Fault::Slow(Duration::from_secs(3)), true)];
    each(rows, |(fault, decoy)| async move {
        let (fake, entry) = start().await;
        if decoy {
            create_elsewhere(&fake, "someone else's fox").await;
        }
        fake.faults().push(Endpoint::Submit, fault);
        let live = Live::start(vec![with(entry, json!({"timeout_secs": 1}))]).await;
        let id = live.submit(task("an answer lost on the way back", json!({}))).await;
        let done = live.wait(&id).await;
        let spent = assert_billed(&done, WAN26_RATE, 5);
        let admin = live.admin_task(&id).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(false), json!(1)));
        assert_eq!(admin["upstream_cost_usd"], json!(0.5));
        let counters = fake.journal().counters();
        let ours = 1 + u64::from(decoy);
        assert_eq!((counters.submits(), counters.jobs_created), (ours, ours), "ours sent once, one job");
        assert_eq!(counters.submits_by_prompt["an answer lost on the way back"], 1);
        assert_eq!(fake.list_requests(), 1);
        live.assert_settled(spent).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_not_in_the_list_or_in_it_twice_or_with_the_lookup_off_fails_unbilled_never_resent() {
    // (fault, a twin of the same prompt made elsewhere, lookup enabled, jobs upstream, lists read)
    let rows = vec![
        // Reset before processing: nothing was made, the list shows nothing of it.
        (Fault::Reset, false, true, 0, 1),
        // Two tasks of the same model and prompt in the window: neither is taken.
        (Fault::ResetAfter, true, true, 2, 1),
        // `task_list_lookup.enabled = false`: unknown at once, as before the lookup.
        (Fault::ResetAfter, false, false, 1, 0),
    ];
    each(rows, |(fault, twin, enabled, jobs, lists)| async move {
        let (fake, entry) = start().await;
        let prompt = "a lost create of unknown outcome";
        if twin {
            create_elsewhere(&fake, prompt).await;
        }
        fake.faults().push(Endpoint::Submit, fault);
        let entry = with(entry, json!({"timeout_secs": 1, "task_list_lookup": {"enabled": enabled}}));
        let live = Live::start(vec![entry]).await;
        let id = live.submit(task(prompt, json!({}))).await;
        let done = live.wait(&id).await;
        assert_failed_unbilled(&done, "upstream_outcome_unknown");
        let admin = live.admin_task(&id).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(true), json!(1)));
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created), (1 + u64::from(twin), jobs), "never sent twice");
        assert_eq!(fake.list_requests(), lists);
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}
