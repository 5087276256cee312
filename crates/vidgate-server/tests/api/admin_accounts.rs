//! The account list and account changes (`PATCH`), suspension included.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Admin PATCH with a JSON body.
pub async fn admin_patch(app: &TestApp, path: &str, body: &Value) -> (StatusCode, Value) {
    let r =
        app.client.patch(format!("{}{path}", app.base)).bearer_auth(&app.admin_token).json(body).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// Asserts an error answer: status, `code` and `param`.
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str, param: Option<&str>) {
    let (s, body) = answer;
    assert_eq!(
        (*s, body["error"]["code"].as_str(), body["error"]["param"].as_str()),
        (status, Some(code), param),
        "{body}"
    );
}

async fn create_account(app: &TestApp, name: &str) -> String {
    let (s, a) = app.admin_post("/admin/v1/accounts", &json!({"name": name})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    // Account ids sort by creation time to the millisecond.
    tokio::time::sleep(Duration::from_millis(3)).await;
    a["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_list_newest_first_filtered_by_name_in_pages() {
    let app = spawn_app().await;
    let one = create_account(&app, "team-a one").await;
    create_account(&app, "team-b").await;
    let two = create_account(&app, "team-a two").await;

    let (s, all) = app.admin_get("/admin/v1/accounts").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<_> = all["data"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["team-a two", "team-b", "team-a one", "default"]);
    assert_eq!((all["object"].clone(), all["has_more"].clone()), (json!("list"), json!(false)));
    assert_eq!(all["data"][0]["status"], "active");
    assert_eq!(all["data"][0]["object"], "account");

    let (s, page1) = app.admin_get("/admin/v1/accounts?name=team-a&limit=1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((page1["data"][0]["id"].as_str(), page1["has_more"].clone()), (Some(two.as_str()), json!(true)));
    assert_eq!(page1["last_id"].as_str(), Some(two.as_str()));
    let (_, page2) = app.admin_get(&format!("/admin/v1/accounts?name=team-a&limit=1&after={two}")).await;
    assert_eq!((page2["data"][0]["id"].as_str(), page2["has_more"].clone()), (Some(one.as_str()), json!(false)));
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    let (_, none) = app.admin_get("/admin/v1/accounts?name=TEAM").await;
    assert_eq!(none["data"], json!([]), "the name filter is case-sensitive");

    assert_error(
        &app.admin_get("/admin/v1/accounts?limit=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_param",
        Some("limit"),
    );
    assert_error(
        &app.admin_get("/admin/v1/accounts?after=x").await,
        StatusCode::BAD_REQUEST,
        "invalid_param",
        Some("after"),
    );
    assert_error(
        &app.admin_get("/admin/v1/accounts?sort=name").await,
        StatusCode::BAD_REQUEST,
        "unknown_param",
        Some("sort"),
    );
    let (s, _) = app.get("/admin/v1/accounts", &app.test_key.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "an API key is not the admin token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_is_renamed_and_refused_changes_change_nothing() {
    let app = spawn_app().await;
    let id = create_account(&app, "acme").await;
    let path = format!("/admin/v1/accounts/{id}");
    let (s, a) = admin_patch(&app, &path, &json!({"name": "Acme Inc."})).await;
    assert_eq!((s, a["name"].as_str(), a["status"].as_str()), (StatusCode::OK, Some("Acme Inc."), Some("active")));

    for (body, code, param) in [
        (json!({"name": ""}), "invalid_param", Some("name")),
        (json!({"name": "x".repeat(201)}), "invalid_param", Some("name")),
        (json!({"name": null}), "invalid_param", Some("name")),
        (json!({"status": "paused"}), "invalid_param", Some("status")),
        (json!({"status": null, "name": "other"}), "invalid_param", Some("status")),
        (json!({"balance_usd": 5}), "unknown_param", Some("balance_usd")),
    ] {
        assert_error(&admin_patch(&app, &path, &body).await, StatusCode::BAD_REQUEST, code, param);
    }
    let unknown = "/admin/v1/accounts/acct_01M85TJ43XKGBWFZJQ5NB4QRKC";
    assert_error(&admin_patch(&app, unknown, &json!({"name": "x"})).await, StatusCode::NOT_FOUND, "not_found", None);
    let (_, now) = app.admin_get(&path).await;
    assert_eq!((now["name"].as_str(), now["status"].as_str()), (Some("Acme Inc."), Some("active")));
    let (s, same) = admin_patch(&app, &path, &json!({})).await;
    assert_eq!((s, same["name"].as_str()), (StatusCode::OK, Some("Acme Inc.")), "an empty change is no change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_accounts_keys_are_refused_while_its_running_task_finishes() {
    let app = spawn_app().await;
    let (id, key) = app.account_with_key("acme", "test").await;
    let task = app.submit_tiny(&key, json!({"metadata": {"sandbox.delay_ms": "1500"}})).await;
    let task_id = task["task_id"].as_str().unwrap().to_owned();

    let (s, a) = admin_patch(&app, &format!("/admin/v1/accounts/{id}"), &json!({"status": "suspended"})).await;
    assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("suspended")));
    let refused = app.get("/v1/models", &key).await;
    assert_error(&refused, StatusCode::FORBIDDEN, "permission_denied", None);
    assert_eq!(refused.1["error"]["message"], format!("account {id} is suspended; ask the operator to resume it"));
    assert_error(
        &app.get(&format!("/v1/videos/tasks/{task_id}"), &key).await,
        StatusCode::FORBIDDEN,
        "permission_denied",
        None,
    );
    let (s, _) = app.get("/v1/models", &app.test_key.clone()).await;
    assert_eq!(s, StatusCode::OK, "other accounts are untouched");

    // The task accepted before the suspension runs to its end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let (_, page) = app.admin_get(&format!("/admin/v1/tasks?account_id={id}")).await;
        let t = page["data"][0].clone();
        if t["status"] == "completed" {
            break t;
        }
        assert_ne!(t["status"], "failed", "{t}");
        assert!(tokio::time::Instant::now() < deadline, "not finished: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(finished["task_id"].as_str(), Some(task_id.as_str()));

    let (s, a) = admin_patch(&app, &format!("/admin/v1/accounts/{id}"), &json!({"status": "active"})).await;
    assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("active")));
    let (s, t) = app.get(&format!("/v1/videos/tasks/{task_id}"), &key).await;
    assert_eq!((s, t["status"].as_str()), (StatusCode::OK, Some("completed")), "resumed at once");
}
