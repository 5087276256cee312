//! The fal queue fake against docs/upstreams.md §12: `Key` auth, per-endpoint schemas,
//! queue URLs without the sub-path, no failure status (the result carries it), result
//! retention, cancel, and public CDN videos.

use serde_json::{Value, json};
use vidgate_fakes::{FakeFal, Latency, Outcome};

use crate::helpers::{client, json as read, probe};

async fn submit(fake: &FakeFal, endpoint: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/{endpoint}", fake.base_url());
    let response =
        client().post(url).header("Authorization", format!("Key {}", fake.key())).json(&body).send().await.unwrap();
    read(response).await
}

async fn get(fake: &FakeFal, url: &str) -> (u16, Value) {
    read(client().get(url).header("Authorization", format!("Key {}", fake.key())).send().await.unwrap()).await
}

#[tokio::test]
async fn a_veo_image_job_completes_at_urls_without_the_sub_path_and_its_video_is_public() {
    let fake = FakeFal::start().await;
    fake.faults().set_latency(Latency::polls(1));
    let png = vidgate_fakes::media::still(640, 360, vidgate_fakes::media::StillFormat::Png).unwrap();
    let image =
        format!("data:image/png;base64,{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &png));
    let body = json!({"prompt": "a lighthouse", "image_url": image, "duration": "4s", "resolution": "720p"});
    let (status, queued) = submit(&fake, "fal-ai/veo3.1/image-to-video", body).await;
    assert_eq!((status, queued["status"].clone()), (200, json!("IN_QUEUE")), "{queued}");
    let status_url = queued["status_url"].as_str().unwrap();
    assert!(
        status_url.ends_with(&format!("/fal-ai/veo3.1/requests/{}/status", queued["request_id"].as_str().unwrap()))
    );
    assert_eq!(get(&fake, status_url).await.1["status"], "IN_PROGRESS");
    let (code, done) = get(&fake, status_url).await;
    assert_eq!((code, done["status"].clone()), (200, json!("COMPLETED")));
    let (code, result) = get(&fake, queued["response_url"].as_str().unwrap()).await;
    assert_eq!(code, 200, "{result}");
    let video = client().get(result["video"]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(probe(&video), (1280, 720, 4000, true), "audio on by default");
    let notes: Vec<String> = fake.journal().notes().into_iter().map(|n| n.what).collect();
    assert!(notes.iter().any(|n| n.contains("generate_audio omitted")), "{notes:?}");
    assert_eq!(fake.journal().violations(), Vec::new());
}

#[tokio::test]
async fn bearer_auth_a_wrongly_typed_length_and_a_rebuilt_url_are_refused() {
    let fake = FakeFal::start().await;
    let url = format!("{}/fal-ai/veo3.1", fake.base_url());
    let bearer = client().post(&url).bearer_auth(fake.key()).json(&json!({"prompt": "p"})).send().await.unwrap();
    assert_eq!(bearer.status().as_u16(), 401);
    let (code, err) = submit(&fake, "fal-ai/ltx-2.3/text-to-video", json!({"prompt": "p", "duration": "6"})).await;
    assert_eq!((code, err["detail"][0]["loc"].clone()), (422, json!(["body", "duration"])), "{err}");
    let (_, queued) =
        submit(&fake, "fal-ai/kling-video/v3/pro/text-to-video", json!({"prompt": "p", "duration": "5"})).await;
    let id = queued["request_id"].as_str().unwrap();
    let rebuilt = format!("{}/fal-ai/kling-video/v3/pro/text-to-video/requests/{id}/status", fake.base_url());
    assert_eq!(get(&fake, &rebuilt).await.0, 404);
    assert_eq!(fake.journal().violations().len(), 2, "the wrong length type and the rebuilt URL");
}

#[tokio::test]
async fn a_failure_shows_only_at_the_result_and_an_expired_result_is_a_404() {
    let fake = FakeFal::start().await;
    fake.faults().set_latency(Latency::polls(0));
    fake.faults().push_outcome(Outcome::SafetyBlock);
    let (_, queued) = submit(&fake, "fal-ai/veo3.1", json!({"prompt": "p", "generate_audio": false})).await;
    let (code, done) = get(&fake, queued["status_url"].as_str().unwrap()).await;
    assert_eq!(
        (code, done["status"].clone(), done["error_type"].clone()),
        (200, json!("COMPLETED"), json!("content_policy_violation"))
    );
    let (code, result) = get(&fake, queued["response_url"].as_str().unwrap()).await;
    assert_eq!((code, result["detail"][0]["type"].clone()), (422, json!("content_policy_violation")));
    fake.set_result_ttl(std::time::Duration::ZERO);
    let (_, queued) = submit(&fake, "fal-ai/veo3.1", json!({"prompt": "q", "generate_audio": false})).await;
    get(&fake, queued["status_url"].as_str().unwrap()).await;
    assert_eq!(get(&fake, queued["response_url"].as_str().unwrap()).await.0, 404);
}

#[tokio::test]
async fn a_queued_request_is_cancelled_with_put_and_a_completed_one_is_not() {
    let fake = FakeFal::start().await;
    let (_, queued) = submit(&fake, "fal-ai/veo3.1", json!({"prompt": "p", "generate_audio": false})).await;
    let put = |url: String| {
        let key = format!("Key {}", fake.key());
        async move { read(client().put(url).header("Authorization", key).send().await.unwrap()).await }
    };
    let cancel = queued["cancel_url"].as_str().unwrap().to_owned();
    assert_eq!(put(cancel.clone()).await, (202, json!({"status": "CANCELLATION_REQUESTED"})));
    assert_eq!(put(cancel).await, (400, json!({"status": "ALREADY_COMPLETED"})));
    assert!(fake.statuses()[0].2, "marked cancelled");
}
