//! `spawn_app()`: a gateway on 127.0.0.1:0 with a fresh data dir and a test catalog of tiny
//! clips (`tiny`: 160x90 / 90x160, 1–2 s) next to the shipped one.
//!
//! The backend comes from `VIDGATE_TEST_BACKEND`: `sqlite` (the default: SQLite and local
//! files in the data dir) or `postgres-s3` (a fresh PostgreSQL database from
//! `vidgate_store::testkit::postgres` and a fresh bucket on the shared s3s-fs, per data dir).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use vidgate_domain::catalog::{Catalog, ModelSpec};
use vidgate_domain::config::{Config, StorageKind};
use vidgate_domain::database_url::DatabaseUrl;

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
    c.models = models.into();
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
    let config = with_backend(config, &data_dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Arc::new(vidgate_engine::app::build(config, &data_dir, base.clone()).await.unwrap());
    let (creds, _) = app.created_credentials.clone().expect("a fresh data dir bootstraps");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let router = vidgate_server::router(app.gateway.clone());
    let limits = vidgate_server::ConnLimits::from_config(&app.gateway.config.server);
    let mut server_rx = rx.clone();
    tokio::spawn(vidgate_server::serve(listener, router, limits, async move {
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

/// The state backend the suite runs on (`VIDGATE_TEST_BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data dir and media files in `<data dir>/files` (the default).
    Sqlite,
    /// A fresh PostgreSQL database and a fresh bucket on the shared s3s-fs per data dir.
    PostgresS3,
}

/// The backend of this run; panics on a value it does not know (a typo must not silently
/// run the default).
pub fn backend() -> Backend {
    match std::env::var("VIDGATE_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres-s3") => Backend::PostgresS3,
        Ok(other) => panic!("VIDGATE_TEST_BACKEND={other}: expected `sqlite` or `postgres-s3`"),
    }
}

/// The database URL and bucket given to each data dir, so a restart on the same data dir
/// reopens the same state.
fn assigned() -> &'static Mutex<HashMap<PathBuf, (String, String)>> {
    static ASSIGNED: std::sync::OnceLock<Mutex<HashMap<PathBuf, (String, String)>>> = std::sync::OnceLock::new();
    ASSIGNED.get_or_init(Default::default)
}

/// `config` on this run's backend for the gateway on `data_dir`: with `postgres-s3`, a
/// config that leaves the database at its default gets the data dir's PostgreSQL database,
/// and one on local storage (at the default directory) the data dir's bucket. A config that
/// chooses either itself keeps its choice. The same data dir always gets the same database
/// and bucket.
pub async fn with_backend(mut config: Config, data_dir: &Path) -> Config {
    if backend() == Backend::Sqlite {
        return config;
    }
    let known = assigned().lock().unwrap().get(data_dir).cloned();
    let (url, bucket) = match known {
        Some(state) => state,
        None => {
            let state = (vidgate_store::testkit::postgres::fresh_database().await, crate::s3s::shared().new_bucket());
            assigned().lock().unwrap().entry(data_dir.to_path_buf()).or_insert(state).clone()
        }
    };
    if config.database.url.is_empty() {
        config.database.url = DatabaseUrl::new(url);
    }
    if config.storage.kind == StorageKind::Local && config.files.dir.is_empty() {
        config.storage = crate::s3s::shared().storage(&bucket, "media");
    }
    config
}

/// The names of the media files stored for `task_id` by a gateway with `config` on
/// `data_dir`, read from where they live (the local directory, or the bucket's directory on
/// the shared s3s-fs), not through the gateway; sorted. Empty when there are none.
pub fn stored_files(config: &Config, data_dir: &Path, task_id: &str) -> Vec<String> {
    let dir = match config.storage.kind {
        StorageKind::Local if config.files.dir.is_empty() => data_dir.join("files"),
        StorageKind::Local => PathBuf::from(&config.files.dir),
        StorageKind::S3 => {
            let s3 = crate::s3s::shared();
            assert_eq!(config.storage.s3_endpoint, s3.endpoint, "only buckets on the shared s3s-fs can be listed");
            let bucket = s3.bucket_dir(&config.storage.s3_bucket);
            config.storage.s3_prefix.split('/').filter(|p| !p.is_empty()).fold(bucket, |dir, p| dir.join(p))
        }
    };
    let Ok(entries) = std::fs::read_dir(dir.join(task_id)) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

impl TestApp {
    /// The names of the media files stored for `task_id`, sorted: see [`stored_files`].
    pub fn stored_files(&self, task_id: &str) -> Vec<String> {
        stored_files(&self.app.gateway.config, &self.data_dir, task_id)
    }

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
