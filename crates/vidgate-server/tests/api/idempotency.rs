//! Idempotent submit through the API (docs/api.md §4) under concurrent duplicates: one task, one
//! hold and one upstream job, and a conflict for the same key with another request.
//!
//! The upstream job count is read per task (`upstream_submits` of the admin task object:
//! every upstream submit sent for the task, each a sandbox job) rather than as a delta of
//! `vidgate_provider_jobs_total`, which is process-wide and moved by the other tests of
//! this binary running at the same time.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_app_with, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_identical_submits_make_one_task_one_hold_and_one_upstream_job() {
    let mut config = test_config();
    config.sandbox.serve_live_keys = true; // live money, on the sandbox
    config.sandbox.queue_delay_ms = 60_000; // stays queued (and held) while we look
    let app = spawn_app_with(config).await;
    let (account, key) = app.account_with_key("idem", "live").await;
    let (s, a) =
        app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &json!({"amount_usd": 10, "note": "t"})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let body = json!({"model": "tiny", "prompt": "one of twenty", "out_task_id": "order-20"});
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (client, url, key, body) =
            (app.client.clone(), format!("{}/v1/tasks/submit", app.base), key.clone(), body.clone());
        handles.push(tokio::spawn(async move {
            let r = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
            let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
            (r.status(), replayed, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = HashSet::new();
    let mut replays = 0;
    for h in handles {
        let (status, replayed, task) = h.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{task}");
        ids.insert(task["task_id"].as_str().unwrap().to_owned());
        replays += usize::from(replayed);
    }
    assert_eq!((ids.len(), replays), (1, 19), "one task; nineteen replays");
    let id = ids.into_iter().next().unwrap();
    let (_, acct) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!((&acct["held_usd"], &acct["balance_usd"]), (&json!(0.25), &json!(9.75)), "one hold of 1 s × $0.25");
    // one upstream job: the engine submits the task once, whatever the replays
    let mut polls = 0;
    let admin_task = loop {
        polls += 1;
        assert!(polls < 600, "the task was never submitted upstream");
        let (_, list) = app.admin_get(&format!("/admin/v1/tasks?account_id={account}")).await;
        let data = list["data"].as_array().unwrap().clone();
        assert_eq!(data.len(), 1, "one task in the account: {list}");
        if data[0]["upstream_job"].is_string() {
            break data[0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((admin_task["task_id"].as_str(), admin_task["upstream_submits"].as_u64()), (Some(id.as_str()), Some(1)));
    // the same key with another request is a conflict, and changes nothing
    let other = json!({"model": "tiny", "prompt": "another prompt", "out_task_id": "order-20"});
    let (s, e, headers) = app.post("/v1/tasks/submit", &key, &other).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("duplicate_out_task_id")), "{e}");
    assert_eq!(
        (e["error"]["param"].as_str(), headers["x-should-retry"].to_str().unwrap()),
        (Some("out_task_id"), "false")
    );
    let (_, acct) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!(acct["held_usd"], json!(0.25));
}
