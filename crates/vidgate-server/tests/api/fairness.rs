//! A provider's in-flight cap shared between accounts: one test key that queues many long
//! sandbox tasks must not keep another account's task waiting behind all of them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with, test_config};

const LIMIT: Duration = Duration::from_secs(60);

fn capped_config(cap: u32, share_percent: u32) -> vidgate_domain::config::Config {
    let mut c = test_config();
    c.engine.max_in_flight_per_provider = cap;
    c.engine.max_account_share_percent = share_percent;
    c
}

async fn submit_many(app: &TestApp, n: usize, delay_ms: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let extra = json!({"prompt": format!("clip {i}"), "metadata": {"sandbox.delay_ms": delay_ms}});
        ids.push(app.submit_tiny(&app.test_key, extra).await["task_id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn statuses(app: &TestApp, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let (_, task): (_, Value) = app.get(&format!("/v1/videos/tasks/{id}"), &app.test_key).await;
        out.push(task["status"].as_str().unwrap().to_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_task_takes_the_next_free_slot_ahead_of_a_greedy_keys_backlog() {
    let app = spawn_app_with(capped_config(4, 100)).await;
    // 64 tasks of one second each: run four at a time, they take sixteen rounds
    let greedy = submit_many(&app, 64, "1000").await;
    let (_, other_key) = app.account_with_key("other", "test").await;
    let other = app.submit_tiny(&other_key, json!({})).await;
    let done = app.wait_terminal(&other_key, other["task_id"].as_str().unwrap(), LIMIT).await;
    assert_eq!(done["status"], "completed", "{done}");
    // it took the first slot that freed: at most the first two rounds of the backlog ended
    let completed = statuses(&app, &greedy).await.iter().filter(|s| *s == "completed").count();
    assert!(completed <= 8, "{completed} of the greedy key's tasks completed before the other account's one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_half_share_a_key_with_hour_long_tasks_leaves_slots_for_another_account() {
    let app = spawn_app_with(capped_config(4, 50)).await;
    let greedy = submit_many(&app, 64, "60000").await;
    let (_, other_key) = app.account_with_key("other", "test").await;
    let other = app.submit_tiny(&other_key, json!({})).await;
    let done = app.wait_terminal(&other_key, other["task_id"].as_str().unwrap(), Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let states = statuses(&app, &greedy).await;
    let running = states.iter().filter(|s| *s == "running").count();
    let queued = states.iter().filter(|s| *s == "queued").count();
    assert_eq!((running, queued), (2, 62), "the greedy key holds half of the four slots, the rest wait");
}
