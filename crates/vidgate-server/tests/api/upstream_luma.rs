//! Luma end to end (docs/upstreams.md §14) against `FakeLuma`, on both of its APIs: the exact
//! Agents create (typed video job, nested string duration, inline frames) and Dream Machine
//! create (top-level string duration), a 5 s clip trimmed to a 4 s request and billed 4 s,
//! `assets.video` copied at once, an expired result URL read again, a lost Agents create never
//! sent again and unbilled, failures unbilled, and cancel (Dream Machine deletes only a running
//! generation; Agents has none).

use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeLuma, Fault, Latency, Outcome};

use crate::upstream_cases::each;
use crate::upstream_helpers::{
    Live, RAY2_RATE, RAY32_RATE, assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations,
    luma_dream_entry, luma_entry, png_data_url, until, with,
};

/// The two APIs, by the catalog model each entry serves.
#[derive(Clone, Copy, Debug)]
enum Api {
    Agents,
    DreamMachine,
}

impl Api {
    fn model(self) -> &'static str {
        match self {
            Api::Agents => "ray-3.2",
            Api::DreamMachine => "ray-2",
        }
    }

    fn entry(self, fake: &FakeLuma) -> Value {
        match self {
            Api::Agents => luma_entry(fake),
            Api::DreamMachine => luma_dream_entry(fake),
        }
    }

    fn rate(self) -> i64 {
        match self {
            Api::Agents => RAY32_RATE,
            Api::DreamMachine => RAY2_RATE,
        }
    }
}

fn task(api: Api, prompt: &str, extra: Value) -> Value {
    with(json!({"model": api.model(), "prompt": prompt, "duration_seconds": 5}), extra)
}

/// A fake whose jobs are done at the first poll, and the entry for `api`.
async fn start(api: Api) -> (FakeLuma, Value) {
    let fake = FakeLuma::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = api.entry(&fake);
    (fake, entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ray_3_2_task_of_4_s_is_a_5_s_agents_job_trimmed_and_billed_4_s() {
    let (fake, entry) = start(Api::Agents).await;
    let live = Live::start(vec![entry]).await;
    let id = live.submit(task(Api::Agents, "a tiger walking in snow", json!({"duration_seconds": 4}))).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, RAY32_RATE, 4);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 4000, false);
    // No cost field upstream: the plan's estimate, 5 s × $0.06.
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(0.3));
    assert_eq!(
        fake.create_bodies(),
        [json!({"type": "video", "model": "ray-3.2", "prompt": "a tiger walking in snow", "aspect_ratio": "16:9",
            "video": {"duration": "5s", "resolution": "720p"}})]
    );
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_and_last_frames_go_inline_to_the_agents_api_at_1080p() {
    let (fake, entry) = start(Api::Agents).await;
    let live = Live::start(vec![entry]).await;
    let frames = json!({"size": "1920x1080", "source_image": png_data_url(1280, 720),
        "last_frame": png_data_url(1280, 720)});
    let done = live.run(task(Api::Agents, "from dawn to dusk", frames)).await;
    let spent = assert_billed(&done, 400_000, 5);
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 5000, false);
    let video = &fake.create_bodies()[0]["video"];
    assert_eq!(
        (video["resolution"].clone(), video["start_frame"]["media_type"].clone()),
        (json!("1080p"), json!("image/png"))
    );
    assert!(video["end_frame"]["data"].as_str().is_some_and(|d| !d.starts_with("data:")), "{video}");
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ray_2_task_runs_on_dream_machine_and_its_assets_video_is_copied() {
    let (fake, entry) = start(Api::DreamMachine).await;
    let live = Live::start(vec![entry]).await;
    let id = live
        .submit(task(Api::DreamMachine, "waves at night", json!({"duration_seconds": 9, "size": "720x1280"})))
        .await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, RAY2_RATE, 9);
    assert_delivered(&live.probe_result(&done).await, 720, 1280, 9000, false);
    assert_eq!(live.admin_task(&id).await["upstream_cost_usd"], json!(1.278));
    assert_eq!(
        fake.create_bodies(),
        [json!({"model": "ray-2", "prompt": "waves at night", "generation_type": "video", "aspect_ratio": "9:16",
            "duration": "9s", "resolution": "720p"})]
    );
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_result_url_is_read_again_from_a_new_poll_on_both_apis() {
    each(vec![Api::Agents, Api::DreamMachine], |api| async move {
        let (fake, entry) = start(api).await;
        fake.hand_out_expired_urls(1);
        let live = Live::start(vec![entry]).await;
        let done = live.run(task(api, "a slow download", json!({}))).await;
        let spent = assert_billed(&done, api.rate(), 5);
        let counters = fake.journal().counters();
        assert_eq!((counters.downloads(), counters.polls()), (2, 2), "the expired URL, then the one named now");
        let refused: Vec<u16> = fake.journal().rejections().iter().map(|r| r.status).collect();
        assert_eq!(refused, [403]);
        live.assert_settled(spent).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_agents_create_ends_outcome_unknown_unbilled_and_is_never_sent_again() {
    // Agents has no list to look it up in (§14.6); Dream Machine's lookup: upstream_luma_lookup.
    let rows = vec![(Api::Agents, Fault::ResetAfter), (Api::Agents, Fault::MalformedJson)];
    each(rows, |(api, fault)| async move {
        let (fake, entry) = start(api).await;
        fake.faults().push(Endpoint::Submit, fault);
        let live = Live::start(vec![entry]).await;
        let done = live.run(task(api, "an answer lost on the way back", json!({}))).await;
        assert_failed_unbilled(&done, "upstream_outcome_unknown");
        let admin = live.admin_task(done["task_id"].as_str().unwrap()).await;
        assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(true), json!(1)));
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.polls()), (1, 1, 0), "never sent twice");
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_generations_end_unbilled_with_their_codes() {
    let error = || Outcome::Error { code: "generation_failed".into(), message: "boom".into() };
    let rows = vec![
        (Api::Agents, Outcome::SafetyBlock, "content_filtered"),
        (Api::Agents, error(), "upstream_error"),
        (Api::Agents, Outcome::Status("paused".into()), "upstream_error"),
        // Dream Machine reports moderation as text in failure_reason only (§14.4).
        (Api::DreamMachine, Outcome::SafetyBlock, "upstream_error"),
        (Api::DreamMachine, error(), "upstream_error"),
    ];
    each(rows, |(api, outcome, code)| async move {
        let (fake, entry) = start(api).await;
        fake.faults().push_outcome(outcome);
        let live = Live::start(vec![entry]).await;
        let done = live.run(task(api, "a scene the upstream will not make", json!({}))).await;
        assert_failed_unbilled(&done, code);
        let counters = fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 0));
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_deletes_a_dreaming_generation_and_sends_nothing_to_the_agents_api() {
    each(vec![Api::DreamMachine, Api::Agents], |api| async move {
        let (fake, entry) = start(api).await;
        fake.faults().push_outcome(Outcome::Never);
        let live = Live::start(vec![entry]).await;
        let id = live.submit(task(api, "a generation nobody waits for", json!({}))).await;
        until("the upstream answered a poll", || fake.journal().counters().polls() >= 1).await;
        let (status, body, _) = live.app.post(&format!("/v1/tasks/cancel/{id}"), &live.key, &json!({})).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        let done = live.wait(&id).await;
        assert_eq!((done["status"].clone(), done["credits_used"].clone()), (json!("cancelled"), json!(0)), "{done}");
        match api {
            Api::DreamMachine => {
                until("the DELETE reached the upstream", || !fake.deletions().is_empty()).await;
                assert_eq!(fake.deletions()[0].1, "dreaming");
            }
            Api::Agents => assert_eq!(fake.journal().counters().received(Endpoint::Delete), 0),
        }
        live.assert_settled(0).await;
        assert_no_violations(fake.journal());
    })
    .await;
}
