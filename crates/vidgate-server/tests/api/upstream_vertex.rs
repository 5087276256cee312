//! Veo on Vertex AI end to end (docs/upstreams.md §2) against `FakeVertex`, what only this adapter
//! does: refusals at submit naming its limits, and service-account tokens that fail, run out
//! or are revoked. What every adapter does (the plan, audio, image-to-video, each injected
//! fault, results inline or in Cloud Storage, a restart) is table-driven in
//! `upstream_cases.rs`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeVertex, Fault, Latency, RejectionKind};

use crate::upstream_helpers::{Live, VEO31_RATE, assert_billed, assert_no_violations, vertex_entry, with};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5}), extra)
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
