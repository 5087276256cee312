//! Authenticated keys kept in memory (`auth.key_cache_ms`): a revoke takes effect at the
//! next request however long the lifetime, and every request still checks the secret.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_accounts::admin_patch;
use crate::helpers::{spawn_app_with, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_at_the_next_request_though_it_was_kept_in_memory() {
    let mut config = test_config();
    config.auth.key_cache_ms = 600_000;
    let app = spawn_app_with(config).await;
    let (account, key) = app.account_with_key("cached", "test").await;
    let task = app.submit_tiny(&key, json!({})).await;
    let path = format!("/v1/videos/tasks/{}", task["task_id"].as_str().unwrap());
    assert_eq!(app.get(&path, &key).await.0, StatusCode::OK, "the key is read and kept");
    // the same key id with another secret is still refused while the key is kept
    let forged = format!("{}{}", &key[..key.len() - 4], if key.ends_with("AAAA") { "BBBB" } else { "AAAA" });
    let (status, body) = app.get(&path, &forged).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_api_key")), "{body}");
    let (_, keys) = app.admin_get(&format!("/admin/v1/keys?account_id={account}")).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap_or_else(|| panic!("{keys}")).to_owned();
    let revoked = app
        .client
        .delete(format!("{}/admin/v1/keys/{key_id}", app.base))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, body): (_, Value) = app.get(&path, &key).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_api_key")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_kept_key_or_suspending_its_account_holds_at_the_next_request() {
    let mut config = test_config();
    config.auth.key_cache_ms = 600_000;
    let app = spawn_app_with(config).await;
    let (account, key) = app.account_with_key("kept", "test").await;
    let task = app.submit_tiny(&key, json!({})).await;
    let path = format!("/v1/videos/tasks/{}", task["task_id"].as_str().unwrap());
    assert_eq!(app.get(&path, &key).await.0, StatusCode::OK, "the key is read and kept");

    let suspend = admin_patch(&app, &format!("/admin/v1/accounts/{account}"), &json!({"status": "suspended"})).await.0;
    assert_eq!(suspend, StatusCode::OK);
    let (status, body): (_, Value) = app.get(&path, &key).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::FORBIDDEN, &json!("permission_denied")), "{body}");
    let resume = admin_patch(&app, &format!("/admin/v1/accounts/{account}"), &json!({"status": "active"})).await.0;
    assert_eq!(resume, StatusCode::OK);
    assert_eq!(app.get(&path, &key).await.0, StatusCode::OK, "resumed at the next request");

    let (_, keys) = app.admin_get(&format!("/admin/v1/keys?account_id={account}")).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap_or_else(|| panic!("{keys}")).to_owned();
    let disable = admin_patch(&app, &format!("/admin/v1/keys/{key_id}"), &json!({"disabled": true})).await.0;
    assert_eq!(disable, StatusCode::OK);
    let (status, body): (_, Value) = app.get(&path, &key).await;
    assert_eq!((status, &body["error"]["code"]), (StatusCode::UNAUTHORIZED, &json!("invalid_api_key")), "{body}");
}
