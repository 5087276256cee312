//! The console's upstreams page (`/console/upstreams`): every upstream and pool member with
//! its routing state, the operator's only; its changes go through the management API's
//! `PATCH` (so they are audited as the operator's), and each needs the session's CSRF token.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use vidgate_fakes::FakeOpenAi;

use crate::console::{browser, csrf_of, page, post_form, sign_in};
use crate::helpers::{TestApp, spawn_app_with};
use crate::upstream_helpers::{config_with, openai_entry};

/// A gateway with `solo` and a pool entry `pool` of two members, all on one fake (nothing
/// is run: the page and the switches need no upstream call).
async fn gateway() -> (TestApp, FakeOpenAi) {
    let fake = FakeOpenAi::start().await;
    let mut pool = openai_entry("pool", &fake);
    let map = pool.as_object_mut().unwrap();
    map.remove("credentials");
    map.insert(
        "pool".into(),
        json!([{"label": "a", "credentials": fake.api_key()}, {"label": "b", "credentials": "sk-other", "weight": 3}]),
    );
    let app = spawn_app_with(config_with(vec![openai_entry("solo", &fake), pool])).await;
    (app, fake)
}

async fn upstream(app: &TestApp, name: &str) -> Value {
    let (s, u) = app.admin_get(&format!("/admin/v1/upstreams/{name}")).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    u
}

async fn audit_of(app: &TestApp, name: &str) -> Vec<(Value, Value)> {
    let (s, audit) = app.admin_get(&format!("/admin/v1/audit?target_id={name}")).await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    audit["data"].as_array().unwrap().iter().map(|e| (e["actor"].clone(), e["changes"].clone())).collect()
}

#[tokio::test]
async fn the_upstreams_page_groups_pool_members_under_their_entry_and_is_the_operators_only() {
    let (app, _fake) = gateway().await;
    let r = browser().get(format!("{}/console/upstreams", app.base)).send().await.unwrap();
    assert_eq!((r.status(), r.headers()[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/console/login"));

    let cookie = sign_in(&app, &app.admin_token).await;
    let (status, html) = page(&app, &cookie, "/console/upstreams").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<a href=\"/console/upstreams\">Upstreams</a>"), "linked from the nav: {html}");
    let at = |part: &str| html.find(part).unwrap_or_else(|| panic!("{part} missing: {html}"));
    let pool = at("<tr class=\"pool\" data-pool=\"pool\">");
    let (a, b, solo) = (
        at("<tr data-upstream=\"pool:a\" data-state=\"ready\">"),
        at("<tr data-upstream=\"pool:b\" data-state=\"ready\">"),
        at("<tr data-upstream=\"solo\" data-state=\"ready\">"),
    );
    assert!(pool < a && a < b && b < solo, "members under their entry, in name order");
    assert!(html.contains("Credential pool <code>pool</code>: 2 members"), "{html}");
    assert!(html.contains("<td class=\"num\" data-field=\"weight\">3</td>"), "pool:b's weight: {html}");
    assert!(html.contains("aria-label=\"Disable upstream pool:a\""), "{html}");
    assert!(html.contains("action=\"/console/upstreams/pool:b\""), "{html}");
    assert!(!html.contains("sk-other"), "no credential on the page");

    let account = sign_in(&app, &app.test_key).await;
    let (status, html) = page(&app, &account, "/console/upstreams").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("data-code=\"permission_denied\""), "{html}");
    let (_, overview) = page(&app, &account, "/console/").await;
    assert!(!overview.contains("/console/upstreams"), "no link for an account");
    let csrf = csrf_of(&overview);
    let r = post_form(&app, &account, "/console/upstreams/solo", &[("disabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(upstream(&app, "solo").await["disabled"], false);

    let (status, html) = page(&app, &cookie, "/console/upstreams?sort=name").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-code=\"unknown_param\""), "{html}");
}

#[tokio::test]
async fn an_upstream_disabled_in_the_console_is_out_until_enabled_and_each_change_is_audited() {
    let (app, _fake) = gateway().await;
    let cookie = sign_in(&app, &app.admin_token).await;
    for form in [vec![("disabled", "true")], vec![("disabled", "true"), ("csrf", "forged")]] {
        let r = post_form(&app, &cookie, "/console/upstreams/solo", &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["param"], "csrf");
    }
    assert_eq!(upstream(&app, "solo").await["state"], "ready");
    assert_eq!(audit_of(&app, "solo").await, [], "a refused change records nothing");

    let (_, html) = page(&app, &cookie, "/console/upstreams").await;
    let csrf = csrf_of(&html);
    let r = post_form(&app, &cookie, "/console/upstreams/solo", &[("disabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, "/console/upstreams?disabled=solo");
    assert_eq!(upstream(&app, "solo").await["state"], "out");
    let (_, html) = page(&app, &cookie, &location).await;
    assert!(html.contains("<tr data-upstream=\"solo\" data-state=\"out\">"), "{html}");
    assert!(html.contains("aria-label=\"Enable upstream solo\""), "{html}");
    assert!(html.contains("solo disabled"), "the notice: {html}");

    let r = post_form(&app, &cookie, "/console/upstreams/solo", &[("disabled", "false"), ("csrf", &csrf)]).await;
    assert_eq!(r.headers()[LOCATION], "/console/upstreams?enabled=solo");
    assert_eq!(upstream(&app, "solo").await["state"], "ready");
    let tune = [("weight", "5"), ("priority", ""), ("csrf", csrf.as_str())];
    let r = post_form(&app, &cookie, "/console/upstreams/solo", &tune).await;
    assert_eq!(r.headers()[LOCATION], "/console/upstreams?tuned=solo");
    let solo = upstream(&app, "solo").await;
    assert_eq!((solo["weight"].clone(), solo["priority"].clone()), (json!(5), Value::Null), "{solo}");
    let r = post_form(&app, &cookie, "/console/upstreams/solo", &[("reset", "true"), ("csrf", &csrf)]).await;
    assert_eq!(r.headers()[LOCATION], "/console/upstreams?reset=solo");
    let admin = json!("admin");
    let newest_first = [
        (admin.clone(), json!({"reset": true})),
        (admin.clone(), json!({"weight": 5, "priority": null})),
        (admin.clone(), json!({"disabled": false})),
        (admin.clone(), json!({"disabled": true})),
    ];
    assert_eq!(audit_of(&app, "solo").await, newest_first);

    let r = post_form(&app, &cookie, "/console/upstreams/solo", &[("weight", "heavy"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("data-code=\"invalid_param\""));
    let r = post_form(&app, &cookie, "/console/upstreams/nowhere", &[("disabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn disable_all_on_a_pool_row_takes_out_every_member() {
    let (app, _fake) = gateway().await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let (_, html) = page(&app, &cookie, "/console/upstreams").await;
    let csrf = csrf_of(&html);
    let r = post_form(&app, &cookie, "/console/upstreams/pool", &[("disabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(r.headers()[LOCATION], "/console/upstreams?disabled=pool");
    for member in ["pool:a", "pool:b"] {
        assert_eq!(upstream(&app, member).await["state"], "out", "{member}");
        assert_eq!(audit_of(&app, member).await, [(json!("admin"), json!({"disabled": true}))]);
    }
    assert_eq!(upstream(&app, "solo").await["state"], "ready");
}
