//! The Vertex AI Veo fake against docs/upstreams.md §2: tokens, predictLongRunning,
//! fetchPredictOperation, inline and GCS results, and the documented refusals.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeVertex, Outcome, RejectionKind, VertexConfig};

use crate::helpers::{client, json, probe, unix_now, vertex_token};

const MODEL: &str = "veo-3.1-generate-001";

fn body(params: Value) -> Value {
    json!({"instances": [{"prompt": "a lighthouse at dusk"}], "parameters": params})
}

fn params() -> Value {
    json!({"durationSeconds": 4, "generateAudio": false, "resolution": "720p", "aspectRatio": "16:9", "sampleCount": 1})
}

async fn predict(fake: &FakeVertex, token: &str, body: &Value) -> (u16, Value) {
    json(client().post(fake.predict_url("us-central1", MODEL)).bearer_auth(token).json(body).send().await.unwrap())
        .await
}

async fn fetch(fake: &FakeVertex, token: &str, name: &str) -> (u16, Value) {
    let body = json!({"operationName": name});
    json(client().post(fake.fetch_url("us-central1", MODEL)).bearer_auth(token).json(&body).send().await.unwrap()).await
}

/// Polls until `done`, at most 10 times.
async fn until_done(fake: &FakeVertex, token: &str, name: &str) -> Value {
    for _ in 0..10 {
        let (status, op) = fetch(fake, token, name).await;
        assert_eq!(status, 200, "{op}");
        if op["done"] == true {
            return op;
        }
    }
    panic!("operation {name} never finished");
}

#[tokio::test]
async fn a_documented_flow_returns_an_inline_silent_clip_of_exactly_the_requested_length() {
    let fake = FakeVertex::start().await;
    let token = vertex_token(&fake).await;
    let (status, started) = predict(&fake, &token, &body(params())).await;
    assert_eq!(status, 200, "{started}");
    let name = started["name"].as_str().unwrap();
    assert!(name.starts_with(&format!(
        "projects/vidgate-test/locations/us-central1/publishers/google/models/{MODEL}/operations/"
    )));

    let (status, running) = fetch(&fake, &token, name).await;
    assert_eq!((status, running), (200, json!({"name": name})));
    let (_, done) = fetch(&fake, &token, name).await;
    assert_eq!(done["done"], true);
    assert_eq!(done["response"]["raiMediaFilteredCount"], 0);
    let videos = done["response"]["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0]["mimeType"], "video/mp4");
    let bytes = STANDARD.decode(videos[0]["bytesBase64Encoded"].as_str().unwrap()).unwrap();
    assert_eq!(probe(&bytes), (1280, 720, 4000, false));

    let counters = fake.journal().counters();
    assert_eq!((counters.token_requests(), counters.submits(), counters.polls()), (1, 1, 2));
    assert_eq!((counters.tokens_issued, counters.jobs_created), (1, 1));
    assert_eq!(fake.journal().rejections(), vec![]);
}

#[tokio::test]
async fn inline_data_images_are_refused_with_the_documented_400() {
    let fake = FakeVertex::start().await;
    let token = vertex_token(&fake).await;
    let mut request = body(params());
    request["instances"][0]["image"] = json!({"inlineData": {"data": "iVBORw0KGgo=", "mimeType": "image/png"}});
    let (status, error) = predict(&fake, &token, &request).await;
    assert_eq!(status, 400);
    assert_eq!(
        error,
        json!({"error": {"code": 400, "message": "`inlineData` isn't supported by this model.", "status": "INVALID_ARGUMENT"}})
    );
    let violations = fake.journal().violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].endpoint, Some(Endpoint::Submit));
    assert_eq!(violations[0].reason, "`inlineData` isn't supported by this model.");
    assert_eq!(fake.journal().counters().jobs_created, 0);
}

#[tokio::test]
async fn a_string_duration_is_refused_on_vertex() {
    let fake = FakeVertex::start().await;
    let token = vertex_token(&fake).await;
    let mut p = params();
    p["durationSeconds"] = json!("4");
    let (status, error) = predict(&fake, &token, &body(p)).await;
    assert_eq!((status, error["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
    assert_eq!(
        fake.journal().violations()[0].reason,
        "'parameters.durationSeconds' must be a JSON integer (docs/upstreams.md §2.2), got the string \"4\""
    );
}

#[tokio::test]
async fn a_get_of_fetch_predict_operation_is_refused_and_recorded() {
    let fake = FakeVertex::start().await;
    let token = vertex_token(&fake).await;
    let (_, started) = predict(&fake, &token, &body(params())).await;
    let name = started["name"].as_str().unwrap();
    let url = format!("{}?operationName={name}", fake.fetch_url("us-central1", MODEL));
    let (status, error) = json(client().get(url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!((status, error["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _) =
        json(client().get(format!("{}/v1/{name}", fake.base_url())).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 404);
    let violations = fake.journal().violations();
    assert_eq!(violations.len(), 2);
    assert!(violations[0].reason.starts_with("Veo models take POST only"), "{}", violations[0].reason);
    assert!(
        violations[1].reason.starts_with("Veo operations are not read with a plain GET"),
        "{}",
        violations[1].reason
    );
}

#[tokio::test]
async fn storage_uri_results_download_from_gcs_with_the_bearer_token() {
    let fake = FakeVertex::start().await;
    fake.faults().set_latency(vidgate_fakes::Latency::polls(0));
    let token = vertex_token(&fake).await;
    let mut p = params();
    p["storageUri"] = json!("gs://vg-bucket/out/");
    p["generateAudio"] = json!(true);
    p["durationSeconds"] = json!(6);
    let (_, started) = predict(&fake, &token, &body(p)).await;
    let done = until_done(&fake, &token, started["name"].as_str().unwrap()).await;
    let uri = done["response"]["videos"][0]["gcsUri"].as_str().unwrap();
    let object = uri.strip_prefix("gs://vg-bucket/").unwrap();
    assert!(object.starts_with("out/") && object.ends_with("/sample_0.mp4"), "{uri}");

    let encoded: String = url::form_urlencoded::byte_serialize(object.as_bytes()).collect();
    let url = format!("{}/storage/v1/b/vg-bucket/o/{encoded}?alt=media", fake.base_url());
    let anonymous = client().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let response = client().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "video/mp4");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(probe(&bytes), (1280, 720, 6000, true));
    assert_eq!(fake.gcs_object(uri).unwrap(), bytes);

    let xml = client().get(format!("{}/vg-bucket/{object}", fake.base_url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(xml.bytes().await.unwrap(), bytes);
    assert_eq!(fake.journal().counters().downloads(), 3);
}

#[tokio::test]
async fn an_expired_or_revoked_token_gets_401_and_a_fresh_one_works() {
    let fake = FakeVertex::start_with(VertexConfig { token_lifetime: Duration::ZERO, ..VertexConfig::default() }).await;
    let expired = vertex_token(&fake).await;
    let (status, error) = predict(&fake, &expired, &body(params())).await;
    assert_eq!((status, error["error"]["status"].as_str()), (401, Some("UNAUTHENTICATED")));

    fake.set_token_lifetime(Duration::from_secs(3600));
    let fresh = vertex_token(&fake).await;
    assert_eq!(predict(&fake, &fresh, &body(params())).await.0, 200);
    fake.revoke_tokens();
    assert_eq!(predict(&fake, &fresh, &body(params())).await.0, 401);

    let kinds: Vec<RejectionKind> = fake.journal().rejections().iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![RejectionKind::Auth, RejectionKind::Auth]);
    assert_eq!(fake.journal().violations(), vec![]);
}

#[tokio::test]
async fn the_token_endpoint_refuses_a_wrong_audience_and_a_non_rs256_assertion() {
    let fake = FakeVertex::start().await;
    let now = unix_now();
    let claims = json!({"iss": fake.account().client_email, "scope": vidgate_fakes::vertex::CLOUD_PLATFORM_SCOPE,
                        "aud": "https://oauth2.googleapis.com/token", "iat": now, "exp": now + 3600});
    let wrong_aud = fake.account().sign(&json!({"alg": "RS256", "typ": "JWT"}), &claims);
    let mut good_claims = claims.clone();
    good_claims["aud"] = json!(fake.token_url());
    let hs256 = fake.account().sign(&json!({"alg": "HS256", "typ": "JWT"}), &good_claims);
    for (assertion, reason) in [
        (
            wrong_aud,
            format!(
                "Invalid JWT: aud must be the token_uri {}, got \"https://oauth2.googleapis.com/token\"",
                fake.token_url()
            ),
        ),
        (hs256, "Invalid JWT: header alg must be RS256, got \"HS256\"".to_owned()),
    ] {
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())];
        let (status, error) = json(client().post(fake.token_url()).form(&form).send().await.unwrap()).await;
        assert_eq!((status, error), (400, json!({"error": "invalid_grant", "error_description": reason})));
    }
    assert_eq!(fake.journal().counters().tokens_issued, 0);
}

#[tokio::test]
async fn a_safety_block_is_done_without_videos_and_with_the_filtered_count() {
    let fake = FakeVertex::start().await;
    fake.faults().push_outcome(Outcome::SafetyBlock);
    let token = vertex_token(&fake).await;
    let (_, started) = predict(&fake, &token, &body(params())).await;
    let done = until_done(&fake, &token, started["name"].as_str().unwrap()).await;
    assert_eq!(done["response"]["raiMediaFilteredCount"], 1);
    assert_eq!(done["response"]["videos"], Value::Null);
    assert!(done["response"]["raiMediaFilteredReasons"][0].as_str().unwrap().contains("Support codes"));
}

#[tokio::test]
async fn an_error_operation_carries_code_message_and_status() {
    let fake = FakeVertex::start().await;
    fake.faults().push_outcome(Outcome::Error { code: "8".into(), message: "quota".into() });
    let token = vertex_token(&fake).await;
    let (_, started) = predict(&fake, &token, &body(params())).await;
    let name = started["name"].as_str().unwrap();
    let done = until_done(&fake, &token, name).await;
    assert_eq!(
        done,
        json!({"name": name, "done": true, "error": {"code": 8, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    );
}

#[tokio::test]
async fn a_gemini_preview_id_gets_the_misleading_404() {
    let fake = FakeVertex::start().await;
    let token = vertex_token(&fake).await;
    let url = fake.predict_url("us-central1", "veo-3.1-generate-preview");
    let (status, error) =
        json(client().post(url).bearer_auth(&token).json(&body(params())).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert!(
        error["error"]["message"].as_str().unwrap().ends_with("not found or your project does not have access to it.")
    );
}
