//! Reading and changing a key (`GET`/`PATCH /admin/v1/keys/{id}`).

use reqwest::StatusCode;
use serde_json::json;

use crate::admin_accounts::{admin_patch, assert_error};
use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_read_renamed_limited_disabled_and_enabled_again_at_once() {
    let app = spawn_app().await;
    let (s, key) =
        app.admin_post("/admin/v1/keys", &json!({"account_id": app.account_id, "name": "ci", "mode": "test"})).await;
    assert_eq!(s, StatusCode::OK, "{key}");
    let (id, secret) = (key["id"].as_str().unwrap().to_owned(), key["key"].as_str().unwrap().to_owned());
    let path = format!("/admin/v1/keys/{id}");

    let (s, read) = app.admin_get(&path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (read["key"].clone(), read["masked"].clone(), read["disabled"].clone()),
        (json!(null), key["masked"].clone(), json!(false))
    );

    let change = json!({"name": "ci-2", "quota_usd": 2.5, "spend_limits": {"1d": 1}, "concurrency_limit": 3,
        "models": ["tiny"], "expires_at": "2999-01-02T03:04:05Z", "ip_allow": ["10.0.0.0/8"]});
    let (s, k) = admin_patch(&app, &path, &change).await;
    assert_eq!(s, StatusCode::OK, "{k}");
    assert_eq!(
        [
            &k["name"],
            &k["quota_usd"],
            &k["spend_limits"],
            &k["concurrency_limit"],
            &k["models"],
            &k["expires_at"],
            &k["ip_allow"]
        ],
        [
            &json!("ci-2"),
            &json!(2.5),
            &json!({"1d": 1}),
            &json!(3),
            &json!(["tiny"]),
            &json!("2999-01-02T03:04:05Z"),
            &json!(["10.0.0.0/8"])
        ]
    );
    assert_eq!((k["mode"].as_str(), k["key"].clone()), (Some("test"), json!(null)));
    assert_eq!(app.admin_get(&path).await.1, k, "stored as answered");
    // The address list applies to the very next request (the tests call from 127.0.0.1).
    assert_error(&app.get("/v1/models", &secret).await, StatusCode::FORBIDDEN, "permission_denied", None);

    let (s, k) = admin_patch(&app, &path, &json!({"ip_allow": null, "quota_usd": null, "disabled": true})).await;
    assert_eq!(s, StatusCode::OK, "{k}");
    assert_eq!(
        (k["ip_allow"].clone(), k["quota_usd"].clone(), k["disabled"].clone()),
        (json!([]), json!(null), json!(true))
    );
    assert_eq!(k["concurrency_limit"], json!(3), "absent fields are kept");
    assert_error(&app.get("/v1/models", &secret).await, StatusCode::UNAUTHORIZED, "invalid_api_key", None);

    let (s, k) = admin_patch(&app, &path, &json!({"disabled": false, "spend_limits": {}})).await;
    assert_eq!((s, k["disabled"].clone(), k["spend_limits"].clone()), (StatusCode::OK, json!(false), json!({})));
    let (s, _) = app.get("/v1/models", &secret).await;
    assert_eq!(s, StatusCode::OK, "enabled again at once");

    let (_, list) = app.admin_get("/admin/v1/keys").await;
    let listed = list["data"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
    assert_eq!((listed["name"].as_str(), listed["disabled"].clone()), (Some("ci-2"), json!(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_change_is_checked_like_its_creation_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let (_, key) = app
        .admin_post(
            "/admin/v1/keys",
            &json!({"account_id": app.account_id, "name": "ci", "mode": "live", "quota_usd": 1}),
        )
        .await;
    let path = format!("/admin/v1/keys/{}", key["id"].as_str().unwrap());
    let (_, before) = app.admin_get(&path).await;
    for (body, code, param) in [
        (json!({"quota_usd": -1}), "invalid_param", "quota_usd"),
        (json!({"quota_usd": 1.0000001}), "invalid_param", "quota_usd"),
        (json!({"quota_usd": "1"}), "invalid_param", "quota_usd"),
        (json!({"spend_limits": {"5h": 0}}), "invalid_param", "spend_limits.5h"),
        (json!({"spend_limits": {"1w": 1}}), "unknown_param", "spend_limits.1w"),
        (json!({"concurrency_limit": 0}), "invalid_param", "concurrency_limit"),
        (json!({"models": ["no-such-model"]}), "invalid_param", "models"),
        (json!({"expires_at": "tomorrow"}), "invalid_param", "expires_at"),
        (json!({"ip_allow": ["10.0.0.0/99"]}), "invalid_param", "ip_allow"),
        (json!({"name": ""}), "invalid_param", "name"),
        (json!({"name": null}), "invalid_param", "name"),
        (json!({"disabled": null}), "invalid_param", "disabled"),
        (json!({"mode": "test"}), "invalid_param", "mode"),
        (json!({"account_id": app.account_id}), "invalid_param", "account_id"),
        (json!({"key": "sk-vg-x"}), "unknown_param", "key"),
        (json!({"name": "fine", "concurrency_limit": 0}), "invalid_param", "concurrency_limit"),
    ] {
        let answer = admin_patch(&app, &path, &body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code, Some(param));
    }
    assert_eq!(app.admin_get(&path).await.1, before, "nothing changed");

    let unknown = "/admin/v1/keys/key_01M85TJ43XKGBWFZJQ5NB4QRKC";
    assert_error(&admin_patch(&app, unknown, &json!({"name": "x"})).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&app.admin_get(unknown).await, StatusCode::NOT_FOUND, "not_found", None);
    let r = app.client.delete(format!("{}{path}", app.base)).bearer_auth(&app.admin_token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let revoked = admin_patch(&app, &path, &json!({"disabled": false})).await;
    assert_error(&revoked, StatusCode::BAD_REQUEST, "invalid_param", None);
}
