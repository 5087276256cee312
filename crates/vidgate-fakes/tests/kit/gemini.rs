//! The Gemini API Veo fake against docs/upstreams.md §1: key auth, predictLongRunning, GET polling,
//! redirecting downloads, safety blocks, error operations and the documented refusals.

use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeGemini, Outcome, RejectionKind};

use crate::helpers::{client, following_client, json, probe};

const MODEL: &str = "veo-3.1-generate-preview";

fn body(params: Value) -> Value {
    json!({"instances": [{"prompt": "a paper boat on a canal"}], "parameters": params})
}

async fn start(fake: &FakeGemini, body: &Value) -> (u16, Value) {
    let url = format!("{}/models/{MODEL}:predictLongRunning", fake.api_base());
    json(client().post(url).header("x-goog-api-key", fake.api_key()).json(body).send().await.unwrap()).await
}

async fn poll(fake: &FakeGemini, name: &str) -> (u16, Value) {
    let url = format!("{}/{name}", fake.api_base());
    json(client().get(url).header("x-goog-api-key", fake.api_key()).send().await.unwrap()).await
}

async fn until_done(fake: &FakeGemini, name: &str) -> Value {
    for _ in 0..10 {
        let (status, op) = poll(fake, name).await;
        assert_eq!(status, 200, "{op}");
        if op["done"] == true {
            return op;
        }
    }
    panic!("operation {name} never finished");
}

#[tokio::test]
async fn a_documented_flow_ends_with_a_uri_whose_download_redirects_to_a_clip_with_audio() {
    let fake = FakeGemini::start().await;
    let (status, started) = start(&fake, &body(json!({"durationSeconds": 4, "aspectRatio": "9:16"}))).await;
    assert_eq!(status, 200, "{started}");
    let name = started["name"].as_str().unwrap();
    assert!(name.starts_with(&format!("models/{MODEL}/operations/")), "{name}");
    assert_eq!(poll(&fake, name).await, (200, json!({"name": name, "done": false})));

    let done = until_done(&fake, name).await;
    let samples = &done["response"]["generateVideoResponse"]["generatedSamples"];
    assert_eq!(done["response"]["generateVideoResponse"]["raiMediaFilteredCount"], 0);
    let uri = samples[0]["video"]["uri"].as_str().unwrap();
    assert!(uri.starts_with(&format!("{}/files/", fake.api_base())) && uri.ends_with(":download?alt=media"), "{uri}");

    let redirect = client().get(uri).header("x-goog-api-key", fake.api_key()).send().await.unwrap();
    assert_eq!(redirect.status().as_u16(), 302);
    assert!(redirect.headers()["location"].to_str().unwrap().starts_with(fake.base_url()));
    let followed = following_client().get(uri).header("x-goog-api-key", fake.api_key()).send().await.unwrap();
    assert_eq!(followed.status().as_u16(), 200);
    assert_eq!(probe(&followed.bytes().await.unwrap()), (720, 1280, 4000, true));

    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.polls(), counters.downloads(), counters.jobs_created), (1, 2, 1, 1));
    assert_eq!(fake.journal().rejections(), vec![]);
    assert_eq!(fake.journal().notes(), vec![]);
}

#[tokio::test]
async fn the_key_also_works_as_a_query_parameter_and_a_wrong_key_is_refused() {
    let fake = FakeGemini::start().await;
    let url = format!("{}/models/{MODEL}:predictLongRunning", fake.api_base());
    let by_query = client().post(format!("{url}?key={}", fake.api_key())).json(&body(json!({}))).send().await.unwrap();
    assert_eq!(by_query.status().as_u16(), 200);
    let (status, error) =
        json(client().post(&url).header("x-goog-api-key", "nope").json(&body(json!({}))).send().await.unwrap()).await;
    assert_eq!((status, error["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    let (status, _) = json(client().post(&url).json(&body(json!({}))).send().await.unwrap()).await;
    assert_eq!(status, 403);
    let kinds: Vec<_> = fake.journal().rejections().iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![RejectionKind::Auth, RejectionKind::Auth]);
}

#[tokio::test]
async fn inline_data_images_are_refused_with_the_documented_message() {
    let fake = FakeGemini::start().await;
    let mut request = body(json!({}));
    request["instances"][0]["image"] = json!({"inlineData": {"data": "iVBORw0KGgo=", "mimeType": "image/png"}});
    let (status, error) = start(&fake, &request).await;
    assert_eq!(
        (status, error),
        (
            400,
            json!({"error": {"code": 400, "message": "`inlineData` isn't supported by this model.", "status": "INVALID_ARGUMENT"}})
        )
    );
    assert_eq!(fake.journal().violations()[0].endpoint, Some(Endpoint::Submit));
}

#[tokio::test]
async fn a_string_duration_and_a_seed_are_accepted_but_noted_as_unconfirmed() {
    let fake = FakeGemini::start().await;
    let (status, _) = start(&fake, &body(json!({"durationSeconds": "6", "seed": 42}))).await;
    assert_eq!(status, 200);
    let notes: Vec<String> = fake.journal().notes().into_iter().map(|n| n.what).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.iter().any(|n| n.starts_with("durationSeconds sent as the string \"6\"")));
    assert!(notes.iter().any(|n| n.starts_with("parameters.seed")));
}

#[tokio::test]
async fn vertex_only_fields_are_refused() {
    let fake = FakeGemini::start().await;
    for field in ["generateAudio", "storageUri"] {
        let value = if field == "generateAudio" { json!(false) } else { json!("gs://b/p") };
        let (status, error) = start(&fake, &body(json!({ field: value }))).await;
        assert_eq!(status, 400);
        assert_eq!(
            error["error"]["message"],
            format!("`{field}` is a Vertex AI-only field; the Gemini API does not take it (docs/upstreams.md §1.2)")
        );
    }
    assert_eq!(fake.journal().violations().len(), 2);
}

#[tokio::test]
async fn a_safety_block_is_done_without_samples_and_says_it_was_not_charged() {
    let fake = FakeGemini::start().await;
    fake.faults().outcome_for_prompt("a paper boat on a canal", Outcome::SafetyBlock);
    let (_, started) = start(&fake, &body(json!({}))).await;
    let done = until_done(&fake, started["name"].as_str().unwrap()).await;
    let response = &done["response"]["generateVideoResponse"];
    assert_eq!(response["generatedSamples"], Value::Null);
    assert_eq!(response["raiMediaFilteredCount"], 1);
    assert!(response["raiMediaFilteredReasons"][0].as_str().unwrap().contains("You have not been charged"));
}

#[tokio::test]
async fn an_error_operation_is_done_with_a_code_and_message() {
    let fake = FakeGemini::start().await;
    fake.faults().push_outcome(Outcome::Error { code: "13".into(), message: "internal".into() });
    let (_, started) = start(&fake, &body(json!({}))).await;
    let name = started["name"].as_str().unwrap();
    let done = until_done(&fake, name).await;
    assert_eq!(done, json!({"name": name, "done": true, "error": {"code": 13, "message": "internal", "details": []}}));
}

#[tokio::test]
async fn an_expired_file_is_not_found() {
    let fake = FakeGemini::start().await;
    fake.faults().set_latency(vidgate_fakes::Latency::polls(0)).set_redirect_downloads(false);
    let (_, started) = start(&fake, &body(json!({"durationSeconds": 4}))).await;
    let done = until_done(&fake, started["name"].as_str().unwrap()).await;
    let uri =
        done["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"].as_str().unwrap().to_owned();
    fake.expire_results();
    let (status, error) = json(client().get(&uri).header("x-goog-api-key", fake.api_key()).send().await.unwrap()).await;
    assert_eq!((status, error["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
}
