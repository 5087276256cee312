//! S3 storage end to end: a tiny sandbox task on `storage.kind = "s3"` against a real
//! S3-compatible server that checks SigV4 (`s3s-fs`, started by this test; scripts/test.sh
//! installs it into `target/tools/s3s-fs`), downloaded whole and by range through the
//! gateway's signed URLs, with the objects landing in the bucket and deleted with the task.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use vidgate_domain::config::StorageKind;
use vidgate_domain::secret::Secret;

use crate::helpers::{spawn_app_with, test_config};

const BUCKET: &str = "vidgate-media";

/// An s3s-fs process on a free loopback port; killed when dropped.
struct S3sFs {
    endpoint: String,
    root: PathBuf,
    child: Child,
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn start_s3s_fs(access_key: &str, secret_key: &str) -> S3sFs {
    let bin = std::env::var_os("VIDGATE_TEST_S3S_FS").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("tools/s3s-fs/bin/s3s-fs")
    });
    assert!(bin.is_file(), "s3s-fs not found at {} (set VIDGATE_TEST_S3S_FS or run scripts/test.sh)", bin.display());
    let root = std::env::temp_dir().join(format!("vidgate-s3s-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let child = Command::new(&bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", access_key])
        .args(["--secret-key", secret_key])
        .arg(&root)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting s3s-fs ({}): {e}; see scripts/test.sh", bin.display()));
    let mut server = S3sFs { endpoint: format!("http://127.0.0.1:{port}"), root, child };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("s3s-fs exited at start ({status}); see scripts/test.sh");
        }
        assert!(Instant::now() < deadline, "s3s-fs did not listen on {addr} within 10 s; see scripts/test.sh");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_on_s3_storage_is_stored_in_the_bucket_and_served_by_signed_url() {
    let s3 = start_s3s_fs("vidgate-e2e-key", "vidgate-e2e-secret");
    let mut config = test_config();
    config.storage.kind = StorageKind::S3;
    config.storage.s3_bucket = BUCKET.to_string();
    config.storage.s3_prefix = "e2e".to_string();
    config.storage.s3_endpoint = s3.endpoint.clone();
    config.storage.s3_access_key_id = "vidgate-e2e-key".to_string();
    config.storage.s3_secret_access_key = Secret::new("vidgate-e2e-secret");
    config.storage.s3_allow_http = true;
    let app = spawn_app_with(config).await;
    let task = app.submit_tiny(&app.test_key, json!({})).await;
    let id = task["task_id"].as_str().unwrap().to_owned();
    let done = app.wait_terminal(&app.test_key, &id, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let url = done["result_url"].as_str().unwrap().to_owned();
    let (status, video) = app.download(&url).await;
    assert_eq!(status, StatusCode::OK);
    let in_bucket = std::fs::read(s3.root.join(BUCKET).join("e2e").join(&id).join("video.mp4")).unwrap();
    assert!(in_bucket == video, "the served video differs from the object in the bucket");
    assert_eq!(&video[4..8], b"ftyp");
    let r = app.client.get(&url).header("range", "bytes=4-7").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], format!("bytes 4-7/{}", video.len()).as_str());
    assert_eq!(r.bytes().await.unwrap().to_vec(), b"ftyp".to_vec());
    let (status, audio) = app.download(done["audio_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!audio.is_empty());
    let r = app.client.delete(format!("{}/v1/videos/{id}", app.base)).bearer_auth(&app.test_key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!s3.root.join(BUCKET).join("e2e").join(&id).join("video.mp4").exists());
}
