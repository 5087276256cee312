//! The ceiling of `scripts/bench.sh`: a minimal axum server, built with the same profile as
//! vidgate, answering `GET /v1/videos/tasks/{id}` with a task-shaped JSON object serialised
//! per request (what vidgate's poll does, without the authentication, the store read or the
//! signed URLs). vidgate's poll is measured against it on the same core in the same run.
//!
//! ```text
//! bench_ceiling 127.0.0.1:18080
//! ```

use axum::Json;
use axum::extract::Path;
use axum::routing::get;
use serde_json::{Value, json};

async fn task(Path(id): Path<String>) -> Json<Value> {
    Json(json!({
        "task_id": id,
        "object": "video.task",
        "model": "tiny",
        "status": "queued",
        "progress": 0,
        "created_at": 1_800_000_000,
        "started_at": null,
        "completed_at": null,
        "estimated_credits": 0.25,
        "credits_used": 0,
        "mode": "test",
        "params": {"prompt": "a red ball bouncing", "duration_seconds": 1, "size": "160x90", "audio": true},
        "metadata": {},
        "output": [],
        "error": null,
        "stream_url": format!("http://127.0.0.1:18080/v1/tasks/stream/{id}?exp=1800000600&sig=0123456789abcdef"),
    }))
}

#[tokio::main]
async fn main() {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18080".into());
    let router = axum::Router::new().route("/v1/videos/tasks/{id}", get(task));
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("binding the listen address");
    axum::serve(listener, router).await.expect("serving");
}
