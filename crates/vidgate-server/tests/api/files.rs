//! Signed file URLs: tampering, expiry, ranges, ETags, retention.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_are_signed_ranged_and_cached() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let done = app.wait_terminal(&app.test_key, task["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    let url = done["result_url"].as_str().unwrap().to_owned();
    let (s, full) = app.download(&url).await;
    assert_eq!(s, StatusCode::OK);
    let r = app.client.get(&url).header("range", "bytes=0-9").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], format!("bytes 0-9/{}", full.len()).as_str());
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let etag = r.headers()["etag"].clone();
    assert_eq!(r.bytes().await.unwrap().to_vec(), full[..10].to_vec());
    let r = app.client.get(&url).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = app.client.get(&url).header("range", format!("bytes={}-", full.len())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let (s, audio) = app.download(done["audio_url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!audio.is_empty());
    // tampering: another file, another expiry, no signature
    let other = url.replace("video.mp4", "audio.m4a");
    assert_eq!(app.download(&other).await.0, StatusCode::FORBIDDEN);
    let bumped = url.replace("exp=", "exp=9");
    assert_eq!(app.download(&bumped).await.0, StatusCode::FORBIDDEN);
    let bare = url.split('?').next().unwrap();
    assert_eq!(app.download(bare).await.0, StatusCode::FORBIDDEN);
    // every poll mints a fresh link
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, again) = app.get(&format!("/v1/videos/tasks/{}", task["task_id"].as_str().unwrap()), &app.test_key).await;
    assert_ne!(again["result_url"], done["result_url"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_the_files_and_the_task_says_so() {
    let mut config = test_config();
    config.files.retention_secs = 1;
    config.files.sweep_interval_secs = 1;
    let app = spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let done = app.wait_terminal(&app.test_key, id, Duration::from_secs(30)).await;
    let url = done["result_url"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let expired = loop {
        let (_, t) = app.get(&format!("/v1/videos/tasks/{id}"), &app.test_key).await;
        if t["files_expired"] == true {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "the sweeper did not run: {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(expired["result_url"].is_null() && expired["audio_url"].is_null());
    assert_eq!(expired["output"], json!([]));
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "files_expired");
    assert_eq!(app.stored_files(id), Vec::<String>::new(), "the sweeper removed the stored files");
}
