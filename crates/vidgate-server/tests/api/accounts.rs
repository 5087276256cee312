//! Accounts, keys and the admin token.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_manages_accounts_credits_and_keys() {
    let app = spawn_app().await;
    let (s, acct) = app.admin_post("/admin/v1/accounts", &json!({"name": "acme"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (acct["balance_usd"].clone(), acct["held_usd"].clone(), acct["spent_usd"].clone()),
        (json!(0), json!(0), json!(0))
    );
    assert!(acct["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
    let id = acct["id"].as_str().unwrap();
    let (s, a) = app
        .admin_post(&format!("/admin/v1/accounts/{id}/credits"), &json!({"amount_usd": 12.5, "note": "top-up"}))
        .await;
    assert_eq!((s, a["balance_usd"].clone()), (StatusCode::OK, json!(12.5)));
    let (_, a) = app.admin_post(&format!("/admin/v1/accounts/{id}/credits"), &json!({"amount_usd": -2.25})).await;
    assert_eq!(a["balance_usd"], json!(10.25));
    let (s, rotated) = app.admin_post(&format!("/admin/v1/accounts/{id}/webhook-secret"), &json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(rotated["webhook_secret"], acct["webhook_secret"]);

    let (s, key) = app
        .admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "prod", "mode": "live", "quota_usd": 5}))
        .await;
    assert_eq!(s, StatusCode::OK, "{key}");
    let secret = key["key"].as_str().unwrap();
    assert!(secret.starts_with("sk-vg-") && !secret.starts_with("sk-vg-test-"));
    let (s, list) = app.admin_get(&format!("/admin/v1/keys?account_id={id}")).await;
    assert_eq!(s, StatusCode::OK);
    let listed = &list["data"][0];
    assert!(listed["key"].is_null(), "listings never show the key");
    assert_eq!(listed["quota_usd"], json!(5));
    assert!(!list.to_string().contains(secret));

    let (s, _) = app.get("/v1/models", secret).await;
    assert_eq!(s, StatusCode::OK);
    let key_id = key["id"].as_str().unwrap();
    let r = app
        .client
        .delete(format!("{}/admin/v1/keys/{key_id}", app.base))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, e) = app.get("/v1/models", secret).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_and_api_keys_open_only_their_own_doors() {
    let app = spawn_app().await;
    let (s, e) = app.get("/v1/models", &app.admin_token.clone()).await;
    assert_eq!((s, e["error"]["type"].as_str()), (StatusCode::UNAUTHORIZED, Some("authentication_error")));
    let (s, _) = app.get("/admin/v1/tasks", &app.test_key.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.get("/v1/models", "sk-vg-test-01M85TJ43XKGBWFZJQ5NB4QRKC4Vvrfjh20wkNUEvlWSzHXwVMuvFo3Npb").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a well-formed unknown key");
    let r = app.client.get(format!("{}/v1/models", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // x-api-key wins over Authorization
    let r = app
        .client
        .get(format!("{}/v1/models", app.base))
        .header("x-api-key", &app.test_key)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(format!("{}/v1/models", app.base))
        .header("x-api-key", "nope")
        .bearer_auth(&app.test_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_restrictions_refuse_with_the_contract_codes() {
    let app = spawn_app().await;
    let id = app.account_id.clone();
    let (_, k) = app
        .admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "a", "mode": "test", "models": ["veo-3.1"]}))
        .await;
    let (s, e, _) =
        app.post("/v1/videos/generations", k["key"].as_str().unwrap(), &json!({"model": "tiny", "prompt": "x"})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::FORBIDDEN, Some("model_not_allowed"), Some("model"))
    );
    let (_, k) = app
        .admin_post(
            "/admin/v1/keys",
            &json!({"account_id": id, "name": "b", "mode": "test", "ip_allow": ["10.0.0.0/8"]}),
        )
        .await;
    let (s, e) = app.get("/v1/models", k["key"].as_str().unwrap()).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
    let (_, k) = app
        .admin_post(
            "/admin/v1/keys",
            &json!({"account_id": id, "name": "c", "mode": "test", "ip_allow": ["127.0.0.1"]}),
        )
        .await;
    let (s, _) = app.get("/v1/models", k["key"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    let (_, k) = app
        .admin_post(
            "/admin/v1/keys",
            &json!({"account_id": id, "name": "d", "mode": "test", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    let (s, _) = app.get("/v1/models", k["key"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "an expired key is invalid");
    let (s, e) = app.admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "e", "mode": "gold"})).await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("mode")));
    let (s, e) =
        app.admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "f", "mode": "test", "colour": 1})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["param"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_param"), Some("colour"))
    );
    let (s, e) = app
        .admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "g", "mode": "test", "ip_allow": ["nope"]}))
        .await;
    assert_eq!((s, e["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, Some("ip_allow")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_keys_without_an_upstream_get_model_unavailable() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key("live", "live").await;
    let (s, e, _) = app.post("/v1/videos/generations", &key, &json!({"model": "veo3.1", "prompt": "x"})).await;
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["type"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("model_unavailable"), Some("server_error"))
    );
    let (_, models) = app.get("/v1/models", &key).await;
    assert_eq!(models["data"][0]["available"], false);
    let (_, models) = app.get("/v1/models", &app.test_key.clone()).await;
    assert_eq!(models["data"][0]["available"], true);
    assert_eq!(models["data"][0]["id"], "veo3.1");
    assert_eq!(models["data"][0]["pricing"]["usd_per_second"], json!(0.4));
    let (s, m) = app.get("/v1/models/sora-2-pro", &app.test_key.clone()).await;
    assert_eq!((s, m["id"].as_str()), (StatusCode::OK, Some("sora2-pro")));
    assert_eq!(m["pricing"]["per_size"]["1920x1080"], json!(0.5));
    let (s, _) = app.get("/v1/models/nope", &app.test_key.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
