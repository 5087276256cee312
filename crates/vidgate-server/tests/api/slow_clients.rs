//! Slow and greedy clients over raw TCP on loopback: request heads trickled a byte a second
//! are closed by the header-read timeout, bodies trickled below the minimum rate are answered
//! 408 and closed, and at the connection cap new clients take the place of connections
//! waiting for a head, or are answered 503 `server_busy` when every connection is in a request.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with, test_config};

/// A raw connection to the gateway.
async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (EOF or reset), at most `limit`; the bytes
/// read and when the connection ended, or `None` if it was still open at `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<(Vec<u8>, Instant)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let ended = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    ended.ok().map(|()| (out, Instant::now()))
}

/// An HTTP/1.1 answer read off the wire: status, lower-cased headers and the JSON body.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl RawAnswer {
    fn parse(bytes: &[u8]) -> RawAnswer {
        let text = String::from_utf8(bytes.to_vec()).expect("an answer in UTF-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        RawAnswer { status, headers, body: serde_json::from_str(body).expect("a JSON body") }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A keep-alive connection that has had one answer (so the server has registered it) and
/// has then sent the first bytes of its next request head and nothing more.
async fn stalled_keep_alive(app: &TestApp) -> TcpStream {
    let mut s = connect(app).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).ends_with(r#"{"status":"ok"}"#) && got.len() < 4096 {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "the first answer arrives");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
    s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    s
}

#[tokio::test]
async fn heads_trickled_a_byte_a_second_are_closed_by_the_header_timeout_while_others_are_served() {
    let mut config = test_config();
    config.server.header_read_timeout_secs = 3;
    let app = spawn_app_with(config).await;
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let head = b"GET /healthz HTTP/1.1\r\nhost: t\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut tricklers = Vec::new();
    for _ in 0..20 {
        let stream = connect(&app).await;
        let closed = closed.clone();
        tricklers.push(tokio::spawn(async move {
            let opened = Instant::now();
            let (mut read, mut write) = stream.into_split();
            let writer = tokio::spawn(async move {
                // At most the whole head (far longer than the timeout); stops once closed.
                for byte in head.iter() {
                    if write.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
            let mut got = Vec::new();
            let mut buf = [0u8; 256];
            let ended = tokio::time::timeout(Duration::from_secs(9), async {
                loop {
                    match read.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .await;
            writer.abort();
            closed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (ended.is_ok(), opened.elapsed(), got)
        }));
    }
    // Meanwhile the health check and an authenticated request are answered, while all
    // twenty are still connected.
    let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, models) = app.get("/v1/models", &app.test_key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(models["data"].as_array().is_some_and(|m| !m.is_empty()), "{models}");
    assert_eq!(closed.load(std::sync::atomic::Ordering::SeqCst), 0, "answered before any trickler was closed");

    for trickler in tricklers {
        let (closed, after, got) = trickler.await.unwrap();
        assert!(closed, "a trickled head is closed by the server");
        assert!(got.is_empty(), "closed without an answer, got {:?}", String::from_utf8_lossy(&got));
        assert!(after >= Duration::from_millis(2900) && after < Duration::from_secs(6), "closed after {after:?}");
    }
}

#[tokio::test]
async fn a_body_trickled_below_the_minimum_rate_is_answered_408_and_closed_and_creates_nothing() {
    let mut config = test_config();
    config.server.body_min_bytes_per_sec = 100;
    config.server.body_rate_grace_secs = 1;
    let app = spawn_app_with(config).await;
    let body =
        br#"{"model": "tiny", "prompt": "a slow upload of a perfectly valid request body, sent a byte a second"}"#;
    let mut s = connect(&app).await;
    let head = format!(
        "POST /v1/videos/generations HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        app.test_key,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let sent = Instant::now();
    let (mut read, mut write) = s.into_split();
    let writer = tokio::spawn(async move {
        for byte in body.iter() {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut got = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(6), read.read_to_end(&mut got)).await;
    writer.abort();
    assert!(matches!(ended, Ok(Ok(_))), "the server closes the connection: {ended:?}");
    let after = sent.elapsed();
    assert!(after >= Duration::from_millis(900) && after < Duration::from_secs(4), "answered after {after:?}");
    let answer = RawAnswer::parse(&got);
    assert_eq!(answer.status, 408);
    assert_eq!(answer.body["error"]["code"], "request_timeout");
    assert_eq!(answer.body["error"]["type"], "invalid_request_error");
    assert_eq!(answer.body["error"]["param"], Value::Null);
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(answer.header("x-request-id").is_some_and(|id| id.starts_with("req_")), "{:?}", answer.headers);

    let (status, list) = app.get("/v1/videos", &app.test_key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"], serde_json::json!([]), "no task was created");
}

#[tokio::test]
async fn at_the_connection_cap_a_new_client_takes_the_place_of_the_longest_stalled_head() {
    let mut config = test_config();
    config.server.max_connections = 4;
    config.server.header_read_timeout_secs = 30;
    let app = spawn_app_with(config).await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_keep_alive(&app).await);
    }
    // One client, one keep-alive connection: it takes one place.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let health = client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), r#"{"status":"ok"}"#);
    let models = client.get(format!("{}/v1/models", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert_eq!(models.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2), "served in {:?}", started.elapsed());

    // The oldest stalled connection was closed without an answer to its partial head ...
    let (got, _) = read_until_closed(&mut stalled[0], Duration::from_secs(3)).await.expect("the oldest is closed");
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    // ... and the three others still hold their places.
    for s in &mut stalled[1..] {
        assert!(read_until_closed(s, Duration::from_millis(300)).await.is_none(), "a younger connection stays open");
    }
}

#[tokio::test]
async fn when_every_connection_is_in_a_request_a_new_one_is_answered_503_server_busy() {
    let mut config = test_config();
    config.server.max_connections = 2;
    config.server.body_rate_grace_secs = 30;
    let app = spawn_app_with(config).await;
    // Two requests whose handlers are reading a body that has not come: `100 Continue` says
    // the handler asked for the body.
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&app).await;
        let head = format!(
            "POST /v1/videos/generations HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: 20\r\nexpect: 100-continue\r\n\r\n",
            app.test_key
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n");
        busy.push(s);
    }

    let started = Instant::now();
    let mut s = connect(&app).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n").await.unwrap();
    let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await.expect("answered and closed");
    assert!(closed - started < Duration::from_secs(3), "answered in {:?}", closed - started);
    let answer = RawAnswer::parse(&got);
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body["error"]["code"], "server_busy");
    assert_eq!(answer.body["error"]["type"], "server_error");
    assert_eq!(answer.body["error"]["param"], Value::Null);
    assert_eq!(answer.header("retry-after"), Some("1"));
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(answer.header("x-request-id").is_some_and(|id| id.starts_with("req_")), "{:?}", answer.headers);

    // The requests in progress were not disturbed: their bodies still get an answer.
    for mut s in busy {
        s.write_all(b"{\"model\": \"nope\"}   ").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 400"), "{}", String::from_utf8_lossy(&buf[..n]));
    }
}

/// Waits until `count` reaches `want`, at most `limit`.
async fn wait_count(count: &std::sync::atomic::AtomicUsize, want: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let now = count.load(std::sync::atomic::Ordering::SeqCst);
        if now >= want || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn forty_stalled_heads_over_a_cap_of_sixteen_leave_healthz_and_clients_served() {
    let mut config = test_config();
    config.server.max_connections = 16;
    config.server.connection_reserve = 4;
    config.server.header_read_timeout_secs = 30;
    let app = spawn_app_with(config).await;
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut holders = Vec::new();
    for _ in 0..40 {
        let mut s = connect(&app).await;
        s.write_all(b"POST /v1/videos/generations HTTP/1.1\r\nhost: t\r\n").await.unwrap();
        let closed = closed.clone();
        holders.push(tokio::spawn(async move {
            if let Some((got, _)) = read_until_closed(&mut s, Duration::from_secs(20)).await {
                assert!(got.is_empty(), "closed without an answer: {:?}", String::from_utf8_lossy(&got));
                closed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
    }
    // Each connection over the cap took the place of an older stalled one.
    assert_eq!(wait_count(&closed, 24, Duration::from_secs(5)).await, 24);

    let client = reqwest::Client::new();
    let started = Instant::now();
    let health = client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let models = client.get(format!("{}/v1/models", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert_eq!(models.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2), "served in {:?}", started.elapsed());
    // One keep-alive connection for both: one more stalled head made room.
    assert_eq!(wait_count(&closed, 25, Duration::from_secs(3)).await, 25);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(closed.load(std::sync::atomic::Ordering::SeqCst), 25, "the other fifteen keep their places");
    for h in holders {
        h.abort();
    }
}
