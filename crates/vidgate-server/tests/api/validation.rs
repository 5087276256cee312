//! Every validation rule of docs/api.md §4, sent over HTTP: the bad value, then the exact status,
//! `code` and `param`, and no task left behind.

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_domain::request::parse_cases::validation_cases;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_value_gets_its_status_code_and_param() {
    let app = spawn_app().await;
    for (body, code, param) in validation_cases() {
        let (status, err, headers) = app.post("/v1/tasks/submit", &app.test_key, &body).await;
        assert_eq!(status.as_u16(), code.status(), "{body} -> {err}");
        assert_eq!(err["error"]["code"], code.as_str(), "{body} -> {err}");
        assert_eq!(err["error"]["param"], param, "{body} -> {err}");
        assert_eq!(err["error"]["type"], code.error_type(), "{body} -> {err}");
        assert!(headers.contains_key("x-request-id"));
        // The same body on the seed's surface: the same refusal, except that `params` is
        // unknown there.
        if body.get("params").is_none() {
            let (status, err2, _) = app.post("/v1/videos/generations", &app.test_key, &body).await;
            assert_eq!((status.as_u16(), &err2["error"]["code"]), (code.status(), &err["error"]["code"]), "{body}");
        }
    }
    let (_, list) = app.admin_get("/admin/v1/tasks").await;
    assert_eq!(list["data"], json!([]), "refused requests leave no trace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_is_unknown_on_the_seed_surface() {
    let app = spawn_app().await;
    let body = json!({"model": "tiny", "params": {"prompt": "x"}});
    let (s, e, _) = app.post("/v1/videos/generations", &app.test_key, &body).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_param"), Some("params"))
    );
}

async fn raw(app: &crate::helpers::TestApp, content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    let mut req = app.client.post(format!("{}/v1/videos/generations", app.base)).bearer_auth(&app.test_key).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_mistyped_bodies_are_refused() {
    let app = spawn_app().await;
    let (s, e) = raw(&app, Some("application/json"), b"{not json".to_vec()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    let (s, e) = raw(&app, Some("application/json"), b"[1,2]".to_vec()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    let (s, e) = raw(&app, Some("text/plain"), b"{}".to_vec()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type")));
    let big = format!("{{\"model\":\"tiny\",\"prompt\":\"{}\"}}", "a".repeat(1024 * 1024));
    let (s, e) = raw(&app, Some("application/json"), big.into_bytes()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("request_too_large")));
    let (s, _) = raw(&app, None, br#"{"model":"tiny","prompt":"x"}"#.to_vec()).await;
    assert_eq!(s, StatusCode::OK, "a JSON body without a content type is accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_replays_the_task_and_refuses_a_changed_request() {
    let app = spawn_app().await;
    let body = json!({"model": "tiny", "prompt": "same", "size": "160x90", "out_task_id": "k-1"});
    let (s1, first, h1) = app.post("/v1/videos/generations", &app.test_key, &body).await;
    assert_eq!(s1, StatusCode::OK);
    assert!(h1.get("idempotent-replayed").is_none());
    // the default written out is the same request
    let same = json!({"model": "tiny-alias", "prompt": "same", "out_task_id": "k-1", "duration_seconds": 1});
    let (s2, second, h2) = app.post("/v1/videos/generations", &app.test_key, &same).await;
    assert_eq!((s2, h2.get("idempotent-replayed").map(|v| v.to_str().unwrap())), (StatusCode::OK, Some("true")));
    assert_eq!(first["task_id"], second["task_id"]);
    let changed = json!({"model": "tiny", "prompt": "different", "out_task_id": "k-1"});
    let (s3, e, h3) = app.post("/v1/videos/generations", &app.test_key, &changed).await;
    assert_eq!((s3, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_out_task_id")));
    assert_eq!(h3["x-should-retry"], "false");
    // the header is the same key
    let r = app
        .client
        .post(format!("{}/v1/videos/generations", app.base))
        .bearer_auth(&app.test_key)
        .header("Idempotency-Key", "k-1")
        .json(&json!({"model": "tiny", "prompt": "same"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let r = app
        .client
        .post(format!("{}/v1/videos/generations", app.base))
        .bearer_auth(&app.test_key)
        .header("Idempotency-Key", "k-2")
        .json(&json!({"model": "tiny", "prompt": "same", "out_task_id": "k-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "Idempotency-Key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    let r = app.client.get(format!("{}/v1/nothing", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().contains_key("x-request-id"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "not_found");
    let r = app.client.delete(format!("{}/v1/videos/generations", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_image_url_to_a_private_address_is_refused() {
    let app = spawn_app().await;
    let body = json!({"model": "tiny", "prompt": "x", "source_image": "https://127.0.0.1:9/cat.png"});
    let (s, e, _) = app.post("/v1/videos/generations", &app.test_key, &body).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("source_image_unreadable"), Some("source_image"))
    );
    let body = json!({"model": "tiny", "prompt": "x", "source_image": "data:image/png;base64,iVBORw0KGgoAAAAA"});
    let (s, e, _) = app.post("/v1/videos/generations", &app.test_key, &body).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("source_image_unreadable")),
        "a PNG signature alone is not an image"
    );
}
