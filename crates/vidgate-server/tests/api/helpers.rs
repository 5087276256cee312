//! `spawn_app()`: a gateway on 127.0.0.1:0 with a fresh data dir and a test catalog of tiny
//! clips (`tiny`: 160x90 / 90x160, 1–2 s) next to the shipped one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_domain::catalog::{Catalog, ModelSpec};
use vidgate_domain::config::Config;

/// A running gateway for one test.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub test_key: String,
    pub account_id: String,
    pub data_dir: PathBuf,
    #[allow(dead_code)]
    pub app: Arc<vidgate_engine::app::App>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The tiny model of the test catalog.
pub fn tiny_model() -> ModelSpec {
    toml::from_str(
        r#"
        id = "tiny"
        aliases = ["tiny-alias"]
        image_to_video = true
        native_audio = true
        durations = [1, 2]
        default_duration = 1
        sizes = ["160x90", "90x160"]
        default_size = "160x90"
        max_prompt_chars = 200
        usd_per_second = "0.25"
        "#,
    )
    .expect("tiny model parses")
}

/// The config tests run with: fast sandbox, short leases, the shipped catalog plus `tiny`.
pub fn test_config() -> Config {
    let mut c = Config::for_tests();
    c.sandbox.queue_delay_ms = 100;
    c.sandbox.run_delay_ms = 200;
    c.sandbox.deadline_grace_ms = 3000;
    c.engine.idle_poll_ms = 20;
    c.engine.lease_secs = 5;
    let mut models = Catalog::shipped().models().to_vec();
    models.push(tiny_model());
    c.models = models;
    c
}

/// Spawns a gateway with the test config.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

/// Spawns a gateway with `config`.
pub async fn spawn_app_with(config: Config) -> TestApp {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data_dir = std::env::temp_dir().join(format!("vidgate-test-{}", ulid::Ulid::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Arc::new(vidgate_engine::app::build(config, &data_dir, base.clone()).await.unwrap());
    let (creds, _) = app.created_credentials.clone().expect("a fresh data dir bootstraps");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let router = vidgate_server::router(app.gateway.clone());
    let mut server_rx = rx.clone();
    tokio::spawn(vidgate_server::serve(listener, router, async move {
        let _ = server_rx.wait_for(|s| *s).await;
    }));
    let bg = app.clone();
    tokio::spawn(async move { bg.run_background(rx).await });
    TestApp {
        base,
        client: reqwest::Client::new(),
        admin_token: creds.admin_token,
        test_key: creds.test_api_key,
        account_id: creds.account_id,
        data_dir,
        app,
        stop,
    }
}

impl TestApp {
    /// POST JSON with an API key.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(key).json(body).send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }

    /// GET with an API key.
    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(key).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Submits on the seed's surface; panics unless it is accepted.
    pub async fn submit(&self, key: &str, body: Value) -> Value {
        let (status, task, _) = self.post("/v1/videos/generations", key, &body).await;
        assert_eq!(status, StatusCode::OK, "{task}");
        task
    }

    /// A tiny test-mode submit.
    pub async fn submit_tiny(&self, key: &str, extra: Value) -> Value {
        let mut body = json!({"model": "tiny", "prompt": "a red ball bouncing", "audio": true});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        self.submit(key, body).await
    }

    /// Polls until the task is terminal (long-poll), at most `limit`.
    pub async fn wait_terminal(&self, key: &str, task_id: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (status, task) = self.get(&format!("/v1/videos/tasks/{task_id}?wait=5"), key).await;
            assert_eq!(status, StatusCode::OK, "{task}");
            if ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap()) {
                return task;
            }
            assert!(tokio::time::Instant::now() < deadline, "task {task_id} not terminal in time: {task}");
        }
    }

    /// Admin POST.
    pub async fn admin_post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Admin GET.
    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        self.get(path, &self.admin_token.clone()).await
    }

    /// A new account with a key of `mode`; returns (account id, key).
    pub async fn account_with_key(&self, name: &str, mode: &str) -> (String, String) {
        let (s, acct) = self.admin_post("/admin/v1/accounts", &json!({"name": name})).await;
        assert_eq!(s, StatusCode::OK, "{acct}");
        let id = acct["id"].as_str().unwrap().to_owned();
        let (s, key) = self.admin_post("/admin/v1/keys", &json!({"account_id": id, "name": "k", "mode": mode})).await;
        assert_eq!(s, StatusCode::OK, "{key}");
        (id, key["key"].as_str().unwrap().to_owned())
    }

    /// Downloads a URL's bytes.
    pub async fn download(&self, url: &str) -> (StatusCode, Vec<u8>) {
        let r = self.client.get(url).send().await.unwrap();
        (r.status(), r.bytes().await.unwrap().to_vec())
    }
}

/// Writes bytes to a temp file and probes them with the project's probe.
pub fn probe_bytes(bytes: &[u8], ext: &str) -> vidgate_media::MediaInfo {
    let path = std::env::temp_dir().join(format!("vidgate-probe-{}.{ext}", ulid::Ulid::new()));
    std::fs::write(&path, bytes).unwrap();
    let info = vidgate_media::probe(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    info
}

/// A PNG of one colour.
pub fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = (0..width * height).flat_map(|_| rgb).collect();
        w.write_image_data(&data).unwrap();
    }
    out
}

/// Decodes an 8-bit RGB PNG: (width, height, pixels).
pub fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}
