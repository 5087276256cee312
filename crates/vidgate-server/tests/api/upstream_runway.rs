//! Runway end to end (docs/upstreams.md §13) against `FakeRunway`: the exact create body
//! (pixel `ratio`, integer `duration`, `X-Runway-Version` checked by the fake on every call),
//! the upstream cost from the task's `cost.credits`, Veo 3.1 on Runway asked for 6 s and
//! trimmed to 5 with its audio, a `THROTTLED` task that waits and completes, an output URL
//! that expired, a create whose answer was lost (never sent again, unbilled), failures and
//! refusals unbilled, and a cancel that deletes only the unfinished task.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeRunway, Fault, Latency, Outcome};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    GEN45_RATE, Live, VEO31_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations,
    png_data_url, runway_entry, until, with,
};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "gen4.5", "prompt": prompt, "duration_seconds": 5}), extra)
}

/// A fake whose jobs are done at the first poll, and the entry pointing at it.
async fn start() -> (FakeRunway, Value) {
    let fake = FakeRunway::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = runway_entry(&fake);
    (fake, entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gen4_5_task_is_billed_per_delivered_second_with_its_credits_as_the_upstream_cost() {
    let (fake, entry) = start().await;
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task("a kitten yawns at the camera", json!({"size": "720x1280"}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, GEN45_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    // cost.credits 60 (12 a second) × $0.01.
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.6));
    assert_eq!(
        fake.create_bodies(),
        [json!({"model": "gen4.5", "promptText": "a kitten yawns at the camera", "ratio": "720:1280", "duration": 5})]
    );
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 1));
    assert_eq!(fake.deletions(), Vec::new(), "a finished task is never deleted (trap 5)");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veo_3_1_on_runway_from_a_first_frame_is_a_6_s_job_trimmed_to_5_s_with_its_audio() {
    let (fake, entry) = start().await;
    let entry = with(
        entry,
        json!({"model": "veo3.1", "serves": ["veo3.1"], "usd_per_second": {"default": "0.20"},
            "usd_per_second_with_audio": {"default": "0.40"}}),
    );
    let live = Live::start(vec![entry]).await;
    let image = json!({"model": "veo3.1", "audio": true, "source_image": png_data_url(1280, 720)});
    let done = live.run(task("the picture comes alive", image)).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    // 40 credits a second with audio × 6 s × $0.01.
    assert_eq!(live.admin_task(done["task_id"].as_str().unwrap()).await["upstream_cost_usd"], json!(2.4));
    let body = &fake.create_bodies()[0];
    assert_eq!((body["duration"].clone(), body["audio"].clone()), (json!(6), json!(true)));
    assert!(body["promptImage"].as_str().unwrap().starts_with("data:image/png;base64,"), "{body}");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_task_waits_in_the_queue_and_completes_billed_once() {
    let (fake, entry) = start().await;
    fake.throttle(3);
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a queue at the door", json!({}))).await;
    let spent = assert_billed(&done, GEN45_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, counters.polls()), (1, 1, 4), "3 THROTTLED, then done");
    assert_eq!(live.admin_task(done["task_id"].as_str().unwrap()).await["upstream_cost_usd"], json!(0.6));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn an_output_url_that_expired_before_its_download_is_fetched_again_from_a_new_poll() {
    let (fake, entry) = start().await;
    fake.hand_out_expired_urls(1);
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a slow download", json!({}))).await;
    let spent = assert_billed(&done, GEN45_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.downloads(), counters.polls()), (2, 2), "the expired URL, then the one named now");
    let refused: Vec<u16> = fake.journal().rejections().iter().map(|r| r.status).collect();
    assert_eq!(refused, [403]);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_ends_outcome_unknown_unbilled_and_is_never_sent_again() {
    // Each fault lets the create make its task and loses (or garbles) the answer; a 502 may
    // have made one too (trap 7: no idempotency key, no list of tasks to look it up in).
    let rows = vec![
        (Fault::ResetAfter, 1),
        (Fault::MalformedJson, 1),
        (Fault::Slow(Duration::from_secs(3)), 1),
        (Fault::Status(502), 0),
    ];
    each(rows, |(fault, jobs)| async move {
        let (fake, entry) = start().await;
        fake.faults().push(Endpoint::Submit, fault);
        let live = Live::start(vec![with(entry, json!({"timeout_secs": 1}))]).await;
        let done = live.run(task("an answer lost on the way back", json!({}))).await;
        assert_failed_unbilled(&done, "upstream_outcome_unknown");
        let admin = live.admin_task(done["task_id"].as_str().unwrap()).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(true), json!(1)));
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.polls()), (1, jobs, 0), "never sent twice");
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_quota_429_and_load_shedding_503_are_sent_again_and_bill_once() {
    let rows = vec![Fault::RateLimited { retry_after_secs: 1 }, Fault::Status(503)];
    each(rows, |fault| async move {
        let (fake, entry) = start().await;
        fake.faults().push(Endpoint::Submit, fault);
        let live = Live::start(vec![entry]).await;
        let done = live.run(task("after the quota resets", json!({}))).await;
        let spent = assert_billed(&done, GEN45_RATE, 5);
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created), (2, 1));
        live.assert_settled(spent).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_and_failures_end_unbilled_with_their_codes() {
    let error = |code: &str| Outcome::Error { code: code.into(), message: "refused".into() };
    let rows = vec![
        (error("SAFETY.INPUT.TEXT"), "content_filtered"),
        (Outcome::SafetyBlock, "content_filtered"),
        (error("INTERNAL.BAD_OUTPUT.CODE01"), "upstream_error"),
        (error("ASSET.INVALID"), "upstream_error"),
        (Outcome::Status("CANCELLED".into()), "upstream_error"),
        (Outcome::Status("PAUSED".into()), "upstream_error"),
    ];
    each(rows, |(outcome, code)| async move {
        let (fake, entry) = start().await;
        fake.faults().push_outcome(outcome);
        let live = Live::start(vec![entry]).await;
        let done = live.run(task("a scene the upstream will not make", json!({}))).await;
        assert_failed_unbilled(&done, code);
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 0));
        assert_eq!(fake.deletions(), Vec::new());
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_deletes_the_running_upstream_task_and_bills_nothing() {
    let (fake, entry) = start().await;
    fake.faults().push_outcome(Outcome::Never);
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task("a task nobody waits for", json!({}))).await;
    until("the upstream answered a poll", || fake.journal().counters().polls() >= 1).await;
    let (status, cancelled, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let done = live.wait(&id).await;
    assert_eq!((done["status"].clone(), done["credits_used"].clone()), (json!("cancelled"), json!(0)), "{done}");
    until("the DELETE reached the upstream", || !fake.deletions().is_empty()).await;
    let deleted: Vec<String> = fake.deletions().iter().map(|d| d.status.clone()).collect();
    assert_eq!(deleted, ["RUNNING"]);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}
