//! The task engine through the API: concurrency across accounts, isolation, long-poll,
//! the async task family, sandbox faults, and the operations endpoints.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_submits_from_four_accounts_complete_and_stay_private() {
    let app = spawn_app().await;
    let mut keys = Vec::new();
    for i in 0..4 {
        keys.push(app.account_with_key(&format!("acct-{i}"), "test").await.1);
    }
    let mut handles = Vec::new();
    for n in 0..200 {
        let (client, base, key) = (app.client.clone(), app.base.clone(), keys[n % 4].clone());
        handles.push(tokio::spawn(async move {
            let body = json!({"model": "tiny", "prompt": format!("clip {n}"), "audio": n % 2 == 0});
            let r = client
                .post(format!("{base}/v1/videos/generations"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            (n % 4, r.json::<Value>().await.unwrap()["task_id"].as_str().unwrap().to_owned())
        }));
    }
    let mut ids: Vec<(usize, String)> = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    assert_eq!(ids.iter().map(|(_, id)| id.clone()).collect::<HashSet<_>>().len(), 200);
    for (owner, id) in &ids {
        let done = app.wait_terminal(&keys[*owner], id, Duration::from_secs(240)).await;
        assert_eq!(done["status"], "completed", "{done}");
        let other = &keys[(owner + 1) % 4];
        let (status, body) = app.get(&format!("/v1/videos/tasks/{id}"), other).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another account's task is unknown: {body}");
        assert_eq!(body["error"]["code"], "task_not_found");
    }
    let (_, list) = app.admin_get("/admin/v1/tasks?limit=100&status=completed").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 100);
    assert_eq!(list["has_more"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_task_and_another_accounts_task_look_the_same() {
    let app = spawn_app().await;
    let (_, other_key) = app.account_with_key("other", "test").await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let (s1, b1) = app.get(&format!("/v1/videos/tasks/{id}"), &other_key).await;
    let (s2, b2) = app.get("/v1/videos/tasks/task_01M85TJ9BB221AE4CYY857DJ4G", &other_key).await;
    let (s3, b3) = app.get("/v1/videos/tasks/not-an-id", &other_key).await;
    assert_eq!((s1, s2, s3), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(b1, b2);
    assert_eq!(b2, b3);
    let (s, _, _) = app.post(&format!("/v1/tasks/cancel/{id}"), &other_key, &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_returns_as_soon_as_the_task_changes() {
    let mut config = crate::helpers::test_config();
    config.sandbox.queue_delay_ms = 1500;
    let app = crate::helpers::spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let started = std::time::Instant::now();
    let (_, t) = app.get(&format!("/v1/videos/tasks/{id}?wait=30"), &app.test_key).await;
    let waited = started.elapsed();
    assert_eq!(t["status"], "running", "the change it waited for is the start: {t}");
    assert!(waited < Duration::from_secs(20), "returned on the change, not the timeout ({waited:?})");
    let (s, body) = app.get(&format!("/v1/videos/tasks/{id}?wait=0"), &app.test_key).await;
    assert_eq!((s, body["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("wait")));
    let (s, _) = app.get(&format!("/v1/videos/tasks/{id}?wait=61"), &app.test_key).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_faults_end_in_the_documented_state_unbilled() {
    let app = spawn_app().await;
    let cases = [
        ("upstream_error", "upstream_error"),
        ("content_filtered", "content_filtered"),
        ("invalid_result", "invalid_result"),
        ("timeout", "timeout"),
    ];
    let mut ids = Vec::new();
    for (fault, _) in cases {
        let t = app.submit_tiny(&app.test_key, json!({"metadata": {"sandbox.fault": fault}})).await;
        ids.push(t["task_id"].as_str().unwrap().to_owned());
    }
    for (id, (_, code)) in ids.iter().zip(cases) {
        let done = app.wait_terminal(&app.test_key, id, Duration::from_secs(30)).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["error"]["code"], code, "{done}");
        assert_eq!(done["credits_used"], json!(0));
        assert!(done["result_url"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_family_queries_and_cancels_by_either_id() {
    let mut config = crate::helpers::test_config();
    config.sandbox.queue_delay_ms = 60_000;
    let app = crate::helpers::spawn_app_with(config).await;
    let body = json!({"model": "tiny", "out_task_id": "order-7", "params": {"prompt": "x", "duration_seconds": 2}});
    let (s, task, _) = app.post("/v1/tasks/submit", &app.test_key, &body).await;
    assert_eq!(s, StatusCode::OK, "{task}");
    let id = task["task_id"].as_str().unwrap();
    assert_eq!(task["duration_seconds"], 2);
    let (s, q) = app.get("/v1/tasks/query?out_task_id=order-7", &app.test_key).await;
    assert_eq!((s, q["task_id"].as_str()), (StatusCode::OK, Some(id)));
    let (s, q, _) = app.post("/v1/tasks/query", &app.test_key, &json!({"task_id": id})).await;
    assert_eq!((s, q["task_id"].as_str()), (StatusCode::OK, Some(id)));
    let (s, e, _) = app.post("/v1/tasks/query", &app.test_key, &json!({"task_id": id, "out_task_id": "order-7"})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_param")));
    let (s, e, _) = app.post("/v1/tasks/query", &app.test_key, &json!({})).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("task_id")));
    // cancel while queued: free
    let (s, c, _) = app.post("/v1/tasks/cancel", &app.test_key, &json!({"out_task_id": "order-7"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((c["status"].as_str(), &c["credits_used"]), (Some("cancelled"), &json!(0)));
    assert_eq!(c["error"]["code"], "cancelled");
    // cancelling again returns it unchanged
    let (s, again, _) =
        app.post(&format!("/v1/tasks/cancel/{id}"), &app.test_key, &json!({"task_id": "ignored"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["status"], "cancelled");
    assert_eq!(again["completed_at"], c["completed_at"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_completed_task_returns_it_unchanged() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let done = app.wait_terminal(&app.test_key, id, Duration::from_secs(30)).await;
    let (s, after, _) = app.post(&format!("/v1/tasks/cancel/{id}"), &app.test_key, &json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (after["status"].clone(), after["credits_used"].clone()),
        (done["status"].clone(), done["credits_used"].clone())
    );
    assert_eq!(after["completed_at"], done["completed_at"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_transitions_and_sandbox_jobs() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    app.wait_terminal(&app.test_key, task["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(5200)).await; // one gauge refresh
    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    for needle in [
        "vidgate_http_requests_total{route=\"/v1/videos/generations\",method=\"POST\",status=\"200\"}",
        "vidgate_task_transitions_total{model=\"tiny\",provider=\"sandbox\",status=\"completed\"}",
        "vidgate_provider_jobs_total{provider=\"sandbox\"}",
        "vidgate_queue_depth",
        "vidgate_tasks_in_flight",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_openapi_answer() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().contains_key("x-request-id"));
    }
    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/videos/generations",
        "/v1/videos/tasks/{task_id}",
        "/v1/tasks/submit",
        "/v1/tasks/query",
        "/v1/tasks/cancel",
        "/v1/tasks/cancel/{task_id}",
        "/v1/tasks/stream/{task_id}",
        "/v1/tasks/{task_id}/deliveries",
        "/v1/models",
        "/v1/models/{model_id}",
        "/v1/balance",
        "/v1/usage",
        "/admin/v1/usage",
        "/v1/videos",
        "/v1/videos/{video_id}",
        "/v1/videos/{video_id}/content",
        "/v1/videos/{video_id}/remix",
        "/admin/v1/accounts",
        "/admin/v1/accounts/{id}",
        "/admin/v1/accounts/{id}/credits",
        "/admin/v1/accounts/{id}/webhook-secret",
        "/admin/v1/keys",
        "/admin/v1/keys/{id}",
        "/admin/v1/tasks",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from /openapi.json");
    }
    assert!(doc["components"]["schemas"]["TaskObject"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_queued_running_completed_and_closes() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let r =
        app.client.get(format!("{}/v1/tasks/stream/{id}", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(Duration::from_secs(30), r.text()).await.expect("the stream closes").unwrap();
    let statuses: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap()["status"].as_str().unwrap().to_owned())
        .collect();
    let mut distinct = statuses.clone();
    distinct.dedup();
    assert_eq!(distinct, ["queued", "running", "completed"], "{text}");
    assert!(text.contains("event: task"));
    // the signed stream_url works without headers
    let url = task["stream_url"].as_str().unwrap();
    let body = app.client.get(url).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("\"status\":\"completed\""), "{body}");
}

/// Reads an SSE body for `for_ms`, returning what arrived.
async fn read_stream_for(r: reqwest::Response, for_ms: u64) -> String {
    let mut r = r;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(for_ms);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, r.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_resumes_from_last_event_id_and_sends_heartbeats() {
    let mut config = crate::helpers::test_config();
    config.sandbox.queue_delay_ms = 60_000;
    config.server.sse_heartbeat_secs = 1;
    let app = crate::helpers::spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let url = format!("{}/v1/tasks/stream/{id}", app.base);
    // No Last-Event-ID: the current state at once.
    let r = app.client.get(&url).bearer_auth(&app.test_key).send().await.unwrap();
    let first = read_stream_for(r, 1500).await;
    assert!(first.contains("event: task") && first.contains("\"status\":\"queued\""), "{first}");
    let version = first.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().trim().to_owned();
    // Resuming at the current version: nothing new, only heartbeats.
    let r = app.client.get(&url).bearer_auth(&app.test_key).header("last-event-id", &version).send().await.unwrap();
    let resumed = read_stream_for(r, 2500).await;
    assert!(!resumed.contains("event: task"), "nothing newer than {version}: {resumed}");
    assert!(resumed.contains(": heartbeat"), "a comment heartbeat every second: {resumed:?}");
    // Resuming from an older version: the current state at once.
    let r = app.client.get(&url).bearer_auth(&app.test_key).header("last-event-id", "0").send().await.unwrap();
    let older = read_stream_for(r, 1500).await;
    assert!(older.contains(&format!("id: {version}")), "{older}");
}
