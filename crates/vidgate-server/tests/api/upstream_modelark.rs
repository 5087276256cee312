//! Seedance on BytePlus ModelArk and Volcengine Ark end to end (docs/upstreams.md §8)
//! against `FakeModelark`, what only this adapter does: the measured token cost beside the
//! plan's estimate, the source image as the `first_frame` content item, prompt flags
//! stripped, moderation at submit, a result URL that expired before its download, cancel
//! while queued, and the same through both flavours. What every adapter does is
//! table-driven in `upstream_cases.rs`.

use serde_json::{Value, json};
use vidgate_fakes::modelark::{Flavor, ModelarkConfig};
use vidgate_fakes::{Endpoint, FakeModelark, Latency, Outcome};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    Live, SEEDANCE2_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations,
    modelark_entry, png_data_url, until, with,
};

fn task(prompt: &str, extra: Value) -> Value {
    with(json!({"model": "seedance2", "prompt": prompt, "duration_seconds": 5}), extra)
}

/// A fake of `flavor`, its jobs done at the first poll, with the entry pointing at it (the
/// Volcengine flavour with its `doubao-` model id).
async fn start(flavor: Flavor) -> (FakeModelark, Value) {
    let fake = FakeModelark::start_with(ModelarkConfig { flavor, ..Default::default() }).await;
    fake.faults().set_latency(Latency::polls(0));
    let mut entry = modelark_entry("ark", &fake);
    if flavor == Flavor::Volcengine {
        entry = with(entry, json!({"flavor": "volcengine", "model": "doubao-seedance-2-0-260128"}));
    }
    (fake, entry)
}

/// The adapter kept to the digest's advice too: body fields only, `generate_audio` and
/// `watermark` always sent.
fn assert_no_notes(fake: &FakeModelark) {
    assert_eq!(fake.journal().notes(), Vec::new(), "no prompt flag, no defaulted audio or watermark");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seedance_5_s_720p_task_with_audio_completes_on_both_flavours_with_the_token_cost_beside_the_estimate() {
    each(vec![Flavor::Byteplus, Flavor::Volcengine], |flavor| async move {
        let (fake, entry) = start(flavor).await;
        let live = Live::start(vec![entry]).await;
        let id = live.submit(task("a kitten yawns at the camera", json!({"audio": true}))).await;
        let done = live.wait(&id).await;
        let spent = assert_billed(&done, SEEDANCE2_RATE, 5);
        assert!(done["audio_url"].is_string(), "{done}");
        assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, true);
        let admin = live.admin_task(&id).await;
        // The plan's estimate (5 s at $0.12) stays in the plan; the task records what the
        // upstream billed: 108 900 tokens at $2.4 per million.
        assert_eq!(admin["plan"]["routes"][0]["upstream_cost"], json!(0.6), "{admin}");
        assert_eq!(admin["upstream_cost_usd"], json!(0.26136), "{admin}");
        let body = &fake.create_bodies()[0];
        let model =
            if flavor == Flavor::Volcengine { "doubao-seedance-2-0-260128" } else { "dreamina-seedance-2-0-260128" };
        assert_eq!(
            body,
            &json!({"model": model, "content": [{"type": "text", "text": "a kitten yawns at the camera"}],
                "resolution": "720p", "ratio": "16:9", "duration": 5, "seed": -1, "watermark": false,
                "generate_audio": true})
        );
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 1));
        live.assert_settled(spent).await;
        assert_no_violations(fake.journal());
        assert_no_notes(&fake);
    })
    .await;
}

#[tokio::test]
async fn the_source_image_reaches_modelark_as_the_first_frame_content_item() {
    let (fake, entry) = start(Flavor::Byteplus).await;
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("the picture comes alive", json!({"source_image": png_data_url(1280, 720)}))).await;
    let spent = assert_billed(&done, SEEDANCE2_RATE, 5);
    let content = fake.create_bodies()[0]["content"].clone();
    assert_eq!(content.as_array().unwrap().len(), 2, "{content}");
    assert_eq!((content[1]["type"].clone(), content[1]["role"].clone()), (json!("image_url"), json!("first_frame")));
    assert!(content[1]["image_url"]["url"].as_str().unwrap().starts_with("data:image/png;base64,"), "{content}");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert_no_notes(&fake);
}

#[tokio::test]
async fn prompt_flags_that_would_override_the_body_are_stripped_and_the_clip_is_the_one_held_for() {
    let (fake, entry) = start(Flavor::Byteplus).await;
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a lighthouse --rs 1080p --dur 12 at dusk --wm true --seed 7", json!({}))).await;
    let spent = assert_billed(&done, SEEDANCE2_RATE, 5);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
    let body = &fake.create_bodies()[0];
    assert_eq!(body["content"][0]["text"], "a lighthouse at dusk");
    assert_eq!((body["resolution"].clone(), body["duration"].clone()), (json!("720p"), json!(5)));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert_no_notes(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderated_prompt_an_output_moderation_and_an_expired_task_fail_unbilled_on_both_flavours() {
    let moderated = || Outcome::Error { code: "InputTextSensitiveContentDetected".into(), message: "no".into() };
    let mut rows = Vec::new();
    for flavor in [Flavor::Byteplus, Flavor::Volcengine] {
        rows.push((flavor, moderated(), "content_filtered", 0));
        rows.push((flavor, Outcome::SafetyBlock, "content_filtered", 1));
        rows.push((flavor, Outcome::Status("expired".into()), "upstream_error", 1));
    }
    each(rows, |(flavor, outcome, code, jobs)| async move {
        let (fake, entry) = start(flavor).await;
        fake.faults().push_outcome(outcome);
        let live = Live::start(vec![entry]).await;
        let id = live.submit(task("a scene the upstream will not make", json!({}))).await;
        let done = live.wait(&id).await;
        assert_failed_unbilled(&done, code);
        assert_eq!(live.admin_task(&id).await["possible_orphan"], false);
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, jobs, 0), "never resent");
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test]
async fn a_result_url_that_expired_before_its_download_is_fetched_again_from_a_fresh_poll() {
    let (fake, entry) = start(Flavor::Byteplus).await;
    fake.hand_out_expired_urls(1);
    let live = Live::start(vec![entry]).await;
    let done = live.run(task("a slow download", json!({}))).await;
    let spent = assert_billed(&done, SEEDANCE2_RATE, 5);
    let counters = fake.journal().counters();
    assert_eq!(counters.downloads(), 2, "the expired URL, then the fresh one");
    assert_eq!(counters.polls(), 2, "the poll that found it done, then one for a fresh URL");
    let refused: Vec<u16> = fake.journal().rejections().iter().map(|r| r.status).collect();
    assert_eq!(refused, [403], "the storage host refused the expired URL once");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test]
async fn a_task_cancelled_while_queued_upstream_is_cancelled_there_by_delete_and_costs_nothing() {
    let (fake, entry) = start(Flavor::Byteplus).await;
    // Never polled before the cancel: the first poll is 2 s after the submit.
    let live = Live::start(vec![with(entry, json!({"expected_latency_secs": 30, "deadline_secs": 60}))]).await;
    let id = live.submit(task("changed my mind", json!({}))).await;
    until("the upstream task exists", || fake.journal().counters().jobs_created == 1).await;
    let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["status"], "cancelled", "{body}");
    until("the upstream task is cancelled", || fake.statuses().iter().any(|(_, s)| s == "cancelled")).await;
    assert_eq!(fake.journal().counters().received(Endpoint::Delete), 1);
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

/// The `role` of each `image_url` item of the n-th create body.
fn image_roles(fake: &FakeModelark, n: usize) -> Vec<String> {
    let body = &fake.create_bodies()[n];
    let items = body["content"].as_array().unwrap_or_else(|| panic!("{body}"));
    items.iter().filter(|c| c["type"] == "image_url").map(|c| c["role"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_and_last_frames_and_reference_images_reach_modelark_with_their_roles_on_both_flavours() {
    for flavor in [Flavor::Byteplus, Flavor::Volcengine] {
        let (fake, entry) = start(flavor).await;
        let live = Live::start(vec![entry]).await;
        let frames = json!({"source_image": png_data_url(1280, 720), "last_frame": png_data_url(1280, 720)});
        let done = live.run(task("from bud to bloom", frames)).await;
        let spent = assert_billed(&done, SEEDANCE2_RATE, 5);
        assert_eq!(image_roles(&fake, 0), ["first_frame", "last_frame"], "{flavor:?}");
        assert_delivered(&live.probe_result(&done).await, 1280, 720, 5000, false);
        let refs = json!({"reference_images": [png_data_url(640, 640), png_data_url(800, 600)]});
        let done = live.run(task("the same teapot on a beach", refs)).await;
        let spent = spent + assert_billed(&done, SEEDANCE2_RATE, 5);
        assert_eq!(image_roles(&fake, 1), ["reference_image", "reference_image"], "{flavor:?}");
        live.assert_settled(spent).await;
        assert_no_violations(fake.journal());
        assert_no_notes(&fake);
    }
}

#[tokio::test]
async fn reference_images_with_a_first_frame_are_refused_at_submit_because_modelark_modes_exclude_each_other() {
    let (fake, entry) = start(Flavor::Byteplus).await;
    let live = Live::start(vec![entry]).await;
    let both = json!({"source_image": png_data_url(1280, 720), "reference_images": [png_data_url(640, 640)]});
    let (status, err) = live.refused(task("both", both)).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!((err["code"].as_str(), err["param"].as_str()), (Some("unsupported_value"), Some("reference_images")));
    assert!(err["message"].as_str().unwrap().contains("only without a first or last frame"), "{err}");
    assert!(fake.create_bodies().is_empty(), "nothing was sent");
}
