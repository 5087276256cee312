//! Another vidgate as the upstream end to end (API.md §4–§6, §10) against `FakeVidgate`:
//! live keys on `veo3.1` (0.40 USD/s) asked of the upstream exactly as requested, audio on
//! and off, image-to-video, refusals at submit, each injected fault in its documented state
//! and bill (API.md §7). Its submit is idempotent through `out_task_id`, so a submit whose
//! outcome is unknown is sent again with the same key and the upstream still makes one job.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeVidgate, Fault, Outcome};

use crate::upstream_cases::{self as cases, Price};
use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_delivered, assert_no_violations, png_data_url, vidgate_entry, with,
};

const FIVE_SECONDS: Price = Price { rate: VEO31_RATE, seconds: 5 };

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5}), extra)
}

#[tokio::test]
async fn vidgate_is_asked_for_exactly_five_seconds_with_audio_and_billed_exactly() {
    let fake = FakeVidgate::start().await;
    let live = Live::start(vec![vidgate_entry(&fake)]).await;
    let id = live.submit(task("a train through snow", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    let admin = live.admin_task(&id).await;
    let route = &admin["plan"]["routes"][0];
    assert_eq!((route["upstream_seconds"].clone(), route["trim_to_ms"].clone()), (json!(5), json!(5000)));
    assert_eq!(admin["upstream_cost_usd"], json!(1.5), "5 s at 0.30");
    assert_eq!(fake.journal().counters().submits_by_key.get(&id), Some(&1), "the task id is the out_task_id");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vidgate_is_asked_for_no_audio_when_the_request_is_silent() {
    let fake = FakeVidgate::start().await;
    let live = Live::start(vec![vidgate_entry(&fake)]).await;
    let done = live.run(task("a silent train", json!({"audio": false, "size": "720x1280"}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(done["audio_url"].is_null(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vidgate_makes_image_to_video_from_the_source_image() {
    let fake = FakeVidgate::start().await;
    let live = Live::start(vec![vidgate_entry(&fake)]).await;
    let done = live.run(task("the picture comes alive", json!({"source_image": png_data_url(1280, 720)}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vidgate_route_narrowed_to_five_seconds_refuses_ten_at_submit_with_the_reason() {
    let fake = FakeVidgate::start().await;
    let live = Live::start(vec![with(vidgate_entry(&fake), json!({"durations": [5]}))]).await;
    let (status, err) = live.refused(task("too long", json!({"duration_seconds": 10}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!((err["code"].clone(), err["param"].clone()), (json!("unsupported_value"), json!("duration_seconds")));
    assert_eq!(
        err["message"],
        "model veo3.1 cannot be delivered as 10 s at 1280x720: no configured route can deliver this combination: \
         chained: its longest clip at this size is 5 s \
         and it documents no extension"
    );
    assert_eq!(fake.journal().counters().submits(), 0);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vidgate_429_on_submit_is_retried_after_retry_after_with_one_job() {
    let fake = FakeVidgate::start().await;
    let fault = Fault::RateLimited { retry_after_secs: 1 };
    cases::submit_fault_is_retried(&fake, vidgate_entry(&fake), task("rate limited", json!({})), fault, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn vidgate_503_on_submit_is_retried_with_one_job() {
    let fake = FakeVidgate::start().await;
    let body = task("unavailable once", json!({}));
    cases::submit_fault_is_retried(&fake, vidgate_entry(&fake), body, Fault::Status(503), FIVE_SECONDS).await;
}

/// The submit meets `fault`; the gateway sends it again with the same `out_task_id` and the
/// task completes with one upstream job. `key_submits` is how many valid submits the fake
/// counted for the key (2 when the first one was processed and the second replayed).
async fn unknown_submit_is_resent_with_the_same_key(fault: Fault, key_submits: u64) {
    let fake = FakeVidgate::start().await;
    fake.faults().push(Endpoint::Submit, fault);
    let live = Live::start(vec![with(vidgate_entry(&fake), json!({"timeout_secs": 1}))]).await;
    let id = live.submit(task("sent twice, made once", json!({}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let admin = live.admin_task(&id).await;
    assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(false), json!(2)));
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (2, 1), "resent, one job");
    assert_eq!(counters.submits_by_key.into_iter().collect::<Vec<_>>(), vec![(id, key_submits)]);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vidgate_reset_on_submit_is_resent_with_the_same_key_and_makes_one_job() {
    unknown_submit_is_resent_with_the_same_key(Fault::Reset, 1).await;
}

#[tokio::test]
async fn vidgate_reset_after_accepting_a_submit_is_replayed_by_its_key_and_makes_one_job() {
    unknown_submit_is_resent_with_the_same_key(Fault::ResetAfter, 2).await;
}

#[tokio::test]
async fn vidgate_submit_answered_after_the_timeout_is_replayed_by_its_key_and_makes_one_job() {
    unknown_submit_is_resent_with_the_same_key(Fault::Slow(Duration::from_secs(3)), 2).await;
}

#[tokio::test]
async fn vidgate_unreadable_submit_answer_is_replayed_by_its_key_and_makes_one_job() {
    unknown_submit_is_resent_with_the_same_key(Fault::MalformedJson, 2).await;
}

#[tokio::test]
async fn vidgate_malformed_poll_answer_is_retried_and_the_task_completes() {
    let fake = FakeVidgate::start().await;
    let body = task("a garbled poll", json!({}));
    cases::read_fault_is_retried(&fake, vidgate_entry(&fake), body, Endpoint::Poll, Fault::MalformedJson, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn vidgate_failed_or_cancelled_tasks_end_as_upstream_error_content_filtered_and_invalid_result_unbilled() {
    let fake = FakeVidgate::start().await;
    let cases = [
        (Outcome::Error { code: "upstream_error".into(), message: "its upstream failed".into() }, "upstream_error"),
        (Outcome::Error { code: "timeout".into(), message: "too slow there".into() }, "upstream_error"),
        (Outcome::SafetyBlock, "content_filtered"),
        (Outcome::CorruptMedia, "invalid_result"),
        (Outcome::Status("cancelled".into()), "upstream_error"),
    ];
    cases::bad_outcomes_fail_unbilled(&fake, vidgate_entry(&fake), task("", json!({})), &cases).await;
}

#[tokio::test]
async fn vidgate_task_that_stays_running_times_out_at_the_deadline_unbilled() {
    let fake = FakeVidgate::start().await;
    cases::unfinished_job_times_out(&fake, vidgate_entry(&fake), task("forever", json!({})), Outcome::Never).await;
}

#[tokio::test]
async fn vidgate_unknown_status_keeps_the_task_polling_until_its_deadline_unbilled() {
    let fake = FakeVidgate::start().await;
    let outcome = Outcome::Status("processing".into());
    cases::unfinished_job_times_out(&fake, vidgate_entry(&fake), task("an undocumented status", json!({})), outcome)
        .await;
}

#[tokio::test]
async fn vidgate_truncated_download_is_retried_and_the_task_completes() {
    let fake = FakeVidgate::start().await;
    let body = task("a cut download", json!({}));
    cases::read_fault_is_retried(&fake, vidgate_entry(&fake), body, Endpoint::Download, Fault::Truncated, FIVE_SECONDS)
        .await;
    assert_eq!(fake.journal().counters().downloads(), 2, "one cut, one whole");
}

#[tokio::test]
async fn vidgate_restart_during_a_poll_resumes_the_same_task() {
    let fake = FakeVidgate::start().await;
    cases::restart_resumes_the_same_job(&fake, vidgate_entry(&fake), task("across a restart", json!({})), FIVE_SECONDS)
        .await;
}
