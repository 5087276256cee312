//! The Runway fake against its digest (docs/upstreams.md §13): a text-to-video task goes
//! PENDING → THROTTLED (when scripted) → RUNNING → SUCCEEDED with credits and a signed output
//! URL that needs no key and expires; `X-Runway-Version` is required on every call; pixel
//! ratios, integer durations and the image endpoint's rules are enforced in
//! `{"error": …}` bodies; DELETE cancels an unfinished task and deletes a finished one with
//! its output; scripted outcomes give moderation and failures.

use serde_json::{Value, json};
use vidgate_fakes::{FakeRunway, Outcome};

use crate::helpers::{client, json, probe};

fn authorized(fake: &FakeRunway, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.bearer_auth(fake.api_key()).header("X-Runway-Version", fake.api_version())
}

async fn create(fake: &FakeRunway, path: &str, body: &Value) -> (u16, Value) {
    let request = authorized(fake, client().post(format!("{}/v1/{path}", fake.base_url())));
    json(request.json(body).send().await.unwrap()).await
}

async fn get(fake: &FakeRunway, id: &str) -> (u16, Value) {
    json(authorized(fake, client().get(format!("{}/v1/tasks/{id}", fake.base_url()))).send().await.unwrap()).await
}

async fn delete(fake: &FakeRunway, id: &str) -> u16 {
    let request = authorized(fake, client().delete(format!("{}/v1/tasks/{id}", fake.base_url())));
    request.send().await.unwrap().status().as_u16()
}

fn gen45(extra: Value) -> Value {
    let mut body = json!({"model": "gen4.5", "promptText": "a kitten yawns", "ratio": "1280:720", "duration": 5});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

async fn created(fake: &FakeRunway, body: &Value) -> String {
    let (status, answer) = create(fake, "text_to_video", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer.as_object().unwrap().len(), 1, "only the id: {answer}");
    answer["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_task_is_throttled_then_runs_then_succeeds_with_credits_and_a_signed_url_that_needs_no_key() {
    let fake = FakeRunway::start().await;
    fake.throttle(1);
    let id = created(&fake, &gen45(json!({}))).await;
    let (_, pending) = get(&fake, &id).await;
    assert_eq!(
        (pending["status"].clone(), pending["estimatedCost"]["credits"].clone()),
        (json!("THROTTLED"), json!(60.0))
    );
    assert_eq!(get(&fake, &id).await.1["status"], "RUNNING");
    let (_, done) = get(&fake, &id).await;
    assert_eq!((done["status"].clone(), done["cost"]["credits"].clone()), (json!("SUCCEEDED"), json!(60)), "{done}");
    let url = done["output"][0].as_str().unwrap();
    assert!(url.contains("_jwt="), "{url}");
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(mp4.status().as_u16(), 200);
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1280, 720, 5000, false));
    assert_eq!(fake.journal().violations(), Vec::new());
    let leaked = client().get(url).bearer_auth(fake.api_key()).send().await.unwrap();
    assert_eq!(leaked.status().as_u16(), 400);
    fake.expire_results();
    assert_eq!(client().get(url).send().await.unwrap().status().as_u16(), 403);
}

#[tokio::test]
async fn every_call_needs_the_version_header_and_a_ratio_in_pixels_and_a_duration_the_model_makes() {
    let fake = FakeRunway::start().await;
    let no_version = client().post(format!("{}/v1/text_to_video", fake.base_url())).bearer_auth(fake.api_key());
    let (status, body) = json(no_version.json(&gen45(json!({}))).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("X-Runway-Version"), "{body}");
    let refused = [
        gen45(json!({"ratio": "16:9"})),
        gen45(json!({"duration": "5"})),
        gen45(json!({"duration": 11})),
        gen45(json!({"audio": true})),
        gen45(json!({"outputFormat": "prores"})),
        json!({"model": "gen4_turbo", "promptText": "x", "ratio": "1280:720", "duration": 5}),
        json!({"model": "veo3.1", "promptText": "x", "ratio": "1280:720", "duration": 5}),
    ];
    for body in &refused {
        let (status, answer) = create(&fake, "text_to_video", body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let (status, _) = create(&fake, "image_to_video", &gen45(json!({}))).await;
    assert_eq!(status, 400, "promptImage is required on image_to_video");
    assert_eq!(fake.journal().counters().jobs_created, 0);
}

#[tokio::test]
async fn image_to_video_takes_a_data_uri_and_a_last_frame_only_where_the_model_does() {
    let fake = FakeRunway::start().await;
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let ok = gen45(json!({"promptImage": png}));
    assert_eq!(create(&fake, "image_to_video", &ok).await.0, 200);
    let both = json!([{"uri": png, "position": "first"}, {"uri": png, "position": "last"}]);
    assert_eq!(create(&fake, "image_to_video", &gen45(json!({"promptImage": both}))).await.0, 400);
    let veo = json!({"model": "veo3.1", "promptText": "x", "ratio": "1920:1080", "duration": 8, "audio": false,
        "promptImage": both});
    assert_eq!(create(&fake, "image_to_video", &veo).await.0, 200);
    let last_only = json!([{"uri": png, "position": "last"}]);
    assert_eq!(create(&fake, "image_to_video", &gen45(json!({"promptImage": last_only}))).await.0, 400);
    let http = gen45(json!({"promptImage": "http://example.com/a.png"}));
    assert_eq!(create(&fake, "image_to_video", &http).await.0, 400);
    assert_eq!(fake.journal().counters().jobs_created, 2);
}

#[tokio::test]
async fn delete_cancels_a_running_task_and_deletes_a_finished_one_with_its_output() {
    let fake = FakeRunway::start().await;
    let running = created(&fake, &gen45(json!({}))).await;
    assert_eq!(get(&fake, &running).await.1["status"], "RUNNING");
    assert_eq!(delete(&fake, &running).await, 204);
    assert_eq!(get(&fake, &running).await.0, 404);
    let done = created(&fake, &gen45(json!({"promptText": "another"}))).await;
    get(&fake, &done).await;
    let url = get(&fake, &done).await.1["output"][0].as_str().unwrap().to_owned();
    assert_eq!(delete(&fake, &done).await, 204);
    assert_eq!(client().get(&url).send().await.unwrap().status().as_u16(), 404, "the output is gone");
    let statuses: Vec<String> = fake.deletions().iter().map(|d| d.status.clone()).collect();
    assert_eq!(statuses, ["RUNNING", "SUCCEEDED"]);
    assert_eq!(fake.journal().notes().len(), 1, "{:?}", fake.journal().notes());
}

#[tokio::test]
async fn scripted_outcomes_fail_with_a_failure_code_and_input_moderation_keeps_its_credits() {
    let fake = FakeRunway::start().await;
    let error = |code: &str| Outcome::Error { code: code.into(), message: "no".into() };
    fake.faults().push_outcome(error("SAFETY.INPUT.TEXT")).push_outcome(error("INTERNAL"));
    let mut ends = Vec::new();
    for prompt in ["one", "two"] {
        let id = created(&fake, &gen45(json!({"promptText": prompt}))).await;
        get(&fake, &id).await;
        let (_, done) = get(&fake, &id).await;
        ends.push((done["status"].clone(), done["failureCode"].clone(), done["cost"]["credits"].clone()));
    }
    assert_eq!(
        ends,
        [(json!("FAILED"), json!("SAFETY.INPUT.TEXT"), json!(60)), (json!("FAILED"), json!("INTERNAL"), json!(0))]
    );
}
