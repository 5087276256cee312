//! Money through the API with `sandbox.serve_live_keys = true`, so live keys run on the
//! sandbox and money moves for real: holds, captures and releases as the account sees them,
//! failures never billed, cancel policies, the key limits with their errors and headers,
//! `/v1/balance`, and usage equal to the captures.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use vidgate_domain::config::Config;

use crate::helpers::{TestApp, spawn_app_with, test_config, tiny_model};

const LIMIT: Duration = Duration::from_secs(60);

/// A usage row's dimensions: (bucket, model, key_id, mode).
type UsageKey = (String, String, String, String);

/// The test config with live keys on the sandbox and `tiny-charge`, a tiny model at
/// 0.40 USD/s whose running tasks are charged in full when cancelled.
fn live_config() -> Config {
    let mut c = test_config();
    c.sandbox.serve_live_keys = true;
    let mut charge = tiny_model();
    charge.id = "tiny-charge".into();
    charge.aliases.clear();
    charge.usd_per_second = vidgate_domain::Usd(400_000);
    charge.cancel_policy = vidgate_domain::catalog::CancelPolicy::Charge;
    c.models.push(charge);
    c
}

/// A new account with `usd` of credit and a live key with `limits`: (account id, key).
async fn funded(app: &TestApp, usd: Value, limits: Value) -> (String, String) {
    let (_, acct) = app.admin_post("/admin/v1/accounts", &json!({"name": "payer"})).await;
    let id = acct["id"].as_str().unwrap().to_owned();
    let (s, a) = app.admin_post(&format!("/admin/v1/accounts/{id}/credits"), &json!({"amount_usd": usd})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let mut body = json!({"account_id": id, "name": "k", "mode": "live"});
    body.as_object_mut().unwrap().extend(limits.as_object().unwrap().clone());
    let (s, key) = app.admin_post("/admin/v1/keys", &body).await;
    assert_eq!(s, StatusCode::OK, "{key}");
    (id, key["key"].as_str().unwrap().to_owned())
}

/// (balance, held, spent) of an account.
async fn money(app: &TestApp, account: &str) -> (Value, Value, Value) {
    let (_, a) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    (a["balance_usd"].clone(), a["held_usd"].clone(), a["spent_usd"].clone())
}

async fn get_with_headers(app: &TestApp, path: &str, key: &str) -> (StatusCode, Value, HeaderMap) {
    let r = app.client.get(format!("{}{path}", app.base)).bearer_auth(key).send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn tiny(extra: Value) -> Value {
    let mut body = json!({"model": "tiny", "prompt": "a red ball bouncing"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

/// Long-polls until the task reaches `status`.
async fn wait_for(app: &TestApp, key: &str, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let (_, t) = app.get(&format!("/v1/videos/tasks/{id}?wait=2"), key).await;
        if t["status"] == status {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "task {id} never {status}: {t}");
    }
}

fn id(task: &Value) -> String {
    task["task_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_delay_over_the_maximum_is_refused_with_no_task_and_no_hold() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(5), json!({})).await;
    for delay in ["300001", "3600000", "soon", "-5"] {
        let body = tiny(json!({"metadata": {"sandbox.delay_ms": delay}, "out_task_id": "slow"}));
        let (s, e, _) = app.post("/v1/videos/generations", &key, &body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{delay}: {e}");
        assert_eq!(
            (&e["error"]["code"], &e["error"]["param"], &e["error"]["type"]),
            (&json!("invalid_param"), &json!("metadata.sandbox.delay_ms"), &json!("invalid_request_error")),
            "{delay}: {e}"
        );
    }
    let (s, e) = app.get("/v1/tasks/query?out_task_id=slow", &key).await;
    assert_eq!((s, &e["error"]["code"]), (StatusCode::NOT_FOUND, &json!("task_not_found")), "no task was created");
    assert_eq!(money(&app, &account).await, (json!(5), json!(0), json!(0)), "nothing held");
    let at_max = app.submit(&key, tiny(json!({"metadata": {"sandbox.delay_ms": "300000"}}))).await;
    assert_eq!(at_max["status"], "queued", "the maximum itself is allowed: {at_max}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_fault_leaves_the_balance_exactly_as_before_its_submit() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(10), json!({})).await;
    for fault in ["upstream_error", "invalid_result"] {
        let before = money(&app, &account).await;
        let task = app.submit(&key, tiny(json!({"duration_seconds": 2, "metadata": {"sandbox.fault": fault}}))).await;
        assert_eq!((&task["mode"], &task["estimated_credits"]), (&json!("live"), &json!(0.5)));
        let (balance, held, _) = money(&app, &account).await;
        assert_eq!((balance, held), (json!(9.5), json!(0.5)), "{fault}: the estimate is held at submit");
        let done = app.wait_terminal(&key, &id(&task), LIMIT).await;
        assert_eq!(
            (&done["status"], &done["error"]["code"], &done["credits_used"]),
            (&json!("failed"), &json!(fault), &json!(0))
        );
        assert_eq!(money(&app, &account).await, before, "{fault}: released to the micro-dollar");
    }
    assert_eq!(money(&app, &account).await, (json!(10), json!(0), json!(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_task_captures_the_rate_times_its_billed_seconds() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(3), json!({})).await;
    let two = app.submit(&key, tiny(json!({"duration_seconds": 2, "audio": true}))).await;
    let one = app.submit(&key, tiny(json!({"duration_seconds": 1}))).await;
    assert_eq!(money(&app, &account).await, (json!(2.25), json!(0.75), json!(0)));
    let two = app.wait_terminal(&key, &id(&two), LIMIT).await;
    let one = app.wait_terminal(&key, &id(&one), LIMIT).await;
    assert_eq!((&two["status"], &two["credits_used"]), (&json!("completed"), &json!(0.5)), "{two}");
    assert_eq!((&one["status"], &one["credits_used"]), (&json!("completed"), &json!(0.25)), "{one}");
    let delivered = two["output"][0]["duration_seconds"].as_f64().unwrap();
    assert!(delivered > 2.0 - 1.0 / 24.0 - 0.001, "the full request is billed only when delivered: {delivered}");
    assert_eq!(money(&app, &account).await, (json!(2.25), json!(0), json!(0.75)), "balance + spent = credits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_cancel_is_charged_only_under_the_charge_policy() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(5), json!({})).await;
    let slow = json!({"sandbox.delay_ms": "60000"});
    let charged =
        app.submit(&key, json!({"model": "tiny-charge", "prompt": "x", "duration_seconds": 2, "metadata": slow})).await;
    let free = app.submit(&key, tiny(json!({"duration_seconds": 2, "metadata": slow}))).await;
    assert_eq!(charged["estimated_credits"], json!(0.8));
    for task in [&charged, &free] {
        wait_for(&app, &key, &id(task), "running").await;
    }
    let (s, c, _) = app.post(&format!("/v1/tasks/cancel/{}", id(&charged)), &key, &json!({})).await;
    assert_eq!((s, &c["status"], &c["credits_used"]), (StatusCode::OK, &json!("cancelled"), &json!(0.8)));
    let (_, f, _) = app.post(&format!("/v1/tasks/cancel/{}", id(&free)), &key, &json!({})).await;
    assert_eq!((&f["status"], &f["credits_used"]), (&json!("cancelled"), &json!(0)));
    assert_eq!(money(&app, &account).await, (json!(4.2), json!(0), json!(0.8)));
    let (_, again, _) = app.post(&format!("/v1/tasks/cancel/{}", id(&charged)), &key, &json!({})).await;
    assert_eq!(again["credits_used"], json!(0.8), "a second cancel changes nothing");
    assert_eq!(money(&app, &account).await, (json!(4.2), json!(0), json!(0.8)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_submits_against_ten_holds_accept_exactly_ten() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(2.5), json!({})).await;
    let mut handles = Vec::new();
    for n in 0..50 {
        let (client, base, key) = (app.client.clone(), app.base.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            let body = tiny(json!({"prompt": format!("clip {n}")}));
            let r = client
                .post(format!("{base}/v1/videos/generations"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, retry) = (r.status(), header(r.headers(), "x-should-retry").map(str::to_owned));
            (status, retry, r.json::<Value>().await.unwrap())
        }));
    }
    let mut accepted = Vec::new();
    let mut refused = 0;
    for h in handles {
        let (status, retry, body) = h.await.unwrap();
        match status {
            StatusCode::OK => accepted.push(id(&body)),
            StatusCode::PAYMENT_REQUIRED => {
                assert_eq!(
                    (body["error"]["code"].as_str(), retry.as_deref()),
                    (Some("insufficient_balance"), Some("false"))
                );
                assert_eq!(body["error"]["type"], "billing_error");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((accepted.len(), refused), (10, 40));
    let (_, list) = app.admin_get(&format!("/admin/v1/tasks?account_id={account}&limit=100")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 10, "refusals leave no task");
    for task in &accepted {
        assert_eq!(app.wait_terminal(&key, task, LIMIT).await["credits_used"], json!(0.25));
    }
    assert_eq!(money(&app, &account).await, (json!(0), json!(0), json!(2.5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_quota_is_402_quota_exceeded_and_the_header_counts_down() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(10), json!({"quota_usd": 0.5})).await;
    for left in ["0.25", "0"] {
        let (s, t, headers) = app.post("/v1/videos/generations", &key, &tiny(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        assert_eq!(header(&headers, "x-quota-remaining-credits"), Some(left), "the new hold is already counted");
        assert_eq!(header(&headers, "x-ratelimit-limit"), None, "no spend window, no rate-limit headers");
    }
    let (s, e, headers) = app.post("/v1/videos/generations", &key, &tiny(json!({}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::PAYMENT_REQUIRED, Some("quota_exceeded")));
    assert_eq!(
        (header(&headers, "x-should-retry"), header(&headers, "x-quota-remaining-credits")),
        (Some("false"), Some("0"))
    );
    assert_eq!(money(&app, &account).await, (json!(9.5), json!(0.5), json!(0)), "the refusal held nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spend_window_is_429_with_retry_after_until_it_frees_up() {
    let app = spawn_app_with(live_config()).await;
    let (_, key) = funded(&app, json!(10), json!({"spend_limits": {"5h": 0.5, "1d": 2}})).await;
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    for _ in 0..2 {
        app.submit(&key, tiny(json!({}))).await;
    }
    let (s, e, headers) = app.post("/v1/videos/generations", &key, &tiny(json!({}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limit_exceeded")), "{e}");
    assert_eq!(e["error"]["type"], "rate_limit_error");
    let retry: u64 = header(&headers, "retry-after").unwrap().parse().unwrap();
    assert!((5 * 3600 - 60..=5 * 3600).contains(&retry), "the first hold leaves the 5 h window in 5 h: {retry}");
    assert_eq!(
        (header(&headers, "x-ratelimit-limit"), header(&headers, "x-ratelimit-remaining")),
        (Some("0.5"), Some("0"))
    );
    let reset: u64 = header(&headers, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert!((started + 5 * 3600..=started + 5 * 3600 + 60).contains(&reset), "{reset}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_cap_is_429_concurrency_limit_until_a_task_ends() {
    let app = spawn_app_with(live_config()).await;
    let (_, key) = funded(&app, json!(10), json!({"concurrency_limit": 1})).await;
    let first = app.submit(&key, tiny(json!({"metadata": {"sandbox.delay_ms": "60000"}}))).await;
    let (s, e, headers) = app.post("/v1/videos/generations", &key, &tiny(json!({}))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("concurrency_limit")), "{e}");
    assert!(header(&headers, "retry-after").is_some());
    app.post(&format!("/v1/tasks/cancel/{}", id(&first)), &key, &json!({})).await;
    let (s, _, _) = app.post("/v1/videos/generations", &key, &tiny(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "a finished task frees its slot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_and_the_limit_headers_describe_the_calling_key() {
    let app = spawn_app_with(live_config()).await;
    let limits = json!({"quota_usd": 5, "spend_limits": {"5h": 1, "1d": 2}, "concurrency_limit": 3});
    let (account, key) = funded(&app, json!(10), limits).await;
    let (s, b, headers) = get_with_headers(&app, "/v1/balance", &key).await;
    assert_eq!(s, StatusCode::OK);
    let window = |limit: u32, used: &Value, at: Value| json!({"limit_usd": limit, "used_usd": used, "resets_at": at});
    // (money as the gateway writes it: whole amounts are integers)
    let expected = |balance: Value, used: Value, left: Value, at: Value, in_flight: u32| {
        json!({"account_id": account, "balance_usd": balance, "held_usd": used, "spent_usd": 0,
            "key": {"id": b["key"]["id"], "name": "k", "mode": "live", "quota_usd": 5, "quota_remaining_usd": left,
                "spend_windows": {"5h": window(1, &used, at.clone()), "1d": window(2, &used, at)},
                "concurrency_limit": 3, "in_flight": in_flight}})
    };
    assert_eq!(b, expected(json!(10), json!(0), json!(5), Value::Null, 0));
    let h = |name| header(&headers, name).map(str::to_owned);
    assert_eq!((h("x-ratelimit-limit"), h("x-ratelimit-remaining")), (Some("1".into()), Some("1".into())));
    assert_eq!(h("x-quota-remaining-credits"), Some("5".into()));

    let task = app.submit(&key, tiny(json!({"duration_seconds": 2, "metadata": {"sandbox.delay_ms": "60000"}}))).await;
    let created = task["created_at"].as_str().unwrap();
    let (_, b, _) = get_with_headers(&app, "/v1/balance", &key).await;
    let created_ms = time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).unwrap();
    let five_hours_later = created_ms + time::Duration::hours(5);
    assert_eq!(
        b["key"]["spend_windows"]["5h"]["resets_at"]
            .as_str()
            .map(|t| { time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap() }),
        Some(five_hours_later)
    );
    let at_5h = b["key"]["spend_windows"]["5h"]["resets_at"].clone();
    let mut want = expected(json!(9.5), json!(0.5), json!(4.5), at_5h, 1);
    want["key"]["spend_windows"]["1d"]["resets_at"] = b["key"]["spend_windows"]["1d"]["resets_at"].clone();
    assert_eq!(b, want);
    // 5h has 0.5 left, 1d 1.5: the 5 h window is the tightest
    let (_, _, models_headers) = get_with_headers(&app, "/v1/models", &key).await;
    let h = |name| header(&models_headers, name).map(str::to_owned);
    let reset = (five_hours_later.unix_timestamp_nanos() as u64).div_ceil(1_000_000_000).to_string();
    assert_eq!(
        (h("x-ratelimit-limit"), h("x-ratelimit-remaining"), h("x-ratelimit-reset"), h("x-quota-remaining-credits")),
        (Some("1".into()), Some("0.5".into()), Some(reset), Some("4.5".into()))
    );
    let (_, _, plain) = get_with_headers(&app, "/v1/models", &app.test_key.clone()).await;
    assert!(header(&plain, "x-ratelimit-limit").is_none() && header(&plain, "x-quota-remaining-credits").is_none());
    let (s, _, unauthenticated) = get_with_headers(&app, "/v1/balance", "sk-vg-nope").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(header(&unauthenticated, "x-ratelimit-limit").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_totals_equal_the_captures_per_day_model_and_key() {
    let app = spawn_app_with(live_config()).await;
    let (account, key_a) = funded(&app, json!(10), json!({})).await;
    let (_, second) =
        app.admin_post("/admin/v1/keys", &json!({"account_id": account, "name": "b", "mode": "live"})).await;
    let key_b = second["key"].as_str().unwrap().to_owned();
    let (_, test) =
        app.admin_post("/admin/v1/keys", &json!({"account_id": account, "name": "t", "mode": "test"})).await;
    let test_key = test["key"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for (key, body) in [
        (&key_a, tiny(json!({"duration_seconds": 1}))),
        (&key_a, tiny(json!({"duration_seconds": 2}))),
        (&key_b, json!({"model": "tiny-charge", "prompt": "x", "duration_seconds": 2})),
        (&key_b, tiny(json!({"metadata": {"sandbox.fault": "upstream_error"}}))),
        (&test_key, tiny(json!({"duration_seconds": 2}))),
    ] {
        ids.push((key.clone(), id(&app.submit(key, body).await)));
    }
    // (bucket, model, key_id, mode) -> (tasks, seconds, usd)
    let mut expected: BTreeMap<UsageKey, (u64, f64, f64)> = BTreeMap::new();
    let mut live_usd = 0.0;
    for (key, task_id) in &ids {
        let t = app.wait_terminal(key, task_id, LIMIT).await;
        let (_, admin) = app.admin_get(&format!("/admin/v1/tasks?account_id={account}&limit=100")).await;
        let key_id =
            admin["data"].as_array().unwrap().iter().find(|a| &a["task_id"] == task_id).unwrap()["key_id"].clone();
        if t["status"] != "completed" {
            continue;
        }
        let day = t["completed_at"].as_str().unwrap()[..10].to_owned();
        let row = (
            day,
            t["model"].as_str().unwrap().to_owned(),
            key_id.as_str().unwrap().to_owned(),
            t["mode"].as_str().unwrap().to_owned(),
        );
        let e = expected.entry(row).or_default();
        let usd = t["credits_used"].as_f64().unwrap();
        (e.0, e.1, e.2) = (e.0 + 1, e.1 + t["duration_seconds"].as_f64().unwrap(), e.2 + usd);
        if t["mode"] == "live" {
            live_usd += usd;
        }
    }
    let (s, usage) = app.get("/v1/usage?group_by=day,model,key,mode", &key_a).await;
    assert_eq!(s, StatusCode::OK, "{usage}");
    let got: BTreeMap<_, _> = usage["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let text = |f: &str| r[f].as_str().unwrap().to_owned();
            (
                (text("bucket"), text("model"), text("key_id"), text("mode")),
                (r["tasks"].as_u64().unwrap(), r["seconds"].as_f64().unwrap(), r["usd"].as_f64().unwrap()),
            )
        })
        .collect();
    assert_eq!(got, expected, "one row per (day, model, key, mode), failures excluded");
    assert_eq!(got.len(), 3, "tiny on key a, tiny-charge on key b, tiny in test mode");
    let spent = money(&app, &account).await.2;
    assert_eq!(spent.as_f64().unwrap(), live_usd);
    let (_, live) = app.get("/v1/usage?mode=live&group_by=", &key_b).await;
    assert_eq!(live["totals"], json!({"tasks": 3, "seconds": 5.0, "usd": spent}), "live usage is the captures");
    assert_eq!(live["data"][0]["bucket"].as_str().unwrap().split('/').count(), 2, "the whole period: {live}");
    let (s, admin) = app.admin_get(&format!("/admin/v1/usage?account_id={account}&group_by=account,mode")).await;
    assert_eq!(s, StatusCode::OK, "{admin}");
    assert_eq!(admin["data"][0]["account_id"], account);
    assert_eq!((&admin["data"][0]["mode"], &admin["data"][0]["usd"]), (&json!("live"), &spent));
    assert_eq!((&admin["data"][1]["mode"], &admin["data"][1]["usd"]), (&json!("test"), &json!(0.5)));
    let (s, e) = app.get("/v1/usage?group_by=account", &key_a).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("group_by")));
    let (s, e) = app.get("/v1/usage?since=2020-01-01", &key_a).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("since")), "more than 366 days");
    let (s, other) = app.get("/v1/usage", &app.test_key.clone()).await;
    assert_eq!(
        (s, &other["data"], &other["totals"]["tasks"]),
        (StatusCode::OK, &json!([]), &json!(0)),
        "another account sees none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_are_exact_and_a_debit_never_overdraws_the_balance() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(1), json!({})).await;
    let credits = format!("/admin/v1/accounts/{account}/credits");
    let (s, e) = app.admin_post(&credits, &json!({"amount_usd": 0.1234567})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_param"), Some("amount_usd"))
    );
    let (s, e) = app.admin_post(&credits, &json!({"amount_usd": "1e3"})).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("amount_usd")));
    let (s, e) = app.admin_post(&credits, &json!({"amount_usd": 100000001})).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("amount_usd")));
    let (s, a) = app.admin_post(&credits, &json!({"amount_usd": 0.123456})).await;
    assert_eq!((s, &a["balance_usd"]), (StatusCode::OK, &json!(1.123456)));
    app.submit(&key, tiny(json!({"duration_seconds": 2, "metadata": {"sandbox.delay_ms": "60000"}}))).await;
    let r = app
        .client
        .post(format!("{}{credits}", app.base))
        .bearer_auth(&app.admin_token)
        .json(&json!({"amount_usd": -0.623457}))
        .send()
        .await
        .unwrap();
    assert_eq!((r.status(), header(r.headers(), "x-should-retry")), (StatusCode::PAYMENT_REQUIRED, Some("false")));
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        (e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (Some("insufficient_balance"), Some("amount_usd"))
    );
    assert_eq!(money(&app, &account).await, (json!(0.623456), json!(0.5), json!(0)), "nothing was removed");
    let (s, a) = app.admin_post(&credits, &json!({"amount_usd": -0.623456, "note": "refund"})).await;
    assert_eq!(
        (s, &a["balance_usd"], &a["held_usd"]),
        (StatusCode::OK, &json!(0), &json!(0.5)),
        "down to zero, holds covered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_checks_the_key_like_every_other_request() {
    let app = spawn_app_with(live_config()).await;
    let (account, key) = funded(&app, json!(10), json!({"quota_usd": 2})).await;
    let task = app.submit(&key, tiny(json!({}))).await;
    let (_, fenced) = app
        .admin_post(
            "/admin/v1/keys",
            &json!({"account_id": account, "name": "f", "mode": "live", "ip_allow": ["10.0.0.0/8"]}),
        )
        .await;
    let stream = format!("/v1/tasks/stream/{}", id(&task));
    let r = app
        .client
        .get(format!("{}{stream}", app.base))
        .bearer_auth(fenced["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the IP list holds on the stream");
    let r = app.client.get(format!("{}{stream}", app.base)).bearer_auth(&key).send().await.unwrap();
    assert_eq!((r.status(), header(r.headers(), "x-quota-remaining-credits")), (StatusCode::OK, Some("1.75")));
    let r = app.client.get(format!("{}{stream}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "neither a key nor a signature");
}
