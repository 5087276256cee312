//! Hostile input, part one: what a client gets for the requests axum would refuse before
//! a handler runs (bad path segments, repeated or unknown query parameters, unknown paths
//! and methods), malformed `out_task_id`s and mistyped fields on query and cancel, a
//! non-JSON cancel, and two different `Idempotency-Key` headers. Every answer is the
//! contract's JSON error with the exact status, `code` and `param` and an `x-request-id`,
//! and nothing is created or held. The body-level cases are in `hostile_body.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vidgate_domain::config::Config;

use crate::helpers::{TestApp, spawn_app_with, test_config};

/// A well-formed task id no task has.
const NO_TASK: &str = "task_01M85TJ9BB221AE4CYY857DJ4G";

/// The test config, with live keys served by the sandbox so a hold would be visible.
pub fn live_config() -> Config {
    let mut c = test_config();
    c.sandbox.serve_live_keys = true;
    c
}

/// A hostile test's gateway: a funded account with a live key.
pub struct Hostile {
    pub app: TestApp,
    pub account: String,
    pub key: String,
}

impl Hostile {
    pub async fn start() -> Hostile {
        Hostile::start_with(live_config()).await
    }

    pub async fn start_with(config: Config) -> Hostile {
        let app = spawn_app_with(config).await;
        let (_, acct) = app.admin_post("/admin/v1/accounts", &json!({"name": "payer"})).await;
        let account = acct["id"].as_str().unwrap().to_owned();
        let credit = json!({"amount_usd": 10});
        let (s, a) = app.admin_post(&format!("/admin/v1/accounts/{account}/credits"), &credit).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        let body = json!({"account_id": account, "name": "k", "mode": "live"});
        let (s, key) = app.admin_post("/admin/v1/keys", &body).await;
        assert_eq!(s, StatusCode::OK, "{key}");
        let key = key["key"].as_str().unwrap().to_owned();
        Hostile { app, account, key }
    }

    /// Sends `method path` (the path as given, percent escapes kept) with `auth` as the
    /// bearer token and the extra headers; a JSON `body` when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Answer {
        let mut req = self.app.client.request(method, format!("{}{path}", self.app.base)).bearer_auth(auth);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        Answer::read(req.send().await.unwrap()).await
    }

    /// Nothing was created and no money moved: no task on any account, the payer's 10 USD
    /// untouched and nothing held.
    pub async fn assert_untouched(&self) {
        let (_, list) = self.app.admin_get("/admin/v1/tasks").await;
        assert_eq!(list["data"], json!([]), "a refused request leaves no task");
        let (_, a) = self.app.admin_get(&format!("/admin/v1/accounts/{}", self.account)).await;
        assert_eq!((&a["balance_usd"], &a["held_usd"], &a["spent_usd"]), (&json!(10), &json!(0), &json!(0)), "{a}");
    }
}

/// A response: status, JSON body (null when not JSON), content type and request id.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub content_type: Option<String>,
    pub request_id: Option<String>,
}

impl Answer {
    pub async fn read(r: reqwest::Response) -> Answer {
        let header = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let (status, content_type, request_id) = (r.status(), header("content-type"), header("x-request-id"));
        let body = r.json().await.unwrap_or(Value::Null);
        Answer { status, body, content_type, request_id }
    }

    /// The contract's error: this status, code and param, its type, JSON, with a request id.
    pub fn assert_error(&self, status: u16, code: &str, param: Option<&str>, what: &str) {
        let e = &self.body["error"];
        assert_eq!(
            (self.status.as_u16(), e["code"].as_str(), e["param"].as_str()),
            (status, Some(code), param),
            "{what}: {}",
            self.body
        );
        let ty = vidgate_domain::ErrorCode::InvalidParam.error_type();
        if status == 400 || status == 413 || status == 415 || status == 422 {
            assert_eq!(e["type"], ty, "{what}");
        }
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: a message");
        assert_eq!(self.content_type.as_deref(), Some("application/json"), "{what}");
        assert!(self.request_id.as_deref().is_some_and(|id| !id.is_empty()), "{what}: x-request-id");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_segment_that_is_not_utf8_names_its_parameter_on_every_route() {
    let h = Hostile::start().await;
    let (key, admin) = (h.key.clone(), h.app.admin_token.clone());
    let bad = "%ff%fe";
    let cases: Vec<(Method, String, &str, &str)> = vec![
        (Method::GET, format!("/v1/videos/tasks/{bad}"), &key, "task_id"),
        (Method::POST, format!("/v1/tasks/cancel/{bad}"), &key, "task_id"),
        (Method::GET, format!("/v1/tasks/stream/{bad}"), &key, "task_id"),
        (Method::GET, format!("/v1/tasks/{bad}/deliveries"), &key, "task_id"),
        (Method::GET, format!("/v1/models/{bad}"), &key, "model_id"),
        (Method::GET, format!("/v1/videos/{bad}"), &key, "video_id"),
        (Method::DELETE, format!("/v1/videos/{bad}"), &key, "video_id"),
        (Method::GET, format!("/v1/videos/{bad}/content"), &key, "video_id"),
        (Method::POST, format!("/v1/videos/{bad}/remix"), &key, "video_id"),
        (Method::GET, format!("/files/{bad}/video.mp4?exp=1&sig=x"), &key, "task_id"),
        (Method::GET, format!("/files/{NO_TASK}/{bad}?exp=1&sig=x"), &key, "name"),
        (Method::HEAD, format!("/files/{bad}/video.mp4?exp=1&sig=x"), &key, "task_id"),
        (Method::GET, format!("/admin/v1/accounts/{bad}"), &admin, "id"),
        (Method::POST, format!("/admin/v1/accounts/{bad}/webhook-secret"), &admin, "id"),
        (Method::POST, format!("/admin/v1/accounts/{bad}/credits"), &admin, "id"),
        (Method::DELETE, format!("/admin/v1/keys/{bad}"), &admin, "id"),
        // A NUL, which no id or name holds, is refused the same way.
        (Method::GET, "/v1/videos/tasks/task_%00".into(), &key, "task_id"),
        (Method::GET, "/v1/models/tiny%00".into(), &key, "model_id"),
        (Method::GET, format!("/files/{NO_TASK}/video.mp4%00?exp=1&sig=x"), &key, "name"),
        (Method::GET, "/admin/v1/accounts/acct_%00".into(), &admin, "id"),
    ];
    for (method, path, auth, param) in cases {
        let head = method == Method::HEAD;
        let body = (method == Method::POST).then(|| json!({"prompt": "x", "amount_usd": 1}));
        let answer = h.send(method, &path, auth, &[], body.as_ref()).await;
        if head {
            // A HEAD answer has no body to carry the error; its status and headers still say it.
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
            assert!(answer.request_id.is_some(), "{path}");
        } else {
            answer.assert_error(400, "invalid_param", Some(param), &path);
        }
    }
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_query_parameter_is_refused_naming_it_and_an_unknown_one_too() {
    let h = Hostile::start().await;
    let (key, admin) = (h.key.clone(), h.app.admin_token.clone());
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (format!("/v1/tasks/query?task_id={NO_TASK}&bogus=1"), &key, "unknown_param", "bogus"),
        (format!("/v1/tasks/query?task_id={NO_TASK}&task_id={NO_TASK}"), &key, "invalid_param", "task_id"),
        ("/v1/tasks/query?out_task_id=a&out_task_id=b".into(), &key, "invalid_param", "out_task_id"),
        (format!("/v1/tasks/query?task_id={NO_TASK}&wait=1&wait=2"), &key, "invalid_param", "wait"),
        (format!("/v1/videos/tasks/{NO_TASK}?wait=1&wait=1"), &key, "invalid_param", "wait"),
        (format!("/v1/videos/tasks/{NO_TASK}?bogus=1"), &key, "unknown_param", "bogus"),
        (format!("/v1/tasks/stream/{NO_TASK}?exp=1&sig=a&sig=b"), &key, "invalid_param", "sig"),
        (format!("/v1/tasks/stream/{NO_TASK}?exp=1&exp=2&sig=a"), &key, "invalid_param", "exp"),
        (format!("/v1/tasks/stream/{NO_TASK}?exp=1&sig=a&bogus=1"), &key, "unknown_param", "bogus"),
        (format!("/files/{NO_TASK}/video.mp4?exp=1&sig=a&sig=b"), &key, "invalid_param", "sig"),
        (format!("/files/{NO_TASK}/video.mp4?exp=1&exp=1&sig=a"), &key, "invalid_param", "exp"),
        (format!("/files/{NO_TASK}/video.mp4?exp=1&sig=a&bogus=1"), &key, "unknown_param", "bogus"),
        ("/v1/videos?limit=1&limit=2".into(), &key, "invalid_param", "limit"),
        (format!("/v1/videos/{NO_TASK}/content?variant=video&variant=thumbnail"), &key, "invalid_param", "variant"),
        ("/admin/v1/tasks?limit=1&limit=2".into(), &admin, "invalid_param", "limit"),
        ("/admin/v1/keys?bogus=1".into(), &admin, "unknown_param", "bogus"),
        ("/admin/v1/keys?account_id=a&account_id=b".into(), &admin, "invalid_param", "account_id"),
        ("/v1/usage?since=2026-01-01&since=2026-01-02".into(), &key, "invalid_param", "since"),
        // A NUL in a value (no stored text can hold one), named like any bad value.
        ("/admin/v1/tasks?metadata.k=a%00b".into(), &admin, "invalid_param", "metadata.k"),
        ("/admin/v1/tasks?model=%00".into(), &admin, "invalid_param", "model"),
        ("/v1/usage?model=tiny%00".into(), &key, "invalid_param", "model"),
        ("/admin/v1/usage?model=%00".into(), &admin, "invalid_param", "model"),
        ("/v1/videos?after=%00".into(), &key, "invalid_param", "after"),
        (format!("/v1/videos/tasks/{NO_TASK}?wait=1%00"), &key, "invalid_param", "wait"),
    ];
    for (path, auth, code, param) in cases {
        h.send(Method::GET, &path, auth, &[], None).await.assert_error(400, code, Some(param), &path);
    }
    let cancel = format!("/v1/tasks/cancel?task_id={NO_TASK}&task_id={NO_TASK}");
    h.send(Method::POST, &cancel, &key, &[], None).await.assert_error(400, "invalid_param", Some("task_id"), &cancel);
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_wrong_methods_answer_in_the_error_shape() {
    let h = Hostile::start().await;
    for path in ["/v1/nothing", "/v1/tasks", "/files/only-one-segment", "/admin/v1"] {
        h.send(Method::GET, path, &h.key, &[], None).await.assert_error(404, "not_found", None, path);
    }
    let wrong = [
        (Method::DELETE, "/v1/videos/generations".to_owned()),
        (Method::GET, "/v1/tasks/submit".to_owned()),
        (Method::PUT, "/v1/tasks/query".to_owned()),
        (Method::POST, format!("/v1/videos/tasks/{NO_TASK}")),
        (Method::PATCH, "/admin/v1/accounts".to_owned()),
    ];
    for (method, path) in wrong {
        let what = format!("{method} {path}");
        h.send(method, &path, &h.key, &[], None).await.assert_error(405, "method_not_allowed", None, &what);
    }
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_out_task_id_on_query_and_cancel_is_an_invalid_param_not_a_404() {
    let h = Hostile::start().await;
    let long = "a".repeat(129);
    let bad: [(&str, &str); 6] = [
        ("", ""),
        (&long, &long),
        ("has space", "has%20space"),
        ("a/b", "a%2Fb"),
        ("a\u{0}b", "a%00b"),
        ("caf\u{e9}", "caf%C3%A9"),
    ];
    for (raw, escaped) in bad {
        let what = format!("out_task_id {raw:?}");
        let q = h.send(Method::GET, &format!("/v1/tasks/query?out_task_id={escaped}"), &h.key, &[], None).await;
        q.assert_error(400, "invalid_param", Some("out_task_id"), &format!("GET query, {what}"));
        let body = json!({"out_task_id": raw});
        let q = h.send(Method::POST, "/v1/tasks/query", &h.key, &[], Some(&body)).await;
        q.assert_error(400, "invalid_param", Some("out_task_id"), &format!("POST query, {what}"));
        let c = h.send(Method::POST, "/v1/tasks/cancel", &h.key, &[], Some(&body)).await;
        c.assert_error(400, "invalid_param", Some("out_task_id"), &format!("cancel body, {what}"));
        let c = h.send(Method::POST, &format!("/v1/tasks/cancel?out_task_id={escaped}"), &h.key, &[], None).await;
        c.assert_error(400, "invalid_param", Some("out_task_id"), &format!("cancel query, {what}"));
    }
    // A well-formed key no task has is still simply not found.
    let q = h.send(Method::GET, "/v1/tasks/query?out_task_id=no-such-key", &h.key, &[], None).await;
    q.assert_error(404, "task_not_found", None, "a well-formed unknown key");
    let c = h.send(Method::POST, "/v1/tasks/cancel", &h.key, &[], Some(&json!({"out_task_id": "no-such-key"}))).await;
    c.assert_error(404, "task_not_found", None, "a well-formed unknown key on cancel");
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_of_the_wrong_type_is_named_and_a_missing_field_in_params_gets_its_path() {
    let h = Hostile::start().await;
    let refs: [(Value, &str, &str); 6] = [
        (json!({"task_id": [NO_TASK]}), "invalid_param", "task_id"),
        (json!({"task_id": {"id": NO_TASK}}), "invalid_param", "task_id"),
        (json!({"out_task_id": 5}), "invalid_param", "out_task_id"),
        (json!({"out_task_id": true}), "invalid_param", "out_task_id"),
        (json!({"task_id": NO_TASK, "wait": 5}), "unknown_param", "wait"),
        (json!({"task_id": NO_TASK, "extra": "x"}), "unknown_param", "extra"),
    ];
    for (body, code, param) in refs {
        for path in ["/v1/tasks/query", "/v1/tasks/cancel"] {
            let what = format!("{path} {body}");
            h.send(Method::POST, path, &h.key, &[], Some(&body)).await.assert_error(400, code, Some(param), &what);
        }
    }
    let admin = h.app.admin_token.clone();
    let credits = format!("/admin/v1/accounts/{}/credits", h.account);
    let admin_bodies: [(&str, Value, &str); 5] = [
        ("/admin/v1/accounts", json!({"name": 5}), "name"),
        (
            "/admin/v1/keys",
            json!({"account_id": h.account, "name": "k", "mode": "live", "models": ["tiny", 5]}),
            "models[1]",
        ),
        (
            "/admin/v1/keys",
            json!({"account_id": h.account, "name": "k", "mode": "live", "concurrency_limit": "2"}),
            "concurrency_limit",
        ),
        ("/admin/v1/keys", json!({"account_id": h.account, "name": ["k"], "mode": "live"}), "name"),
        (&credits, json!({"amount_usd": 1, "note": {"n": 1}}), "note"),
    ];
    for (path, body, param) in admin_bodies {
        let what = format!("{path} {body}");
        h.send(Method::POST, path, &admin, &[], Some(&body)).await.assert_error(
            400,
            "invalid_param",
            Some(param),
            &what,
        );
    }
    let (_, keys) = h.app.admin_get(&format!("/admin/v1/keys?account_id={}", h.account)).await;
    assert_eq!(keys["data"].as_array().unwrap().len(), 1, "no key was made: {keys}");
    let envelopes: [(Value, &str); 4] = [
        (json!({"params": {"prompt": "rain"}}), "params.model"),
        (json!({"model": null, "params": {"prompt": "rain"}}), "params.model"),
        (json!({"model": "tiny", "params": {}}), "params.prompt"),
        (json!({"model": "tiny", "params": {"prompt": null}}), "params.prompt"),
    ];
    for (body, param) in envelopes {
        let a = h.send(Method::POST, "/v1/tasks/submit", &h.key, &[], Some(&body)).await;
        a.assert_error(400, "invalid_param", Some(param), &body.to_string());
        assert_eq!(a.body["error"]["message"], format!("{param} is required"));
    }
    h.assert_untouched().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_that_is_not_json_is_415_and_cancels_nothing() {
    let h = Hostile::start().await;
    let task = h.app.submit(&h.key, json!({"model": "tiny", "prompt": "not cancelled"})).await;
    let id = task["task_id"].as_str().unwrap();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let r = h
            .app
            .client
            .post(format!("{}/v1/tasks/cancel", h.app.base))
            .bearer_auth(&h.key)
            .header("content-type", content_type)
            .body(json!({"task_id": id}).to_string())
            .send()
            .await
            .unwrap();
        Answer::read(r).await.assert_error(415, "unsupported_media_type", Some("content-type"), content_type);
    }
    let done = h.app.wait_terminal(&h.key, id, std::time::Duration::from_secs(30)).await;
    assert_eq!((&done["status"], &done["credits_used"]), (&json!("completed"), &json!(0.25)), "not cancelled: {done}");
    let (_, a) = h.app.admin_get(&format!("/admin/v1/accounts/{}", h.account)).await;
    assert_eq!(
        (&a["balance_usd"], &a["held_usd"]),
        (&json!(9.75), &json!(0)),
        "charged once, as if no cancel came: {a}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_different_idempotency_keys_are_refused_and_the_same_one_twice_is_one_key() {
    let h = Hostile::start().await;
    let body = json!({"model": "tiny", "prompt": "twice"});
    let two = [("Idempotency-Key", "k-1"), ("Idempotency-Key", "k-2")];
    for path in ["/v1/videos/generations", "/v1/tasks/submit", "/v1/videos"] {
        let a = h.send(Method::POST, path, &h.key, &two, Some(&body)).await;
        a.assert_error(400, "invalid_param", Some("Idempotency-Key"), path);
    }
    h.assert_untouched().await;
    let same = [("Idempotency-Key", "k-1"), ("Idempotency-Key", "k-1")];
    let first = h.send(Method::POST, "/v1/videos/generations", &h.key, &same, Some(&body)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again =
        h.send(Method::POST, "/v1/videos/generations", &h.key, &[("Idempotency-Key", "k-1")], Some(&body)).await;
    assert_eq!((again.status, &again.body["task_id"]), (StatusCode::OK, &first.body["task_id"]), "the key was k-1");
}
