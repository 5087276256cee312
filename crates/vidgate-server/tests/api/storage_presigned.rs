//! Presigned S3 URLs end to end (`storage.s3_presigned_urls`): a completed task's URLs point
//! straight at the bucket (the shared `s3s-fs` of [`crate::s3s`], which checks SigV4 query
//! signatures), download the same bytes the bucket holds, with their media types, and stop
//! working once the task's files are deleted. The gateway's `/files` route never serves them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app_with, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_task_on_s3_hands_out_presigned_urls_to_the_bucket() {
    let s3 = crate::s3s::shared();
    let bucket = s3.new_bucket();
    let mut config = test_config();
    config.storage = s3.storage(&bucket, "direct");
    config.storage.s3_presigned_urls = true;
    let app = spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let done = app.wait_terminal(&app.test_key, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");

    let objects = s3.bucket_dir(&bucket).join("direct").join(&id);
    for (field, name, media_type) in [
        ("result_url", "video.mp4", "video/mp4"),
        ("audio_url", "audio.m4a", "audio/mp4"),
        ("thumbnail_url", "thumbnail.png", "image/png"),
    ] {
        let url = done[field].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/{bucket}/direct/{id}/{name}?", s3.endpoint)), "{field}: {url}");
        assert!(url.contains("X-Amz-Signature="), "{field}: {url}");
        let r = app.client.get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{field}");
        assert_eq!(r.headers()["content-type"], media_type, "{field}");
        let body = r.bytes().await.unwrap();
        assert!(body.as_ref() == std::fs::read(objects.join(name)).unwrap(), "{field} differs from the object");
    }
    let video_url = done["result_url"].as_str().unwrap().to_owned();
    let r = app.client.get(&video_url).header("range", "bytes=4-7").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().to_vec(), b"ftyp".to_vec());

    let r = app.client.delete(format!("{}/v1/videos/{id}", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let gone = app.client.get(&video_url).send().await.unwrap().status();
    assert_eq!(gone, StatusCode::NOT_FOUND, "the bucket no longer has the object");
}

#[tokio::test]
async fn without_the_option_s3_urls_go_through_the_gateway() {
    let s3 = crate::s3s::shared();
    let bucket = s3.new_bucket();
    let mut config = test_config();
    config.storage = s3.storage(&bucket, "proxied");
    let app = spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let done = app.wait_terminal(&app.test_key, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let url = done["result_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/files/{id}/video.mp4?exp=", app.base)), "{url}");
}
