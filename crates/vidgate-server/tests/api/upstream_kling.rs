//! Kuaishou Kling end to end (docs/upstreams.md §10) against `FakeKling`, what only this
//! adapter does: the exact legacy create body (string `duration`, `mode`, `sound`,
//! `aspect_ratio`, `external_task_id`), a clip a little over the asked length trimmed and
//! billed exactly, the upstream cost from `final_unit_deduction`, first and last frame as raw
//! Base64, refusals at create (content security, no balance, also inside HTTP 200), a token
//! near its expiry signed again before it is refused, a lost create found by its
//! `external_task_id` instead of being sent again, and a result URL that expired. What
//! every adapter does is table-driven in `upstream_cases.rs`.

use serde_json::{Value, json};
use std::time::Duration;

use vidgate_fakes::{Endpoint, FakeKling, Fault, Latency, Outcome};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    KLING26_RATE, Live, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, kling_entry,
    png_data_url, with,
};

/// kling3.0 at 1080p, micro-dollars per second.
const KLING30_1080P_RATE: i64 = 240_000;

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "kling2.6", "prompt": prompt, "duration_seconds": 5}), extra)
}

/// A fake whose jobs are done at the first poll, and the entry pointing at it.
async fn start() -> (FakeKling, Value) {
    let fake = FakeKling::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = kling_entry(&fake);
    (fake, entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kling_5_s_task_with_audio_delivers_exactly_5_s_with_aac_billed_at_the_catalog_price() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task("a kitten yawns at the camera", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, KLING26_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    // The fake delivers 5.041 s (trap 4): trimmed to exactly 5 s.
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 5000, true);
    // final_unit_deduction "5" (1.0 unit/s with audio at 1080p) × $0.14.
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.7));
    assert_eq!(
        fake.create_bodies()[0],
        json!({"model_name": "kling-v2-6", "prompt": "a kitten yawns at the camera", "mode": "pro", "duration": "5",
            "aspect_ratio": "16:9", "sound": "on", "external_task_id": id})
    );
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_and_last_frames_go_to_image2video_as_raw_base64_without_an_aspect_ratio() {
    let (fake, entry) = start().await;
    // Kling 3.0 takes a last frame (docs/upstreams.md §10.3); 2.6 is not known to.
    let entry = with(
        entry,
        json!({"model": "kling-v3", "serves": ["kling3.0"], "usd_per_second": {"default": "0.112"},
        "usd_per_second_with_audio": {"default": "0.168"}}),
    );
    let live = Live::start(vec![entry]).await;
    let image = json!({"model": "kling3.0", "size": "1920x1080", "source_image": png_data_url(1280, 720),
        "last_frame": png_data_url(1280, 720)});
    let done = live.run(task("the picture comes alive", image)).await;
    let spent = assert_billed(&done, KLING30_1080P_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 5000, false);
    let body = &fake.create_bodies()[0];
    let (first, last) = (body["image"].as_str().unwrap(), body["image_tail"].as_str().unwrap());
    assert!(!first.starts_with("data:") && !last.starts_with("data:"), "raw Base64 (trap 5)");
    assert_eq!((body.get("aspect_ratio"), body["multi_shot"].clone()), (None, json!(false)));
    assert_eq!((body["mode"].clone(), body["sound"].clone()), (json!("pro"), json!("off")));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_no_balance_and_a_failed_task_end_unbilled_and_a_create_is_never_resent() {
    let error = |code: &str| Outcome::Error { code: code.into(), message: "refused".into() };
    // (outcome, refusals inside HTTP 200, error code, jobs made upstream)
    let rows = vec![
        (error("1301"), false, "content_filtered", 0),
        (error("1301"), true, "content_filtered", 0),
        // 1102 is a 429 that is money, not rate (trap 3): refused, not retried.
        (error("1102"), false, "upstream_error", 0),
        (error("1101"), true, "upstream_error", 0),
        (Outcome::SafetyBlock, false, "content_filtered", 1),
        (error("5000"), false, "upstream_error", 1),
    ];
    each(rows, |(outcome, in_200, code, jobs)| async move {
        let (fake, entry) = start().await;
        fake.errors_in_http_200(in_200);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_its_expiry_is_signed_again_so_no_call_is_refused() {
    let (fake, entry) = start().await;
    // Tokens live 62 s and the fake's clock runs 60 s ahead: the submit's token is refused
    // (1004) from 2 s after it was signed, which is when the first poll comes; the adapter
    // signs a new one a minute before `exp`, so that poll carries a fresh token.
    fake.set_clock_ahead(60);
    fake.faults().set_latency(Latency::polls(1));
    let live = Live::start(vec![with(entry, json!({"token_ttl_secs": 62}))]).await;
    let done = live.run(task("a long wait", json!({}))).await;
    let spent = assert_billed(&done, KLING26_RATE, 5);
    assert_eq!(fake.journal().rejections(), Vec::new(), "no call refused");
    assert!(fake.tokens_seen().len() >= 2, "signed again: {}", fake.tokens_seen().len());
    live.assert_settled(spent).await;
}

#[tokio::test]
async fn a_result_url_that_expired_before_its_download_is_fetched_again_from_a_new_poll() {
    let (fake, entry) = start().await;
    fake.hand_out_expired_urls(1);
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a slow download", json!({}))).await;
    let spent = assert_billed(&done, KLING26_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.downloads(), counters.polls()), (2, 2), "the expired URL, then the one named now");
    let refused: Vec<u16> = fake.journal().rejections().iter().map(|r| r.status).collect();
    assert_eq!(refused, [403]);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_found_by_its_external_task_id_and_never_sent_again() {
    // Each fault lets the create make its job and loses the answer (docs/upstreams.md §10.8 trap 7).
    let rows = vec![Fault::ResetAfter, Fault::MalformedJson, Fault::Slow(Duration::from_secs(3))];
    each(rows, |fault| async move {
        let (fake, entry) = start().await;
        fake.faults().push(Endpoint::Submit, fault);
        let live = Live::start(vec![with(entry, json!({"timeout_secs": 1}))]).await;
        let id = live.submit(task("an answer lost on the way back", json!({}))).await;
        let done = live.wait(&id).await;
        let spent = assert_billed(&done, KLING26_RATE, 5);
        let admin = live.admin_task(&id).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(false), json!(1)));
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created), (1, 1), "never sent twice");
        assert_eq!(fake.create_bodies()[0]["external_task_id"], json!(id));
        live.assert_settled(spent).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test]
async fn an_api_key_entry_sends_the_key_as_it_is() {
    let (fake, entry) = start().await;
    let entry = with(entry, json!({"auth": "api_key", "credentials": fake.api_key()}));
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("with the console key", json!({}))).await;
    let spent = assert_billed(&done, KLING26_RATE, 5);
    assert_eq!(fake.tokens_seen(), [fake.api_key()]);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}
