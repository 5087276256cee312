//! Another vidgate as the upstream end to end (docs/api.md §4–§6, §10) against `FakeVidgate`, what
//! only this adapter does: a route narrowed by config refused at submit, and a submit whose
//! outcome is unknown sent again with the same `out_task_id` (its submit is idempotent), the
//! upstream still making one job. What every adapter does is table-driven in
//! `upstream_cases.rs`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeVidgate, Fault};

use crate::upstream_cases::each;
use crate::upstream_helpers::{Live, VEO31_RATE, assert_billed, assert_no_violations, vidgate_entry, with};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5}), extra)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vidgate_submit_whose_outcome_is_unknown_is_resent_with_the_same_key_and_makes_one_job() {
    // A reset before processing leaves one valid submit for the key; a reset after it, a late
    // answer or an unreadable one leave two (the second replayed).
    let rows = vec![
        (Fault::Reset, 1),
        (Fault::ResetAfter, 2),
        (Fault::Slow(Duration::from_secs(3)), 2),
        (Fault::MalformedJson, 2),
    ];
    each(rows, |(fault, key_submits)| unknown_submit_is_resent_with_the_same_key(fault, key_submits)).await;
}
