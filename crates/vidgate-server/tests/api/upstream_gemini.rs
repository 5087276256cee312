//! Veo on the Gemini API end to end (UPSTREAMS.md §1) against `FakeGemini`: live keys on
//! `veo3.1` (0.40 USD/s), a 5 s request as a 6 s job trimmed to 5, audio that the upstream
//! always makes (stripped for a silent request), image-to-video, refusals at submit, each
//! injected fault in its documented state and bill (API.md §7), Files API downloads that
//! redirect (or not), and a restart during a poll.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeGemini, Fault, Outcome};

use crate::upstream_cases::{self as cases, Price};
use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, gemini_entry,
    png_data_url, with,
};

const FIVE_SECONDS: Price = Price { rate: VEO31_RATE, seconds: 5 };

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5}), extra)
}

#[tokio::test]
async fn gemini_makes_five_seconds_with_audio_as_a_six_second_job_trimmed_and_billed_exactly() {
    let fake = FakeGemini::start().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let id = live.submit(task("a harbour at dawn, gulls", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    let admin = live.admin_task(&id).await;
    let route = &admin["plan"]["routes"][0];
    assert_eq!((route["upstream_seconds"].clone(), route["trim_to_ms"].clone()), (json!(6), json!(5000)));
    assert_eq!(admin["upstream_cost_usd"], json!(2.4), "6 s at 0.40");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_audio_is_stripped_from_a_silent_request_and_billed_the_same() {
    let fake = FakeGemini::start().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let id = live.submit(task("a quiet street", json!({"audio": false, "size": "720x1280"}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(done["audio_url"].is_null(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    assert_eq!(live.admin_task(&id).await["plan"]["routes"][0]["upstream_audio"], true, "Gemini always makes audio");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_makes_image_to_video_from_the_source_image() {
    let fake = FakeGemini::start().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(task("the picture comes alive", json!({"source_image": png_data_url(1280, 720)}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_refuses_ten_seconds_at_submit_naming_the_extensions_it_does_not_chain() {
    let fake = FakeGemini::start().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let (status, err) = live.refused(task("too long", json!({"duration_seconds": 10}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!((err["code"].clone(), err["param"].clone()), (json!("unsupported_value"), json!("duration_seconds")));
    assert_eq!(
        err["message"],
        "model veo3.1 cannot be delivered as 10 s at 1280x720: no configured route can deliver this combination: \
         gemini: its longest clip at this size is 8 s; \
         longer needs +7 s extensions, which the upstream documents but vidgate does not chain"
    );
    assert_eq!(fake.journal().counters().submits(), 0);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_download_follows_the_files_api_redirect() {
    let fake = FakeGemini::start().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(task("redirected bytes", json!({}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_eq!(fake.journal().counters().downloads(), 1, "the redirect target was fetched once");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_download_without_a_redirect_works_too() {
    let fake = FakeGemini::start().await;
    fake.faults().set_redirect_downloads(false);
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(task("direct bytes", json!({}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_eq!(fake.journal().counters().downloads(), 1);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_truncated_download_behind_the_redirect_is_retried_and_the_task_completes() {
    let fake = FakeGemini::start().await;
    let body = task("a cut download", json!({}));
    cases::read_fault_is_retried(&fake, gemini_entry(&fake), body, Endpoint::Download, Fault::Truncated, FIVE_SECONDS)
        .await;
    assert_eq!(fake.journal().counters().downloads(), 2, "one cut, one whole");
}

#[tokio::test]
async fn gemini_expired_result_fails_unbilled_as_an_upstream_error() {
    let fake = FakeGemini::start().await;
    fake.faults().set_redirect_downloads(false).push(Endpoint::Download, Fault::Status(404));
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(task("gone after two days", json!({}))).await;
    assert_failed_unbilled(&done, "upstream_error");
    assert_eq!(fake.journal().counters().downloads(), 1, "a 404 is not retried");
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_429_on_submit_is_retried_after_retry_after_with_one_job() {
    let fake = FakeGemini::start().await;
    let fault = Fault::RateLimited { retry_after_secs: 1 };
    cases::submit_fault_is_retried(&fake, gemini_entry(&fake), task("rate limited", json!({})), fault, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn gemini_500_on_submit_is_retried_with_one_job() {
    let fake = FakeGemini::start().await;
    let body = task("an internal error once", json!({}));
    cases::submit_fault_is_retried(&fake, gemini_entry(&fake), body, Fault::Status(500), FIVE_SECONDS).await;
}

#[tokio::test]
async fn gemini_reset_on_submit_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeGemini::start().await;
    let body = task("reset before an answer", json!({}));
    cases::unknown_submit_is_never_resent(&fake, gemini_entry(&fake), body, Fault::Reset, 0).await;
}

#[tokio::test]
async fn gemini_reset_after_accepting_a_submit_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeGemini::start().await;
    let body = task("reset after accepting", json!({}));
    cases::unknown_submit_is_never_resent(&fake, gemini_entry(&fake), body, Fault::ResetAfter, 1).await;
}

#[tokio::test]
async fn gemini_submit_answered_after_the_timeout_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeGemini::start().await;
    let body = task("answered too late", json!({}));
    cases::unknown_submit_is_never_resent(&fake, gemini_entry(&fake), body, Fault::Slow(Duration::from_secs(3)), 1)
        .await;
}

#[tokio::test]
async fn gemini_truncated_submit_answer_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeGemini::start().await;
    let body = task("half an answer", json!({}));
    cases::unknown_submit_is_never_resent(&fake, gemini_entry(&fake), body, Fault::Truncated, 1).await;
}

#[tokio::test]
async fn gemini_malformed_poll_answer_is_retried_and_the_task_completes() {
    let fake = FakeGemini::start().await;
    let body = task("a garbled poll", json!({}));
    cases::read_fault_is_retried(&fake, gemini_entry(&fake), body, Endpoint::Poll, Fault::MalformedJson, FIVE_SECONDS)
        .await;
}

#[tokio::test]
async fn gemini_failed_operations_end_as_upstream_error_content_filtered_and_invalid_result_unbilled() {
    let fake = FakeGemini::start().await;
    let cases = [
        (Outcome::Error { code: "3".into(), message: "bad argument".into() }, "upstream_error"),
        (Outcome::SafetyBlock, "content_filtered"),
        (Outcome::CorruptMedia, "invalid_result"),
    ];
    cases::bad_outcomes_fail_unbilled(&fake, gemini_entry(&fake), task("", json!({})), &cases).await;
}

#[tokio::test]
async fn gemini_operation_that_never_finishes_times_out_at_the_deadline_unbilled() {
    let fake = FakeGemini::start().await;
    cases::unfinished_job_times_out(&fake, gemini_entry(&fake), task("forever", json!({})), Outcome::Never).await;
}

#[tokio::test]
async fn gemini_restart_during_a_poll_resumes_the_same_operation() {
    let fake = FakeGemini::start().await;
    cases::restart_resumes_the_same_job(&fake, gemini_entry(&fake), task("across a restart", json!({})), FIVE_SECONDS)
        .await;
}
