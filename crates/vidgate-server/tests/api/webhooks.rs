//! Webhooks through the API (docs/api.md §8): signed deliveries of the terminal task object,
//! retries on the configured schedule, `/deliveries`, the secret's rotation, the SSRF rule
//! at submit and at connection, and delivery across a gateway restart. Every delivery is
//! checked by the receiver's own Standard Webhooks verifier (`receiver.rs`).

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_domain::config::Config;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_config};
use crate::receiver::{Receiver, Reply, closed_port};
use crate::restart::{Run, fresh_data_dir};

const LIMIT: Duration = Duration::from_secs(60);

/// The test config with loopback receivers allowed and a short retry schedule.
fn webhook_config(schedule: &[&str]) -> Config {
    let mut c = test_config();
    c.webhooks.allow_private_targets = true;
    c.webhooks.retry_schedule = schedule.iter().map(|s| s.parse().unwrap()).collect();
    c.webhooks.timeout_secs = 5;
    c
}

async fn secret(app: &TestApp) -> String {
    let (s, acct) = app.admin_get(&format!("/admin/v1/accounts/{}", app.account_id)).await;
    assert_eq!(s, StatusCode::OK, "{acct}");
    acct["webhook_secret"].as_str().unwrap().to_owned()
}

/// Polls `/v1/tasks/{id}/deliveries` (with `get`) until `done` holds for the answer.
async fn deliveries_until<F, Fut>(get: F, id: &str, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let (s, list) = get(format!("/v1/tasks/{id}/deliveries")).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        if done(&list) {
            return list;
        }
        assert!(tokio::time::Instant::now() < deadline, "deliveries of {id} did not get there: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The deliveries of a task once its message is delivered or given up.
async fn settled(app: &TestApp, id: &str) -> Value {
    let get = |path: String| async move { app.get(&path, &app.test_key).await };
    deliveries_until(get, id, |l| matches!(l["message"]["state"].as_str(), Some("delivered" | "failed"))).await
}

fn attempts(list: &Value) -> &Vec<Value> {
    list["data"].as_array().unwrap()
}

fn millis(v: &Value) -> i64 {
    let t = time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339);
    (t.unwrap().unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_and_failed_tasks_each_deliver_one_signed_webhook_with_the_task_object() {
    let app = spawn_app_with(webhook_config(&["200ms"; 4])).await;
    let receiver = Receiver::start(vec![]).await;
    receiver.trust(&secret(&app).await);
    let ok = app.submit_tiny(&app.test_key, json!({"callback_url": receiver.url})).await;
    let fault = json!({"callback_url": receiver.url, "metadata": {"sandbox.fault": "upstream_error"}});
    let bad = app.submit_tiny(&app.test_key, fault).await;
    for (task, status) in [(&ok, "completed"), (&bad, "failed")] {
        let id = task["task_id"].as_str().unwrap();
        let done = app.wait_terminal(&app.test_key, id, LIMIT).await;
        assert_eq!(done["status"], status, "{done}");
        let list = settled(&app, id).await;
        assert_eq!((list["object"].as_str(), list["has_more"].as_bool()), (Some("list"), Some(false)));
        assert_eq!(
            (list["message"]["state"].as_str(), list["message"]["attempts"].as_u64()),
            (Some("delivered"), Some(1))
        );
        assert_eq!(list["message"]["url"], receiver.url.as_str());
        let a = &attempts(&list)[0];
        assert_eq!(attempts(&list).len(), 1);
        assert_eq!((&a["id"], &a["attempt"], &a["status"]), (&list["message"]["id"], &json!(1), &json!("delivered")));
        assert_eq!((&a["http_status"], &a["error"], &a["next_retry_at"]), (&json!(200), &Value::Null, &Value::Null));
        let got: Vec<_> = receiver.deliveries().into_iter().filter(|d| d.json()["task_id"] == id).collect();
        assert_eq!(got.len(), 1, "delivered exactly once");
        let d = &got[0];
        assert_eq!(d.verified_with, Some(0), "the signature verifies with the account's secret");
        assert_eq!((d.path.as_str(), d.header("webhook-id")), ("/hook", list["message"]["id"].as_str().unwrap()));
        assert_eq!(d.header("content-type"), "application/json");
        assert!(d.header("user-agent").starts_with("vidgate-webhooks/"), "{}", d.header("user-agent"));
        let body = d.json();
        for field in ["task_id", "object", "model", "status", "credits_used", "completed_at", "error", "metadata"] {
            assert_eq!(body[field], done[field], "{field} of the webhook body");
        }
    }
    let completed = receiver.deliveries().into_iter().find(|d| d.json()["status"] == "completed").unwrap().json();
    let (s, bytes) = app.download(completed["result_url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "the webhook's file URLs work");
    assert_eq!(&bytes[4..8], b"ftyp");
    let failed = receiver.deliveries().into_iter().find(|d| d.json()["status"] == "failed").unwrap().json();
    assert_eq!((failed["error"]["code"].as_str(), &failed["result_url"]), (Some("upstream_error"), &Value::Null));
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("vidgate_webhook_deliveries_total{outcome=\"delivered\"}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_three_attempts_gets_the_fourth_and_deliveries_lists_all_four() {
    let app = spawn_app_with(webhook_config(&["200ms"; 4])).await;
    let script = vec![Reply::Status(500), Reply::Redirect("/elsewhere"), Reply::RetryAfter(429, "1")];
    let receiver = Receiver::start(script).await;
    receiver.trust(&secret(&app).await);
    let task = app.submit_tiny(&app.test_key, json!({"callback_url": receiver.url})).await;
    let id = task["task_id"].as_str().unwrap();
    let got = receiver.wait_for(4, LIMIT).await;
    let list = settled(&app, id).await;
    assert_eq!((list["message"]["state"].as_str(), list["message"]["attempts"].as_u64()), (Some("delivered"), Some(4)));
    let summary: Vec<(u64, &str, u64)> = attempts(&list)
        .iter()
        .map(|a| (a["attempt"].as_u64().unwrap(), a["status"].as_str().unwrap(), a["http_status"].as_u64().unwrap()))
        .collect();
    assert_eq!(summary, [(1, "failed", 500), (2, "failed", 307), (3, "failed", 429), (4, "delivered", 200)]);
    let data = attempts(&list);
    let waits: Vec<i64> = data[..3].iter().map(|a| millis(&a["next_retry_at"]) - millis(&a["attempted_at"])).collect();
    assert!(waits[..2].iter().all(|w| (180..=220).contains(w)), "200ms ± 10%: {waits:?}");
    assert!(waits[2] >= 1000, "a later Retry-After wins over the schedule: {waits:?}");
    assert!(data[3]["next_retry_at"].is_null());
    // four signed attempts of one message; the redirect was not followed
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got.iter().map(|d| d.answered).collect::<Vec<_>>(), [500, 307, 429, 200]);
    assert!(got.iter().all(|d| d.path == "/hook" && d.verified_with == Some(0)), "{got:?}");
    let ids: HashSet<&str> = got.iter().map(|d| d.header("webhook-id")).collect();
    assert_eq!(ids, HashSet::from([list["message"]["id"].as_str().unwrap()]), "webhook-id is stable across retries");
    let stamps: Vec<i64> = got.iter().map(|d| d.header("webhook-timestamp").parse().unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_succeeds_is_given_up_after_the_last_retry() {
    let app = spawn_app_with(webhook_config(&["200ms", "200ms"])).await;
    let receiver = Receiver::start(vec![Reply::Status(500); 10]).await;
    let task = app.submit_tiny(&app.test_key, json!({"callback_url": receiver.url})).await;
    let list = settled(&app, task["task_id"].as_str().unwrap()).await;
    assert_eq!((list["message"]["state"].as_str(), list["message"]["attempts"].as_u64()), (Some("failed"), Some(3)));
    let retries: Vec<bool> = attempts(&list).iter().map(|a| a["next_retry_at"].is_string()).collect();
    assert_eq!(retries, [true, true, false]);
    assert!(list["message"]["finished_at"].is_string() && list["message"]["next_attempt_at"].is_null());
    assert_eq!(receiver.deliveries().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_410_is_given_up_at_once() {
    let app = spawn_app_with(webhook_config(&["200ms"; 4])).await;
    let receiver = Receiver::start(vec![Reply::Status(410)]).await;
    let task = app.submit_tiny(&app.test_key, json!({"callback_url": receiver.url})).await;
    let list = settled(&app, task["task_id"].as_str().unwrap()).await;
    assert_eq!((list["message"]["state"].as_str(), list["message"]["attempts"].as_u64()), (Some("failed"), Some(1)));
    assert_eq!((&attempts(&list)[0]["http_status"], &attempts(&list)[0]["next_retry_at"]), (&json!(410), &Value::Null));
    assert_eq!(receiver.deliveries().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_the_attempts_after_the_rotation() {
    let app = spawn_app_with(webhook_config(&["2s"])).await;
    let receiver = Receiver::start(vec![Reply::Status(503)]).await;
    let old = secret(&app).await;
    receiver.trust(&old);
    let task = app.submit_tiny(&app.test_key, json!({"callback_url": receiver.url})).await;
    let id = task["task_id"].as_str().unwrap();
    let app = &app;
    let get = |path: String| async move { app.get(&path, &app.test_key).await };
    deliveries_until(get, id, |l| attempts(l).len() == 1).await;
    let path = format!("/admin/v1/accounts/{}/webhook-secret", app.account_id);
    let (s, acct) = app.admin_post(&path, &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{acct}");
    let new = acct["webhook_secret"].as_str().unwrap();
    assert!(new.starts_with("whsec_") && new != old);
    receiver.trust(new);
    let got = receiver.wait_for(2, LIMIT).await;
    assert_eq!((got[0].verified_with, got[1].verified_with), (Some(0), Some(1)), "old secret, then the new one");
    assert_eq!(settled(app, id).await["message"]["state"], "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_url_to_a_private_address_is_refused_at_submit_unless_allowed() {
    let app = spawn_app().await;
    for url in [
        "https://127.0.0.1/hook",
        "https://0x7f.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://hooks.example.com/hook",
    ] {
        let body = json!({"model": "tiny", "prompt": "x", "callback_url": url});
        let (s, e, _) = app.post("/v1/videos/generations", &app.test_key, &body).await;
        let got = (s, e["error"]["code"].as_str(), e["error"]["param"].as_str());
        assert_eq!(got, (StatusCode::BAD_REQUEST, Some("invalid_param"), Some("callback_url")), "{url}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(!message.contains("127.0.0.1") && !message.contains("10.1.2.3"), "names no address: {message}");
    }
    let (_, list) = app.admin_get("/admin/v1/tasks?limit=100").await;
    assert_eq!(list["data"], json!([]), "a refused submit leaves no task");
    // the operator's switch allows them (the other tests' receivers are on loopback)
    let allowed = spawn_app_with(webhook_config(&[])).await;
    let t = allowed.submit_tiny(&allowed.test_key, json!({"callback_url": "http://127.0.0.1:9/hook"})).await;
    assert_eq!(t["status"], "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_resolves_to_loopback_is_refused_when_connecting() {
    let mut config = test_config();
    config.webhooks.retry_schedule = vec!["200ms".parse().unwrap()];
    let app = spawn_app_with(config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = connections.clone();
    let acceptor = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let url = format!("https://localhost:{port}/hook");
    let task = app.submit_tiny(&app.test_key, json!({"callback_url": url})).await;
    let list = settled(&app, task["task_id"].as_str().unwrap()).await;
    assert_eq!((list["message"]["state"].as_str(), list["message"]["attempts"].as_u64()), (Some("failed"), Some(2)));
    for a in attempts(&list) {
        assert_eq!((&a["error"], &a["http_status"]), (&json!("target_refused"), &Value::Null), "{a}");
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the loopback listener");
    acceptor.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_private_to_the_account_and_empty_without_a_callback() {
    let app = spawn_app().await;
    let (_, other_key) = app.account_with_key("other", "test").await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let (s, list) = app.get(&format!("/v1/tasks/{id}/deliveries"), &app.test_key).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list, json!({"object": "list", "data": [], "has_more": false, "message": null}));
    let (s, e) = app.get(&format!("/v1/tasks/{id}/deliveries"), &other_key).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("task_not_found")));
    let (s, unknown) = app.get("/v1/tasks/task_01M85TJ9BB221AE4CYY857DJ4G/deliveries", &other_key).await;
    assert_eq!((s, &unknown), (StatusCode::NOT_FOUND, &e), "another account's task looks unknown");
    let r = app.client.get(format!("{}/v1/tasks/{id}/deliveries", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_across_a_gateway_restart_still_gets_its_delivery() {
    let port = closed_port().await;
    let mut config = webhook_config(&["500ms"; 120]);
    config.server.shutdown_grace_secs = 2;
    let dir = fresh_data_dir();
    let (first, creds) = Run::start(config.clone(), &dir).await;
    let creds = creds.expect("a fresh data dir bootstraps");
    let key = creds.test_api_key.clone();
    let body = json!({"model": "tiny", "prompt": "x", "callback_url": format!("http://127.0.0.1:{port}/hook")});
    let (s, task) = first.post("/v1/videos/generations", &key, &body).await;
    assert_eq!(s, StatusCode::OK, "{task}");
    let id = task["task_id"].as_str().unwrap();
    let before = deliveries_until(|p: String| first.get_owned(p, &key), id, |l| !attempts(l).is_empty()).await;
    assert_eq!(attempts(&before)[0]["error"], "connect", "the receiver is down: {before}");
    first.stop().await;

    let (second, again) = Run::start(config, &dir).await;
    assert!(again.is_none(), "the restart finds the database bootstrapped");
    let seen = attempts(&before).len();
    // the restarted gateway carries on with the same message (still failing: receiver down)
    let resumed = deliveries_until(|p: String| second.get_owned(p, &key), id, |l| attempts(l).len() > seen + 1).await;
    assert_eq!(resumed["message"]["id"], before["message"]["id"]);
    assert_eq!(resumed["message"]["state"], "pending");

    let receiver = Receiver::start_on(port, vec![]).await;
    let (_, acct) = second.get(&format!("/admin/v1/accounts/{}", creds.account_id), &creds.admin_token).await;
    receiver.trust(acct["webhook_secret"].as_str().unwrap());
    let got = receiver.wait_for(1, LIMIT).await;
    let after =
        deliveries_until(|p: String| second.get_owned(p, &key), id, |l| l["message"]["state"] == "delivered").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].verified_with, Some(0));
    assert_eq!(got[0].header("webhook-id"), before["message"]["id"].as_str().unwrap());
    assert_eq!((got[0].json()["task_id"].as_str(), got[0].json()["status"].as_str()), (Some(id), Some("completed")));
    let data = attempts(&after);
    let (last, earlier) = data.split_last().unwrap();
    assert_eq!((&last["status"], &last["http_status"]), (&json!("delivered"), &json!(200)));
    assert!(earlier.iter().all(|a| a["status"] == "failed" && a["error"] == "connect"), "{after}");
    let numbers: Vec<u64> = data.iter().map(|a| a["attempt"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=data.len() as u64).collect::<Vec<_>>(), "attempts of both runs, in order");
    second.stop().await;
}
