//! An OpenAI-Videos-compatible upstream end to end (UPSTREAMS.md §3) against `FakeOpenAi`:
//! live keys on `sora2` (0.10 USD/s), a 5 s request as an 8 s job (`seconds` "4", "8" or
//! "12") trimmed to 5, audio that Sora always makes (stripped for a silent request),
//! image-to-video, refusals at submit, failover when the first route refuses, each injected
//! fault in its documented state and bill (API.md §7), statuses the adapter does not know,
//! downloads that redirect, and a restart during a poll.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeOpenAi, Fault, Outcome};

use crate::upstream_cases::{self as cases, Price};
use crate::upstream_helpers::{
    Live, SORA2_RATE, assert_billed, assert_delivered, assert_no_violations, openai_entry, png_data_url, with,
};

const FIVE_SECONDS: Price = Price { rate: SORA2_RATE, seconds: 5 };

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "sora2", "prompt": prompt, "duration_seconds": 5}), extra)
}

fn entry(fake: &FakeOpenAi) -> Value {
    openai_entry("openai", fake)
}

#[tokio::test]
async fn openai_makes_five_seconds_with_audio_as_an_eight_second_job_trimmed_and_billed_exactly() {
    let fake = FakeOpenAi::start().await;
    let live = Live::start(vec![entry(&fake)]).await;
    let id = live.submit(task("a city at night, rain", json!({"audio": true}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    assert!(done["audio_url"].is_string(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
    let admin = live.admin_task(&id).await;
    let route = &admin["plan"]["routes"][0];
    assert_eq!((route["upstream_seconds"].clone(), route["trim_to_ms"].clone()), (json!(8), json!(5000)));
    assert_eq!(admin["upstream_cost_usd"], json!(0.8), "8 s at 0.10");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn openai_audio_is_stripped_from_a_silent_request_and_billed_the_same() {
    let fake = FakeOpenAi::start().await;
    let live = Live::start(vec![entry(&fake)]).await;
    let done = live.run(task("a silent film", json!({"audio": false, "size": "720x1280"}))).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    assert!(done["audio_url"].is_null(), "{done}");
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 5000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn openai_makes_image_to_video_from_a_source_image_of_the_frame_size() {
    let fake = FakeOpenAi::start().await;
    let live = Live::start(vec![entry(&fake)]).await;
    let done = live.run(task("the picture comes alive", json!({"source_image": png_data_url(1280, 720)}))).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn openai_makes_image_to_video_from_a_source_image_of_another_size() {
    let fake = FakeOpenAi::start().await;
    let live = Live::start(vec![entry(&fake)]).await;
    let done = live.run(task("a small picture comes alive", json!({"source_image": png_data_url(640, 480)}))).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn openai_refuses_what_sora_2_cannot_make_at_submit_with_the_reason() {
    let fake = FakeOpenAi::start().await;
    let live = Live::start(vec![entry(&fake)]).await;
    let (status, err) = live.refused(task("too long", json!({"duration_seconds": 15}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!((err["code"].clone(), err["param"].clone()), (json!("unsupported_value"), json!("duration_seconds")));
    assert_eq!(
        err["message"],
        "model sora2 cannot be delivered as 15 s at 1280x720: no configured route can deliver this combination: \
         openai: its longest clip at this size is 12 s \
         and it documents no extension"
    );
    let (status, err) = live.refused(task("too large", json!({"size": "1920x1080"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!((err["code"].clone(), err["param"].clone()), (json!("unsupported_value"), json!("size")));
    assert_eq!(
        err["message"],
        "model sora2 cannot be delivered as 5 s at 1920x1080: no configured route can deliver this combination: \
         openai: it does not make this size"
    );
    assert_eq!(fake.journal().counters().submits(), 0);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn openai_503_on_submit_fails_over_to_the_next_route_with_one_job_there() {
    let (first, second) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    first.faults().push(Endpoint::Submit, Fault::Status(503));
    let live = Live::start(vec![openai_entry("first", &first), openai_entry("second", &second)]).await;
    let id = live.submit(task("moved along", json!({}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    let admin = live.admin_task(&id).await;
    assert_eq!((admin["upstream"].clone(), admin["plan"]["current"].clone()), (json!("second"), json!(1)));
    let (a, b) = (first.journal().counters(), second.journal().counters());
    assert_eq!((a.submits(), a.jobs_created, b.submits(), b.jobs_created), (1, 0, 1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(first.journal());
    assert_no_violations(second.journal());
}

#[tokio::test]
async fn openai_429_on_submit_is_retried_after_retry_after_with_one_job() {
    let fake = FakeOpenAi::start().await;
    let fault = Fault::RateLimited { retry_after_secs: 1 };
    cases::submit_fault_is_retried(&fake, entry(&fake), task("rate limited", json!({})), fault, FIVE_SECONDS).await;
}

#[tokio::test]
async fn openai_502_on_submit_is_retried_with_one_job() {
    let fake = FakeOpenAi::start().await;
    let body = task("a bad gateway once", json!({}));
    cases::submit_fault_is_retried(&fake, entry(&fake), body, Fault::Status(502), FIVE_SECONDS).await;
}

#[tokio::test]
async fn openai_reset_on_submit_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeOpenAi::start().await;
    let body = task("reset before an answer", json!({}));
    cases::unknown_submit_is_never_resent(&fake, entry(&fake), body, Fault::Reset, 0).await;
}

#[tokio::test]
async fn openai_reset_after_accepting_a_submit_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeOpenAi::start().await;
    let body = task("reset after accepting", json!({}));
    cases::unknown_submit_is_never_resent(&fake, entry(&fake), body, Fault::ResetAfter, 1).await;
}

#[tokio::test]
async fn openai_submit_answered_after_the_timeout_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeOpenAi::start().await;
    let body = task("answered too late", json!({}));
    cases::unknown_submit_is_never_resent(&fake, entry(&fake), body, Fault::Slow(Duration::from_secs(3)), 1).await;
}

#[tokio::test]
async fn openai_unreadable_submit_answer_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = FakeOpenAi::start().await;
    let body = task("half an answer", json!({}));
    cases::unknown_submit_is_never_resent(&fake, entry(&fake), body, Fault::MalformedJson, 1).await;
}

#[tokio::test]
async fn openai_malformed_poll_answer_is_retried_and_the_task_completes() {
    let fake = FakeOpenAi::start().await;
    let body = task("a garbled poll", json!({}));
    cases::read_fault_is_retried(&fake, entry(&fake), body, Endpoint::Poll, Fault::MalformedJson, FIVE_SECONDS).await;
}

#[tokio::test]
async fn openai_failed_videos_end_as_upstream_error_content_filtered_and_invalid_result_unbilled() {
    let fake = FakeOpenAi::start().await;
    let cases = [
        (Outcome::Error { code: "internal_error".into(), message: "boom".into() }, "upstream_error"),
        (Outcome::SafetyBlock, "content_filtered"),
        (Outcome::CorruptMedia, "invalid_result"),
    ];
    cases::bad_outcomes_fail_unbilled(&fake, entry(&fake), task("", json!({})), &cases).await;
}

#[tokio::test]
async fn openai_video_that_stays_in_progress_times_out_at_the_deadline_unbilled() {
    let fake = FakeOpenAi::start().await;
    cases::unfinished_job_times_out(&fake, entry(&fake), task("forever", json!({})), Outcome::Never).await;
}

#[tokio::test]
async fn openai_unknown_status_keeps_the_task_polling_until_its_deadline_unbilled() {
    let fake = FakeOpenAi::start().await;
    let outcome = Outcome::Status("processing".into());
    cases::unfinished_job_times_out(&fake, entry(&fake), task("a status nobody documented", json!({})), outcome).await;
}

#[tokio::test]
async fn openai_cancelled_status_is_not_taken_for_a_known_one() {
    let fake = FakeOpenAi::start().await;
    let outcome = Outcome::Status("cancelled".into());
    cases::unfinished_job_times_out(&fake, entry(&fake), task("cancelled upstream", json!({})), outcome).await;
}

#[tokio::test]
async fn openai_truncated_download_is_retried_and_the_task_completes() {
    let fake = FakeOpenAi::start().await;
    let body = task("a cut download", json!({}));
    cases::read_fault_is_retried(&fake, entry(&fake), body, Endpoint::Download, Fault::Truncated, FIVE_SECONDS).await;
    assert_eq!(fake.journal().counters().downloads(), 2, "one cut, one whole");
}

#[tokio::test]
async fn openai_download_cut_every_time_fails_unbilled_after_the_retry_budget() {
    let fake = FakeOpenAi::start().await;
    cases::downloads_cut_every_time_fail_unbilled(&fake, entry(&fake), task("never whole", json!({}))).await;
}

#[tokio::test]
async fn openai_download_that_redirects_is_followed() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_redirect_downloads(true);
    let live = Live::start(vec![entry(&fake)]).await;
    let done = live.run(task("redirected bytes", json!({}))).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    assert_eq!(fake.journal().counters().downloads(), 1);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn openai_restart_during_a_poll_resumes_the_same_video() {
    let fake = FakeOpenAi::start().await;
    cases::restart_resumes_the_same_job(&fake, entry(&fake), task("across a restart", json!({})), FIVE_SECONDS).await;
}
