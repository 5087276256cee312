//! The audit list of management changes (`GET /admin/v1/audit`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_accounts::{admin_patch, assert_error};
use crate::helpers::spawn_app;

fn actions(page: &Value) -> Vec<(String, Value)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["changes"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_management_change_is_listed_newest_first_without_secrets() {
    let app = spawn_app().await;
    let (_, acct) = app.admin_post("/admin/v1/accounts", &json!({"name": "acme"})).await;
    let id = acct["id"].as_str().unwrap().to_owned();
    app.admin_post(&format!("/admin/v1/accounts/{id}/credits"), &json!({"amount_usd": 12.5, "note": "top-up"})).await;
    let (_, rotated) = app.admin_post(&format!("/admin/v1/accounts/{id}/webhook-secret"), &json!({})).await;
    admin_patch(&app, &format!("/admin/v1/accounts/{id}"), &json!({"name": "Acme", "status": "suspended"})).await;
    admin_patch(&app, &format!("/admin/v1/accounts/{id}"), &json!({"name": "Acme"})).await;

    let (s, page) = app.admin_get(&format!("/admin/v1/audit?target_id={id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        actions(&page),
        [
            ("account.update".to_owned(), json!({"name": "Acme", "status": "suspended"})),
            ("account.rotate_webhook_secret".to_owned(), json!({})),
            ("account.credit".to_owned(), json!({"amount_usd": 12.5, "note": "top-up"})),
            ("account.create".to_owned(), json!({"name": "acme"})),
        ],
        "a change to the same values records nothing"
    );
    let first = &page["data"][0];
    assert_eq!(
        (first["object"].as_str(), first["actor"].as_str(), first["target_id"].as_str()),
        (Some("audit_entry"), Some("admin"), Some(id.as_str()))
    );
    assert!(first["id"].as_str().unwrap().starts_with("aud_"));
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));

    let (_, key) = app
        .admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "ci", "mode": "live", "quota_usd": 3}))
        .await;
    let key_id = key["id"].as_str().unwrap().to_owned();
    admin_patch(&app, &format!("/admin/v1/keys/{key_id}"), &json!({"disabled": true, "quota_usd": null, "name": "ci"}))
        .await;
    for _ in 0..2 {
        let r = app
            .client
            .delete(format!("{}/admin/v1/keys/{key_id}", app.base))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (_, page) = app.admin_get(&format!("/admin/v1/audit?target_id={key_id}")).await;
    let listed = actions(&page);
    assert_eq!(
        listed.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["key.revoke", "key.update", "key.create"],
        "revoking twice records once"
    );
    assert_eq!(listed[1].1, json!({"disabled": true, "quota_usd": null}));
    assert_eq!(
        listed[2].1,
        json!({"account_id": id, "mode": "live", "name": "ci", "disabled": false, "quota_usd": 3, "spend_limits": {},
            "concurrency_limit": null, "models": null, "expires_at": null, "ip_allow": []})
    );
    assert!(listed[0].1["revoked_at"].as_str().unwrap().ends_with('Z'));

    let (_, everything) = app.admin_get("/admin/v1/audit?limit=100").await;
    let text = everything.to_string();
    for secret in [
        key["key"].as_str().unwrap(),
        acct["webhook_secret"].as_str().unwrap(),
        rotated["webhook_secret"].as_str().unwrap(),
        &app.admin_token,
    ] {
        assert!(!text.contains(secret), "a secret in the audit list");
    }
    assert_eq!(everything["data"].as_array().unwrap().len(), 7);

    let (_, p1) = app.admin_get("/admin/v1/audit?limit=4").await;
    assert_eq!(p1["has_more"], json!(true));
    let after = p1["last_id"].as_str().unwrap();
    let (_, p2) = app.admin_get(&format!("/admin/v1/audit?limit=4&after={after}")).await;
    assert_eq!((p2["data"].as_array().unwrap().len(), p2["has_more"].clone()), (3, json!(false)));
    assert_eq!(p2["data"][2]["action"], "account.create");
    assert_error(
        &app.admin_get("/admin/v1/audit?after=42").await,
        StatusCode::BAD_REQUEST,
        "invalid_param",
        Some("after"),
    );
    assert_error(
        &app.admin_get("/admin/v1/audit?action=x").await,
        StatusCode::BAD_REQUEST,
        "unknown_param",
        Some("action"),
    );
    assert_error(
        &app.admin_get("/admin/v1/audit?limit=101").await,
        StatusCode::BAD_REQUEST,
        "invalid_param",
        Some("limit"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_endpoints_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    for (path, method) in [
        ("/admin/v1/accounts", "get"),
        ("/admin/v1/accounts", "post"),
        ("/admin/v1/accounts/{id}", "patch"),
        ("/admin/v1/keys/{id}", "get"),
        ("/admin/v1/keys/{id}", "patch"),
        ("/admin/v1/keys/{id}", "delete"),
        ("/admin/v1/audit", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing from /openapi.json");
    }
    for schema in ["AccountPatch", "KeyPatch", "AuditObject"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
