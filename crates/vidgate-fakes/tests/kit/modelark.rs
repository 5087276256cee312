//! The ModelArk fake against docs/upstreams.md §8: a create with the `content` array goes
//! queued → running → succeeded with a signed URL and token usage; the documented body rules
//! are refused in the service's envelope; the URL takes no key and expires; `DELETE` cancels
//! only while queued and deletes finished tasks; the list filters; the flavours serve their
//! own ids.

use serde_json::{Value, json};
use vidgate_fakes::modelark::{Flavor, ModelarkConfig};
use vidgate_fakes::{FakeModelark, Outcome, RejectionKind};

use crate::helpers::{client, json, probe};

const SEEDANCE_2: &str = "dreamina-seedance-2-0-260128";

fn tasks(fake: &FakeModelark) -> String {
    format!("{}/contents/generations/tasks", fake.api_base())
}

async fn create(fake: &FakeModelark, body: &Value) -> (u16, Value) {
    json(client().post(tasks(fake)).bearer_auth(fake.api_key()).json(body).send().await.unwrap()).await
}

async fn get(fake: &FakeModelark, id: &str) -> (u16, Value) {
    json(client().get(format!("{}/{id}", tasks(fake))).bearer_auth(fake.api_key()).send().await.unwrap()).await
}

async fn delete(fake: &FakeModelark, id: &str) -> (u16, Value) {
    json(client().delete(format!("{}/{id}", tasks(fake))).bearer_auth(fake.api_key()).send().await.unwrap()).await
}

fn body(extra: Value) -> Value {
    let mut b = json!({"model": SEEDANCE_2, "content": [{"type": "text", "text": "a kitten yawns"}],
        "resolution": "720p", "ratio": "16:9", "duration": 5, "seed": -1, "watermark": false, "generate_audio": true});
    b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    b
}

#[tokio::test]
async fn a_task_goes_queued_running_succeeded_with_token_usage_and_a_signed_url_that_needs_no_key() {
    let fake = FakeModelark::start().await;
    let (status, created) = create(&fake, &body(json!({}))).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("cgt-"), "{id}");
    assert_eq!(get(&fake, id).await.1["status"], "running");
    let (_, done) = get(&fake, id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["usage"], json!({"completion_tokens": 108_900, "total_tokens": 108_900}));
    assert_eq!((done["duration"].clone(), done["framespersecond"].clone()), (json!(5), json!(24)));
    let url = done["content"]["video_url"].as_str().unwrap();
    assert!(url.contains("X-Tos-Signature="), "{url}");
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(mp4.status().as_u16(), 200);
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1280, 720, 5000, true));
    // The key never goes to the storage host.
    let leaked = client().get(url).bearer_auth(fake.api_key()).send().await.unwrap();
    assert_eq!(leaked.status().as_u16(), 400);
    assert_eq!(fake.journal().violations().len(), 1);
    // Expired: 403, and a new GET signs a fresh URL.
    fake.expire_results();
    assert_eq!(client().get(url).send().await.unwrap().status().as_u16(), 403);
    let fresh = get(&fake, id).await.1["content"]["video_url"].as_str().unwrap().to_owned();
    assert_ne!(fresh, url);
    assert_eq!(client().get(&fresh).send().await.unwrap().status().as_u16(), 200);
    assert!(fake.journal().notes().is_empty());
}

#[tokio::test]
async fn the_documented_body_rules_are_refused_with_the_ark_error_envelope() {
    let fake = FakeModelark::start().await;
    let first = |url: &str| json!({"type": "image_url", "image_url": {"url": url}, "role": "first_frame"});
    let last = json!({"type": "image_url", "image_url": {"url": "https://x/l.png"}, "role": "last_frame"});
    let cases = [
        (body(json!({"duration": "5"})), "InvalidParameter", "duration"),
        (body(json!({"duration": 16})), "InvalidParameter", "duration"),
        (body(json!({"resolution": "4k"})), "InvalidParameter", "resolution"),
        (body(json!({"ratio": "2:1"})), "InvalidParameter", "ratio"),
        (body(json!({"seed": 4_294_967_296_u64})), "InvalidParameter", "seed"),
        (body(json!({"watermark": "false"})), "InvalidParameter", "watermark"),
        (body(json!({"negative_prompt": "x"})), "InvalidParameter", "negative_prompt"),
        (body(json!({"content": [{"type": "text", "text": "a"}, last.clone()]})), "InvalidParameter", "content"),
        (
            body(json!({"content": [{"type": "text", "text": "a"}, first("http://plain/x.png")]})),
            "InvalidParameter",
            "content",
        ),
    ];
    for (b, code, param) in cases {
        let (status, e) = create(&fake, &b).await;
        assert_eq!(
            (status, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
            (400, Some(code), Some(param)),
            "{b}"
        );
    }
    let (status, e) = create(&fake, &body(json!({"model": "doubao-seedance-2-0-260128"}))).await;
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("InvalidEndpointOrModel.NotFound")));
    let ok = body(json!({"content": [{"type": "text", "text": "a"}, first("data:image/png;base64,AQID"), last]}));
    assert_eq!(create(&fake, &ok).await.0, 200);
    let (status, e) = json(client().post(tasks(&fake)).bearer_auth("wrong").json(&ok).send().await.unwrap()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("AuthenticationError")));
    assert_eq!(fake.journal().counters().jobs_created, 1);
}

#[tokio::test]
async fn prompt_flags_and_missing_audio_or_watermark_are_accepted_applied_and_noted() {
    let fake = FakeModelark::start().await;
    let mut b = body(json!({"content": [{"type": "text", "text": "a cat --dur 8 --rs 1080p"}]}));
    b.as_object_mut().unwrap().remove("generate_audio");
    b.as_object_mut().unwrap().remove("watermark");
    let (_, created) = create(&fake, &b).await;
    get(&fake, created["id"].as_str().unwrap()).await;
    let (_, done) = get(&fake, created["id"].as_str().unwrap()).await;
    assert_eq!((done["duration"].clone(), done["resolution"].clone()), (json!(8), json!("1080p")));
    assert_eq!(fake.journal().notes().len(), 4, "{:?}", fake.journal().notes());
}

#[tokio::test]
async fn delete_cancels_only_a_queued_task_and_deletes_a_finished_one() {
    let fake = FakeModelark::start().await;
    let queued = create(&fake, &body(json!({}))).await.1["id"].as_str().unwrap().to_owned();
    assert_eq!(delete(&fake, &queued).await, (200, json!({})));
    assert_eq!(get(&fake, &queued).await.1["status"], "cancelled");
    assert_eq!(delete(&fake, &queued).await.0, 400, "a cancelled task is refused");
    let running = create(&fake, &body(json!({}))).await.1["id"].as_str().unwrap().to_owned();
    get(&fake, &running).await;
    assert_eq!(delete(&fake, &running).await.0, 400, "a running task is refused");
    get(&fake, &running).await;
    assert_eq!(delete(&fake, &running).await.0, 200);
    assert_eq!(get(&fake, &running).await.0, 404, "a finished task's record is deleted");
    let url = format!("{}?filter.status=cancelled&page_size=5", tasks(&fake));
    let (_, list) = json(client().get(url).bearer_auth(fake.api_key()).send().await.unwrap()).await;
    assert_eq!((list["total"].clone(), list["items"][0]["id"].clone()), (json!(1), json!(queued)));
    let kinds: Vec<RejectionKind> = fake.journal().rejections().iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&RejectionKind::NotFound));
}

#[tokio::test]
async fn scripted_outcomes_give_moderation_at_submit_failures_and_expiry() {
    let fake = FakeModelark::start_with(ModelarkConfig { flavor: Flavor::Volcengine, ..Default::default() }).await;
    let cn = |text: &str| {
        body(json!({"model": "doubao-seedance-1-5-pro-251215", "content": [{"type": "text", "text": text}]}))
    };
    let moderated = Outcome::Error { code: "InputTextSensitiveContentDetected".into(), message: "m".into() };
    fake.faults().outcome_for_prompt("blocked", moderated);
    let (status, e) = create(&fake, &cn("blocked")).await;
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("InputTextSensitiveContentDetected")));
    assert_eq!(fake.journal().counters().jobs_created, 0);
    fake.faults().outcome_for_prompt("filtered", Outcome::SafetyBlock);
    fake.faults().outcome_for_prompt("late", Outcome::Status("expired".into()));
    for (prompt, status, code) in
        [("filtered", "failed", json!("OutputVideoSensitiveContentDetected")), ("late", "expired", Value::Null)]
    {
        let id = create(&fake, &cn(prompt)).await.1["id"].as_str().unwrap().to_owned();
        get(&fake, &id).await;
        let (_, done) = get(&fake, &id).await;
        assert_eq!((done["status"].as_str(), done["error"]["code"].clone()), (Some(status), code), "{done}");
        assert!(done.get("usage").is_none(), "only succeeded tasks are charged: {done}");
    }
    assert!(fake.journal().violations().is_empty());
}
