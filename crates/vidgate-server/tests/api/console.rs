//! The web console's routes as a browser meets them: the root redirect rule, sign-in with
//! either secret and its cookie, what an account may see, CSRF on every change, and sessions
//! that end with their key.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A client that shows redirects instead of following them.
pub(crate) fn browser() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A form body as a browser sends it.
fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish()
}

fn form_post(url: String, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    browser().post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(form_body(fields))
}

/// Signs in with `secret`; returns the `Cookie` header value of the session.
pub(crate) async fn sign_in(app: &TestApp, secret: &str) -> String {
    let r = form_post(format!("{}/console/login", app.base), &[("secret", secret)]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/");
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = browser().get(format!("{}{path}", app.base)).header(COOKIE, cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The CSRF token in a page's forms.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn post_form(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    form_post(format!("{}{path}", app.base), form).header(COOKIE, cookie).send().await.unwrap()
}

async fn balance_of(app: &TestApp, account: &str) -> String {
    let (s, a) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    a["balance_usd"].to_string()
}

#[tokio::test]
async fn a_browser_asking_for_the_root_is_sent_to_the_console() {
    let app = spawn_app().await;
    let r = browser()
        .get(format!("{}/", app.base))
        .header(ACCEPT, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/");
}

#[tokio::test]
async fn an_api_client_asking_for_the_root_keeps_the_json_404() {
    let app = spawn_app().await;
    for accept in [None, Some("application/json"), Some("*/*")] {
        let mut req = browser().get(format!("{}/", app.base));
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{accept:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(body["error"]["message"], "no such endpoint");
    }
}

#[tokio::test]
async fn a_console_page_without_a_session_sends_the_browser_to_sign_in() {
    let app = spawn_app().await;
    for path in ["/console/", "/console/tasks", "/console/usage", "/console/rates", "/console/accounts"] {
        let r = browser().get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()[LOCATION], "/console/login", "{path}");
    }
    let (status, html) = page(&app, "vidgate_console=made-up", "/console/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("type=\"password\""), "{html}");
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_401_and_no_cookie() {
    let app = spawn_app().await;
    for secret in ["", "vg_test_not-a-key", "not-the-admin-token"] {
        let r = form_post(format!("{}/console/login", app.base), &[("secret", secret)]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{secret}");
        assert!(r.headers().get(SET_COOKIE).is_none());
        assert!(r.text().await.unwrap().contains("id=\"login-error\""));
    }
}

#[tokio::test]
async fn the_admin_token_opens_the_operator_view_with_a_strict_http_only_cookie() {
    let app = spawn_app().await;
    let r =
        form_post(format!("{}/console/login", app.base), &[("secret", app.admin_token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.starts_with("vidgate_console="), "{set}");
    for attr in ["; Path=/console", "; HttpOnly", "; SameSite=Strict"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains(&app.admin_token), "the cookie must not carry the secret");
    let cookie = set.split(';').next().unwrap();
    let (status, html) = page(&app, cookie, "/console/accounts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Accounts and keys</h1>"), "{html}");
    assert!(html.contains(&format!("id=\"account-{}\"", app.account_id)), "the bootstrap account is listed");
    let (status, html) = page(&app, cookie, "/console/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"signed-in-as\">Operator<"), "{html}");
}

#[tokio::test]
async fn an_api_key_sees_its_own_tasks_and_another_accounts_task_is_unknown() {
    let app = spawn_app().await;
    let mine = app.submit_tiny(&app.test_key, json!({})).await;
    let mine = mine["task_id"].as_str().unwrap().to_owned();
    let (_, other_key) = app.account_with_key("other", "test").await;
    let theirs = app.submit_tiny(&other_key, json!({})).await;
    let theirs = theirs["task_id"].as_str().unwrap().to_owned();

    let cookie = sign_in(&app, &app.test_key).await;
    let (status, html) = page(&app, &cookie, &format!("/console/tasks/{mine}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("<h1>Task <code>{mine}</code></h1>")), "{html}");
    assert!(!html.contains("Plan (operator)"), "an account never sees the plan");

    let (status, html) = page(&app, &cookie, &format!("/console/tasks/{theirs}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("data-code=\"task_not_found\""), "{html}");

    let (status, rows) = page(&app, &cookie, "/console/tasks?part=rows").await;
    assert_eq!(status, StatusCode::OK);
    assert!(rows.contains(&format!("data-task-id=\"{mine}\"")), "{rows}");
    assert!(!rows.contains(&theirs), "{rows}");

    let (status, html) = page(&app, &cookie, "/console/accounts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("data-code=\"permission_denied\""), "{html}");

    let admin = sign_in(&app, &app.admin_token).await;
    let (status, html) = page(&app, &admin, &format!("/console/tasks/{theirs}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Plan (operator)"), "{html}");
}

#[tokio::test]
async fn a_change_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let before = balance_of(&app, &app.account_id).await;
    let path = format!("/console/accounts/{}/credits", app.account_id);
    for form in [
        vec![("amount_usd", "5")],
        vec![("amount_usd", "5"), ("csrf", "forged")],
        vec![("amount_usd", "5"), ("csrf", "")],
    ] {
        let r = post_form(&app, &cookie, &path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "permission_denied");
        assert_eq!(body["error"]["param"], "csrf");
    }
    assert_eq!(balance_of(&app, &app.account_id).await, before);

    let (_, html) = page(&app, &cookie, "/console/accounts").await;
    let csrf = csrf_of(&html);
    let r = post_form(&app, &cookie, &path, &[("amount_usd", "5"), ("note", "console"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION].to_str().unwrap(), format!("/console/accounts?credited={}", app.account_id));
    let after: f64 = balance_of(&app, &app.account_id).await.parse().unwrap();
    assert_eq!(after, before.parse::<f64>().unwrap() + 5.0);
}

#[tokio::test]
async fn a_form_in_another_content_type_is_refused_with_415() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let r = browser()
        .post(format!("{}/console/accounts", app.base))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/json")
        .body("{\"name\":\"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn a_key_created_in_the_console_is_shown_once_and_works() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let (_, html) = page(&app, &cookie, "/console/accounts").await;
    let csrf = csrf_of(&html);
    let r = post_form(&app, &cookie, "/console/accounts", &[("name", "Acme films"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let account = location.strip_prefix("/console/accounts?created=").expect("the new account's id").to_owned();
    let form = [("account_id", account.as_str()), ("name", "render"), ("mode", "test"), ("csrf", csrf.as_str())];
    let r = post_form(&app, &cookie, "/console/keys", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let at =
        html.find("id=\"new-key-secret\" class=\"secret\">").unwrap() + "id=\"new-key-secret\" class=\"secret\">".len();
    let secret = html[at..].split('<').next().unwrap().to_owned();
    let (s, balance) = app.get("/v1/balance", &secret).await;
    assert_eq!(s, StatusCode::OK, "{balance}");
    assert_eq!(balance["account_id"], account.as_str());
    let (_, listing) = page(&app, &cookie, &format!("/console/accounts?account_id={account}")).await;
    assert!(!listing.contains(&secret), "the secret is shown only once");
}

#[tokio::test]
async fn a_session_ends_when_its_key_is_revoked() {
    let app = spawn_app().await;
    let (_, key) = app.account_with_key("short-lived", "test").await;
    let cookie = sign_in(&app, &key).await;
    assert_eq!(page(&app, &cookie, "/console/").await.0, StatusCode::OK);
    let (_, keys) = app.admin_get("/admin/v1/keys").await;
    let id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "k" && k["account_id"] != app.account_id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .client
        .delete(format!("{}/admin/v1/keys/{id}", app.base))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = browser().get(format!("{}/console/", app.base)).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let cookie = sign_in(&app, &app.test_key).await;
    let (_, html) = page(&app, &cookie, "/console/").await;
    let r = post_form(&app, &cookie, "/console/logout", &[("csrf", &csrf_of(&html))]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let r = browser().get(format!("{}/console/", app.base)).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn a_task_page_shows_the_players_and_the_download_once_completed() {
    let app = spawn_app().await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap();
    let done = app.wait_terminal(&app.test_key, id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let cookie = sign_in(&app, &app.test_key).await;
    let (status, html) = page(&app, &cookie, &format!("/console/tasks/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for part in
        ["<video id=\"player\"", "<audio id=\"audio-player\"", "id=\"poster\"", "id=\"spritesheet\"", "id=\"download\""]
    {
        assert!(html.contains(part), "{part} missing");
    }
    assert!(!html.contains("Cancel the task"), "a completed task cannot be cancelled");
}

#[tokio::test]
async fn a_disabled_console_answers_every_path_with_the_json_404() {
    let mut config = crate::helpers::test_config();
    config.console.enabled = false;
    let app = crate::helpers::spawn_app_with(config).await;
    for path in ["/", "/console", "/console/", "/console/login", "/console/tasks"] {
        let r = browser().get(format!("{}{path}", app.base)).header(ACCEPT, "text/html").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    let r =
        form_post(format!("{}/console/login", app.base), &[("secret", app.admin_token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_tasks_table_filters_by_prompt_text_status_and_day() {
    let app = spawn_app().await;
    let lighthouse = app.submit_tiny(&app.test_key, json!({"prompt": "a Lighthouse at dusk"})).await;
    let lighthouse = lighthouse["task_id"].as_str().unwrap().to_owned();
    let boat = app.submit_tiny(&app.test_key, json!({"prompt": "a boat on a lake"})).await;
    let boat = boat["task_id"].as_str().unwrap().to_owned();
    let cookie = sign_in(&app, &app.test_key).await;

    let (status, rows) = page(&app, &cookie, "/console/tasks?q=lighthouse&part=rows").await;
    assert_eq!(status, StatusCode::OK);
    assert!(rows.contains(&lighthouse) && !rows.contains(&boat), "{rows}");

    let done = app.wait_terminal(&app.test_key, &boat, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "completed");
    app.wait_terminal(&app.test_key, &lighthouse, Duration::from_secs(60)).await;
    let (_, rows) = page(&app, &cookie, "/console/tasks?status=completed&q=boat&part=rows").await;
    assert!(rows.contains(&format!("data-task-id=\"{boat}\" data-status=\"completed\"")), "{rows}");
    assert!(!rows.contains(&lighthouse), "{rows}");

    let (_, rows) = page(&app, &cookie, "/console/tasks?until=2000-01-01&part=rows").await;
    assert!(rows.contains("No task matches."), "{rows}");
    let today = &done["created_at"].as_str().unwrap()[..10];
    let (_, rows) = page(&app, &cookie, &format!("/console/tasks?since={today}&until=2999-01-01&part=rows")).await;
    assert!(rows.contains(&lighthouse) && rows.contains(&boat), "{rows}");
    let (_, rows) = page(&app, &cookie, "/console/tasks?since=2999-01-01&part=rows").await;
    assert!(rows.contains("No task matches."), "{rows}");
    let (status, html) = page(&app, &cookie, "/console/tasks?until=2026-02-30").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-code=\"invalid_param\""), "{html}");

    let (status, html) = page(&app, &cookie, "/console/tasks?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-code=\"invalid_param\""), "{html}");
    let (status, html) = page(&app, &cookie, "/console/tasks?sort=up").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-code=\"unknown_param\""), "{html}");
}

#[tokio::test]
async fn the_usage_page_and_csv_show_the_live_spend_the_api_reports() {
    let mut config = crate::helpers::test_config();
    config.sandbox.serve_live_keys = true;
    let app = crate::helpers::spawn_app_with(config).await;
    let (account, key) = app.account_with_key("spender", "live").await;
    let (s, _) = app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &json!({"amount_usd": 5})).await;
    assert_eq!(s, StatusCode::OK);
    let task = app.submit_tiny(&key, json!({"duration_seconds": 2})).await;
    let done = app.wait_terminal(&key, task["task_id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let today = &done["completed_at"].as_str().unwrap()[..10];
    let (_, usage) = app.get(&format!("/v1/usage?since={today}&mode=live"), &key).await;
    let api_usd = usage["totals"]["usd"].to_string();
    assert_ne!(api_usd, "0", "{usage}");

    let cookie = sign_in(&app, &key).await;
    let (status, html) = page(&app, &cookie, "/console/usage").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"live-today\" data-usd=\"{api_usd}\"")), "{html}");
    assert!(html.contains(&format!("<g class=\"day\" data-day=\"{today}\" data-usd=\"{api_usd}\">")), "{html}");
    assert!(html.contains("id=\"test-today\" data-usd=\"0\""), "{html}");

    let r = browser()
        .get(format!("{}/console/usage.csv?mode=live", app.base))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    let key_id = usage_key_id(&app, &key).await;
    assert_eq!(
        csv,
        format!("day,model,key_id,tasks,seconds,usd\r\n{today},\"tiny\",\"{key_id}\",1,2.000,{api_usd}\r\n")
    );
}

async fn usage_key_id(app: &TestApp, key: &str) -> String {
    let (_, balance) = app.get("/v1/balance", key).await;
    balance["key"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_operator_overview_shows_todays_live_spend_and_margin() {
    let mut config = crate::helpers::test_config();
    config.sandbox.serve_live_keys = true;
    let app = crate::helpers::spawn_app_with(config).await;
    let (account, key) = app.account_with_key("spender", "live").await;
    let (s, _) = app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &json!({"amount_usd": 5})).await;
    assert_eq!(s, StatusCode::OK);
    let task = app.submit_tiny(&key, json!({"duration_seconds": 2})).await;
    let id = task["task_id"].as_str().unwrap();
    let done = app.wait_terminal(&key, id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let test_task = app.submit_tiny(&app.test_key, json!({})).await;
    app.wait_terminal(&app.test_key, test_task["task_id"].as_str().unwrap(), Duration::from_secs(60)).await;
    let (_, admin_view) = app.admin_get(&format!("/admin/v1/tasks?account_id={account}")).await;
    let margin = admin_view["data"][0]["margin_usd"].to_string();
    assert_eq!(margin, done["credits_used"].to_string(), "the sandbox costs nothing upstream");

    let cookie = sign_in(&app, &app.admin_token).await;
    let (status, html) = page(&app, &cookie, "/console/").await;
    assert_eq!(status, StatusCode::OK);
    let used = done["credits_used"].to_string();
    assert!(html.contains(&format!("id=\"spend-today\">{used}<")), "{html}");
    assert!(html.contains(&format!("id=\"margin-today\">{margin}<")), "{html}");
    assert!(html.contains(&format!("id=\"margin-month\">{margin}<")), "{html}");
    assert!(html.contains("id=\"count-completed\">2<"), "{html}");
    assert!(html.contains("id=\"day-completed\">2<"), "{html}");
}

/// The id of an account's only key.
async fn key_id_of(app: &TestApp, account: &str) -> String {
    let (_, keys) = app.admin_get(&format!("/admin/v1/keys?account_id={account}")).await;
    keys["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn suspending_an_account_in_the_console_makes_its_key_forbidden_until_resumed() {
    let app = spawn_app().await;
    let (account, key) = app.account_with_key("paused films", "test").await;
    let account_session = sign_in(&app, &key).await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let (status, html) = page(&app, &cookie, &format!("/console/accounts?account_id={account}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("aria-label=\"Suspend account {account}\"")), "{html}");
    let csrf = csrf_of(&html);
    let path = format!("/console/accounts/{account}/status");

    let r = post_form(&app, &cookie, &path, &[("status", "suspended"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/console/accounts?suspended={account}"));
    let (s, body) = app.get("/v1/balance", &key).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "permission_denied");
    let r = browser().get(format!("{}/console/", app.base)).header(COOKIE, &account_session).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the account's console session ends");
    assert_eq!(r.headers()[LOCATION], "/console/login");

    let (_, html) = page(&app, &cookie, &location).await;
    assert!(html.contains("data-field=\"status\" class=\"status status-suspended\">suspended<"), "{html}");
    assert!(html.contains(&format!("aria-label=\"Resume account {account}\"")), "{html}");
    let audit_row = format!(
        "<td>account.update</td><td><code>{account}</code></td><td><code>{{&quot;status&quot;:&quot;suspended&quot;}}</code></td>"
    );
    assert!(html.contains(&audit_row), "the audit list shows the suspension: {html}");

    let r = post_form(&app, &cookie, &path, &[("status", "active"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION].to_str().unwrap(), format!("/console/accounts?resumed={account}"));
    let (s, body) = app.get("/v1/balance", &key).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, a) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!(a["status"], "active");
}

#[tokio::test]
async fn a_suspension_without_the_csrf_token_is_refused_and_the_account_stays_active() {
    let app = spawn_app().await;
    let (account, key) = app.account_with_key("guarded", "test").await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let path = format!("/console/accounts/{account}/status");
    for form in [vec![("status", "suspended")], vec![("status", "suspended"), ("csrf", "forged")]] {
        let r = post_form(&app, &cookie, &path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{form:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "permission_denied");
        assert_eq!(body["error"]["param"], "csrf");
    }
    let (_, a) = app.admin_get(&format!("/admin/v1/accounts/{account}")).await;
    assert_eq!(a["status"], "active");
    assert_eq!(app.get("/v1/balance", &key).await.0, StatusCode::OK);
    let (_, audit) = app.admin_get(&format!("/admin/v1/audit?target_id={account}")).await;
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["account.create"], "a refused change records nothing");
}

#[tokio::test]
async fn a_status_the_api_does_not_know_is_refused_with_400() {
    let app = spawn_app().await;
    let (account, key) = app.account_with_key("typo", "test").await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let (_, html) = page(&app, &cookie, "/console/accounts").await;
    let csrf = csrf_of(&html);
    let r = post_form(
        &app,
        &cookie,
        &format!("/console/accounts/{account}/status"),
        &[("status", "frozen"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("data-code=\"invalid_param\""));
    let id = key_id_of(&app, &account).await;
    let r =
        post_form(&app, &cookie, &format!("/console/keys/{id}/disabled"), &[("disabled", "maybe"), ("csrf", &csrf)])
            .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("data-code=\"invalid_param\""));
    assert_eq!(app.get("/v1/balance", &key).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_key_disabled_in_the_console_is_refused_until_enabled_again() {
    let app = spawn_app().await;
    let (account, key) = app.account_with_key("switch", "test").await;
    let id = key_id_of(&app, &account).await;
    let cookie = sign_in(&app, &app.admin_token).await;
    let (_, html) = page(&app, &cookie, &format!("/console/accounts?account_id={account}")).await;
    let csrf = csrf_of(&html);
    let path = format!("/console/keys/{id}/disabled");

    let r = post_form(&app, &cookie, &path, &[("disabled", "true"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/console/accounts?account_id={account}&disabled={id}"));
    let (s, body) = app.get("/v1/balance", &key).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let (_, html) = page(&app, &cookie, &location).await;
    assert!(html.contains("<td data-field=\"state\">disabled</td>"), "{html}");
    assert!(html.contains("<button type=\"submit\" aria-label=\"Enable key"), "{html}");

    let r = post_form(&app, &cookie, &path, &[("disabled", "false"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION].to_str().unwrap(), format!("/console/accounts?account_id={account}&enabled={id}"));
    assert_eq!(app.get("/v1/balance", &key).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_accounts_page_lists_accounts_by_name_in_pages_of_twenty() {
    let app = spawn_app().await;
    let (other, _) = app.account_with_key("Elsewhere", "test").await;
    let mut bulk = Vec::new();
    for n in 0..21 {
        let (s, a) = app.admin_post("/admin/v1/accounts", &json!({"name": format!("Bulk {n}")})).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        bulk.push(a["id"].as_str().unwrap().to_owned());
    }
    let cookie = sign_in(&app, &app.admin_token).await;
    let (status, html) = page(&app, &cookie, "/console/accounts?name=Bulk").await;
    assert_eq!(status, StatusCode::OK);
    let section = |id: &str| format!("<section class=\"account\" id=\"account-{id}\"");
    assert_eq!(html.matches("<section class=\"account\"").count(), 20, "{html}");
    assert!(!html.contains(&section(&other)), "the name filter keeps only Bulk accounts");
    assert!(!html.contains(&section(&bulk[0])), "the oldest is on the next page");
    assert!(html.contains(&section(&bulk[20])), "newest first");
    let next = format!("/console/accounts?name=Bulk&amp;after={}", bulk[1]);
    assert!(html.contains(&format!("href=\"{next}\" rel=\"next\"")), "{html}");

    let (_, html) = page(&app, &cookie, &next.replace("&amp;", "&")).await;
    assert_eq!(html.matches("<section class=\"account\"").count(), 1, "{html}");
    assert!(html.contains(&section(&bulk[0])), "{html}");
    assert!(!html.contains("rel=\"next\""), "{html}");

    let (status, html) = page(&app, &cookie, "/console/accounts?sort=name").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("data-code=\"unknown_param\""), "{html}");
}
