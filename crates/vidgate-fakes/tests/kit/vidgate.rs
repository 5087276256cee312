//! The vidgate-protocol fake against docs/api.md §4, §5, §10: submit, poll, files, and idempotency
//! by `out_task_id`.

use serde_json::{Value, json};
use vidgate_fakes::{FakeVidgate, Outcome};

use crate::helpers::{client, json, probe};

async fn submit(fake: &FakeVidgate, body: &Value) -> reqwest::Response {
    let url = format!("{}/v1/videos/generations", fake.base_url());
    client().post(url).bearer_auth(fake.api_key()).json(body).send().await.unwrap()
}

async fn poll(fake: &FakeVidgate, id: &str) -> (u16, Value) {
    let url = format!("{}/v1/videos/tasks/{id}", fake.base_url());
    json(client().get(url).header("x-api-key", fake.api_key()).send().await.unwrap()).await
}

#[tokio::test]
async fn a_task_runs_to_completed_with_a_video_and_an_audio_track_served_by_the_fake() {
    let fake = FakeVidgate::start().await;
    let (status, task) =
        json(submit(&fake, &json!({"model": "veo-3.1", "prompt": "rain on a tin roof", "audio": true})).await).await;
    assert_eq!(status, 200, "{task}");
    let id = task["task_id"].as_str().unwrap();
    assert!(id.starts_with("task_"));
    assert_eq!(
        (task["status"].as_str(), task["model"].as_str(), task["size"].as_str()),
        (Some("queued"), Some("veo3.1"), Some("1280x720"))
    );
    assert_eq!((task["duration_seconds"].as_u64(), task["estimated_credits"].as_f64()), (Some(5), Some(2.0)));

    assert_eq!(poll(&fake, id).await.1["status"], "running");
    let (_, done) = poll(&fake, id).await;
    assert_eq!((done["status"].as_str(), done["credits_used"].as_f64()), (Some("completed"), Some(2.0)));
    let video = client().get(done["result_url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(probe(&video), (1280, 720, 5000, true));
    assert_eq!(done["output"][0]["bytes"].as_u64(), Some(video.len() as u64));
    let audio = client().get(done["audio_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(audio.headers()["content-type"], "audio/mp4");
    assert_eq!(done["output"][1]["bytes"].as_u64(), Some(audio.bytes().await.unwrap().len() as u64));
    assert_eq!(fake.journal().rejections(), vec![]);
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_task_and_another_body_conflicts() {
    let fake = FakeVidgate::start().await;
    let body = json!({"model": "sora2", "prompt": "a red door", "out_task_id": "order-17"});
    let first = submit(&fake, &body).await;
    assert_eq!(first.headers().get("idempotent-replayed"), None);
    let (_, first) = json(first).await;
    let same = json!({"model": "sora-2", "prompt": "a red door", "duration_seconds": 5, "size": "1280x720", "out_task_id": "order-17"});
    let replay = submit(&fake, &same).await;
    assert_eq!(replay.status().as_u16(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(json(replay).await.1["task_id"], first["task_id"]);

    let conflict = submit(&fake, &json!({"model": "sora2", "prompt": "a blue door", "out_task_id": "order-17"})).await;
    assert_eq!(conflict.headers()["x-should-retry"], "false");
    let (status, error) = json(conflict).await;
    assert_eq!(status, 409);
    assert_eq!(error["error"]["code"], "duplicate_out_task_id");

    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (3, 1));
    assert_eq!(counters.submits_by_key["order-17"], 2);
}

#[tokio::test]
async fn unknown_fields_and_unknown_tasks_get_the_documented_errors() {
    let fake = FakeVidgate::start().await;
    let (status, error) = json(submit(&fake, &json!({"model": "sora2", "prompt": "p", "seconds": 4})).await).await;
    assert_eq!(
        (status, error),
        (
            400,
            json!({"error": {"message": "unknown parameter: seconds", "type": "invalid_request_error", "code": "unknown_param", "param": "seconds"}})
        )
    );
    let (status, error) = poll(&fake, "task_nope").await;
    assert_eq!(
        (status, error["error"]["code"].as_str(), error["error"]["type"].as_str()),
        (404, Some("task_not_found"), Some("not_found_error"))
    );
}

#[tokio::test]
async fn a_safety_block_fails_with_content_filtered_and_bills_nothing() {
    let fake = FakeVidgate::start().await;
    fake.faults().push_outcome(Outcome::SafetyBlock);
    let (_, task) = json(submit(&fake, &json!({"model": "sora2", "prompt": "p"})).await).await;
    let id = task["task_id"].as_str().unwrap();
    poll(&fake, id).await;
    let (_, failed) = poll(&fake, id).await;
    assert_eq!(
        (failed["status"].as_str(), failed["error"]["code"].as_str()),
        (Some("failed"), Some("content_filtered"))
    );
    assert_eq!((failed["credits_used"].as_f64(), failed["result_url"].clone()), (Some(0.0), Value::Null));
}
