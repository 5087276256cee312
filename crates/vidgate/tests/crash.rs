//! Process-level durability: the real binary is killed with SIGKILL while tasks are queued
//! and running, started again on the same data dir, and every accepted task completes
//! exactly once (each one captured once; nothing left held).

mod common;

use std::time::Duration;

use common::{Gateway, fresh_dir, wait_all_terminal};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_accepted_before_a_sigkill_completes_exactly_once() {
    let dir = fresh_dir();
    let mut g = Gateway::start(&dir).await;
    let admin = g.credentials()["admin_token"].as_str().unwrap().to_owned();
    let (account, key) = g.funded_live_key(&admin, 100.0).await;
    let mut ids = Vec::new();
    for n in 0..30 {
        let (s, t) = g.post("/v1/videos/generations", &key, &json!({"model": "tiny", "prompt": format!("clip {n}"), "audio": n % 2 == 0, "duration_seconds": 1 + n % 2})).await;
        assert_eq!(s, 200, "{t}");
        ids.push(t["task_id"].as_str().unwrap().to_owned());
    }
    // Let some start and some finish, then pull the plug.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = g.get("/admin/v1/tasks?limit=100", &admin).await;
        let running = list["data"].as_array().unwrap().iter().filter(|t| t["status"] == "running").count();
        if running > 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing started running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    g.kill();

    let g = Gateway::start(&dir).await;
    let done = wait_all_terminal(&g, &key, &ids, Duration::from_secs(120)).await;
    let mut expected_spent = 0.0;
    for t in &done {
        assert_eq!(t["status"], "completed", "{t}");
        expected_spent += t["credits_used"].as_f64().unwrap();
        assert_eq!(t["credits_used"].as_f64().unwrap(), 0.25 * t["duration_seconds"].as_f64().unwrap());
    }
    let acct = g.get(&format!("/admin/v1/accounts/{account}"), &admin).await;
    assert_eq!(acct["held_usd"], json!(0), "no hold left open: {acct}");
    assert!((acct["spent_usd"].as_f64().unwrap() - expected_spent).abs() < 1e-9, "each task captured once: {acct}");
    assert!((acct["balance_usd"].as_f64().unwrap() - (100.0 - expected_spent)).abs() < 1e-9, "{acct}");
    // A completed task stays as it is (it does not complete again).
    let again = g.get(&format!("/v1/videos/tasks/{}", ids[0]), &key).await;
    assert_eq!(again["completed_at"], done[0]["completed_at"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_back_work_and_a_restart_finishes_it() {
    let dir = fresh_dir();
    let mut g = Gateway::start(&dir).await;
    let creds = g.credentials();
    let key = creds["test_api_key"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for n in 0..6 {
        let (s, t) = g.post("/v1/videos/generations", &key, &json!({"model": "tiny", "prompt": format!("t{n}")})).await;
        assert_eq!(s, 200);
        ids.push(t["task_id"].as_str().unwrap().to_owned());
    }
    let status = g.terminate();
    assert!(status.success(), "a clean exit on SIGTERM: {status}");
    let g = Gateway::start(&dir).await;
    for t in wait_all_terminal(&g, &key, &ids, Duration::from_secs(60)).await {
        assert_eq!(t["status"], "completed", "{t}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
