//! MiniMax-H3 on the MiniMax v2 API end to end (docs/upstreams.md §11) against `FakeMinimax`,
//! what only this adapter does: the exact create body (an integer `duration`, a concrete
//! `ratio` on text only, `generate_audio` always sent), the clip that runs longer than asked
//! (5 s → 5.167 s) delivered and billed as exactly the requested seconds, the upstream cost
//! from `usage.output_seconds`, image-to-video with a `first_frame` item, refusals at create
//! (input moderation, no balance), failures after running (output moderation, a failed
//! task, an expired one), a failing query retried, a result URL that expired before its
//! download, cancel while queued, and a create whose answer was lost found in the v2 task
//! list (§11.6) when exactly one task of its shape is there, unknown otherwise. What every
//! adapter does is table-driven in `upstream_cases.rs`.

use serde_json::{Value, json};
use std::time::Duration;
use vidgate_fakes::{Endpoint, FakeMinimax, Fault, Latency, Outcome};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    Live, MINIMAX_H3_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations,
    minimax_entry, png_data_url, until, with,
};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "minimax-h3", "prompt": prompt, "duration_seconds": 5, "size": "1344x768"}), extra)
}

/// A fake whose jobs are done at the first poll, and the entry pointing at it.
async fn start() -> (FakeMinimax, Value) {
    let fake = FakeMinimax::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = minimax_entry(&fake);
    (fake, entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_s_task_delivered_as_5_167_s_is_trimmed_to_exactly_5_s_and_billed_5_s_with_the_cost_of_5_s() {
    let (fake, entry) = start().await;
    fake.set_delivered_ms(Some(5167));
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task("a red fox walks through snow", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, MINIMAX_H3_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 1344, 768, 5000, true);
    // usage.output_seconds 5 × $0.08, not the 5.167 s delivered; the plan knew the clip's length.
    let admin = live.admin_task(&id).await;
    assert_eq!(admin["upstream_cost_usd"], json!(0.4));
    let route = &admin["plan"]["routes"][0];
    assert_eq!(
        (route["upstream_seconds"].clone(), route["delivered_ms"].clone(), route["trim_to_ms"].clone()),
        (json!(5), json!(5167), json!(5000))
    );
    assert_eq!(
        fake.create_bodies()[0],
        json!({"model": "MiniMax-H3", "content": [{"type": "text", "text": "a red fox walks through snow"}],
            "resolution": "768P", "duration": 5, "ratio": "16:9", "generate_audio": true})
    );
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert_eq!(fake.journal().notes(), Vec::new(), "generate_audio sent, the key kept off the result host");
}

#[tokio::test]
async fn a_silent_portrait_2k_task_asks_for_no_audio_and_bills_the_2k_rate() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task("a lighthouse at night", json!({"size": "1440x2560", "audio": false}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, 180_000, 5);
    assert_delivered(&live.probe_result(&done).await, 1440, 2560, 5000, false);
    let body = &fake.create_bodies()[0];
    assert_eq!(
        (body["resolution"].clone(), body["ratio"].clone(), body["generate_audio"].clone()),
        (json!("2K"), json!("9:16"), json!(false))
    );
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.65));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn the_source_image_goes_as_a_first_frame_fitted_to_the_frame_without_a_ratio() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![entry]).await;
    // A square image for a 16:9 task: the video would follow the square, so it is fitted.
    let id = live.submit(task("the picture comes alive", json!({"source_image": png_data_url(640, 640)}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, MINIMAX_H3_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1344, 768, 5000, false);
    let body = &fake.create_bodies()[0];
    assert_eq!((body["content"][1]["role"].clone(), body.get("ratio")), (json!("first_frame"), None), "{body}");
    let sent = body["content"][1]["image_url"]["url"].as_str().unwrap();
    let png = sent.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("{body}"));
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png).unwrap();
    assert_eq!(vidgate_media::decode_image_dimensions(&png).unwrap(), (1344, 768), "fitted to the frame");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_no_balance_a_failed_task_and_an_expired_one_end_unbilled_never_resent() {
    let error = |code: &str| Outcome::Error { code: code.into(), message: "m".into() };
    let rows = vec![
        // Input flagged at create (1026), output flagged after running (1027).
        (error("1026"), "content_filtered", 0),
        (Outcome::SafetyBlock, "content_filtered", 1),
        // No balance (1008) is a refusal, not a bad request of the client's.
        (error("1008"), "upstream_error", 0),
        (error("1000"), "upstream_error", 1),
        (Outcome::Status("expired".into()), "upstream_error", 1),
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
async fn a_rate_limited_create_is_sent_again_and_a_failing_query_is_asked_again() {
    let (fake, entry) = start().await;
    fake.faults().push(Endpoint::Submit, Fault::RateLimited { retry_after_secs: 1 });
    fake.faults().push_n(Endpoint::Poll, 2, Fault::Status(500));
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("busy today", json!({}))).await;
    let spent = assert_billed(&done, MINIMAX_H3_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (2, 1), "the 429 created nothing");
    assert!(counters.polls() >= 3, "two failed queries, then the one that found it done");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_result_url_that_expired_before_its_download_is_fetched_again_from_a_new_query() {
    let (fake, entry) = start().await;
    fake.hand_out_expired_urls(1);
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a slow download", json!({}))).await;
    let spent = assert_billed(&done, MINIMAX_H3_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.downloads(), counters.polls()), (2, 2), "the expired URL, then a fresh one");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_task_cancelled_while_queued_upstream_is_deleted_there_and_costs_nothing() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![with(entry, json!({"expected_latency_secs": 30, "deadline_secs": 60}))]).await;
    let id = live.submit(task("changed my mind", json!({}))).await;
    until("the upstream task exists", || fake.journal().counters().jobs_created == 1).await;
    let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled", "{body}");
    until("the upstream task is cancelled", || fake.statuses().iter().any(|(_, s)| s == "cancelled")).await;
    assert_eq!(fake.journal().counters().received(Endpoint::Delete), 1);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

// ---- Hailuo on the v1 API (docs/upstreams.md §11.5) ----

/// `hailuo-2.3`'s catalog rate at 768P, micro-dollars per second.
const HAILUO_RATE: i64 = 80_000;

/// A fake whose jobs are done at the first poll, and an entry serving `hailuo-2.3` with
/// `MiniMax-Hailuo-2.3` on the v1 API, priced per second from §11.7's per-clip prices.
async fn start_v1() -> (FakeMinimax, Value) {
    let fake = FakeMinimax::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = with(
        minimax_entry(&fake),
        json!({"name": "hailuo", "model": "MiniMax-Hailuo-2.3", "serves": ["hailuo-2.3"],
            "usd_per_second": {"default": "0.056", "1920x1080": "0.082"}}),
    );
    (fake, entry)
}

fn hailuo(prompt: &str) -> Value {
    json!({"model": "hailuo-2.3", "prompt": prompt, "duration_seconds": 6, "size": "1366x768"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hailuo_6_s_task_completes_through_query_retrieve_and_download_with_a_string_or_numeric_file_id() {
    each(vec![false, true], |number| async move {
        let (fake, entry) = start_v1().await;
        fake.set_file_id_as_number(number);
        let live = Live::start(vec![entry]).await;
        let done = live.run(hailuo("[Push in] a cat running in a garden")).await;
        let spent = assert_billed(&done, HAILUO_RATE, 6);
        assert!(done["audio_url"].is_null(), "v1 clips are silent: {done}");
        assert_delivered(&live.probe_result(&done).await, 1366, 768, 6000, false);
        assert_eq!(
            fake.create_bodies()[0],
            json!({"model": "MiniMax-Hailuo-2.3", "prompt": "[Push in] a cat running in a garden", "duration": 6,
                "resolution": "768P", "prompt_optimizer": false})
        );
        let counters = fake.journal().counters();
        assert_eq!(
            (counters.submits(), counters.polls(), counters.received(Endpoint::Retrieve), counters.downloads()),
            (1, 1, 1, 1),
            "one v1 query (a v2 query of a v1 task is refused by the fake), one retrieve, one download"
        );
        live.assert_settled(spent).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test]
async fn a_failing_file_retrieve_is_asked_again_and_the_task_completes() {
    let (fake, entry) = start_v1().await;
    fake.faults().push(Endpoint::Retrieve, Fault::Status(500));
    let live = Live::start(vec![entry]).await;
    let done = live.run(hailuo("a retrieve that fails once")).await;
    let spent = assert_billed(&done, HAILUO_RATE, 6);
    let counters = fake.journal().counters();
    assert_eq!((counters.received(Endpoint::Retrieve), counters.downloads(), counters.jobs_created), (2, 1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn an_expired_download_url_is_retrieved_again() {
    let (fake, entry) = start_v1().await;
    fake.hand_out_expired_urls(1);
    let live = Live::start(vec![entry]).await;
    let done = live.run(hailuo("a slow download")).await;
    let spent = assert_billed(&done, HAILUO_RATE, 6);
    let counters = fake.journal().counters();
    assert_eq!(
        (counters.polls(), counters.received(Endpoint::Retrieve), counters.downloads()),
        (1, 2, 2),
        "the expired URL, then a freshly retrieved one"
    );
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hailuo_fail_or_refusal_ends_unbilled_and_is_never_retrieved() {
    let error = |code: &str| Outcome::Error { code: code.into(), message: "m".into() };
    let rows = vec![
        (Outcome::SafetyBlock, "content_filtered", 1),
        (error("1000"), "upstream_error", 1),
        // An HTTP 200 with base_resp 1008 (trap 2) creates nothing.
        (error("1008"), "upstream_error", 0),
    ];
    each(rows, |(outcome, code, jobs)| async move {
        let (fake, entry) = start_v1().await;
        fake.faults().push_outcome(outcome);
        let live = Live::start(vec![entry]).await;
        let done = live.run(hailuo("a scene the upstream will not make")).await;
        assert_failed_unbilled(&done, code);
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.received(Endpoint::Retrieve)), (1, jobs, 0));
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test]
async fn a_hailuo_source_image_goes_as_a_first_frame_image_fitted_to_the_1366x768_frame() {
    let (fake, entry) = start_v1().await;
    let live = Live::start(vec![entry]).await;
    let body = with(hailuo("the picture comes alive"), json!({"source_image": png_data_url(640, 640)}));
    let done = live.run(body).await;
    let spent = assert_billed(&done, HAILUO_RATE, 6);
    let sent = fake.create_bodies()[0]["first_frame_image"].as_str().unwrap().to_owned();
    let png = sent.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("{sent:.60}"));
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png).unwrap();
    assert_eq!(vidgate_media::decode_image_dimensions(&png).unwrap(), (1366, 768), "fitted to the frame");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

/// A v2 task made on the fake directly, as another client of the same key would, at
/// `resolution` with the 16:9 text-to-video shape vidgate sends for `task(…)`.
async fn create_elsewhere(fake: &FakeMinimax, resolution: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let body = json!({"model": "MiniMax-H3", "content": [{"type": "text", "text": "someone else's task"}],
        "resolution": resolution, "duration": 5, "ratio": "16:9", "generate_audio": true});
    let request = reqwest::Client::new().post(format!("{}/v2/video_generation", fake.base_url()));
    assert_eq!(request.bearer_auth(fake.api_key()).json(&body).send().await.unwrap().status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_is_found_in_the_v2_task_list_by_its_shape_and_never_sent_again() {
    // Each fault lets the create make its task and loses the answer (§11.8 trap 14). A 2K
    // task made just before
    // (a decoy) is in the list too in two rows, and is not taken.
    let rows =
        vec![(Fault::ResetAfter, false), (Fault::MalformedJson, true), (Fault::Slow(Duration::from_secs(3)), true)];
    each(rows, |(fault, decoy)| async move {
        let (fake, entry) = start().await;
        if decoy {
            create_elsewhere(&fake, "2K").await;
        }
        fake.faults().push(Endpoint::Submit, fault);
        let lookup = json!({"timeout_secs": 1, "task_list_lookup": {"enabled": true}});
        let live = Live::start(vec![with(entry, lookup)]).await;
        let id = live.submit(task("an answer lost on the way back", json!({}))).await;
        let done = live.wait(&id).await;
        let spent = assert_billed(&done, MINIMAX_H3_RATE, 5);
        let admin = live.admin_task(&id).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(false), json!(1)));
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
    // (fault, a twin of the same shape made elsewhere, lookup enabled, jobs upstream, lists read)
    let rows = vec![
        // Reset before processing: nothing was made, the list shows nothing of it.
        (Fault::Reset, false, true, 0, 1),
        // Two tasks of the same model, resolution and ratio in the window: neither is taken.
        (Fault::ResetAfter, true, true, 2, 1),
        // `task_list_lookup.enabled = false`: unknown at once, as before the lookup.
        (Fault::ResetAfter, false, false, 1, 0),
    ];
    each(rows, |(fault, twin, enabled, jobs, lists)| async move {
        let (fake, entry) = start().await;
        if twin {
            create_elsewhere(&fake, "768P").await;
        }
        fake.faults().push(Endpoint::Submit, fault);
        let entry = with(entry, json!({"timeout_secs": 1, "task_list_lookup": {"enabled": enabled}}));
        let live = Live::start(vec![entry]).await;
        let id = live.submit(task("a lost create of unknown outcome", json!({}))).await;
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

#[tokio::test]
async fn a_lost_hailuo_create_fails_unbilled_since_v1_has_no_list() {
    let (fake, entry) = start_v1().await;
    fake.faults().push(Endpoint::Submit, Fault::ResetAfter);
    let live = Live::start(vec![entry]).await;
    let done = live.run(hailuo("a lost v1 create")).await;
    assert_failed_unbilled(&done, "upstream_outcome_unknown");
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, fake.list_requests()), (1, 1, 0));
    live.assert_settled(0).await;
}
