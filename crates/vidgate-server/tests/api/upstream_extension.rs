//! Veo extension chains on the Gemini API end to end (docs/upstreams.md §1.2, §1.3; docs/api.md §7,
//! §11) against `FakeGemini`: a length longer than a native clip is an 8 s clip plus
//! extensions, each a new upstream job on the previous output's URI, submitted like the first
//! (recorded before sending, never resent blindly, no failover once the base was accepted),
//! and only the stitched video is delivered, trimmed exactly.
//!
//! Jobs are done at their first poll unless a test says otherwise, so a chain takes a few
//! seconds (the engine polls at most every 2 s).

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeGemini, Fault, Latency, Outcome};

use crate::restart::Run;
use crate::upstream_helpers::{
    Live, VEO31_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, config_with,
    funded_key, gemini_entry, until, wait_on, with,
};

fn ten_seconds(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "veo3.1", "prompt": prompt, "duration_seconds": 10}), extra)
}

/// A fake whose jobs are done at their first poll.
async fn quick_fake() -> FakeGemini {
    let fake = FakeGemini::start().await;
    fake.faults().set_latency(Latency::polls(0));
    fake
}

/// The one extension job: it continued the base job's output, 8 s into 15 s.
fn assert_one_extension_of_the_base(fake: &FakeGemini) {
    let extensions = fake.journal().extensions();
    assert_eq!(extensions.len(), 1, "{extensions:?}");
    let ext = &extensions[0];
    assert_ne!(ext.extended_operation, ext.operation);
    assert!(ext.extended_operation.starts_with("models/veo-3.1-generate-preview/operations/"), "{ext:?}");
    assert!(ext.video_uri.starts_with(&format!("{}/files/", fake.api_base())), "a Files-API URI: {ext:?}");
    assert_eq!((ext.input_ms, ext.output_ms), (8000, 15_000));
}

#[tokio::test]
async fn ten_seconds_on_gemini_is_an_eight_second_clip_plus_one_extension_delivered_as_exactly_ten() {
    let fake = quick_fake().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let id = live.submit(ten_seconds("a long fox", json!({"audio": true}))).await;
    let route = live.admin_task(&id).await["plan"]["routes"][0].clone();
    assert_eq!(
        (route["upstream_seconds"].clone(), route["extensions"].clone(), route["trim_to_ms"].clone()),
        (json!(8), json!(1), json!(10_000))
    );
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 10);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 10_000, true);
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (2, 2), "one base and one extension job");
    assert_eq!(counters.downloads(), 1, "only the stitched video is fetched");
    assert_one_extension_of_the_base(&fake);
    assert_eq!(fake.journal().notes(), Vec::new(), "the chain started from an 8 s clip");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_silent_ten_second_chain_has_its_audio_track_stripped() {
    let fake = quick_fake().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(ten_seconds("a quiet long fox", json!({"audio": false, "size": "720x1280"}))).await;
    let spent = assert_billed(&done, VEO31_RATE, 10);
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 10_000, false);
    assert!(done["audio_url"].is_null(), "{done}");
    assert_eq!(fake.journal().counters().jobs_created, 2);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn ten_seconds_at_1080p_is_refused_at_submit_because_extension_is_720p_only() {
    let fake = quick_fake().await;
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let (status, err) = live.refused(ten_seconds("too big", json!({"size": "1920x1080"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!((err["code"].clone(), err["param"].clone()), (json!("unsupported_value"), json!("duration_seconds")));
    assert_eq!(
        err["message"],
        "model veo3.1 cannot be delivered as 10 s at 1920x1080: no configured route can deliver this combination: \
         gemini: its longest clip at this size is 8 s; longer needs +7 s extensions, which are 720p only \
         (1280x720 or 720x1280)"
    );
    assert_eq!(fake.journal().counters().submits(), 0);
    live.assert_settled(0).await;
}

#[tokio::test]
async fn an_extension_submit_whose_outcome_is_unknown_fails_unbilled_as_a_possible_orphan_never_resent() {
    let fake = quick_fake().await;
    fake.faults().push_after(Endpoint::Submit, 1, Fault::ResetAfter);
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let id = live.submit(ten_seconds("an extension lost in the wire", json!({}))).await;
    let done = live.wait(&id).await;
    assert_failed_unbilled(&done, "upstream_outcome_unknown");
    let admin = live.admin_task(&id).await;
    assert_eq!(admin["possible_orphan"], true, "{admin}");
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (2, 2), "the extension was made once, never resent");
    assert_eq!(counters.downloads(), 0);
    assert_one_extension_of_the_base(&fake);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn an_extension_blocked_by_the_safety_filter_is_content_filtered_unbilled() {
    let fake = quick_fake().await;
    fake.faults().push_outcome(Outcome::Success).push_outcome(Outcome::SafetyBlock);
    let live = Live::start(vec![gemini_entry(&fake)]).await;
    let done = live.run(ten_seconds("a fox the filter dislikes later", json!({}))).await;
    assert_failed_unbilled(&done, "content_filtered");
    let counters = fake.journal().counters();
    assert_eq!((counters.jobs_created, counters.downloads()), (2, 0));
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn an_extension_submit_rate_limited_with_retry_after_is_sent_again_and_completes() {
    let fake = quick_fake().await;
    fake.faults().push_after(Endpoint::Submit, 1, Fault::RateLimited { retry_after_secs: 1 });
    // A second route, which a 429 on a first submit would fail over to.
    let other = quick_fake().await;
    let live = Live::start(vec![gemini_entry(&fake), with(gemini_entry(&other), json!({"name": "gemini-b"}))]).await;
    let id = live.submit(ten_seconds("a patient fox", json!({}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, VEO31_RATE, 10);
    assert_eq!(fake.faults().pending(Endpoint::Submit), 0, "the 429 was met");
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (3, 2), "the refused extension was sent again");
    assert_eq!(other.journal().counters().submits(), 0, "no failover once the base was accepted");
    assert_one_extension_of_the_base(&fake);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_restart_during_the_extension_poll_resumes_without_another_job() {
    let fake = FakeGemini::start().await;
    // Each job answers "running" once, so the extension is still running when the gateway stops.
    fake.faults().set_latency(Latency::polls(1));
    let config = config_with(vec![gemini_entry(&fake)]);
    let dir = crate::restart::fresh_data_dir();
    let (run, creds) = Run::start(config.clone(), &dir).await;
    let admin = creds.expect("first start bootstraps").admin_token;
    let key = funded_key(&run, &admin).await.0;
    let (s, task) = run.post("/v1/videos/generations", &key, &ten_seconds("a fox across a restart", json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{task}");
    let id = task["task_id"].as_str().unwrap().to_owned();
    let journal = fake.journal();
    until("the extension answered a poll", || !journal.extensions().is_empty() && journal.counters().polls() >= 3)
        .await;
    run.stop().await;
    let (run, _) = Run::start(config, &dir).await;
    let done = wait_on(&run, &key, &id).await;
    run.stop().await;
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    assert_billed(&done, VEO31_RATE, 10);
    let counters = journal.counters();
    assert_eq!((counters.submits(), counters.jobs_created), (2, 2), "no job was started again");
    assert_eq!(journal.extensions().len(), 1);
    assert_no_violations(journal);
}
