//! Live keys on real upstream adapters, end to end over HTTP: a second vidgate as the
//! upstream (chained gateways: its test key renders with its sandbox), the plan recorded on
//! the task, refusals at submit, failover before acceptance, and a submit whose outcome is
//! unknown failing unbilled as a possible orphan (docs/api.md §7, §11).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_domain::config::Config;
use vidgate_domain::upstream::UpstreamConfig;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_config};
use crate::restart::{Run, fresh_data_dir};

const WAIT: Duration = Duration::from_secs(60);

fn upstream(entry: Value) -> UpstreamConfig {
    serde_json::from_value(entry).expect("an upstream entry")
}

/// A vidgate upstream entry for `tiny` pointing at `up` with its test key.
fn chained(name: &str, up: &TestApp) -> Value {
    json!({
        "name": name, "kind": "vidgate", "base_url": up.base, "credentials": up.test_key, "serves": ["tiny"],
        "expected_latency_secs": 1, "deadline_secs": 60, "usd_per_second": {"default": "0.10"},
    })
}

fn with_upstreams(entries: Vec<Value>) -> Config {
    let mut c = test_config();
    c.upstreams = entries.into_iter().map(upstream).collect();
    // Routes from `serves` are merged into the catalog when it is built from the config.
    c
}

async fn live_key_with_credit(app: &TestApp) -> (String, String) {
    let (account, key) = app.account_with_key("live", "live").await;
    let (s, body) =
        app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &json!({"amount_usd": 10, "note": "t"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (account, key)
}

async fn admin_task(app: &TestApp, account: &str, task_id: &str) -> Value {
    let (s, list) = app.admin_get(&format!("/admin/v1/tasks?account_id={account}")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["data"].as_array().unwrap().iter().find(|t| t["task_id"] == task_id).cloned().expect("the task is listed")
}

async fn balance(app: &TestApp, key: &str) -> Value {
    let (s, b) = app.get("/v1/balance", key).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test]
async fn a_chained_vidgate_delivers_a_live_task_and_records_the_plan_and_cost() {
    let up = spawn_app().await;
    let app = spawn_app_with(with_upstreams(vec![chained("up", &up)])).await;
    let (account, key) = live_key_with_credit(&app).await;
    let task = app.submit_tiny(&key, json!({"duration_seconds": 2, "audio": true})).await;
    let done = app.wait_terminal(&key, task["task_id"].as_str().unwrap(), WAIT).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["credits_used"], json!(0.5));
    assert!(done["audio_url"].is_string(), "{done}");
    assert!(
        !done["result_url"].as_str().unwrap().starts_with(&format!("{}/", up.base)),
        "no upstream URL is handed out"
    );
    let admin = admin_task(&app, &account, task["task_id"].as_str().unwrap()).await;
    assert_eq!(admin["upstream"], "up");
    assert_eq!(admin["upstream_cost_usd"], json!(0.2), "2 s at 0.10");
    assert_eq!(admin["plan"]["current"], 0);
    assert_eq!(admin["plan"]["routes"][0]["upstream_seconds"], 2);
    assert_eq!(admin["plan"]["routes"][0]["trim_to_ms"], 2000);
    assert_eq!(balance(&app, &key).await["held_usd"], json!(0));
}

#[tokio::test]
async fn a_combination_no_route_can_deliver_is_refused_at_submit_with_the_reason() {
    let up = spawn_app().await;
    let mut entry = chained("up", &up);
    entry["durations"] = json!([1]);
    entry["sizes"] = json!(["160x90", "90x160"]);
    let app = spawn_app_with(with_upstreams(vec![entry])).await;
    let (_, key) = live_key_with_credit(&app).await;
    let body = json!({"model": "tiny", "prompt": "a ball", "duration_seconds": 2});
    let (status, err, _) = app.post("/v1/videos/generations", &key, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["code"], "unsupported_value");
    assert_eq!(err["error"]["param"], "duration_seconds");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("up: its longest clip at this size is 1 s"), "{message}");
    let (status, err, _) =
        app.post("/v1/videos/generations", &key, &json!({"model": "veo3.1", "prompt": "a ball"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{err}");
    assert_eq!(err["error"]["code"], "model_unavailable");
    assert_eq!(balance(&app, &key).await["held_usd"], json!(0), "a refusal leaves nothing behind");
}

#[tokio::test]
async fn an_unreachable_first_route_fails_over_to_the_next_before_acceptance() {
    let up = spawn_app().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut dead = chained("dead", &up);
    dead["base_url"] = json!(dead_url);
    let app = spawn_app_with(with_upstreams(vec![dead, chained("up", &up)])).await;
    let (account, key) = live_key_with_credit(&app).await;
    let task = app.submit_tiny(&key, json!({"duration_seconds": 1})).await;
    let done = app.wait_terminal(&key, task["task_id"].as_str().unwrap(), WAIT).await;
    assert_eq!(done["status"], "completed", "{done}");
    let admin = admin_task(&app, &account, task["task_id"].as_str().unwrap()).await;
    assert_eq!(admin["upstream"], "up");
    assert_eq!(admin["plan"]["current"], 1);
    assert_eq!(admin["possible_orphan"], false);
}

/// A server that accepts connections and reads requests but never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

#[tokio::test]
async fn a_submit_that_may_have_reached_the_upstream_fails_unbilled_as_a_possible_orphan() {
    let base = black_hole().await;
    let entry = json!({
        "name": "silent", "kind": "openai", "base_url": base, "model": "sora-2", "credentials": "sk-test",
        "serves": ["tiny"], "timeout_secs": 1, "durations": [1, 2], "sizes": ["160x90", "90x160"],
    });
    let app = spawn_app_with(with_upstreams(vec![entry])).await;
    let (account, key) = live_key_with_credit(&app).await;
    let task = app.submit_tiny(&key, json!({})).await;
    let done = app.wait_terminal(&key, task["task_id"].as_str().unwrap(), WAIT).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "upstream_outcome_unknown");
    assert_eq!(done["credits_used"], json!(0));
    let admin = admin_task(&app, &account, task["task_id"].as_str().unwrap()).await;
    assert_eq!(admin["possible_orphan"], true);
    assert_eq!(admin["upstream_submits"], 1, "the submit was not sent twice");
    let b = balance(&app, &key).await;
    assert_eq!((b["held_usd"].clone(), b["spent_usd"].clone()), (json!(0), json!(0)));
}

async fn wait_for_status(run: &Run, key: &str, id: &str, wanted: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, task) = run.get(&format!("/v1/videos/tasks/{id}?wait=2"), key).await;
        assert_eq!(s, StatusCode::OK, "{task}");
        if wanted.contains(&task["status"].as_str().unwrap()) {
            return task;
        }
        assert!(tokio::time::Instant::now() < deadline, "task {id} never reached {wanted:?}: {task}");
    }
}

#[tokio::test]
async fn a_restart_during_a_poll_resumes_without_a_second_upstream_job() {
    let up = spawn_app().await;
    let config = with_upstreams(vec![chained("up", &up)]);
    let dir = fresh_data_dir();
    let (run, creds) = Run::start(config.clone(), &dir).await;
    let admin = creds.expect("first start bootstraps").admin_token;
    let (_, account) = run.post("/admin/v1/accounts", &admin, &json!({"name": "live"})).await;
    let account = account["id"].as_str().unwrap().to_owned();
    run.post(&format!("/admin/v1/accounts/{account}/credits"), &admin, &json!({"amount_usd": 5, "note": "t"})).await;
    let (_, key) =
        run.post("/admin/v1/keys", &admin, &json!({"account_id": account, "name": "k", "mode": "live"})).await;
    let key = key["key"].as_str().unwrap().to_owned();
    // The upstream's sandbox reads the forwarded metadata: its job runs for 3 s.
    let body = json!({"model": "tiny", "prompt": "a ball", "metadata": {"sandbox.delay_ms": "3000"}});
    let (s, task) = run.post("/v1/videos/generations", &key, &body).await;
    assert_eq!(s, StatusCode::OK, "{task}");
    let id = task["task_id"].as_str().unwrap().to_owned();
    wait_for_status(&run, &key, &id, &["running"]).await;
    run.stop().await;
    let (run, _) = Run::start(config, &dir).await;
    let done = wait_for_status(&run, &key, &id, &["completed", "failed", "cancelled"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, upstream_tasks) = up.admin_get(&format!("/admin/v1/tasks?account_id={}", up.account_id)).await;
    assert_eq!(upstream_tasks["data"].as_array().unwrap().len(), 1, "one upstream job: {upstream_tasks}");
    let (_, mine) = run.get(&format!("/admin/v1/tasks?account_id={account}"), &admin).await;
    assert_eq!(mine["data"][0]["upstream_submits"], 1);
    run.stop().await;
}
