//! The real binary under an open-file limit far below its connection cap: 200 connections
//! stalled in their request head do not lock out `/healthz` or a normal client, because a
//! connection that finds no descriptor takes the place of the one that has waited longest for
//! a head. The limit is set the way an operator's service manager would (`ulimit -n`).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn two_hundred_stalled_heads_under_an_open_file_limit_of_128_leave_healthz_and_clients_served() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("vidgate-fd-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(dir.join("gateway.log")).unwrap();
    let child = Command::new("sh")
        .args(["-c", "ulimit -n 128 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_vidgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.join("data"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let _gateway = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    let ready = || async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success())
    };
    let mut up = false;
    for _ in 0..200 {
        if ready().await {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the gateway did not start; see {}", dir.join("gateway.log").display());
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("data/credentials.json")).unwrap()).unwrap();
    let key = creds["test_api_key"].as_str().unwrap().to_owned();

    let closed = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: t\r\n").await.unwrap();
        let closed = closed.clone();
        holders.push(tokio::spawn(async move {
            let mut buf = [0u8; 64];
            // Bounded by the test: the holders are aborted at its end.
            if let Ok(0) | Err(_) = s.read(&mut buf).await {
                closed.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let started = Instant::now();
    let health = client.get(format!("{base}/healthz")).send().await.expect("healthz is answered");
    assert_eq!(health.status().as_u16(), 200);
    let models = client.get(format!("{base}/v1/models")).bearer_auth(&key).send().await.expect("a client is served");
    assert_eq!(models.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(5), "served in {:?}", started.elapsed());
    // Only stalled heads made room: at least the ones beyond what the limit holds.
    assert!(closed.load(Ordering::SeqCst) >= 200 - 128, "closed {}", closed.load(Ordering::SeqCst));
    for h in holders {
        h.abort();
    }
    let log = std::fs::read_to_string(dir.join("gateway.log")).unwrap();
    assert!(!log.contains("panicked"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
