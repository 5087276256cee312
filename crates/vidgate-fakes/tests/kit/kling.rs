//! The Kling fake against the Kling digest (docs/upstreams.md §10): a legacy create goes
//! submitted → processing → succeed with a string duration, units billed and a CDN URL that
//! needs no key and expires; JWTs are checked for signature, `iss`, `nbf` (1003) and `exp`
//! (1004) and the API key is accepted; string durations, `mode`, `sound` rules, raw Base64
//! images and text-to-video-only aspect ratios are enforced in the numeric error envelope;
//! scripted outcomes give moderation and balance refusals, also inside HTTP 200.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use vidgate_fakes::{FakeKling, Outcome};

use crate::helpers::{client, json, probe, unix_now};

/// A token as digest §2 builds it.
fn jwt(access: &str, secret: &str, exp: u64, nbf: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(json!({"iss": access, "exp": exp, "nbf": nbf}).to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn token(fake: &FakeKling) -> String {
    let creds = fake.access_credentials();
    let (ak, sk) = creds.split_once(':').unwrap();
    jwt(ak, sk, unix_now() + 1800, unix_now() - 5)
}

async fn create_with(fake: &FakeKling, kind: &str, bearer: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}/v1/videos/{kind}", fake.base_url());
    json(client().post(url).bearer_auth(bearer).json(body).send().await.unwrap()).await
}

async fn create(fake: &FakeKling, kind: &str, body: &Value) -> (u16, Value) {
    create_with(fake, kind, &token(fake), body).await
}

async fn get(fake: &FakeKling, kind: &str, id: &str) -> (u16, Value) {
    let url = format!("{}/v1/videos/{kind}/{id}", fake.base_url());
    json(client().get(url).bearer_auth(token(fake)).send().await.unwrap()).await
}

fn t2v(extra: Value) -> Value {
    let mut body = json!({"model_name": "kling-v2-6", "prompt": "a kitten yawns", "mode": "pro", "duration": "5",
        "aspect_ratio": "16:9", "sound": "on", "external_task_id": "vg-1"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

/// A text-to-video body without an `external_task_id`, for several creates.
fn anonymous() -> Value {
    let mut body = t2v(json!({}));
    body.as_object_mut().unwrap().remove("external_task_id");
    body
}

/// A PNG header (IHDR only; the fake reads the size).
fn png_base64(w: u32, h: u32) -> String {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(w.to_be_bytes());
    png.extend(h.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(png)
}

#[tokio::test]
async fn a_task_goes_submitted_processing_succeed_with_units_a_string_duration_and_a_cdn_url_that_expires() {
    let fake = FakeKling::start().await;
    let (status, created) = create(&fake, "text2video", &t2v(json!({}))).await;
    assert_eq!((status, created["code"].clone(), created["message"].clone()), (200, json!(0), json!("SUCCEED")));
    assert_eq!(created["data"]["task_status"], "submitted", "{created}");
    assert_eq!(created["data"]["task_info"]["external_task_id"], "vg-1");
    let id = created["data"]["task_id"].as_str().unwrap().to_owned();
    assert_eq!(get(&fake, "text2video", &id).await.1["data"]["task_status"], "processing");
    // By external_task_id too (digest §5, trap 7).
    let (_, done) = get(&fake, "text2video", "vg-1").await;
    assert_eq!(done["data"]["task_status"], "succeed", "{done}");
    let video = &done["data"]["task_result"]["videos"][0];
    assert_eq!((video["duration"].clone(), done["data"]["final_unit_deduction"].clone()), (json!("5.041"), json!("5")));
    let url = video["url"].as_str().unwrap();
    let mp4 = client().get(url).send().await.unwrap();
    assert_eq!(mp4.status().as_u16(), 200);
    assert_eq!(probe(&mp4.bytes().await.unwrap()), (1920, 1080, 5041, true));
    assert_eq!(get(&fake, "image2video", &id).await.0, 404, "a task is read on its own endpoint");
    fake.expire_results();
    assert_eq!(client().get(url).send().await.unwrap().status().as_u16(), 403);
    assert!(fake.journal().notes().is_empty(), "{:?}", fake.journal().notes());
}

#[tokio::test]
async fn tokens_are_checked_for_signature_issuer_nbf_and_exp_and_the_api_key_passes() {
    let fake = FakeKling::start().await;
    let now = unix_now();
    let creds = fake.access_credentials();
    let (ak, sk) = creds.split_once(':').unwrap();
    let code = |r: (u16, Value)| (r.0, r.1["code"].as_u64().unwrap_or(0));
    let body = anonymous();
    assert_eq!(code(create_with(&fake, "text2video", &jwt(ak, "wrong", now + 60, now), &body).await), (401, 1002));
    assert_eq!(code(create_with(&fake, "text2video", &jwt("other", sk, now + 60, now), &body).await), (401, 1002));
    assert_eq!(code(create_with(&fake, "text2video", &jwt(ak, sk, now + 60, now + 30), &body).await), (401, 1003));
    assert_eq!(code(create_with(&fake, "text2video", &jwt(ak, sk, now - 1, now - 60), &body).await), (401, 1004));
    assert_eq!(code(create_with(&fake, "text2video", "", &body).await), (401, 1001));
    assert_eq!(code(create_with(&fake, "text2video", fake.api_key(), &body).await), (200, 0));
    fake.set_clock_ahead(120);
    assert_eq!(code(create_with(&fake, "text2video", &jwt(ak, sk, now + 60, now), &body).await), (401, 1004));
    assert_eq!(fake.journal().counters().jobs_created, 1);
}

#[tokio::test]
async fn the_documented_body_rules_are_refused_with_code_1201() {
    let fake = FakeKling::start().await;
    let refused = |extra: Value| {
        let fake = &fake;
        async move {
            let (status, e) = create(fake, "text2video", &t2v(extra)).await;
            assert_eq!((status, e["code"].clone()), (400, json!(1201)), "{e}");
            e["message"].as_str().unwrap().to_owned()
        }
    };
    assert!(refused(json!({"duration": 5})).await.contains("string"));
    assert!(refused(json!({"duration": "6"})).await.contains("not one"));
    assert!(refused(json!({"mode": "std"})).await.contains("1080p only"));
    assert!(refused(json!({"model_name": "kling-v2-5-turbo"})).await.contains("sound"));
    assert!(refused(json!({"aspect_ratio": "4:3"})).await.contains("aspect_ratio"));
    assert!(refused(json!({"seed": 1})).await.contains("unknown field"));
    let (status, e) = create(&fake, "text2video", &t2v(json!({"model_name": "kling-2.6"}))).await;
    assert_eq!((status, e["code"].clone()), (404, json!(1203)), "a new-standard id on a legacy path");
    let i2v = |extra: Value| {
        let mut b = json!({"model_name": "kling-v3", "prompt": "go", "mode": "std", "duration": "7",
            "sound": "off", "multi_shot": false, "image": png_base64(400, 300)});
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let (status, ok) = create(&fake, "image2video", &i2v(json!({"image_tail": png_base64(400, 300)}))).await;
    assert_eq!(status, 200, "{ok}");
    for (extra, why) in [
        (json!({"image": format!("data:image/png;base64,{}", png_base64(400, 300))}), "data: prefix"),
        (json!({"image": png_base64(200, 300)}), "300 px"),
        (json!({"aspect_ratio": "16:9"}), "no aspect_ratio"),
    ] {
        let (status, e) = create(&fake, "image2video", &i2v(extra)).await;
        assert_eq!(status, 400, "{e}");
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    let (_, _) = create(
        &fake,
        "text2video",
        &t2v(json!({"model_name": "kling-v3", "duration": "7", "mode": "std",
        "sound": "off", "external_task_id": "vg-2"})),
    )
    .await;
    assert!(fake.journal().notes().iter().any(|n| n.what.contains("multi_shot")), "trap 9 noted");
}

#[tokio::test]
async fn moderation_and_balance_refuse_the_create_also_inside_http_200_and_failures_name_their_reason() {
    let fake = FakeKling::start().await;
    let error = |code: &str| Outcome::Error { code: code.into(), message: "refused".into() };
    fake.faults().push_outcome(error("1301")).push_outcome(error("1102")).push_outcome(error("1102"));
    let body = anonymous();
    assert_eq!(create(&fake, "text2video", &body).await.1["code"], 1301);
    let (status, e) = create(&fake, "text2video", &body).await;
    assert_eq!((status, e["code"].clone()), (429, json!(1102)), "money as a 429 (trap 3)");
    fake.errors_in_http_200(true);
    let (status, e) = create(&fake, "text2video", &body).await;
    assert_eq!((status, e["code"].clone()), (200, json!(1102)), "{e}");
    assert_eq!(fake.journal().counters().jobs_created, 0);
    fake.faults().push_outcome(Outcome::SafetyBlock);
    let id = create(&fake, "text2video", &body).await.1["data"]["task_id"].as_str().unwrap().to_owned();
    get(&fake, "text2video", &id).await;
    let (_, failed) = get(&fake, "text2video", &id).await;
    assert_eq!((failed["message"].clone(), failed["data"]["task_status"].clone()), (json!("SUCCEED"), json!("failed")));
    assert!(failed["data"]["task_status_msg"].as_str().unwrap().contains("risk control"), "{failed}");
    assert_eq!(failed["data"].get("final_unit_deduction"), None, "failed tasks deduct nothing");
}
