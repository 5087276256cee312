//! S3 storage end to end: a tiny sandbox task on `storage.kind = "s3"` against a real
//! S3-compatible server that checks SigV4 (the shared `s3s-fs` of [`crate::s3s`]; scripts/test.sh
//! installs it into `target/tools/s3s-fs`), downloaded whole and by range through the
//! gateway's signed URLs, with the objects landing in the bucket and deleted with the task.
//! The test pins its storage, so it runs on S3 whatever `VIDGATE_TEST_BACKEND` says.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app_with, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_on_s3_storage_is_stored_in_the_bucket_and_served_by_signed_url() {
    let s3 = crate::s3s::shared();
    let bucket = s3.new_bucket();
    let mut config = test_config();
    config.storage = s3.storage(&bucket, "e2e");
    let app = spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let done = app.wait_terminal(&app.test_key, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let url = done["result_url"].as_str().unwrap().to_owned();
    let (status, video) = app.download(&url).await;
    assert_eq!(status, StatusCode::OK);
    let objects = s3.bucket_dir(&bucket).join("e2e").join(&id);
    assert_eq!(app.stored_files(&id), ["audio.m4a", "spritesheet.png", "thumbnail.png", "video.mp4"]);
    let in_bucket = std::fs::read(objects.join("video.mp4")).unwrap();
    assert!(in_bucket == video, "the served video differs from the object in the bucket");
    assert_eq!(&video[4..8], b"ftyp");
    let r = app.client.get(&url).header("range", "bytes=4-7").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], format!("bytes 4-7/{}", video.len()).as_str());
    assert_eq!(r.bytes().await.unwrap().to_vec(), b"ftyp".to_vec());
    let (status, audio) = app.download(done["audio_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!audio.is_empty());
    let r = app.client.delete(format!("{}/v1/videos/{id}", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.stored_files(&id), Vec::<String>::new(), "every object of the task is deleted");
}
