//! Veo on Vertex AI end to end (UPSTREAMS.md §2) against `FakeVertex`: live keys on `veo3.1`
//! (0.40 USD/s), the plan (Veo makes 4, 6 or 8 s; a 5 s request is a 6 s job trimmed to 5),
//! audio switched per job, image-to-video, refusals at submit, each injected fault in its
//! documented state and bill (API.md §7), service-account tokens that fail, run out or are
//! revoked, results inline or in Cloud Storage, and a restart during a poll.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeVertex, Fault, Latency, Outcome, RejectionKind};

use crate::upstream_cases::{self as cases, Price};
use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_delivered, assert_no_violations, png_data_url, vertex_entry, with,
};

const FIVE_SECONDS: Price = Price { rate: VEO31_RATE, seconds: 5 };

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5}), extra)
}

/// Results written to the fake's Cloud Storage instead of inline.
fn gcs_entry(fake: &FakeVertex) -> Value {
    with(vertex_entry(fake), json!({"storage_uri": "gs://vidgate-results/veo"}))
}

#[tokio::test]
async fn vertex_makes_five_seconds_with_audio_as_a_six_second_job_trimmed_and_billed_exactly() {
    let fake = FakeVertex::start().await;
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let id = live.submit(task("a lighthouse at dusk, waves", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    let admin = live.admin_task(&id).await;
    let route = &admin["plan"]["routes"][0];
    assert_eq!((route["upstream_seconds"].clone(), route["trim_to_ms"].clone()), (json!(6), json!(5000)));
    assert_eq!(route["upstream_audio"], true);
    assert_eq!(admin["upstream_cost_usd"], json!(2.4), "6 s with audio at 0.40");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vertex_is_asked_for_no_audio_when_the_request_is_silent() {
    let fake = FakeVertex::start().await;
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let id = live.submit(task("a silent forest", json!({"audio": false, "size": "720x1280"}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(done["audio_url"].is_null(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    let admin = live.admin_task(&id).await;
    assert_eq!(admin["plan"]["routes"][0]["upstream_audio"], false);
    assert_eq!(admin["upstream_cost_usd"], json!(1.2), "6 s silent at 0.20");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vertex_makes_image_to_video_from_the_source_image() {
    let fake = FakeVertex::start().await;
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let done = live.run(task("the picture comes alive", json!({"source_image": png_data_url(1280, 720)}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vertex_refuses_ten_seconds_at_submit_with_the_reason_and_holds_nothing() {
    let fake = FakeVertex::start().await;
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let (status, err) = live.refused(task("too long", json!({"duration_seconds": 10}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!((err["code"].clone(), err["param"].clone()), (json!("unsupported_value"), json!("duration_seconds")));
    assert_eq!(
        err["message"],
        "model veo3.1 cannot be delivered as 10 s at 1280x720: no configured route can deliver this combination: \
         vertex: its longest clip at this size is 8 s \
         and it documents no extension"
    );
    assert_eq!(fake.journal().counters().submits(), 0);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vertex_429_on_submit_is_retried_after_retry_after_with_one_job() {
    let fake = FakeVertex::start().await;
    let fault = Fault::RateLimited { retry_after_secs: 1 };
    cases::submit_fault_is_retried(&fake, vertex_entry(&fake), task("rate limited", json!({})), fault, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn vertex_503_on_submit_is_retried_with_one_job() {
    let fake = FakeVertex::start().await;
    let body = task("unavailable once", json!({}));
    cases::submit_fault_is_retried(&fake, vertex_entry(&fake), body, Fault::Status(503), FIVE_SECONDS).await;
}

#[tokio::test]
async fn vertex_reset_on_submit_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeVertex::start().await;
    let body = task("reset before an answer", json!({}));
    cases::unknown_submit_is_never_resent(&fake, vertex_entry(&fake), body, Fault::Reset, 0).await;
}

#[tokio::test]
async fn vertex_reset_after_accepting_a_submit_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeVertex::start().await;
    let body = task("reset after accepting", json!({}));
    cases::unknown_submit_is_never_resent(&fake, vertex_entry(&fake), body, Fault::ResetAfter, 1).await;
}

#[tokio::test]
async fn vertex_submit_answered_after_the_timeout_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeVertex::start().await;
    let body = task("answered too late", json!({}));
    cases::unknown_submit_is_never_resent(&fake, vertex_entry(&fake), body, Fault::Slow(Duration::from_secs(3)), 1)
        .await;
}

#[tokio::test]
async fn vertex_unreadable_submit_answer_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeVertex::start().await;
    let body = task("half an answer", json!({}));
    cases::unknown_submit_is_never_resent(&fake, vertex_entry(&fake), body, Fault::MalformedJson, 1).await;
}

#[tokio::test]
async fn vertex_malformed_poll_answer_is_retried_and_the_task_completes() {
    let fake = FakeVertex::start().await;
    let body = task("a garbled poll", json!({}));
    cases::read_fault_is_retried(&fake, vertex_entry(&fake), body, Endpoint::Poll, Fault::MalformedJson, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn vertex_failed_operations_end_as_upstream_error_content_filtered_and_invalid_result_unbilled() {
    let fake = FakeVertex::start().await;
    let cases = [
        (Outcome::Error { code: "13".into(), message: "internal".into() }, "upstream_error"),
        (Outcome::SafetyBlock, "content_filtered"),
        (Outcome::CorruptMedia, "invalid_result"),
    ];
    cases::bad_outcomes_fail_unbilled(&fake, vertex_entry(&fake), task("", json!({})), &cases).await;
}

#[tokio::test]
async fn vertex_operation_that_never_finishes_times_out_at_the_deadline_unbilled() {
    let fake = FakeVertex::start().await;
    cases::unfinished_job_times_out(&fake, vertex_entry(&fake), task("forever", json!({})), Outcome::Never).await;
}

#[tokio::test]
async fn vertex_result_in_cloud_storage_is_downloaded_again_after_a_truncated_download() {
    let fake = FakeVertex::start().await;
    let body = task("a cut download", json!({}));
    cases::read_fault_is_retried(&fake, gcs_entry(&fake), body, Endpoint::Download, Fault::Truncated, FIVE_SECONDS)
        .await;
    assert_eq!(fake.journal().counters().downloads(), 2, "one cut, one whole");
}

#[tokio::test]
async fn vertex_inline_result_cut_in_transit_is_read_again_and_the_task_completes() {
    let fake = FakeVertex::start().await;
    // Done at the first poll, whose answer carries the video inline; that answer is cut.
    fake.faults().set_latency(Latency::polls(0));
    let body = task("an inline cut", json!({}));
    cases::read_fault_is_retried(&fake, vertex_entry(&fake), body, Endpoint::Poll, Fault::Truncated, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn vertex_token_endpoint_failures_are_retried_and_the_task_completes() {
    let fake = FakeVertex::start().await;
    fake.faults().push(Endpoint::Token, Fault::Status(503)).push(Endpoint::Token, Fault::Reset);
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let id = live.submit(task("tokens are hard", json!({}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.token_requests(), counters.tokens_issued), (3, 1), "one token, cached for the polls");
    assert_eq!((counters.submits(), counters.jobs_created), (1, 1), "no submit is sent without a token");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn vertex_short_lived_tokens_are_refreshed_so_no_call_is_refused() {
    let fake = FakeVertex::start().await;
    fake.set_token_lifetime(Duration::from_secs(2));
    fake.faults().set_latency(Latency::millis(5000));
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let done = live.run(task("outlives its tokens", json!({}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let counters = fake.journal().counters();
    assert!(counters.tokens_issued >= 3, "refreshed during the polls: {counters:?}");
    assert_eq!(fake.journal().rejections(), Vec::new(), "no call went out with an expired token");
    live.assert_settled(spent).await;
}

#[tokio::test]
async fn vertex_token_revoked_mid_poll_is_replaced_and_the_task_completes() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(2));
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let id = live.submit(task("revoked midway", json!({}))).await;
    crate::upstream_helpers::until("the first poll", || fake.journal().counters().polls() >= 1).await;
    fake.revoke_tokens();
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let refused: Vec<_> = fake.journal().rejections().into_iter().map(|r| (r.kind, r.status)).collect();
    assert_eq!(refused, vec![(RejectionKind::Auth, 401)], "one call with the revoked token, then a fresh one");
    assert_eq!(fake.journal().counters().tokens_issued, 2);
    live.assert_settled(spent).await;
}

#[tokio::test]
async fn vertex_restart_during_a_poll_resumes_the_same_operation() {
    let fake = FakeVertex::start().await;
    cases::restart_resumes_the_same_job(&fake, vertex_entry(&fake), task("across a restart", json!({})), FIVE_SECONDS)
        .await;
}
