//! Credential pools end to end against one `FakeOpenAi` holding several accounts' keys
//! (docs/channels.md "Credential pools"): each `[[upstreams.pool]]` member is a channel of
//! its own, so new tasks split across the keys by member weight, a job is polled and
//! downloaded only with the key that created it (the fake's videos belong to one account),
//! a refused key, a rate limit or a spent budget takes out only its own member, and the
//! management rows name their pool.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeOpenAi, Fault, Latency, OpenAiConfig};

use crate::admin_accounts::admin_patch;
use crate::upstream_helpers::{Live, openai_entry};

/// The second account's key the fake knows besides its own.
const SECOND_KEY: &str = "sk-fake-openai-second";

fn task(prompt: &str) -> Value {
    json!({"model": "sora2", "prompt": prompt, "duration_seconds": 4})
}

async fn fake() -> FakeOpenAi {
    let fake = FakeOpenAi::start_with(OpenAiConfig { other_keys: vec![SECOND_KEY.into()], ..Default::default() }).await;
    fake.faults().set_latency(Latency::polls(0));
    fake
}

/// An entry named `pool` serving `sora2` on `fake` with these pool members.
fn pool_entry(fake: &FakeOpenAi, members: Value) -> Value {
    let mut entry = openai_entry("pool", fake);
    let entry_map = entry.as_object_mut().unwrap();
    entry_map.remove("credentials");
    entry_map.insert("pool".into(), members);
    entry
}

/// The route that leads the task's plan.
async fn lead(live: &Live, id: &str) -> String {
    live.admin_task(id).await["plan"]["routes"][0]["route"].as_str().unwrap().to_owned()
}

async fn upstream(live: &Live, name: &str) -> Value {
    let (s, u) = live.app.admin_get(&format!("/admin/v1/upstreams/{name}")).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    u
}

/// Runs a task to its end: the route that led it and the one that ran it.
async fn run(live: &Live, prompt: &str) -> (String, String) {
    let id = live.submit(task(prompt)).await;
    let done = live.wait(&id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let admin = live.admin_task(&id).await;
    (lead(live, &id).await, admin["upstream"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn tasks_split_across_the_keys_by_weight_and_each_job_is_polled_with_the_key_that_created_it() {
    let fake = fake().await;
    let members = json!([
        {"label": "one", "credentials": fake.api_key(), "weight": 1},
        {"label": "two", "credentials": SECOND_KEY, "weight": 3},
    ]);
    let live = Live::start(vec![pool_entry(&fake, members)]).await;
    let mut ids = Vec::new();
    let mut leads_one = 0;
    for i in 0..40 {
        let id = live.submit(task(&format!("split {i}"))).await;
        let plan = live.admin_task(&id).await["plan"].clone();
        let routes: Vec<&str> =
            plan["routes"].as_array().unwrap().iter().map(|r| r["route"].as_str().unwrap()).collect();
        assert!(routes == ["pool:one", "pool:two"] || routes == ["pool:two", "pool:one"], "{plan}");
        leads_one += usize::from(routes[0] == "pool:one");
        ids.push(id);
    }
    // Expected 10 of 40 (sd 2.7): bounds at about 3.3 sd either way.
    assert!((2..=19).contains(&leads_one), "pool:one led {leads_one} of 40");
    for id in &ids[..12] {
        let done = live.wait(id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(live.admin_task(id).await["upstream"].as_str().unwrap(), lead(&live, id).await, "no failover");
    }
    let calls = fake.journal().keyed_calls();
    let created: BTreeMap<&str, &str> =
        calls.iter().filter(|c| c.endpoint == Endpoint::Submit).map(|c| (c.job.as_str(), c.key.as_str())).collect();
    let keys: BTreeSet<&str> = created.values().copied().collect();
    assert_eq!(keys, BTreeSet::from([fake.api_key(), SECOND_KEY]), "both keys created jobs");
    for call in calls.iter().filter(|c| c.endpoint != Endpoint::Submit) {
        assert_eq!(Some(&call.key.as_str()), created.get(call.job.as_str()), "{call:?}");
    }
    for endpoint in [Endpoint::Poll, Endpoint::Download] {
        let by: BTreeSet<&str> = calls.iter().filter(|c| c.endpoint == endpoint).map(|c| c.key.as_str()).collect();
        assert_eq!(by.len(), 2, "{endpoint:?} with both keys: {by:?}");
    }
    assert_eq!(fake.journal().rejections(), vec![], "no call with the wrong key");
}

#[tokio::test]
async fn a_refused_key_takes_out_only_its_member_which_an_operator_resets_by_its_encoded_name() {
    let fake = fake().await;
    let members = json!([
        {"label": "good", "credentials": fake.api_key()},
        {"label": "revoked", "credentials": "sk-revoked-999", "weight": 1000},
    ]);
    let solo = openai_entry("solo", &fake);
    let live = Live::start(vec![pool_entry(&fake, members), with_priority(solo, 9)]).await;
    let (led, ran) = run(&live, "bad key").await;
    assert_eq!((led.as_str(), ran.as_str()), ("pool:revoked", "pool:good"), "failed over before acceptance");
    let state = upstream(&live, "pool:revoked").await;
    assert_eq!((state["health"].clone(), state["state"].clone()), (json!("auth_failed"), json!("out")), "{state}");
    assert!(state["last_error"].as_str().unwrap().contains("401"), "the row shows why: {state}");
    assert!(!state.to_string().contains("sk-revoked-999"), "{state}");
    let good = upstream(&live, "pool:good").await;
    assert_eq!((good["health"].clone(), good["state"].clone()), (json!("closed"), json!("ready")), "{good}");
    for i in 0..3 {
        assert_eq!(run(&live, &format!("other key {i}")).await, ("pool:good".into(), "pool:good".into()));
    }

    let (s, list) = live.app.admin_get("/admin/v1/upstreams").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let rows: Vec<(&str, Option<&str>)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u.get("pool").map(|p| p.as_str().unwrap())))
        .collect();
    assert_eq!(rows, [("pool:good", Some("pool")), ("pool:revoked", Some("pool")), ("solo", None)]);
    let (s, entry) = live.app.admin_get("/admin/v1/upstreams/pool").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{entry}");
    assert!(entry["error"]["message"].as_str().unwrap().contains("pool:good, pool:revoked"), "{entry}");

    let (s, reset) = admin_patch(&live.app, "/admin/v1/upstreams/pool%3Arevoked", &json!({"reset": true})).await;
    assert_eq!(s, StatusCode::OK, "{reset}");
    assert_eq!((reset["name"].clone(), reset["health"].clone()), (json!("pool:revoked"), json!("closed")), "{reset}");
    let (s, off) = admin_patch(&live.app, "/admin/v1/upstreams/pool:revoked", &json!({"disabled": true})).await;
    assert_eq!((s, off["state"].clone()), (StatusCode::OK, json!("out")), "{off}");
    let metrics = live.app.client.get(format!("{}/metrics", live.app.base)).send().await.unwrap().text().await.unwrap();
    let line = |parts: &[&str]| metrics.lines().any(|l| parts.iter().all(|p| l.contains(p)));
    assert!(line(&["vidgate_upstream_calls_total{", "upstream=\"pool:revoked\"", "outcome=\"auth_failed\""]));
    assert!(line(&["vidgate_upstream_calls_total{", "upstream=\"pool:good\"", "outcome=\"success\""]));
}

fn with_priority(mut entry: Value, priority: u32) -> Value {
    entry.as_object_mut().unwrap().insert("priority".into(), json!(priority));
    entry
}

#[tokio::test]
async fn a_429_with_retry_after_cools_only_the_member_whose_key_got_it() {
    let fake = fake().await;
    fake.faults().push(Endpoint::Submit, Fault::RateLimited { retry_after_secs: 30 });
    let members = json!([
        {"label": "a", "credentials": fake.api_key()},
        {"label": "b", "credentials": SECOND_KEY},
    ]);
    let live = Live::start(vec![pool_entry(&fake, members)]).await;
    let (limited, other) = run(&live, "rate limited").await;
    assert_ne!(limited, other, "the task failed over to the other key");
    let state = upstream(&live, &limited).await;
    assert_eq!((state["health"].clone(), state["state"].clone()), (json!("closed"), json!("waiting")), "{state}");
    assert!(state["cooling_until"].is_string(), "{state}");
    let spare = upstream(&live, &other).await;
    assert_eq!((spare["state"].clone(), spare["cooling_until"].clone()), (json!("ready"), Value::Null), "{spare}");
    for i in 0..3 {
        assert_eq!(run(&live, &format!("while cooling {i}")).await, (other.clone(), other.clone()));
    }
}

#[tokio::test]
async fn a_member_over_its_daily_budget_is_skipped_while_the_other_key_takes_the_tasks() {
    let fake = fake().await;
    // Each task is a 4 s Sora 2 job × $0.10 = $0.40: the second reaches capped's $0.70.
    let members = json!([
        {"label": "capped", "credentials": fake.api_key(), "daily_budget_usd": "0.70"},
        {"label": "spare", "credentials": SECOND_KEY, "weight": 0},
    ]);
    let live = Live::start(vec![pool_entry(&fake, members)]).await;
    let mut leads = Vec::new();
    for i in 0..4 {
        let (led, ran) = run(&live, &format!("budget {i}")).await;
        assert_eq!(led, ran);
        leads.push(led);
    }
    assert_eq!(leads, ["pool:capped", "pool:capped", "pool:spare", "pool:spare"]);
    let capped = upstream(&live, "pool:capped").await;
    assert_eq!((capped["spend_today_usd"].clone(), capped["state"].clone()), (json!(0.8), json!("out")), "{capped}");
    assert_eq!(capped["daily_budget_usd"], json!(0.7), "{capped}");
    let spare = upstream(&live, "pool:spare").await;
    assert_eq!((spare["spend_today_usd"].clone(), spare["state"].clone()), (json!(0.8), json!("ready")), "{spare}");
    assert_eq!(spare["daily_budget_usd"], Value::Null, "{spare}");
    let keys: Vec<String> =
        fake.journal().keyed_calls().into_iter().filter(|c| c.endpoint == Endpoint::Submit).map(|c| c.key).collect();
    assert_eq!(keys, [fake.api_key(), fake.api_key(), SECOND_KEY, SECOND_KEY]);
}

/// `(name, state, disabled)` of each row of a list answer.
fn states(list: &Value) -> Vec<(String, String, bool)> {
    let row = |u: &Value| {
        (u["name"].as_str().unwrap().to_owned(), u["state"].as_str().unwrap().to_owned(), u["disabled"] == true)
    };
    list["data"].as_array().unwrap().iter().map(row).collect()
}

#[tokio::test]
async fn a_patch_on_the_pool_entry_changes_every_member_and_audits_each() {
    let fake = fake().await;
    let members = json!([
        {"label": "a", "credentials": fake.api_key()},
        {"label": "b", "credentials": SECOND_KEY},
    ]);
    let live = Live::start(vec![pool_entry(&fake, members)]).await;
    let (s, err) = admin_patch(&live.app, "/admin/v1/upstreams/pool", &json!({"weight": 2_000_000})).await;
    assert_eq!((s, err["error"]["param"].clone()), (StatusCode::BAD_REQUEST, json!("weight")), "{err}");

    let (s, off) = admin_patch(&live.app, "/admin/v1/upstreams/pool", &json!({"disabled": true})).await;
    assert_eq!(s, StatusCode::OK, "{off}");
    assert_eq!(off["object"], "list", "{off}");
    let out = |state: &str, disabled: bool| {
        vec![("pool:a".to_owned(), state.to_owned(), disabled), ("pool:b".to_owned(), state.to_owned(), disabled)]
    };
    assert_eq!(states(&off), out("out", true), "{off}");
    let (status, error) = live.refused(task("every key out")).await;
    assert_eq!((status, error["code"].clone()), (StatusCode::SERVICE_UNAVAILABLE, json!("model_unavailable")));
    for member in ["pool:a", "pool:b"] {
        let (s, audit) = live.app.admin_get(&format!("/admin/v1/audit?target_id={member}")).await;
        assert_eq!(s, StatusCode::OK, "{audit}");
        let entries: Vec<(Value, Value, Value)> = audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].clone(), e["actor"].clone(), e["changes"].clone()))
            .collect();
        assert_eq!(entries, [(json!("upstream.update"), json!("admin"), json!({"disabled": true}))], "{member}");
    }

    let (s, on) = admin_patch(&live.app, "/admin/v1/upstreams/pool", &json!({"disabled": false})).await;
    assert_eq!(s, StatusCode::OK, "{on}");
    assert_eq!(states(&on), out("ready", false), "{on}");
    let (led, ran) = run(&live, "back in").await;
    assert_eq!(led, ran);
    assert!(led.starts_with("pool:"), "{led}");
    let (s, entry) = live.app.admin_get("/admin/v1/upstreams/pool").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a GET still names one upstream: {entry}");
}
