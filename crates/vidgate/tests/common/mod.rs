//! Runs the real `vidgate` binary as a child process: start it on a data dir, talk to it
//! over HTTP, kill it with SIGKILL, start it again.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The tiny test catalog and fast settings, as a config file.
pub const TINY_CONFIG: &str = r#"
[sandbox]
queue_delay_ms = 200
run_delay_ms = 1500
deadline_grace_ms = 60000
serve_live_keys = true
[engine]
idle_poll_ms = 20
lease_secs = 2
[server]
shutdown_grace_secs = 5
[[models]]
id = "tiny"
native_audio = true
image_to_video = true
durations = [1, 2]
default_duration = 1
sizes = ["160x90", "90x160"]
default_size = "160x90"
max_prompt_chars = 200
usd_per_second = "0.25"
"#;

/// A running gateway process.
pub struct Gateway {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
}

/// A fresh data dir with the tiny config in it.
pub fn fresh_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vidgate-proc-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("vidgate.toml"), TINY_CONFIG).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Gateway {
    /// Starts the binary on `data_dir` and waits until it answers.
    pub async fn start(data_dir: &Path) -> Gateway {
        Gateway::start_with(data_dir, &[]).await
    }

    /// Starts a replica: the binary on its own `data_dir` (with its `vidgate.toml`) on the
    /// shared database `database_url`. The first replica of a database bootstraps it.
    pub async fn start_replica(data_dir: &Path, database_url: &str) -> Gateway {
        Gateway::start_with(data_dir, &["--database-url", database_url]).await
    }

    /// Starts the binary on `data_dir` with `extra` arguments and waits until it answers.
    pub async fn start_with(data_dir: &Path, extra: &[&str]) -> Gateway {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("gateway.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vidgate"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .arg("--config")
            .arg(data_dir.join("vidgate.toml"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let g = Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
            client: reqwest::Client::new(),
        };
        for _ in 0..200 {
            if let Ok(r) = g.client.get(format!("{}/readyz", g.base)).send().await
                && r.status().is_success()
            {
                return g;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the gateway did not start; see {}", data_dir.join("gateway.log").display());
    }

    /// The bootstrap credentials.
    pub fn credentials(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.data_dir.join("credentials.json")).unwrap()).unwrap()
    }

    /// SIGKILL, no goodbye.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Value {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// A funded account with a live key: (account id, key).
    pub async fn funded_live_key(&self, admin: &str, usd: f64) -> (String, String) {
        let (_, acct) = self.post("/admin/v1/accounts", admin, &json!({"name": "crash"})).await;
        let id = acct["id"].as_str().unwrap().to_owned();
        let (s, _) = self.post(&format!("/admin/v1/accounts/{id}/credits"), admin, &json!({"amount_usd": usd})).await;
        assert_eq!(s, 200);
        let (_, key) =
            self.post("/admin/v1/keys", admin, &json!({"account_id": id, "name": "k", "mode": "live"})).await;
        (id, key["key"].as_str().unwrap().to_owned())
    }
}

/// An s3s-fs process (the S3-compatible server that checks SigV4; scripts/test.sh installs
/// it into `target/tools/s3s-fs`, or `VIDGATE_TEST_S3S_FS` names it) on a free loopback port,
/// with one empty bucket; killed and removed when dropped.
pub struct S3sFs {
    pub endpoint: String,
    pub root: PathBuf,
    pub bucket: String,
    child: Child,
}

impl S3sFs {
    /// Starts one with these credentials and waits until it listens.
    pub fn start(bucket: &str, access_key: &str, secret_key: &str) -> S3sFs {
        let bin = std::env::var_os("VIDGATE_TEST_S3S_FS").map(PathBuf::from).unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
                .join("tools/s3s-fs/bin/s3s-fs")
        });
        assert!(
            bin.is_file(),
            "s3s-fs not found at {} (set VIDGATE_TEST_S3S_FS or run scripts/test.sh)",
            bin.display()
        );
        let root = std::env::temp_dir().join(format!("vidgate-s3s-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(root.join(bucket)).unwrap();
        let port = free_port();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", access_key])
            .args(["--secret-key", secret_key])
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting s3s-fs ({}): {e}; see scripts/test.sh", bin.display()));
        let mut server = S3sFs { endpoint: format!("http://127.0.0.1:{port}"), root, bucket: bucket.into(), child };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("s3s-fs exited at start ({status}); see scripts/test.sh");
            }
            assert!(std::time::Instant::now() < deadline, "s3s-fs did not listen on {addr} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Long-polls every task until it is terminal (at most `limit` in all); the final objects.
pub async fn wait_all_terminal(g: &Gateway, key: &str, ids: &[String], limit: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut done = Vec::new();
    for id in ids {
        loop {
            let t = g.get(&format!("/v1/videos/tasks/{id}?wait=5"), key).await;
            if ["completed", "failed", "cancelled"].contains(&t["status"].as_str().unwrap()) {
                done.push(t);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "task {id} stuck: {t}");
        }
    }
    done
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
