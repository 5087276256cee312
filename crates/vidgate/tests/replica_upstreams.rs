//! Live control across replicas (docs/channels.md): three `vidgate serve` processes on one
//! PostgreSQL (a throwaway cluster, `vidgate_store::testkit::postgres`) with two fake
//! OpenAI-Videos upstreams as routes of one model. An upstream disabled through the
//! management API of one replica is out on all three within a second (the change is
//! announced at commit, and every replica re-reads the controls at least every 500 ms),
//! and new tasks on every replica go to the other upstream; enabled again, it is back.

mod common;

use std::time::Duration;

use common::Gateway;
use serde_json::{Value, json};
use tokio::time::Instant;
use vidgate_fakes::{FakeOpenAi, OpenAiConfig};

fn config(a: &FakeOpenAi, b: &FakeOpenAi) -> String {
    let entry = |name: &str, fake: &FakeOpenAi| {
        format!(
            r#"
[[upstreams]]
name = "{name}"
kind = "openai"
model = "tiny-video"
serves = ["clip"]
base_url = "{base}"
credentials = "{key}"
durations = [4]
sizes = ["1280x720"]
expected_latency_secs = 1
requests_per_second = 0
usd_per_second = {{ default = "0.10" }}
"#,
            base = fake.api_base(),
            key = fake.api_key()
        )
    };
    format!(
        r#"
[engine]
idle_poll_ms = 100
[[models]]
id = "clip"
native_audio = true
durations = [4]
default_duration = 4
sizes = ["1280x720"]
default_size = "1280x720"
max_prompt_chars = 200
usd_per_second = "0.25"
{}{}"#,
        entry("a", a),
        entry("b", b)
    )
}

async fn patch(g: &Gateway, admin: &str, path: &str, body: &Value) -> Value {
    let r = g.client.patch(format!("{}{path}", g.base)).bearer_auth(admin).json(body).send().await.unwrap();
    assert!(r.status().is_success(), "PATCH {path}: {}", r.status());
    r.json().await.unwrap()
}

/// Waits until every replica shows upstream `a` in `state`; how long that took.
async fn all_show(replicas: &[Gateway], admin: &str, state: &str) -> Duration {
    let started = Instant::now();
    for g in replicas {
        while g.get("/admin/v1/upstreams/a", admin).await["state"] != state {
            assert!(started.elapsed() < Duration::from_secs(5), "{} never showed a {state}", g.base);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    started.elapsed()
}

/// Submits one task on each replica; the route that leads each.
async fn leads(replicas: &[Gateway], admin: &str, account: &str, key: &str, round: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, g) in replicas.iter().enumerate() {
        let body = json!({"model": "clip", "prompt": format!("{round} {i}")});
        let (s, task) = g.post("/v1/videos/generations", key, &body).await;
        assert_eq!(s, 200, "{task}");
        ids.push(task["task_id"].as_str().unwrap().to_owned());
    }
    let list = replicas[0].get(&format!("/admin/v1/tasks?account_id={account}&limit=100"), admin).await;
    let lead = |id: &String| {
        let t = list["data"].as_array().unwrap().iter().find(|t| t["task_id"] == *id).unwrap().clone();
        t["plan"]["routes"][0]["route"].as_str().unwrap().to_owned()
    };
    ids.iter().map(lead).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_disabled_on_one_replica_is_out_on_all_three_within_a_second() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let models = || OpenAiConfig { models: vec!["tiny-video".into()], ..Default::default() };
    let (a, b) = (FakeOpenAi::start_with(models()).await, FakeOpenAi::start_with(models()).await);
    let url = vidgate_store::testkit::postgres::fresh_database().await;
    let dirs: Vec<_> = (0..3).map(|_| common::fresh_dir()).collect();
    for dir in &dirs {
        std::fs::write(dir.join("vidgate.toml"), config(&a, &b)).unwrap();
    }
    let mut replicas = vec![Gateway::start_replica(&dirs[0], &url).await];
    let admin = replicas[0].credentials()["admin_token"].as_str().unwrap().to_owned();
    for dir in &dirs[1..] {
        replicas.push(Gateway::start_replica(dir, &url).await);
    }
    let (account, key) = replicas[1].funded_live_key(&admin, 100.0).await;
    all_show(&replicas, &admin, "ready").await;
    assert_eq!(leads(&replicas, &admin, &account, &key, "before").await, ["a", "a", "a"]);

    let off = patch(&replicas[2], &admin, "/admin/v1/upstreams/a", &json!({"disabled": true})).await;
    assert_eq!((off["disabled"].clone(), off["state"].clone()), (json!(true), json!("out")));
    let took = all_show(&replicas, &admin, "out").await;
    assert!(took < Duration::from_secs(1), "applied on every replica in {took:?}");
    assert_eq!(leads(&replicas, &admin, &account, &key, "disabled").await, ["b", "b", "b"]);

    patch(&replicas[0], &admin, "/admin/v1/upstreams/a", &json!({"disabled": false})).await;
    let took = all_show(&replicas, &admin, "ready").await;
    assert!(took < Duration::from_secs(1), "applied on every replica in {took:?}");
    assert_eq!(leads(&replicas, &admin, &account, &key, "enabled").await, ["a", "a", "a"]);
    let audit = replicas[1].get("/admin/v1/audit?target_id=a", &admin).await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2, "{audit}");
    for g in &mut replicas {
        g.terminate();
    }
}
