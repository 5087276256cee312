//! The OpenAI Videos fake against docs/upstreams.md §3: JSON and multipart create, polling through
//! the statuses, content variants, delete, and injected statuses the client does not know.

use serde_json::{Value, json};
use vidgate_fakes::{FakeOpenAi, Latency, Outcome};

use crate::helpers::{client, json, probe};

async fn create(fake: &FakeOpenAi, body: &Value) -> (u16, Value) {
    let url = format!("{}/videos", fake.api_base());
    json(client().post(url).bearer_auth(fake.api_key()).json(body).send().await.unwrap()).await
}

async fn retrieve(fake: &FakeOpenAi, id: &str) -> (u16, Value) {
    json(client().get(format!("{}/videos/{id}", fake.api_base())).bearer_auth(fake.api_key()).send().await.unwrap())
        .await
}

async fn content(fake: &FakeOpenAi, id: &str, variant: &str) -> reqwest::Response {
    let url = format!("{}/videos/{id}/content?variant={variant}", fake.api_base());
    client().get(url).bearer_auth(fake.api_key()).send().await.unwrap()
}

#[tokio::test]
async fn a_json_create_goes_queued_in_progress_completed_and_serves_the_clip() {
    let fake = FakeOpenAi::start().await;
    let (status, video) =
        create(&fake, &json!({"prompt": "a kite", "model": "sora-2", "seconds": "4", "size": "1280x720"})).await;
    assert_eq!(status, 200, "{video}");
    let id = video["id"].as_str().unwrap();
    assert!(id.starts_with("video_"));
    assert_eq!(
        (video["object"].as_str(), video["status"].as_str(), video["progress"].as_u64()),
        (Some("video"), Some("queued"), Some(0))
    );
    assert_eq!((video["seconds"].as_str(), video["error"].clone()), (Some("4"), Value::Null));

    assert_eq!(retrieve(&fake, id).await.1["status"], "in_progress");
    let (_, done) = retrieve(&fake, id).await;
    assert_eq!((done["status"].as_str(), done["progress"].as_u64()), (Some("completed"), Some(100)));
    assert_eq!(done["expires_at"].as_u64().unwrap(), done["completed_at"].as_u64().unwrap() + 3600);

    let mp4 = content(&fake, id, "video").await;
    assert_eq!((mp4.status().as_u16(), mp4.headers()["content-type"].to_str().unwrap()), (200, "video/mp4"));
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1280, 720, 4000, true));
    let thumb = content(&fake, id, "thumbnail").await;
    assert_eq!(thumb.headers()["content-type"], "image/webp");
    assert_eq!(&thumb.bytes().await.unwrap()[8..12], b"WEBP");
    assert_eq!(fake.journal().rejections(), vec![]);
}

#[tokio::test]
async fn a_multipart_create_checks_that_the_input_reference_matches_the_size() {
    let fake = FakeOpenAi::start().await;
    let form = |w, h| {
        let png = vidgate_fakes::media::still(w, h, vidgate_fakes::media::StillFormat::Png).unwrap();
        let part = reqwest::multipart::Part::bytes(png.to_vec()).file_name("ref.png").mime_str("image/png").unwrap();
        reqwest::multipart::Form::new()
            .text("prompt", "a kite")
            .text("seconds", "8")
            .text("size", "1280x720")
            .part("input_reference", part)
    };
    let url = format!("{}/videos", fake.api_base());
    let (status, video) =
        json(client().post(&url).bearer_auth(fake.api_key()).multipart(form(1280, 720)).send().await.unwrap()).await;
    assert_eq!((status, video["seconds"].as_str(), video["model"].as_str()), (200, Some("8"), Some("sora-2")));
    let (status, error) =
        json(client().post(&url).bearer_auth(fake.api_key()).multipart(form(640, 360)).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(
        error,
        json!({"error": {"message": "input_reference is 640x360; it must match size 1280x720",
                         "type": "invalid_request_error", "param": "input_reference", "code": "invalid_value"}})
    );
}

#[tokio::test]
async fn integer_seconds_are_refused_in_the_openai_error_shape() {
    let fake = FakeOpenAi::start().await;
    let (status, error) = create(&fake, &json!({"prompt": "a kite", "seconds": 4})).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["code"], "invalid_type");
    assert_eq!(error["error"]["param"], "seconds");
    assert_eq!(fake.journal().violations().len(), 1);
}

#[tokio::test]
async fn injected_unknown_statuses_are_reported_verbatim() {
    let fake = FakeOpenAi::start().await;
    fake.faults().push_outcome(Outcome::Status("cancelled".into())).push_outcome(Outcome::Status("processing".into()));
    for expected in ["cancelled", "processing"] {
        let (_, video) = create(&fake, &json!({"prompt": "a kite"})).await;
        let id = video["id"].as_str().unwrap();
        retrieve(&fake, id).await;
        assert_eq!(retrieve(&fake, id).await.1["status"], expected);
        assert_eq!(retrieve(&fake, id).await.1["status"], expected);
    }
}

#[tokio::test]
async fn a_safety_block_fails_with_an_error_object() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_latency(Latency::polls(0)).push_outcome(Outcome::SafetyBlock);
    let (_, video) = create(&fake, &json!({"prompt": "a kite"})).await;
    let (_, failed) = retrieve(&fake, video["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "moderation_blocked");
}

#[tokio::test]
async fn content_before_completion_and_delete_while_running_are_violations() {
    let fake = FakeOpenAi::start().await;
    let (_, video) = create(&fake, &json!({"prompt": "a kite"})).await;
    let id = video["id"].as_str().unwrap();
    assert_eq!(content(&fake, id, "video").await.status().as_u16(), 400);
    let url = format!("{}/videos/{id}", fake.api_base());
    assert_eq!(client().delete(&url).bearer_auth(fake.api_key()).send().await.unwrap().status().as_u16(), 400);
    retrieve(&fake, id).await;
    retrieve(&fake, id).await;
    let (status, deleted) = json(client().delete(&url).bearer_auth(fake.api_key()).send().await.unwrap()).await;
    assert_eq!((status, deleted), (200, json!({"id": id, "object": "video.deleted", "deleted": true})));
    assert_eq!(retrieve(&fake, id).await.0, 404);
    assert_eq!(fake.journal().violations().len(), 2);
}

#[tokio::test]
async fn a_video_belongs_to_the_key_that_created_it_and_the_journal_names_each_calls_key() {
    let config = vidgate_fakes::OpenAiConfig { other_keys: vec!["sk-second".into()], ..Default::default() };
    let fake = FakeOpenAi::start_with(config).await;
    let (status, video) =
        create(&fake, &json!({"prompt": "mine", "model": "sora-2", "seconds": "4", "size": "1280x720"})).await;
    assert_eq!(status, 200, "{video}");
    let id = video["id"].as_str().unwrap();
    let other = |path: String| client().get(format!("{}{path}", fake.api_base())).bearer_auth("sk-second");
    let (status, body) = json(other(format!("/videos/{id}")).send().await.unwrap()).await;
    assert_eq!((status, body["error"]["message"].as_str()), (404, Some(&*format!("Video with id '{id}' not found."))));
    let (_, list) = json(other("/videos".into()).send().await.unwrap()).await;
    assert_eq!(list["data"], json!([]), "another account lists none of it");
    let (status, _) =
        json(client().get(format!("{}/videos/{id}", fake.api_base())).bearer_auth("sk-nope").send().await.unwrap())
            .await;
    assert_eq!(status, 401, "an unknown key is refused");
    assert_eq!(retrieve(&fake, id).await.1["status"], "in_progress", "its creator sees it");
    let calls: Vec<(vidgate_fakes::Endpoint, String, String)> =
        fake.journal().keyed_calls().into_iter().map(|c| (c.endpoint, c.key, c.job)).collect();
    use vidgate_fakes::Endpoint::{Poll, Submit};
    let key = fake.api_key().to_owned();
    assert_eq!(
        calls,
        [(Submit, key.clone(), id.to_owned()), (Poll, "sk-second".into(), id.to_owned()), (Poll, key, id.to_owned())]
    );
}
