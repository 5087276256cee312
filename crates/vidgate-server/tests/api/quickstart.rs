//! The seed's quickstart, end to end at its real size, and the shapes of a delivery.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use vidgate_media::{AudioCodec, VideoCodec};

use crate::helpers::{probe_bytes, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_quickstart_delivers_a_720p_clip_with_its_audio_track() {
    let app = spawn_app().await;
    let body = json!({
        "model": "veo3.1",
        "prompt": "Rain falling on a quiet street at night, distant car passing",
        "duration_seconds": 5,
        "size": "1280x720",
        "audio": true
    });
    let task = app.submit(&app.test_key, body).await;
    assert_eq!(task["status"], "queued");
    assert_eq!(task["object"], "video.task");
    assert_eq!(task["estimated_credits"], json!(2), "0.40 USD/s x 5 s");
    let id = task["task_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("task_") && id.len() == 31, "{id}");
    let mut seen = vec!["queued".to_owned()];
    let done = loop {
        let (_, t) = app.get(&format!("/v1/videos/tasks/{id}?wait=5"), &app.test_key).await;
        let status = t["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "completed" || status == "failed" {
            break t;
        }
    };
    assert_eq!(seen, ["queued", "running", "completed"], "{done}");
    assert_eq!(done["credits_used"], json!(2), "test keys report the price");
    assert_eq!(done["progress"], 100);
    for field in ["started_at", "completed_at", "expires_at", "files_expire_at"] {
        assert!(done[field].is_string(), "{field}: {done}");
    }

    let (status, video) = app.download(done["result_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let v = probe_bytes(&video, "mp4");
    let track = v.video.as_ref().unwrap();
    assert_eq!((track.kind, track.width, track.height), (VideoCodec::H264, 1280, 720));
    assert!(track.duration_ms.abs_diff(5000) <= 42, "{track:?}");
    assert_eq!(v.audio.as_ref().unwrap().kind, AudioCodec::Aac);

    let (status, audio) = app.download(done["audio_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let a = probe_bytes(&audio, "m4a");
    assert!(a.video.is_none());
    let at = a.audio.unwrap();
    assert_eq!((at.kind, at.sample_rate, at.channels), (AudioCodec::Aac, 48_000, 2));
    assert!(at.duration_ms.abs_diff(5000) <= 42, "{at:?}");

    let (status, thumb) = app.download(done["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&thumb[..8], b"\x89PNG\r\n\x1a\n");
    let kinds: Vec<_> = done["output"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["video", "audio", "image"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_off_delivers_a_video_without_an_audio_track() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key, json!({"audio": false, "duration_seconds": 2})).await;
    let done = app.wait_terminal(&app.test_key, task["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["audio_url"].is_null());
    let (_, video) = app.download(done["result_url"].as_str().unwrap()).await;
    let info = probe_bytes(&video, "mp4");
    assert!(info.audio.is_none());
    let v = info.video.unwrap();
    assert_eq!((v.width, v.height), (160, 90));
    assert!(v.duration_ms.abs_diff(2000) <= 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_to_video_starts_from_the_source_image() {
    let app = spawn_app().await;
    let png = crate::helpers::solid_png(32, 18, [250, 10, 10]);
    let data_uri = format!("data:image/png;base64,{}", base64_std(&png));
    let task = app.submit_tiny(&app.test_key, json!({"source_image": data_uri, "size": "160x90"})).await;
    let done = app.wait_terminal(&app.test_key, task["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, thumb) = app.download(done["thumbnail_url"].as_str().unwrap()).await;
    let (w, h, rgb) = crate::helpers::decode_png(&thumb);
    assert_eq!((w, h), (160, 90));
    // The poster is the first frame, which is the (red) source image under the overlays.
    let center = ((45 * 160 + 80) * 3) as usize;
    assert!(rgb[center] > 180 && rgb[center + 1] < 90 && rgb[center + 2] < 90, "{:?}", &rgb[center..center + 3]);
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A one-file HTTP server on loopback that counts the requests it answers.
async fn image_server(bytes: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/cat.png",
        axum::routing::get(move || {
            let (bytes, counter) = (bytes.clone(), counter.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                ([("content-type", "image/png")], bytes)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cat.png", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_image_url_is_fetched_once_at_submit_and_kept() {
    let mut config = crate::helpers::test_config();
    config.fetch.allow_private_targets = true; // the image server is on loopback
    let app = crate::helpers::spawn_app_with(config).await;
    let (url, hits) = image_server(crate::helpers::solid_png(16, 9, [10, 200, 10])).await;
    let task = app.submit_tiny(&app.test_key, json!({"source_image": url})).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1, "fetched during the submit");
    let done = app.wait_terminal(&app.test_key, task["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1, "never fetched again");
    let (_, thumb) = app.download(done["thumbnail_url"].as_str().unwrap()).await;
    let (_, _, rgb) = crate::helpers::decode_png(&thumb);
    let center = ((45 * 160 + 80) * 3) as usize;
    assert!(rgb[center + 1] > 150 && rgb[center] < 90, "the green source image is the first frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_delay_ms_overrides_the_run_delay_for_one_task() {
    let app = spawn_app().await;
    let slow = app.submit_tiny(&app.test_key, json!({"metadata": {"sandbox.delay_ms": "2500"}})).await;
    let fast = app.submit_tiny(&app.test_key, json!({})).await;
    let fast_done = app.wait_terminal(&app.test_key, fast["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(fast_done["status"], "completed");
    let (_, slow_now) =
        app.get(&format!("/v1/videos/tasks/{}", slow["task_id"].as_str().unwrap()), &app.test_key).await;
    assert_eq!(slow_now["status"], "running", "the slow one is still running: {slow_now}");
    let slow_done = app.wait_terminal(&app.test_key, slow["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(slow_done["status"], "completed");
}
