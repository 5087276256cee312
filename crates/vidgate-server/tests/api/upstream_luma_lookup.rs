//! Luma Dream Machine's lost creates (docs/upstreams.md §14.6, §14.8 trap 9) against
//! `FakeLuma`: a create whose answer was lost is found in the generation list by its model,
//! prompt and time, adopted, delivered and billed once, never sent again; found nowhere,
//! found twice, or with the lookup turned off, it fails unbilled as a possible orphan.

use std::time::Duration;

use serde_json::json;
use vidgate_fakes::{Endpoint, FakeLuma, Fault, Latency, LumaApi};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    Live, RAY2_RATE, assert_billed, assert_failed_unbilled, assert_no_violations, luma_dream_entry, until, with,
};

/// A generation made with the same key by another client, outside the gateway.
async fn create_elsewhere(fake: &FakeLuma, prompt: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let body = json!({"model": "ray-2", "prompt": prompt, "generation_type": "video", "aspect_ratio": "16:9",
        "duration": "5s", "resolution": "720p"});
    let url = format!("{}/generations/video", fake.dream_machine_base());
    let request = reqwest::Client::new().post(url).bearer_auth(fake.api_key(LumaApi::DreamMachine));
    assert_eq!(request.json(&body).send().await.unwrap().status().as_u16(), 201);
}

async fn live(fake: &FakeLuma, lookup: serde_json::Value) -> Live {
    let entry = with(luma_dream_entry(fake), json!({"timeout_secs": 1, "task_list_lookup": lookup}));
    Live::start(vec![entry]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_dream_machine_create_is_found_in_the_list_by_its_prompt_and_billed_once() {
    // Each fault lets the create make its generation and loses the answer. A generation of
    // another prompt (a decoy) is listed too in two rows, and a page of one makes the lookup
    // read past it.
    let rows =
        vec![(Fault::ResetAfter, false), (Fault::MalformedJson, true), (Fault::Slow(Duration::from_secs(3)), true)];
    each(rows, |(fault, decoy)| async move {
        let fake = FakeLuma::start().await;
        fake.faults().set_latency(Latency::polls(0));
        fake.faults().push(Endpoint::Submit, fault);
        let live = live(&fake, json!({"page_size": 1})).await;
        let prompt = "an answer lost on the way back";
        let id = live.submit(json!({"model": "ray-2", "prompt": prompt, "duration_seconds": 5})).await;
        if decoy {
            // After ours reached the fake (and met the fault), so the decoy is listed first.
            until("our create arrived", || fake.journal().counters().submits() >= 1).await;
            create_elsewhere(&fake, "someone else's fox").await;
        }
        let done = live.wait(&id).await;
        let spent = assert_billed(&done, RAY2_RATE, 5);
        let admin = live.admin_task(&id).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(false), json!(1)));
        let counters = fake.journal().counters();
        let ours = 1 + u64::from(decoy);
        assert_eq!((counters.submits(), counters.jobs_created), (ours, ours), "ours sent once, one generation");
        assert_eq!(counters.submits_by_prompt[prompt], 1);
        live.assert_settled(spent).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_not_listed_or_listed_twice_or_with_the_lookup_off_fails_unbilled_never_resent() {
    // (fault, a twin of the same prompt made elsewhere, lookup enabled, generations upstream)
    let rows = vec![
        // Reset before processing: nothing was made, the list shows nothing of it.
        (Fault::Reset, false, true, 0),
        // Two generations of the same model and prompt in the window: neither is taken.
        (Fault::ResetAfter, true, true, 2),
        // `task_list_lookup.enabled = false`: unknown at once.
        (Fault::ResetAfter, false, false, 1),
    ];
    each(rows, |(fault, twin, enabled, jobs)| async move {
        let fake = FakeLuma::start().await;
        fake.faults().set_latency(Latency::polls(0));
        let prompt = "a lost create of unknown outcome";
        if twin {
            create_elsewhere(&fake, prompt).await;
        }
        fake.faults().push(Endpoint::Submit, fault);
        let live = live(&fake, json!({"enabled": enabled})).await;
        let id = live.submit(json!({"model": "ray-2", "prompt": prompt, "duration_seconds": 5})).await;
        let done = live.wait(&id).await;
        assert_failed_unbilled(&done, "upstream_outcome_unknown");
        let admin = live.admin_task(&id).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(true), json!(1)));
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created), (1 + u64::from(twin), jobs), "never sent twice");
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}
