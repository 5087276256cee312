//! A gateway that can be stopped and started again on the same data dir, in process: what
//! `spawn_app_with` builds, plus a `stop` that waits until its HTTP server and background
//! loops have really ended (so the next start is the only process on that database).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use vidgate_domain::config::Config;
use vidgate_engine::gateway::Credentials;

/// One run of a gateway.
pub struct Run {
    pub base: String,
    pub client: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    background: tokio::task::JoinHandle<()>,
}

/// A fresh data dir for a restartable gateway.
pub fn fresh_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!("vidgate-restart-{}", ulid::Ulid::new()))
}

impl Run {
    /// Starts a gateway on `data_dir` (port 0). The credentials are returned by the first
    /// start of a data dir only.
    pub async fn start(config: Config, data_dir: &Path) -> (Run, Option<Credentials>) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The same data dir reopens the same database and bucket on `postgres-s3`.
        let config = crate::helpers::with_backend(config, data_dir).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Arc::new(vidgate_engine::app::build(config, data_dir, base.clone()).await.unwrap());
        let creds = app.created_credentials.clone().map(|(c, _)| c);
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut server_rx = rx.clone();
        let router = vidgate_server::router(app.gateway.clone());
        let limits = vidgate_server::ConnLimits::from_config(&app.gateway.config.server);
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = server_rx.wait_for(|s| *s).await;
            };
            vidgate_server::serve(listener, router, limits, shutdown).await.unwrap();
        });
        let background = tokio::spawn(async move { app.run_background(rx).await });
        (Run { base, client: reqwest::Client::new(), stop, server, background }, creds)
    }

    /// Stops it and waits until it has.
    pub async fn stop(self) {
        let Run { client, stop, server, background, .. } = self;
        drop(client); // its idle keep-alive connections would hold the server's graceful shutdown
        let _ = stop.send(true);
        background.await.unwrap();
        server.await.unwrap();
    }

    /// POST JSON with a key.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> (StatusCode, Value) {
        let r = self.client.post(format!("{}{path}", self.base)).bearer_auth(key).json(body).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// GET with a key, taking the path by value (for polling closures).
    pub async fn get_owned(&self, path: String, key: &str) -> (StatusCode, Value) {
        self.get(&path, key).await
    }

    /// GET with a key.
    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).bearer_auth(key).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}
