//! Channels end to end against `FakeOpenAi` (docs/channels.md): new tasks split by weight
//! within a priority, a failing upstream ejected by its breaker and back after the
//! cool-down once it answers, a 429 cooling it down without ejecting it, a 401 taking it
//! out until an operator resets it, a daily budget, picks by lowest cost and by most free
//! slots, per-upstream call latency, and the management endpoints
//! (docs/api.md §12.6) with their audit entries.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeOpenAi, Fault, Latency};

use crate::admin_accounts::{admin_patch, assert_error};
use crate::upstream_helpers::{Live, openai_entry, with};

fn task(prompt: &str) -> Value {
    json!({"model": "sora2", "prompt": prompt, "duration_seconds": 5})
}

async fn fakes() -> (FakeOpenAi, FakeOpenAi) {
    let (a, b) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    a.faults().set_latency(Latency::polls(0));
    b.faults().set_latency(Latency::polls(0));
    (a, b)
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

/// Submits a task and waits until an upstream accepted its job; the route that led it.
async fn accepted_lead(live: &Live, prompt: &str) -> String {
    let id = live.submit(task(prompt)).await;
    for _ in 0..200 {
        let admin = live.admin_task(&id).await;
        if !admin["upstream_job"].is_null() {
            return admin["plan"]["routes"][0]["route"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} was not accepted in time");
}

/// Runs a task to its end; the route that led it.
async fn run_lead(live: &Live, prompt: &str) -> String {
    let id = live.submit(task(prompt)).await;
    let done = live.wait(&id).await;
    assert_eq!(done["status"], "completed", "{done}");
    lead(live, &id).await
}

#[tokio::test]
async fn new_tasks_split_by_weight_within_a_priority_and_the_other_route_stays_as_failover() {
    let (a, b) = fakes().await;
    let live = Live::start(vec![
        with(openai_entry("a", &a), json!({"priority": 0, "weight": 1})),
        with(openai_entry("b", &b), json!({"priority": 0, "weight": 3})),
    ])
    .await;
    let mut leads_a = 0;
    for i in 0..80 {
        let id = live.submit(task(&format!("split {i}"))).await;
        let plan = live.admin_task(&id).await["plan"].clone();
        let routes: Vec<&str> =
            plan["routes"].as_array().unwrap().iter().map(|r| r["route"].as_str().unwrap()).collect();
        assert!(routes == ["a", "b"] || routes == ["b", "a"], "{plan}");
        leads_a += usize::from(routes[0] == "a");
    }
    // Expected 20 of 80 (sd 3.9): bounds at about 3.6 sd either way.
    assert!((6..=34).contains(&leads_a), "a led {leads_a} of 80");
}

#[tokio::test]
async fn routes_without_priorities_keep_their_strict_order() {
    let (a, b) = fakes().await;
    let live = Live::start(vec![openai_entry("a", &a), with(openai_entry("b", &b), json!({"weight": 100}))]).await;
    for i in 0..10 {
        let id = live.submit(task(&format!("ordered {i}"))).await;
        assert_eq!(lead(&live, &id).await, "a");
    }
}

#[tokio::test]
async fn a_failing_upstream_is_ejected_then_returns_after_the_cool_down_once_it_answers() {
    let (bad, good) = fakes().await;
    bad.faults().push_n(Endpoint::Submit, 100, Fault::Status(503));
    let breaker = json!({"min_requests": 2, "error_rate": 0.5, "open_secs": 5});
    let live = Live::start(vec![
        with(openai_entry("bad", &bad), json!({"priority": 0, "weight": 1000, "breaker": breaker})),
        with(openai_entry("good", &good), json!({"priority": 0, "weight": 1})),
    ])
    .await;
    let mut leads = Vec::new();
    let opened = tokio::time::Instant::now();
    for i in 0..8 {
        leads.push(accepted_lead(&live, &format!("ejected {i}")).await);
    }
    assert!(opened.elapsed() < Duration::from_secs(5), "the breaker is still open");
    assert_eq!(bad.journal().counters().submits(), 2, "two 503s eject it: {leads:?}");
    assert!(leads[2..].iter().all(|l| l == "good"), "{leads:?}");
    let state = upstream(&live, "bad").await;
    assert_eq!((state["health"].clone(), state["state"].clone()), (json!("open"), json!("out")), "{state}");
    assert!(state["last_error"].as_str().unwrap().contains("503"), "{state}");

    bad.faults().clear();
    tokio::time::sleep(Duration::from_millis(5100)).await;
    assert_eq!(upstream(&live, "bad").await["health"], "half_open");
    assert_eq!(run_lead(&live, "the probe").await, "bad");
    assert_eq!(bad.journal().counters().jobs_created, 1, "the probe made its job there");
    let state = upstream(&live, "bad").await;
    assert_eq!((state["health"].clone(), state["state"].clone()), (json!("closed"), json!("ready")), "{state}");
    assert_eq!(run_lead(&live, "back in").await, "bad");
}

#[tokio::test]
async fn a_429_with_retry_after_cools_the_upstream_for_that_long_without_ejecting_it() {
    let (limited, other) = fakes().await;
    limited.faults().push(Endpoint::Submit, Fault::RateLimited { retry_after_secs: 30 });
    let live = Live::start(vec![
        with(openai_entry("limited", &limited), json!({"priority": 0, "weight": 1000})),
        with(openai_entry("other", &other), json!({"priority": 0, "weight": 1})),
    ])
    .await;
    let before = vidgate_engine::clock::now_ms();
    let id = live.submit(task("rate limited")).await;
    assert_eq!(live.wait(&id).await["status"], "completed");
    assert_eq!(live.admin_task(&id).await["upstream"], "other", "failed over before acceptance");
    let after = vidgate_engine::clock::now_ms();
    let state = upstream(&live, "limited").await;
    assert_eq!((state["health"].clone(), state["state"].clone()), (json!("closed"), json!("waiting")), "{state}");
    let until = time::OffsetDateTime::parse(
        state["cooling_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let until_ms = (until.unix_timestamp_nanos() / 1_000_000) as i64;
    assert!((before + 30_000..=after + 30_000).contains(&until_ms), "cools for 30 s: {state}");
    for i in 0..5 {
        assert_eq!(run_lead(&live, &format!("while cooling {i}")).await, "other");
    }
    assert_eq!(limited.journal().counters().submits(), 1);
}

/// `engine.route_pick`: the cheapest route of the group leads whatever the weights say,
/// and under `most_free` the route with more free job slots does; either way a route of the
/// next priority never leads while the group can start the job.
#[tokio::test]
async fn lowest_cost_and_most_free_pick_within_the_group_before_the_weights() {
    let (a, b) = fakes().await;
    let third = FakeOpenAi::start().await;
    for (pick, winner) in [("lowest_cost", "cheap"), ("most_free", "roomy")] {
        let mut config = crate::upstream_helpers::config_with(vec![
            with(openai_entry("cheap", &a), json!({"priority": 0, "weight": 1, "max_in_flight": 20})),
            with(
                openai_entry("roomy", &b),
                json!({"priority": 0, "weight": 1000, "max_in_flight": 40, "usd_per_second": {"default": "0.20"}}),
            ),
            with(openai_entry("later", &third), json!({"priority": 1, "weight": 1, "max_in_flight": 99})),
        ]);
        config.engine.route_pick = serde_json::from_value(json!(pick)).unwrap();
        let live = Live::start_with(config).await;
        for i in 0..8 {
            let id = live.submit(task(&format!("{pick} {i}"))).await;
            assert_eq!(lead(&live, &id).await, winner, "{pick}: {}", live.admin_task(&id).await["plan"]);
        }
    }
}

#[tokio::test]
async fn a_401_takes_the_upstream_out_until_an_operator_resets_it_and_the_reset_is_audited() {
    let (refused, other) = fakes().await;
    refused.faults().push(Endpoint::Submit, Fault::Status(401));
    let live = Live::start(vec![
        with(openai_entry("refused", &refused), json!({"priority": 0, "weight": 1000})),
        with(openai_entry("other", &other), json!({"priority": 0, "weight": 1})),
    ])
    .await;
    assert_eq!(run_lead(&live, "bad key").await, "refused");
    let state = upstream(&live, "refused").await;
    assert_eq!((state["health"].clone(), state["state"].clone()), (json!("auth_failed"), json!("out")), "{state}");
    assert!(state["last_error"].as_str().unwrap().contains("401"), "the state shows why: {state}");
    let metrics = live.app.client.get(format!("{}/metrics", live.app.base)).send().await.unwrap().text().await.unwrap();
    let line = |parts: &[&str]| metrics.lines().any(|l| parts.iter().all(|p| l.contains(p)));
    assert!(
        line(&["vidgate_upstream_health_changes_total{", "upstream=\"refused\"", "to=\"auth_failed\""]),
        "{metrics}"
    );
    assert!(line(&["vidgate_upstream_calls_total{", "upstream=\"refused\"", "outcome=\"auth_failed\""]), "{metrics}");
    for i in 0..3 {
        assert_eq!(run_lead(&live, &format!("out {i}")).await, "other");
    }
    let metrics = live.app.client.get(format!("{}/metrics", live.app.base)).send().await.unwrap().text().await.unwrap();
    let timed = |call: &str| {
        metrics.lines().any(|l| {
            l.starts_with("vidgate_upstream_call_seconds_count{")
                && l.contains("upstream=\"other\"")
                && l.contains(&format!("call=\"{call}\""))
        })
    };
    assert!(timed("submit") && timed("poll"), "submit and poll latency per upstream: {metrics}");
    let (s, reset) = admin_patch(&live.app, "/admin/v1/upstreams/refused", &json!({"reset": true})).await;
    assert_eq!(s, StatusCode::OK, "{reset}");
    assert_eq!((reset["health"].clone(), reset["state"].clone()), (json!("closed"), json!("ready")), "{reset}");
    assert_eq!(run_lead(&live, "fixed").await, "refused");
    let (s, audit) = live.app.admin_get("/admin/v1/audit?target_id=refused").await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    let entry = &audit["data"][0];
    assert_eq!((entry["action"].clone(), entry["changes"].clone()), (json!("upstream.update"), json!({"reset": true})));
}

#[tokio::test]
async fn a_route_over_its_daily_budget_is_skipped_like_a_busy_one() {
    let (capped, spare) = fakes().await;
    // Each task costs the upstream an 8 s Sora 2 job × $0.10: the second reaches the $0.90 cap.
    let live = Live::start(vec![
        with(openai_entry("capped", &capped), json!({"daily_budget_usd": "0.90"})),
        openai_entry("spare", &spare),
    ])
    .await;
    let mut leads = Vec::new();
    for i in 0..4 {
        leads.push(run_lead(&live, &format!("budget {i}")).await);
    }
    assert_eq!(leads, ["capped", "capped", "spare", "spare"]);
    let state = upstream(&live, "capped").await;
    assert_eq!((state["spend_today_usd"].clone(), state["state"].clone()), (json!(1.6), json!("out")), "{state}");
    assert_eq!(capped.journal().counters().submits(), 2);
}

#[tokio::test]
async fn operators_list_disable_enable_and_reweigh_upstreams() {
    let (a, b) = fakes().await;
    let live = Live::start(vec![openai_entry("a", &a), openai_entry("b", &b)]).await;
    let (s, list) = live.app.admin_get("/admin/v1/upstreams").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    let first = &list["data"][0];
    assert_eq!(
        (first["kind"].clone(), first["health"].clone(), first["state"].clone(), first["weight"].clone()),
        (json!("openai"), json!("closed"), json!("ready"), json!(1))
    );
    assert_eq!((first["priority"].clone(), first["in_flight"].clone()), (Value::Null, json!(0)));

    let (s, off) = admin_patch(&live.app, "/admin/v1/upstreams/a", &json!({"disabled": true})).await;
    assert_eq!((s, off["disabled"].clone(), off["state"].clone()), (StatusCode::OK, json!(true), json!("out")));
    assert_eq!(run_lead(&live, "a is off").await, "b");
    let (s, on) = admin_patch(&live.app, "/admin/v1/upstreams/a", &json!({"disabled": false, "priority": 5})).await;
    assert_eq!((s, on["priority"].clone()), (StatusCode::OK, json!(5)), "{on}");
    assert_eq!(run_lead(&live, "a comes after b now").await, "b");
    let (s, back) = admin_patch(&live.app, "/admin/v1/upstreams/a", &json!({"priority": null, "weight": 7})).await;
    assert_eq!((s, back["priority"].clone(), back["weight"].clone()), (StatusCode::OK, Value::Null, json!(7)));
    assert_eq!(run_lead(&live, "a first again").await, "a");

    let (s, audit) = live.app.admin_get("/admin/v1/audit?target_id=a").await;
    assert_eq!(s, StatusCode::OK);
    let changes: Vec<Value> = audit["data"].as_array().unwrap().iter().map(|e| e["changes"].clone()).collect();
    assert_eq!(
        changes,
        [json!({"priority": null, "weight": 7}), json!({"disabled": false, "priority": 5}), json!({"disabled": true})]
    );

    let app = &live.app;
    let patch = |body: Value| async move { admin_patch(app, "/admin/v1/upstreams/a", &body).await };
    assert_error(&patch(json!({"weight": -1})).await, StatusCode::BAD_REQUEST, "invalid_param", Some("weight"));
    assert_error(&patch(json!({"disabled": null})).await, StatusCode::BAD_REQUEST, "invalid_param", Some("disabled"));
    assert_error(&patch(json!({"colour": 1})).await, StatusCode::BAD_REQUEST, "unknown_param", Some("colour"));
    assert_error(&patch(json!({})).await, StatusCode::BAD_REQUEST, "invalid_param", Some("disabled"));
    let missing = admin_patch(&live.app, "/admin/v1/upstreams/zzz", &json!({"disabled": true})).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "not_found", None);
    let anonymous = live.app.get("/admin/v1/upstreams", &live.key).await;
    assert_eq!(anonymous.0, StatusCode::UNAUTHORIZED);
}
