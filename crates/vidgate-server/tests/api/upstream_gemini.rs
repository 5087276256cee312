//! Veo on the Gemini API end to end (docs/upstreams.md §1) against `FakeGemini`, what only this
//! adapter does: Files API downloads that redirect (or not) or have expired. Extension
//! chains (10 s as 8 s + 7 s, and the 1080p refusal) are in `upstream_extension.rs`. What every adapter does is table-driven
//! in `upstream_cases.rs`.

use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeGemini, Fault, Latency};

use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_failed_unbilled, assert_no_violations, gemini_entry, with,
};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5}), extra)
}

#[tokio::test]
async fn gemini_download_follows_the_files_api_redirect() {
    let fake = FakeGemini::start().await;
    fake.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
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
    fake.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
    fake.faults().set_redirect_downloads(false);
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(task("direct bytes", json!({}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_eq!(fake.journal().counters().downloads(), 1);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn gemini_expired_result_fails_unbilled_as_an_upstream_error() {
    let fake = FakeGemini::start().await;
    fake.faults().set_latency(Latency::polls(0)); // done at the first poll: one poll interval less
    fake.faults().set_redirect_downloads(false).push(Endpoint::Download, Fault::Status(404));
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(task("gone after two days", json!({}))).await;
    assert_failed_unbilled(&done, "upstream_error");
    assert_eq!(fake.journal().counters().downloads(), 1, "a 404 is not retried");
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}
