//! How often the gateway talks to an upstream, end to end against the fakes: a finished
//! Vertex operation is read once (the poll's answer is what the result is taken from), a
//! result cut short under a matching `Content-Length` is downloaded once more (and a second
//! identical cut copy fails the task `invalid_result`, unbilled), `upstream_submits`
//! counts only submits that were sent, and a job done upstream is fetched again past its
//! deadline.

use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeVertex, Fault, Latency};

use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, vertex_entry, with,
};

fn task(prompt: &str) -> Value {
    json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 5, "audio": false})
}

/// Results written to the fake's Cloud Storage (downloads are separate requests).
fn gcs_entry(fake: &FakeVertex) -> Value {
    with(vertex_entry(fake), json!({"storage_uri": "gs://vidgate-results/veo"}))
}

#[tokio::test]
async fn a_finished_vertex_operation_with_an_inline_result_is_read_once() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(2));
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let done = live.run(task("inline, read once")).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    let counters = fake.journal().counters();
    assert_eq!(counters.polls(), 3, "two 'running' answers, then one fetchPredictOperation that is done: {counters:?}");
    assert_eq!(counters.downloads(), 0, "the result came inline");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_finished_vertex_operation_with_a_gcs_result_is_read_once_then_downloaded() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(1));
    let live = Live::start(vec![gcs_entry(&fake)]).await;
    let done = live.run(task("gcs, read once")).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.polls(), counters.downloads()), (2, 1), "{counters:?}");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_result_cut_short_under_a_matching_length_is_downloaded_again_and_billed_once() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(0)).push(Endpoint::Download, Fault::ShortBody);
    let live = Live::start(vec![gcs_entry(&fake)]).await;
    let done = live.run(task("cut once")).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    let counters = fake.journal().counters();
    assert_eq!((counters.downloads(), counters.jobs_created), (2, 1), "one more download, one job: {counters:?}");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_result_cut_the_same_way_twice_fails_invalid_result_unbilled_after_two_downloads() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(0)).push_n(Endpoint::Download, 2, Fault::ShortBody);
    let live = Live::start(vec![gcs_entry(&fake)]).await;
    let id = live.submit(task("cut twice")).await;
    let done = live.wait(&id).await;
    assert_failed_unbilled(&done, "invalid_result");
    let counters = fake.journal().counters();
    assert_eq!(counters.downloads(), 2, "downloaded again once, not more: {counters:?}");
    assert_eq!(fake.faults().pending(Endpoint::Download), 0);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_submit_whose_token_could_not_be_had_is_not_counted_as_sent() {
    let fake = FakeVertex::start().await;
    fake.faults().push(Endpoint::Token, Fault::Status(503));
    let live = Live::start(vec![vertex_entry(&fake)]).await;
    let id = live.submit(task("token first refused")).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.token_requests(), counters.submits()), (2, 1), "{counters:?}");
    assert_eq!(live.admin_task(&id).await["upstream_submits"], 1, "only the submit sent is counted");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_submit_held_by_the_throttle_is_put_back_and_not_counted() {
    // One request every 2 s: the token request takes the only token, so the submit that
    // follows in the same step is put back, and sent (once) when it comes back.
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let live = Live::start(vec![with(vertex_entry(&fake), json!({"requests_per_second": 0.5}))]).await;
    let id = live.submit(task("throttled submit")).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!((counters.token_requests(), counters.submits(), counters.polls()), (1, 1, 1), "{counters:?}");
    assert_eq!(live.admin_task(&id).await["upstream_submits"], 1);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

/// The deadline fails only an unfinished job: a job done upstream whose result download
/// failed is fetched again after its 1 s deadline, and a poll that gets no answer then only
/// spends one of the download's tries, because the job was already seen finished.
#[tokio::test]
async fn a_finished_job_whose_download_and_a_later_poll_fail_is_still_delivered_past_its_deadline() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(Latency::polls(0)).push(Endpoint::Download, Fault::Truncated).push_after(
        Endpoint::Poll,
        1,
        Fault::Status(503),
    );
    let live = Live::start(vec![with(gcs_entry(&fake), json!({"deadline_secs": 1}))]).await;
    let started = std::time::Instant::now();
    let done = live.run(task("finished, fetched late")).await;
    let spent = assert_billed(&done, VEO31_RATE, 5);
    assert!(started.elapsed() > std::time::Duration::from_secs(1), "delivered after the deadline");
    let counters = fake.journal().counters();
    assert_eq!(
        (counters.polls(), counters.downloads(), counters.jobs_created),
        (3, 2, 1),
        "done at the first poll; one cut download; one unanswered poll; then poll and download again: {counters:?}"
    );
    assert_eq!((fake.faults().pending(Endpoint::Download), fake.faults().pending(Endpoint::Poll)), (0, 0));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}
