//! Black-box tests of `vidgate_engine::net` against a scripted HTTP server on
//! 127.0.0.1. Nothing here sends traffic to any other address.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vidgate_engine::net::{FetchError, FetchedImage, Policy, UrlRejected, check_url, fetch_image, outbound_client};

const PUBLIC_ONLY: Policy = Policy { allow_private: false };
const PRIVATE_OK: Policy = Policy { allow_private: true };
const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really a png, but bytes are bytes";

/// What the scripted server answers on a path.
#[derive(Clone)]
enum Reply {
    Image {
        body: Vec<u8>,
        content_length: bool,
    },
    Status(u16),
    Redirect(String),
    /// 200 with no length, then body bytes until the client hangs up.
    Endless,
    /// 200 announcing `Content-Length`, then no body at all.
    Announces(u64),
    /// 200 with a 100-byte length, then one byte every 100 ms.
    Trickle,
    /// Reads the request, then says nothing.
    Silent,
}

struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }
}

/// Starts a server on 127.0.0.1:0 that answers each path as `route` says and closes
/// every connection after one answer, so connections == requests.
async fn spawn_upstream(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let paths = Arc::new(Mutex::new(Vec::new()));
    let route = Arc::new(route);
    let (count, seen) = (connections.clone(), paths.clone());
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let (route, seen) = (route.clone(), seen.clone());
            tokio::spawn(async move {
                let _ = serve(stream, addr, &*route, &seen).await;
            });
        }
    });
    Upstream { addr, connections, paths }
}

async fn serve(
    mut stream: TcpStream,
    addr: SocketAddr,
    route: &(dyn Fn(&str) -> Reply + Send + Sync),
    seen: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let path = read_request_path(&mut stream).await?;
    seen.lock().unwrap().push(path.clone());
    let head =
        |status: &str, extra: &str| format!("HTTP/1.1 {status}\r\nConnection: close\r\n{extra}\r\n").into_bytes();
    match route(&path) {
        Reply::Image { body, content_length } => {
            let length = if content_length { format!("Content-Length: {}\r\n", body.len()) } else { String::new() };
            stream.write_all(&head("200 OK", &format!("Content-Type: image/png\r\n{length}"))).await?;
            stream.write_all(&body).await?;
        }
        Reply::Status(code) => {
            stream.write_all(&head(&format!("{code} Whatever"), "Content-Length: 0\r\n")).await?;
        }
        Reply::Redirect(location) => {
            let location = location.replace("{addr}", &addr.to_string());
            let extra = format!("Location: {location}\r\nContent-Length: 0\r\n");
            stream.write_all(&head("302 Found", &extra)).await?;
        }
        Reply::Endless => {
            stream.write_all(&head("200 OK", "Content-Type: image/png\r\n")).await?;
            let chunk = [0u8; 8192];
            loop {
                stream.write_all(&chunk).await?; // ends when the client hangs up
            }
        }
        Reply::Announces(len) => {
            stream.write_all(&head("200 OK", &format!("Content-Length: {len}\r\n"))).await?;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Reply::Trickle => {
            stream.write_all(&head("200 OK", "Content-Length: 100\r\n")).await?;
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                stream.write_all(b"x").await?;
            }
        }
        Reply::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
    }
    stream.shutdown().await
}

async fn read_request_path(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    Ok(text.split_whitespace().nth(1).unwrap_or("").to_owned())
}

fn image(content_length: bool) -> Reply {
    Reply::Image { body: PNG.to_vec(), content_length }
}

fn client(policy: Policy, total: Duration) -> reqwest::Client {
    outbound_client(policy, Duration::from_secs(2), total).unwrap()
}

async fn fetch(policy: Policy, raw: &str, max_bytes: usize) -> Result<FetchedImage, FetchError> {
    let url = check_url(raw, policy)?;
    fetch_image(&client(policy, Duration::from_secs(5)), &url, max_bytes).await
}

#[tokio::test]
async fn loopback_urls_are_refused_before_any_connection() {
    let upstream = spawn_upstream(|_| image(true)).await;
    let port = upstream.addr.port();

    let http = fetch(PUBLIC_ONLY, &format!("http://127.0.0.1:{port}/x.png"), 1024).await;
    assert_eq!(http, Err(FetchError::Refused(UrlRejected::Scheme)));
    let literal = fetch(PUBLIC_ONLY, &format!("https://127.0.0.1:{port}/x.png"), 1024).await;
    assert_eq!(literal, Err(FetchError::Refused(UrlRejected::NonPublic("127.0.0.1".parse().unwrap()))));
    let http_name = fetch(PUBLIC_ONLY, &format!("http://localhost:{port}/"), 1024).await;
    assert_eq!(http_name, Err(FetchError::Refused(UrlRejected::Scheme)));

    // A name passes check_url; the resolver refuses it before anything is dialled.
    match fetch(PUBLIC_ONLY, &format!("https://localhost:{port}/"), 1024).await {
        Err(FetchError::Refused(UrlRejected::NonPublic(ip))) => assert!(ip.is_loopback(), "{ip}"),
        other => panic!("expected Refused(NonPublic(loopback)), got {other:?}"),
    }

    // The control request proves the server counts what reaches it.
    let control = fetch(PRIVATE_OK, &upstream.url("/control.png"), 1024).await;
    assert_eq!(control.map(|img| img.bytes), Ok(PNG.to_vec()));
    assert_eq!(upstream.connections(), 1);
    assert_eq!(upstream.paths(), ["/control.png"]);
}

#[tokio::test]
async fn the_guarded_client_refuses_loopback_even_when_check_url_was_skipped() {
    let upstream = spawn_upstream(|_| image(true)).await;
    let client = client(PUBLIC_ONLY, Duration::from_secs(5));
    let port = upstream.addr.port();

    let http = url::Url::parse(&format!("http://localhost:{port}/x.png")).unwrap();
    assert_eq!(fetch_image(&client, &http, 1024).await, Err(FetchError::Refused(UrlRejected::Scheme)));
    let https = url::Url::parse(&format!("https://localhost:{port}/x.png")).unwrap();
    assert!(matches!(
        fetch_image(&client, &https, 1024).await,
        Err(FetchError::Refused(UrlRejected::NonPublic(ip))) if ip.is_loopback()
    ));
    assert_eq!(upstream.connections(), 0);
}

#[tokio::test]
async fn an_image_is_fetched_when_private_targets_are_allowed() {
    let upstream = spawn_upstream(|_| image(true)).await;
    let fetched = fetch(PRIVATE_OK, &upstream.url("/x.png"), PNG.len()).await.unwrap();
    assert_eq!(fetched, FetchedImage { bytes: PNG.to_vec(), content_type: Some("image/png".into()) });
    assert_eq!(upstream.paths(), ["/x.png"]);
}

#[tokio::test]
async fn an_image_without_content_length_is_fetched_to_the_end() {
    let upstream = spawn_upstream(|_| image(false)).await;
    let fetched = fetch(PRIVATE_OK, &upstream.url("/x.png"), PNG.len()).await.unwrap();
    assert_eq!(fetched.bytes, PNG);
}

#[tokio::test]
async fn a_body_one_byte_over_the_limit_is_too_large_with_or_without_content_length() {
    for content_length in [true, false] {
        let upstream = spawn_upstream(move |_| image(content_length)).await;
        let result = fetch(PRIVATE_OK, &upstream.url("/x.png"), PNG.len() - 1).await;
        assert_eq!(result, Err(FetchError::TooLarge { limit: PNG.len() - 1 }), "content_length: {content_length}");
    }
}

#[tokio::test]
async fn an_announced_length_over_the_limit_is_refused_without_reading_the_body() {
    // The server never sends the body: reading it would end in Timeout, not TooLarge.
    let upstream = spawn_upstream(|_| Reply::Announces(10_485_761)).await;
    let url = check_url(&upstream.url("/big.png"), PRIVATE_OK).unwrap();
    let result = fetch_image(&client(PRIVATE_OK, Duration::from_secs(3)), &url, 10_485_760).await;
    assert_eq!(result, Err(FetchError::TooLarge { limit: 10_485_760 }));
    assert_eq!(result.unwrap_err().to_string(), "the source image is larger than 10485760 bytes");
}

#[tokio::test]
async fn an_endless_body_is_cut_off_at_the_limit() {
    // Without the streaming cap this would run into the 3 s timeout instead.
    let upstream = spawn_upstream(|_| Reply::Endless).await;
    let url = check_url(&upstream.url("/endless.png"), PRIVATE_OK).unwrap();
    let result = fetch_image(&client(PRIVATE_OK, Duration::from_secs(3)), &url, 100_000).await;
    assert_eq!(result, Err(FetchError::TooLarge { limit: 100_000 }));
}

#[tokio::test]
async fn a_404_is_a_status_error() {
    let upstream = spawn_upstream(|_| Reply::Status(404)).await;
    let result = fetch(PRIVATE_OK, &upstream.url("/missing.png"), 1024).await;
    assert_eq!(result, Err(FetchError::Status(404)));
    assert_eq!(result.unwrap_err().to_string(), "the source image URL answered 404");
}

#[tokio::test]
async fn three_redirects_are_followed() {
    let upstream = spawn_upstream(|path| match path {
        "/r3" => Reply::Redirect("/r2".into()),
        "/r2" => Reply::Redirect("/r1".into()),
        "/r1" => Reply::Redirect("http://{addr}/img".into()),
        _ => image(true),
    })
    .await;
    let fetched = fetch(PRIVATE_OK, &upstream.url("/r3"), 1024).await.unwrap();
    assert_eq!(fetched.bytes, PNG);
    assert_eq!(upstream.paths(), ["/r3", "/r2", "/r1", "/img"]);
}

#[tokio::test]
async fn a_fourth_redirect_is_handed_back_as_a_status() {
    let upstream = spawn_upstream(|path| match path {
        "/r4" => Reply::Redirect("/r3".into()),
        "/r3" => Reply::Redirect("/r2".into()),
        "/r2" => Reply::Redirect("/r1".into()),
        "/r1" => Reply::Redirect("/img".into()),
        _ => image(true),
    })
    .await;
    let result = fetch(PRIVATE_OK, &upstream.url("/r4"), 1024).await;
    assert_eq!(result, Err(FetchError::Status(302)));
    assert_eq!(upstream.paths(), ["/r4", "/r3", "/r2", "/r1"]);
}

#[tokio::test]
async fn a_redirect_hop_is_rechecked_by_the_guard() {
    // Private targets are allowed here (the server is on loopback), so these are the
    // checks that hold under every policy; the loopback refusal of a hop under the
    // public-only policy is tested on `redirect_hop` in guard.rs.
    for (location, expected) in [
        ("http://user:pw@{addr}/img", FetchError::Refused(UrlRejected::Credentials)),
        ("gopher://{addr}/_GET", FetchError::Refused(UrlRejected::Scheme)),
        // Not even a candidate for following (no authority): the 302 comes back as is.
        ("file:///etc/passwd", FetchError::Status(302)),
    ] {
        let upstream = spawn_upstream(move |path| match path {
            "/start" => Reply::Redirect(location.into()),
            _ => image(true),
        })
        .await;
        let result = fetch(PRIVATE_OK, &upstream.url("/start"), 1024).await;
        assert_eq!(result, Err(expected), "{location}");
        assert_eq!(upstream.paths(), ["/start"], "{location}");
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_at_the_total_timeout() {
    let upstream = spawn_upstream(|_| Reply::Silent).await;
    let url = check_url(&upstream.url("/slow.png"), PRIVATE_OK).unwrap();
    let client = client(PRIVATE_OK, Duration::from_millis(500));
    let started = Instant::now();
    let result = fetch_image(&client, &url, 1024).await;
    let elapsed = started.elapsed();
    assert_eq!(result, Err(FetchError::Timeout));
    assert!(elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn a_trickling_body_times_out_at_the_total_timeout() {
    // Headers arrive at once; the timeout must still bound reading the body.
    let upstream = spawn_upstream(|_| Reply::Trickle).await;
    let url = check_url(&upstream.url("/trickle.png"), PRIVATE_OK).unwrap();
    let client = client(PRIVATE_OK, Duration::from_millis(500));
    let started = Instant::now();
    let result = fetch_image(&client, &url, 1024).await;
    let elapsed = started.elapsed();
    assert_eq!(result, Err(FetchError::Timeout));
    assert!(elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let result = fetch(PRIVATE_OK, &format!("http://{addr}/x.png"), 1024).await;
    assert_eq!(result, Err(FetchError::Unreachable));
    assert_eq!(result.unwrap_err().to_string(), "the source image URL could not be reached");
}

#[test]
fn refusal_messages_name_no_address() {
    let refused = FetchError::Refused(UrlRejected::NonPublic("10.0.0.7".parse().unwrap()));
    assert_eq!(refused.to_string(), "the source image host resolves to a non-public address");
    let rejected = UrlRejected::NonPublic("169.254.169.254".parse().unwrap());
    assert_eq!(rejected.to_string(), "the URL host resolves to a non-public address");
    assert_eq!(FetchError::Refused(UrlRejected::Scheme).to_string(), "the source image URL must use https");
}
