//! The DashScope fake against the Wan digest (docs/upstreams.md §9): an async create goes
//! PENDING → RUNNING → SUCCEEDED with per-second usage and a signed URL that needs no key and
//! expires; the async header is mandatory on create; the three request shapes, `W*H` sizes
//! and integer durations are enforced in the flat error body; cancel works only while
//! PENDING; an unknown id is UNKNOWN; scripted outcomes give moderation and failures.

use serde_json::{Value, json};
use vidgate_fakes::{FakeDashscope, Outcome};

use crate::helpers::{client, json, probe};

fn create_url(fake: &FakeDashscope) -> String {
    format!("{}/services/aigc/video-generation/video-synthesis", fake.api_base())
}

async fn create(fake: &FakeDashscope, body: &Value) -> (u16, Value) {
    let request = client().post(create_url(fake)).bearer_auth(fake.api_key()).header("X-DashScope-Async", "enable");
    json(request.json(body).send().await.unwrap()).await
}

async fn get(fake: &FakeDashscope, id: &str) -> (u16, Value) {
    json(client().get(format!("{}/tasks/{id}", fake.api_base())).bearer_auth(fake.api_key()).send().await.unwrap())
        .await
}

async fn cancel(fake: &FakeDashscope, id: &str) -> (u16, Value) {
    let url = format!("{}/tasks/{id}/cancel", fake.api_base());
    json(client().post(url).bearer_auth(fake.api_key()).send().await.unwrap()).await
}

fn t2v(parameters: Value) -> Value {
    let mut p = json!({"size": "1280*720", "duration": 5, "audio": true, "prompt_extend": false, "watermark": false});
    p.as_object_mut().unwrap().extend(parameters.as_object().unwrap().clone());
    json!({"model": "wan2.6-t2v", "input": {"prompt": "a kitten yawns"}, "parameters": p})
}

fn task_id(created: &Value) -> String {
    created["output"]["task_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_task_goes_pending_running_succeeded_with_billed_seconds_and_a_signed_url_that_needs_no_key() {
    let fake = FakeDashscope::start().await;
    let (status, created) = create(&fake, &t2v(json!({}))).await;
    assert_eq!((status, created["output"]["task_status"].as_str()), (200, Some("PENDING")), "{created}");
    let id = task_id(&created);
    assert_eq!(get(&fake, &id).await.1["output"]["task_status"], "RUNNING");
    let (_, done) = get(&fake, &id).await;
    assert_eq!(done["output"]["task_status"], "SUCCEEDED", "{done}");
    assert_eq!((done["usage"]["duration"].clone(), done["usage"]["SR"].clone()), (json!(5), json!(720)));
    let submitted = done["output"]["submit_time"].as_str().unwrap();
    assert_eq!((submitted.len(), &submitted[10..11]), (23, " "), "UTC+8 without a zone: {submitted}");
    let url = done["output"]["video_url"].as_str().unwrap();
    assert!(url.contains("Expires=") && url.contains("Signature="), "{url}");
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(mp4.status().as_u16(), 200);
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1280, 720, 5000, true));
    let leaked = client().get(url).bearer_auth(fake.api_key()).send().await.unwrap();
    assert_eq!(leaked.status().as_u16(), 400);
    assert_eq!(fake.journal().violations().len(), 1);
    fake.expire_results();
    assert_eq!(client().get(url).send().await.unwrap().status().as_u16(), 403);
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test]
async fn a_create_without_the_async_header_is_a_403_and_creates_nothing() {
    let fake = FakeDashscope::start().await;
    let request = client().post(create_url(&fake)).bearer_auth(fake.api_key()).json(&t2v(json!({})));
    let (status, e) = json(request.send().await.unwrap()).await;
    assert_eq!((status, e["code"].as_str()), (403, Some("AccessDenied")), "{e}");
    assert!(e["request_id"].is_string() && e.get("output").is_none(), "{e}");
    assert_eq!(fake.journal().counters().jobs_created, 0);
}

#[tokio::test]
async fn the_documented_body_rules_are_refused_with_the_flat_error_body() {
    let fake = FakeDashscope::start().await;
    let i2v =
        |input: Value, parameters: Value| json!({"model": "wan2.6-i2v", "input": input, "parameters": parameters});
    let image = json!({"prompt": "p", "img_url": "data:image/png;base64,AQID"});
    let cases = [
        (t2v(json!({"duration": "5"})), 400, "InvalidParameter"),
        (t2v(json!({"duration": 5.0})), 400, "InvalidParameter"),
        (t2v(json!({"duration": 16})), 400, "InvalidParameter"),
        (t2v(json!({"size": "1280x720"})), 400, "InvalidParameter"),
        (t2v(json!({"resolution": "720P"})), 400, "InvalidParameter"),
        (t2v(json!({"seed": -1})), 400, "InvalidParameter"),
        (t2v(json!({"prompt_extend": "false"})), 400, "InvalidParameter"),
        (i2v(image.clone(), json!({"size": "1280*720"})), 400, "InvalidParameter"),
        (i2v(json!({"prompt": "p"}), json!({"resolution": "720P"})), 400, "InvalidParameter"),
        (i2v(json!({"prompt": "p", "img_url": "ftp://x"}), json!({})), 400, "InvalidURL"),
        (json!({"model": "wan9", "input": {"prompt": "p"}}), 404, "ModelNotFound"),
        (json!({"model": "wan2.6-t2v", "input": {}}), 400, "BadRequest.EmptyInput"),
    ];
    for (body, status, code) in cases {
        let (got, e) = create(&fake, &body).await;
        assert_eq!((got, e["code"].as_str()), (status, Some(code)), "{body}: {e}");
    }
    let ok = i2v(image, json!({"resolution": "720P", "duration": 5, "audio": false, "prompt_extend": false}));
    assert_eq!(create(&fake, &ok).await.0, 200);
    let media = json!({"model": "wan2.7-i2v", "input": {"media": [{"type": "first_frame", "url": "https://x/f.png"}]},
        "parameters": {"resolution": "720P", "duration": 3, "audio": true, "prompt_extend": false}});
    assert_eq!(create(&fake, &media).await.0, 200);
    assert_eq!(fake.journal().counters().jobs_created, 2);
}

#[tokio::test]
async fn cancel_works_only_while_pending_and_an_unknown_id_is_unknown() {
    let fake = FakeDashscope::start().await;
    let pending = task_id(&create(&fake, &t2v(json!({}))).await.1);
    assert_eq!(cancel(&fake, &pending).await.0, 200);
    assert_eq!(get(&fake, &pending).await.1["output"]["task_status"], "CANCELED");
    let running = task_id(&create(&fake, &t2v(json!({}))).await.1);
    get(&fake, &running).await;
    let (status, e) = cancel(&fake, &running).await;
    assert_eq!((status, e["code"].as_str()), (400, Some("UnsupportedOperation")), "{e}");
    let (status, unknown) = get(&fake, "00000000-0000-0000-0000-000000000000").await;
    assert_eq!((status, unknown["output"]["task_status"].as_str()), (200, Some("UNKNOWN")));
}

#[tokio::test]
async fn scripted_outcomes_give_moderation_at_create_failures_with_and_without_a_reason_and_expiry() {
    let fake = FakeDashscope::start().await;
    let prompt = |text: &str| {
        let mut b = t2v(json!({}));
        b["input"]["prompt"] = json!(text);
        b
    };
    let moderated = Outcome::Error { code: "DataInspectionFailed".into(), message: "inappropriate".into() };
    fake.faults().outcome_for_prompt("blocked", moderated);
    let (status, e) = create(&fake, &prompt("blocked")).await;
    assert_eq!((status, e["code"].as_str()), (400, Some("DataInspectionFailed")));
    assert_eq!(fake.journal().counters().jobs_created, 0);
    fake.faults().outcome_for_prompt("filtered", Outcome::SafetyBlock);
    fake.faults().outcome_for_prompt("broken", Outcome::Error { code: String::new(), message: String::new() });
    fake.faults().outcome_for_prompt("old", Outcome::Status("UNKNOWN".into()));
    for (text, status, code) in [
        ("filtered", "FAILED", json!("DataInspectionFailed")),
        ("broken", "FAILED", Value::Null),
        ("old", "UNKNOWN", Value::Null),
    ] {
        let id = task_id(&create(&fake, &prompt(text)).await.1);
        get(&fake, &id).await;
        let (_, done) = get(&fake, &id).await;
        assert_eq!((done["output"]["task_status"].as_str(), done["output"]["code"].clone()), (Some(status), code));
        assert!(done.get("usage").is_none(), "failures are free: {done}");
    }
    assert!(fake.journal().violations().is_empty());
}

async fn list(fake: &FakeDashscope, query: &str) -> (u16, Value) {
    json(client().get(format!("{}/tasks?{query}", fake.api_base())).bearer_auth(fake.api_key()).send().await.unwrap())
        .await
}

/// `YYYYMMDDhhmmss` at UTC+8 of `unix`.
fn list_time(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix + 8 * 3600).unwrap();
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

#[tokio::test]
async fn the_task_list_filters_by_time_model_and_status_and_pages_without_moving_a_task() {
    let fake = FakeDashscope::start().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(task_id(&create(&fake, &t2v(json!({}))).await.1));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let window = format!("start_time={}&end_time={}", list_time(now - 60), list_time(now + 60));
    let (status, page) = list(&fake, &format!("{window}&model_name=wan2.6-t2v&page_no=1&page_size=2")).await;
    assert_eq!(status, 200, "{page}");
    let listed = |p: &Value| -> Vec<String> {
        p["data"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        (listed(&page), page["total"].clone(), page["total_page"].clone()),
        (ids[..2].to_vec(), json!(3), json!(2))
    );
    assert_eq!(page["data"][0]["status"], "PENDING");
    let (_, second) = list(&fake, &format!("{window}&model_name=wan2.6-t2v&page_no=2&page_size=2")).await;
    assert_eq!(listed(&second), ids[2..].to_vec());
    assert_eq!(get(&fake, &ids[0]).await.1["output"]["task_status"], "RUNNING", "listing moved nothing");
    let earlier = format!("start_time={}&end_time={}", list_time(now - 3600), list_time(now - 600));
    assert_eq!(list(&fake, &earlier).await.1["total"], 0);
    assert_eq!(list(&fake, &format!("{window}&model_name=wan2.5-t2v-preview")).await.1["total"], 0);
    assert_eq!(list(&fake, &format!("{window}&status=RUNNING")).await.1["total"], 1);
    let (status, refused) = list(&fake, "start_time=2026-08-27").await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("InvalidParameter")), "{refused}");
}

#[tokio::test]
async fn a_kf2v_create_takes_both_frame_urls_on_the_image2video_path_and_journals_its_frames() {
    let fake = FakeDashscope::start().await;
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let frames = |input: Value| {
        json!({"model": "wanx2.1-kf2v-plus", "input": input,
            "parameters": {"resolution": "720P", "duration": 5, "prompt_extend": false, "watermark": false}})
    };
    let url = format!("{}/services/aigc/image2video/video-synthesis", fake.api_base());
    let send = |body: Value| {
        let request = client().post(&url).bearer_auth(fake.api_key()).header("X-DashScope-Async", "enable");
        async move { json(request.json(&body).send().await.unwrap()).await }
    };
    let both = json!({"prompt": "a door opens", "first_frame_url": png, "last_frame_url": png});
    let (status, created) = send(frames(both)).await;
    assert_eq!(status, 200, "{created}");
    let (status, refused) = send(frames(json!({"prompt": "a door opens", "first_frame_url": png}))).await;
    assert_eq!((status, refused["code"].as_str()), (400, Some("InvalidParameter")), "{refused}");
    let (status, _) = send(frames(json!({"prompt": "x", "first_frame_url": png, "img_url": png}))).await;
    assert_eq!(status, 400, "img_url is not a kf2v field");
    assert_eq!(fake.create_paths()[0], "/api/v1/services/aigc/image2video/video-synthesis");
    let guides = fake.journal().guides();
    assert_eq!(guides.len(), 1);
    assert_eq!((guides[0].1.image, guides[0].1.last_frame), (true, true));
}
