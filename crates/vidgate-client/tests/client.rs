//! The client against small local axum servers that script failures: retries, what is not
//! retried, the error fields, SSE resume with `Last-Event-ID`, downloads to disk.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use vidgate_client::{Client, Error, GenerateRequest, Options, RetryPolicy, TaskStatus, UpstreamChange};

/// What the server saw: one entry per request, its headers.
type Seen = Arc<Mutex<Vec<HeaderMap>>>;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn client(base: &str) -> Client {
    let retry =
        RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(50) };
    let options = Options { retry, ..Options::default() };
    Client::new(base, Some("sk-vg-test-x".into()), Some("admin".into()), options).unwrap()
}

fn task(status: &str, progress: u8) -> Value {
    json!({"task_id": "task_01", "object": "video.task", "model": "veo3.1", "status": status,
           "progress": progress, "duration_seconds": 5, "estimated_credits": 2, "credits_used": 0,
           "result_url": null, "audio_url": null, "thumbnail_url": null, "error": null, "metadata": {}})
}

fn error(status: StatusCode, code: &str, param: Option<&str>) -> Response {
    let body = json!({"error": {"message": format!("{code} happened"), "type": "invalid_request_error",
                                "code": code, "param": param}});
    (status, [("x-request-id", "req_test")], axum::Json(body)).into_response()
}

#[tokio::test]
async fn a_submit_is_retried_after_503s_with_the_same_generated_idempotency_key() {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let router = Router::new().route(
        "/v1/videos/generations",
        post(move |headers: HeaderMap| {
            let s = s.clone();
            async move {
                let n = {
                    let mut v = s.lock().unwrap();
                    v.push(headers);
                    v.len()
                };
                if n < 3 {
                    error(StatusCode::SERVICE_UNAVAILABLE, "internal_error", None)
                } else {
                    axum::Json(task("queued", 0)).into_response()
                }
            }
        }),
    );
    let c = client(&serve(router).await);
    let req = GenerateRequest { model: "veo3.1".into(), prompt: "boat".into(), ..Default::default() };
    let t = c.submit(&req, None).await.unwrap();
    assert_eq!(t.task_id, "task_01");
    assert_eq!(t.status, TaskStatus::Queued);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let keys: Vec<&str> = seen.iter().map(|h| h["idempotency-key"].to_str().unwrap()).collect();
    assert!(keys[0].starts_with("vgc-") && keys[0].len() == 30, "{keys:?}");
    assert!(keys.iter().all(|k| *k == keys[0]), "every attempt carries the same key: {keys:?}");
}

#[tokio::test]
async fn a_400_is_not_retried_and_carries_code_param_message_type_status_and_request_id() {
    let count = Arc::new(Mutex::new(0));
    let c2 = count.clone();
    let router = Router::new().route(
        "/v1/videos/tasks/{id}",
        get(move || {
            *c2.lock().unwrap() += 1;
            async { error(StatusCode::BAD_REQUEST, "invalid_param", Some("wait")) }
        }),
    );
    let c = client(&serve(router).await);
    let e = c.task("task_01").await.unwrap_err();
    let api = e.api().expect("an API error").clone();
    assert_eq!(*count.lock().unwrap(), 1);
    assert_eq!(api.status, 400);
    assert_eq!(api.code, "invalid_param");
    assert_eq!(api.param.as_deref(), Some("wait"));
    assert_eq!(api.message, "invalid_param happened");
    assert_eq!(api.kind, "invalid_request_error");
    assert_eq!(api.request_id.as_deref(), Some("req_test"));
    assert_eq!(e.to_string(), "invalid_param: invalid_param happened (HTTP 400, param wait, request req_test)");
}

#[tokio::test]
async fn adding_credits_is_sent_once_even_on_a_503() {
    let count = Arc::new(Mutex::new(0));
    let c2 = count.clone();
    let router = Router::new().route(
        "/admin/v1/accounts/{id}/credits",
        post(move || {
            *c2.lock().unwrap() += 1;
            async { error(StatusCode::SERVICE_UNAVAILABLE, "internal_error", None) }
        }),
    );
    let c = client(&serve(router).await);
    let e = c.add_credits("acct_1", serde_json::Number::from(5), None).await.unwrap_err();
    assert_eq!(e.api().unwrap().status, 503);
    assert_eq!(*count.lock().unwrap(), 1, "a repeat could add the money twice");
}

#[tokio::test]
async fn an_answer_marked_x_should_retry_false_is_not_retried() {
    let count = Arc::new(Mutex::new(0));
    let c2 = count.clone();
    let router = Router::new().route(
        "/v1/tasks/cancel/{id}",
        post(move || {
            *c2.lock().unwrap() += 1;
            async {
                let mut r = error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", None);
                r.headers_mut().insert("x-should-retry", "false".parse().unwrap());
                r
            }
        }),
    );
    let c = client(&serve(router).await);
    let e = c.cancel("task_01").await.unwrap_err();
    assert_eq!(e.api().unwrap().code, "rate_limit_exceeded");
    assert!(e.api().unwrap().no_retry);
    assert_eq!(*count.lock().unwrap(), 1);
}

#[test]
fn the_backoff_doubles_and_retry_after_wins_up_to_the_cap() {
    let p = RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
    let transport_like = Error::StreamBroken { task_id: "t".into(), attempts: 1, last: String::new() };
    assert_eq!(p.delay(1, &transport_like), Duration::from_millis(100));
    assert_eq!(p.delay(3, &transport_like), Duration::from_millis(400));
    assert_eq!(p.delay(10, &transport_like), Duration::from_secs(2));
    let api = |secs| {
        Error::Api(Box::new(vidgate_client::ApiError {
            status: 429,
            code: "rate_limit_exceeded".into(),
            message: String::new(),
            kind: String::new(),
            param: None,
            request_id: None,
            retry_after: Some(Duration::from_secs(secs)),
            no_retry: false,
        }))
    };
    assert_eq!(p.delay(1, &api(1)), Duration::from_secs(1));
    assert_eq!(p.delay(1, &api(30)), Duration::from_secs(2));
}

/// A stream that sends `running` (id 3) and then drops the connection on the first
/// request; with `Last-Event-ID: 3` it sends `completed` (id 4).
fn resuming_stream(seen: Seen) -> Router {
    Router::new().route(
        "/v1/tasks/stream/{id}",
        get(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let resumed = headers.get("last-event-id").map(|v| v.to_str().unwrap().to_owned());
                seen.lock().unwrap().push(headers);
                let body = match resumed.as_deref() {
                    None => format!(": heartbeat\n\nevent: task\nid: 3\ndata: {}\n\n", task("running", 40)),
                    Some("3") => format!("event: task\nid: 4\ndata: {}\n\n", task("completed", 100)),
                    Some(other) => panic!("resumed from {other}"),
                };
                ([("content-type", "text/event-stream")], body)
            }
        }),
    )
}

#[tokio::test]
async fn following_a_stream_that_breaks_resumes_with_last_event_id_and_ends_at_the_terminal_event() {
    let seen: Seen = Arc::default();
    let c = client(&serve(resuming_stream(seen.clone())).await);
    let mut states = Vec::new();
    let done = c.follow("task_01", |t| states.push((t.status, t.progress))).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(states, vec![(TaskStatus::Running, 40), (TaskStatus::Completed, 100)]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].get("last-event-id").is_none());
    assert_eq!(seen[1]["last-event-id"], "3");
    assert_eq!(seen[1]["authorization"], "Bearer sk-vg-test-x");
}

#[tokio::test]
async fn a_stream_that_never_sends_an_event_gives_up_after_max_attempts() {
    let count = Arc::new(Mutex::new(0));
    let c2 = count.clone();
    let router = Router::new().route(
        "/v1/tasks/stream/{id}",
        get(move || {
            *c2.lock().unwrap() += 1;
            async { ([("content-type", "text/event-stream")], ": heartbeat\n\n") }
        }),
    );
    let c = client(&serve(router).await);
    let e = c.follow("task_01", |_| {}).await.unwrap_err();
    assert!(matches!(e, Error::StreamBroken { attempts: 4, .. }), "{e}");
    assert_eq!(*count.lock().unwrap(), 4);
}

#[tokio::test]
async fn a_download_lands_under_its_name_whole_and_leaves_no_temporary_file() {
    let router = Router::new()
        .route("/files/ok", get(|| async { vec![7u8; 100_000] }))
        .route("/files/gone", get(|| async { error(StatusCode::GONE, "files_expired", None) }));
    let base = serve(router).await;
    let c = client(&base);
    let dir = std::env::temp_dir().join(format!("vidgate-client-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = c.download(&format!("{base}/files/ok"), &dir.join("a.mp4")).await.unwrap();
    assert_eq!(n, 100_000);
    assert_eq!(std::fs::read(dir.join("a.mp4")).unwrap(), vec![7u8; 100_000]);
    let e = c.download(&format!("{base}/files/gone"), &dir.join("b.mp4")).await.unwrap_err();
    assert_eq!(e.api().unwrap().code, "files_expired");
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("a.mp4")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn upstream_row(name: &str) -> Value {
    json!({"object": "upstream", "name": name, "kind": "openai", "pool": "ark", "state": "out", "disabled": true,
           "health": "closed", "open_until": null, "cooling_until": null, "priority": null, "weight": 3,
           "in_flight": 0, "max_in_flight": 10, "spend_today_usd": 0, "spend_month_usd": 0,
           "daily_budget_usd": null, "monthly_budget_usd": null, "last_error": null, "last_error_at": null,
           "changed_at": null})
}

#[tokio::test]
async fn a_member_name_travels_as_one_encoded_segment_and_an_unknown_one_is_a_404_asked_once() {
    type Got = Arc<Mutex<Vec<(String, String, Value)>>>;
    let got: Got = Arc::default();
    let (g1, g2) = (got.clone(), got.clone());
    let router = Router::new().route(
        "/admin/v1/upstreams/{name}",
        get(move |uri: axum::http::Uri, axum::extract::Path(name): axum::extract::Path<String>| {
            let g = g1.clone();
            async move {
                g.lock().unwrap().push((uri.path().to_owned(), name.clone(), Value::Null));
                error(StatusCode::NOT_FOUND, "not_found", None)
            }
        })
        .patch(
            move |uri: axum::http::Uri,
                  axum::extract::Path(name): axum::extract::Path<String>,
                  axum::Json(body): axum::Json<Value>| {
                let g = g2.clone();
                async move {
                    g.lock().unwrap().push((uri.path().to_owned(), name.clone(), body));
                    axum::Json(upstream_row(&name))
                }
            },
        ),
    );
    let c = client(&serve(router).await);
    let change = UpstreamChange { disabled: Some(true), weight: Some(None), ..Default::default() };
    let updated = c.update_upstream("ark:team-b", &change).await.unwrap();
    let [u] = updated.upstreams()[..] else { panic!("one upstream: {updated:?}") };
    assert_eq!((u.name.as_str(), u.pool.as_deref(), u.state.as_str()), ("ark:team-b", Some("ark"), "out"));
    let e = c.upstream("nope").await.unwrap_err();
    assert_eq!(e.api().map(|a| (a.status, a.code.as_str())), Some((404, "not_found")));
    let got = got.lock().unwrap();
    assert_eq!(
        *got,
        [
            (
                "/admin/v1/upstreams/ark%3Ateam-b".to_owned(),
                "ark:team-b".to_owned(),
                json!({"disabled": true, "weight": null})
            ),
            ("/admin/v1/upstreams/nope".to_owned(), "nope".to_owned(), Value::Null),
        ],
        "one PATCH, one GET (a 404 is not retried)"
    );
}
