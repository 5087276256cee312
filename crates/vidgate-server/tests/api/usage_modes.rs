//! Usage keeps live money and test credits apart on every grouping: each row is of one
//! mode and says so, `totals` is live money only and `test_totals` the test-mode credits.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{spawn_app_with, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_totals_are_live_money_and_test_usage_is_reported_apart_on_every_grouping() {
    let mut config = test_config();
    config.sandbox.serve_live_keys = true;
    let app = spawn_app_with(config).await;
    let (account, live_key) = app.account_with_key("acme", "live").await;
    app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &json!({"amount_usd": 10})).await;
    let (_, test) =
        app.admin_post("/admin/v1/keys", &json!({"account_id": account, "name": "t", "mode": "test"})).await;
    let test_key = test["key"].as_str().unwrap().to_owned();
    let mut spent = 0.0;
    for (key, seconds) in [(&live_key, 1), (&test_key, 2), (&test_key, 1)] {
        let task = app.submit_tiny(key, json!({"duration_seconds": seconds})).await;
        let done = app.wait_terminal(key, task["task_id"].as_str().unwrap(), Duration::from_secs(60)).await;
        assert_eq!(done["status"], "completed", "{done}");
        if key == &live_key {
            spent += done["credits_used"].as_f64().unwrap();
        }
    }
    assert!(spent > 0.0);
    let (_, acct) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!(acct["spent_usd"].as_f64().unwrap(), spent, "live usage is the captures");

    let rows = |u: &Value| -> Vec<(String, u64)> {
        u["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["mode"].as_str().unwrap().to_owned(), r["tasks"].as_u64().unwrap()))
            .collect()
    };
    let live_rows = vec![("live".to_owned(), 1), ("test".to_owned(), 2)];
    for query in ["", "?group_by=day", "?group_by=model", "?group_by=", "?group_by=day,model,key", "?group_by=mode"] {
        let (s, u) = app.get(&format!("/v1/usage{query}"), &live_key).await;
        assert_eq!(s, StatusCode::OK, "{u}");
        let mut got = rows(&u);
        got.sort();
        assert_eq!(got, live_rows, "{query}: one row per mode, each labelled");
        assert_eq!(u["totals"], json!({"tasks": 1, "seconds": 1.0, "usd": spent}), "{query}: live money only");
        assert_eq!(
            (u["test_totals"]["tasks"].clone(), u["test_totals"]["seconds"].clone()),
            (json!(2), json!(3.0)),
            "{query}"
        );
        assert!(u["test_totals"]["usd"].as_f64().unwrap() > 0.0, "{query}: test credits are reported");
    }
    let (_, admin) = app.admin_get(&format!("/admin/v1/usage?account_id={account}&group_by=account")).await;
    assert_eq!(rows(&admin), live_rows);
    assert_eq!(admin["totals"]["usd"].as_f64().unwrap(), spent);
    assert_eq!(admin["test_totals"]["tasks"], json!(2));
    let (_, only_test) = app.get("/v1/usage?mode=test&group_by=", &live_key).await;
    assert_eq!(only_test["totals"], json!({"tasks": 0, "seconds": 0.0, "usd": 0}), "{only_test}");
    assert_eq!(only_test["test_totals"]["tasks"], json!(2));
}
