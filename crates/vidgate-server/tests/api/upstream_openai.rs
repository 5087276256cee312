//! An OpenAI-Videos-compatible upstream end to end (docs/upstreams.md §3) against `FakeOpenAi`, what
//! only this adapter does: image-to-video from an image of another size, refusals at submit
//! naming Sora 2's limits, failover when the first route refuses, a download cut every time,
//! and downloads that redirect. What every adapter does is table-driven in
//! `upstream_cases.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeOpenAi, Fault, Latency};

use crate::upstream_cases as cases;
use crate::upstream_helpers::{
    Live, SORA2_RATE, assert_billed, assert_no_violations, openai_entry, png_data_url, with,
};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "sora2", "prompt": prompt, "duration_seconds": 5}), extra)
}

fn entry(fake: &FakeOpenAi) -> Value {
    openai_entry("openai", fake)
}

#[tokio::test]
async fn openai_makes_image_to_video_from_a_source_image_of_another_size() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
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
    second.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
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
async fn openai_download_cut_every_time_fails_unbilled_after_the_retry_budget() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
    cases::downloads_cut_every_time_fail_unbilled(&fake, entry(&fake), task("never whole", json!({}))).await;
}

#[tokio::test]
async fn openai_download_that_redirects_is_followed() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
    fake.faults().set_redirect_downloads(true);
    let live = Live::start(vec![entry(&fake)]).await;
    let done = live.run(task("redirected bytes", json!({}))).await;
    let spent = assert_billed(&done, SORA2_RATE, 5);
    assert_eq!(fake.journal().counters().downloads(), 1);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}
