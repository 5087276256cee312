//! Every fault kind, observed from the client side.

use std::time::Duration;

use serde_json::json;
use vidgate_fakes::{Endpoint, FakeGemini, FakeOpenAi, FakeVertex, FakeVidgate, Fault, Latency};

use crate::helpers::{client, following_client, json, unix_now};

fn vidgate_body(key: &str) -> serde_json::Value {
    json!({"model": "sora2", "prompt": "a kite", "out_task_id": key})
}

async fn vidgate_submit(fake: &FakeVidgate, key: &str) -> reqwest::Result<reqwest::Response> {
    let url = format!("{}/v1/videos/generations", fake.base_url());
    client().post(url).bearer_auth(fake.api_key()).json(&vidgate_body(key)).send().await
}

async fn gemini_submit(fake: &FakeGemini) -> reqwest::Response {
    let url = format!("{}/models/veo-3.1-generate-preview:predictLongRunning", fake.api_base());
    let body = json!({"instances": [{"prompt": "a kite"}], "parameters": {"durationSeconds": 4}});
    client().post(url).header("x-goog-api-key", fake.api_key()).json(&body).send().await.unwrap()
}

async fn openai_video(fake: &FakeOpenAi) -> String {
    let url = format!("{}/videos", fake.api_base());
    let (_, video) =
        json(client().post(url).bearer_auth(fake.api_key()).json(&json!({"prompt": "a kite"})).send().await.unwrap())
            .await;
    video["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rate_limited_answers_429_with_retry_after_in_the_google_shape_and_creates_nothing() {
    let fake = FakeGemini::start().await;
    fake.faults().push(Endpoint::Submit, Fault::RateLimited { retry_after_secs: 7 });
    let limited = gemini_submit(&fake).await;
    assert_eq!(limited.headers()["retry-after"], "7");
    let (status, error) = json(limited).await;
    assert_eq!(
        (status, error["error"]["code"].as_u64(), error["error"]["status"].as_str()),
        (429, Some(429), Some("RESOURCE_EXHAUSTED"))
    );
    assert_eq!(fake.journal().counters().jobs_created, 0);
    assert_eq!(gemini_submit(&fake).await.status().as_u16(), 200);
    assert_eq!(fake.journal().counters().submits(), 2);
    assert_eq!(fake.faults().pending(Endpoint::Submit), 0);
}

#[tokio::test]
async fn a_5xx_fault_answers_in_the_openai_shape() {
    let fake = FakeOpenAi::start().await;
    let id = openai_video(&fake).await;
    fake.faults().push(Endpoint::Poll, Fault::Status(503));
    let url = format!("{}/videos/{id}", fake.api_base());
    let (status, error) = json(client().get(&url).bearer_auth(fake.api_key()).send().await.unwrap()).await;
    assert_eq!((status, error["error"]["type"].as_str()), (503, Some("server_error")));
    assert_eq!(json(client().get(&url).bearer_auth(fake.api_key()).send().await.unwrap()).await.0, 200);
}

#[tokio::test]
async fn reset_closes_the_socket_without_an_answer_and_creates_no_job() {
    let fake = FakeVidgate::start().await;
    fake.faults().push(Endpoint::Submit, Fault::Reset);
    let err = vidgate_submit(&fake, "k1").await.unwrap_err();
    assert!(err.is_request() && !err.is_timeout(), "{err:?}");
    assert_eq!(fake.journal().counters().jobs_created, 0);
}

#[tokio::test]
async fn reset_after_creates_the_job_and_the_same_key_then_replays_it() {
    let fake = FakeVidgate::start().await;
    fake.faults().push(Endpoint::Submit, Fault::ResetAfter);
    assert!(vidgate_submit(&fake, "k2").await.is_err());
    assert_eq!(fake.journal().counters().jobs_created, 1);
    let retry = vidgate_submit(&fake, "k2").await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(fake.journal().counters().jobs_created, 1);
}

#[tokio::test]
async fn a_slow_answer_outlives_the_client_timeout_but_the_job_exists() {
    let fake = FakeOpenAi::start().await;
    fake.faults().push(Endpoint::Submit, Fault::Slow(Duration::from_secs(30)));
    let url = format!("{}/videos", fake.api_base());
    let request = client().post(url).bearer_auth(fake.api_key()).timeout(Duration::from_millis(300));
    let err = request.json(&json!({"prompt": "a kite"})).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(fake.journal().counters().jobs_created, 1);
}

#[tokio::test]
async fn malformed_json_is_a_200_whose_body_does_not_parse() {
    let fake = FakeGemini::start().await;
    let (_, started) = json(gemini_submit(&fake).await).await;
    fake.faults().push(Endpoint::Poll, Fault::MalformedJson);
    let name = started["name"].as_str().unwrap();
    let url = format!("{}/{name}", fake.api_base());
    let response = client().get(url).header("x-goog-api-key", fake.api_key()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let whole = json!({"name": name, "done": false}).to_string();
    assert_eq!(text, whole[..whole.len() / 2]);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn a_truncated_download_announces_more_bytes_than_it_sends() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_latency(Latency::polls(0));
    let id = openai_video(&fake).await;
    let url = format!("{}/videos/{id}", fake.api_base());
    client().get(&url).bearer_auth(fake.api_key()).send().await.unwrap();
    fake.faults().push(Endpoint::Download, Fault::Truncated);
    let mut response = client().get(format!("{url}/content")).bearer_auth(fake.api_key()).send().await.unwrap();
    let announced = response.content_length().unwrap();
    let mut received = 0u64;
    let failed = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len() as u64,
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(failed, "the body ended cleanly after {received} of {announced} bytes");
    assert!(received < announced, "{received} of {announced}");
}

#[tokio::test]
async fn token_endpoint_failures_use_the_oauth_shape_and_the_next_request_succeeds() {
    let fake = FakeVertex::start().await;
    fake.faults().push(Endpoint::Token, Fault::Status(503)).push(Endpoint::Token, Fault::Reset);
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()),
        ("assertion", fake.account().assertion(unix_now())),
    ];
    let (status, error) = json(client().post(fake.token_url()).form(&form).send().await.unwrap()).await;
    assert_eq!((status, error["error"].as_str()), (503, Some("temporarily_unavailable")));
    assert!(client().post(fake.token_url()).form(&form).send().await.is_err());
    let (status, token) = json(client().post(fake.token_url()).form(&form).send().await.unwrap()).await;
    assert_eq!((status, token["token_type"].as_str(), token["expires_in"].as_u64()), (200, Some("Bearer"), Some(3600)));
    assert_eq!(fake.journal().counters().token_requests(), 3);
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_recorded_as_a_violation() {
    let fake = FakeGemini::start().await;
    let url = format!("{}/models/veo-3.1-generate-preview:predictLongRunning", fake.api_base());
    let (status, error) = json(client().get(url).header("x-goog-api-key", fake.api_key()).send().await.unwrap()).await;
    assert_eq!((status, error["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
    assert_eq!(
        fake.journal().violations()[0].request,
        "GET /v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    );
}

#[tokio::test]
async fn download_redirects_can_be_turned_on_for_openai() {
    let fake = FakeOpenAi::start().await;
    fake.faults().set_latency(Latency::polls(0)).set_redirect_downloads(true);
    let id = openai_video(&fake).await;
    let url = format!("{}/videos/{id}", fake.api_base());
    client().get(&url).bearer_auth(fake.api_key()).send().await.unwrap();
    let redirect = client().get(format!("{url}/content")).bearer_auth(fake.api_key()).send().await.unwrap();
    assert_eq!(redirect.status().as_u16(), 302);
    let followed = following_client().get(format!("{url}/content")).bearer_auth(fake.api_key()).send().await.unwrap();
    assert_eq!(followed.headers()["content-type"], "video/mp4");
    assert_eq!(fake.journal().counters().downloads(), 1);
}

#[tokio::test]
async fn seeded_random_faults_replay_identically() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let fake = FakeOpenAi::start().await;
        fake.faults().random(42, 0.5, &[Endpoint::Poll], &[Fault::Status(500), Fault::Status(502)]);
        let url = format!("{}/videos/video_unknown", fake.api_base());
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(client().get(&url).bearer_auth(fake.api_key()).send().await.unwrap().status().as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].contains(&404) && runs[0].iter().any(|s| *s >= 500), "{:?}", runs[0]);
}
