//! First-and-last-frame tasks on DashScope and MiniMax end to end (docs/upstreams.md §9.3,
//! §11.5) against their fakes: a task with a last frame runs on the entry's keyframe model
//! (Wan kf2v on its own create path with `first_frame_url` and `last_frame_url`, Wan 2.7 with
//! a `last_frame` media item, Hailuo-02 with `last_frame_image`), both frames fitted to the
//! frame and received in their roles, billed exactly; a route whose model takes no last
//! frame refuses the task at submit with a 400 and sends nothing upstream.

use base64::Engine as _;
use serde_json::{Value, json};
use vidgate_domain::config::Config;
use vidgate_fakes::{FakeDashscope, FakeMinimax, Journal, Latency};

use crate::helpers::solid_png;
use crate::upstream_helpers::{
    Live, assert_billed, assert_delivered, assert_no_violations, config_with, dashscope_entry, minimax_entry, with,
};

/// The test config with these entries, where catalog models `ids` take a last frame (the
/// shipped Wan and MiniMax models do not offer one).
fn config(entries: Vec<Value>, ids: &[&str]) -> Config {
    let mut c = config_with(entries);
    let models = c.models.whole_mut();
    models.iter_mut().filter(|m| ids.contains(&m.id.as_str())).for_each(|m| m.last_frame = true);
    c
}

fn data_url(width: u32, height: u32, rgb: [u8; 3]) -> String {
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(solid_png(width, height, rgb)))
}

/// A red first frame of the frame's size (sent as it is) and a green square last frame
/// (fitted to the frame before it is sent).
fn frames(width: u32, height: u32) -> (String, String) {
    (data_url(width, height, [200, 30, 30]), data_url(640, 640, [30, 200, 30]))
}

/// The dimensions of a PNG data URL.
fn png_size(url: &str) -> (u32, u32) {
    let png = url.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("a PNG data URL: {url:.40}"));
    let png = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
    vidgate_media::decode_image_dimensions(&png).unwrap()
}

/// The fake journaled one job with a first and a last frame.
fn assert_one_job_with_both_frames(journal: &Journal) {
    let guides: Vec<_> = journal.guides().into_iter().map(|(_, g)| (g.image, g.last_frame)).collect();
    assert_eq!(guides, [(true, true)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wan_task_with_a_last_frame_runs_on_the_kf2v_model_at_its_own_path_with_both_frame_urls() {
    let fake = FakeDashscope::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = with(
        dashscope_entry(&fake),
        json!({"model": "wan2.2-t2v-plus", "image_model": "wan2.2-i2v-plus", "keyframe_model": "wan2.2-kf2v-flash",
            "usd_per_second": {"1080p": "0.07"}}),
    );
    let live = Live::start_with(config(vec![entry], &["wan2.6"])).await;
    let (first, last) = frames(1920, 1080);
    let body = json!({"model": "wan2.6", "prompt": "a door swings open", "duration_seconds": 5,
        "size": "1920x1080", "audio": false, "source_image": first, "last_frame": last});
    let done = live.run(body).await;
    // wan2.6's catalog rate at 1080p: $0.21/s.
    let spent = assert_billed(&done, 210_000, 5);
    assert_delivered(&live.probe_result(&done).await, 1920, 1080, 5000, false);
    assert_eq!(live.admin_task(done["task_id"].as_str().unwrap()).await["upstream_cost_usd"], json!(0.35));
    let sent = &fake.create_bodies()[0];
    assert_eq!(fake.create_paths(), ["/api/v1/services/aigc/image2video/video-synthesis"]);
    assert_eq!(
        (sent["model"].as_str(), sent["parameters"]["resolution"].as_str()),
        (Some("wan2.2-kf2v-flash"), Some("1080P"))
    );
    assert_eq!(sent["input"]["first_frame_url"].as_str(), Some(first.as_str()), "the first frame in its role");
    let sent_last = sent["input"]["last_frame_url"].as_str().unwrap();
    assert_eq!(png_size(sent_last), (1920, 1080), "the last frame fitted to the frame");
    assert_eq!((sent["input"].get("img_url"), sent["parameters"].get("audio")), (None, None));
    assert_one_job_with_both_frames(fake.journal());
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wan_2_7_task_with_a_last_frame_sends_first_and_last_frame_media_items() {
    let fake = FakeDashscope::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = with(
        dashscope_entry(&fake),
        json!({"model": "wan2.7-t2v", "image_model": "wan2.7-i2v", "keyframe_model": "wan2.7-i2v"}),
    );
    let live = Live::start_with(config(vec![entry], &["wan2.6"])).await;
    let (first, last) = frames(1280, 720);
    let body = json!({"model": "wan2.6", "prompt": "a kite lands", "duration_seconds": 6, "size": "1280x720",
        "audio": true, "source_image": first, "last_frame": last});
    let done = live.run(body).await;
    let spent = assert_billed(&done, 140_000, 6);
    assert_delivered(&live.probe_result(&done).await, 1280, 720, 6000, true);
    let sent = &fake.create_bodies()[0];
    assert_eq!(fake.create_paths(), ["/api/v1/services/aigc/video-generation/video-synthesis"]);
    let media = sent["input"]["media"].as_array().unwrap();
    let roles: Vec<_> = media.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!((sent["model"].as_str(), roles), (Some("wan2.7-i2v"), vec!["first_frame", "last_frame"]));
    assert_eq!(media[0]["url"].as_str(), Some(first.as_str()));
    assert_eq!(png_size(media[1]["url"].as_str().unwrap()), (1280, 720));
    assert_eq!((sent["parameters"]["duration"].clone(), sent["parameters"]["audio"].clone()), (json!(6), json!(true)));
    assert_one_job_with_both_frames(fake.journal());
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hailuo_02_task_with_a_last_frame_sends_last_frame_image_on_v1() {
    let fake = FakeMinimax::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let entry = with(
        minimax_entry(&fake),
        json!({"name": "hailuo", "model": "MiniMax-Hailuo-02", "serves": ["hailuo-2.3"],
            "usd_per_second": {"default": "0.056"}}),
    );
    let live = Live::start_with(config(vec![entry], &["hailuo-2.3"])).await;
    let (first, last) = frames(1366, 768);
    let body = json!({"model": "hailuo-2.3", "prompt": "a bud opens", "duration_seconds": 6, "size": "1366x768",
        "source_image": first, "last_frame": last});
    let done = live.run(body).await;
    // hailuo-2.3's catalog rate: $0.08/s.
    let spent = assert_billed(&done, 80_000, 6);
    assert_delivered(&live.probe_result(&done).await, 1366, 768, 6000, false);
    let sent = &fake.create_bodies()[0];
    assert_eq!((sent["model"].as_str(), sent["duration"].clone()), (Some("MiniMax-Hailuo-02"), json!(6)));
    assert_eq!(sent["first_frame_image"].as_str(), Some(first.as_str()), "the first frame in its role");
    assert_eq!(png_size(sent["last_frame_image"].as_str().unwrap()), (1366, 768), "the last frame fitted");
    assert_one_job_with_both_frames(fake.journal());
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_frame_on_a_route_whose_model_takes_none_is_refused_at_submit_and_nothing_is_sent() {
    let (first, last) = frames(1280, 720);
    let wan = FakeDashscope::start().await;
    let live = Live::start_with(config(vec![dashscope_entry(&wan)], &["wan2.6"])).await;
    let body = json!({"model": "wan2.6", "prompt": "x", "duration_seconds": 5, "size": "1280x720",
        "source_image": first, "last_frame": last});
    let (status, err) = live.refused(body).await;
    assert_eq!(
        (status.as_u16(), err["code"].as_str(), err["param"].as_str()),
        (400, Some("unsupported_value"), Some("last_frame"))
    );
    assert!(err["message"].as_str().unwrap().contains("dashscope: it takes no last frame"), "{err}");
    assert_eq!((wan.journal().counters().submits(), wan.create_bodies().len()), (0, 0));
    live.assert_settled(0).await;

    let mm = FakeMinimax::start().await;
    let hailuo =
        with(minimax_entry(&mm), json!({"name": "hailuo", "model": "MiniMax-Hailuo-2.3", "serves": ["hailuo-2.3"]}));
    let h3 = minimax_entry(&mm);
    let live = Live::start_with(config(vec![hailuo, h3], &["hailuo-2.3", "minimax-h3"])).await;
    // Hailuo-2.3 takes no last_frame_image (§11.5); H3's last frame is not offered (§11.3).
    for (model, size, seconds) in [("hailuo-2.3", "1366x768", 6), ("minimax-h3", "1344x768", 5)] {
        let (width, height) = if model == "minimax-h3" { (1344, 768) } else { (1366, 768) };
        let (first, last) = frames(width, height);
        let body = json!({"model": model, "prompt": "x", "duration_seconds": seconds, "size": size,
            "source_image": first, "last_frame": last});
        let (status, err) = live.refused(body).await;
        assert_eq!((status.as_u16(), err["param"].as_str()), (400, Some("last_frame")), "{model}: {err}");
        assert!(err["message"].as_str().unwrap().contains("it takes no last frame"), "{err}");
    }
    assert_eq!((mm.journal().counters().submits(), mm.create_bodies().len()), (0, 0));
    live.assert_settled(0).await;
}
