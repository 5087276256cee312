//! The media store conformance suite on the S3 backend, against a real S3-compatible
//! server that checks SigV4 signatures: `s3s-fs` 0.14.1, started once per test binary on a
//! free loopback port with a temporary root and fixed test credentials. Each test gets its
//! own key prefix, so its store starts empty. The server is found at `$VIDGATE_TEST_S3S_FS`
//! or `target/tools/s3s-fs/bin/s3s-fs` (scripts/test.sh installs it there); without it the
//! tests fail.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use vidgate_domain::TaskId;
use vidgate_domain::secret::Secret;
use vidgate_engine::files::{MediaError, MediaStore, S3Settings};

const BUCKET: &str = "vidgate-media";
const ACCESS_KEY: &str = "vidgate-test-key";
const SECRET_KEY: &str = "vidgate-test-secret";

struct Server {
    endpoint: String,
    /// `sh` holding s3s-fs; it kills the server when our end of its stdin closes (we exit).
    _guard: Mutex<Child>,
}

fn s3s_fs_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("VIDGATE_TEST_S3S_FS") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("tools/s3s-fs/bin/s3s-fs")
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let bin = s3s_fs_binary();
        assert!(
            bin.is_file(),
            "s3s-fs not found at {} (set VIDGATE_TEST_S3S_FS, or run scripts/test.sh, which installs it with \
             `cargo install s3s-fs --version 0.14.1 --features binary --locked --root target/tools/s3s-fs`)",
            bin.display()
        );
        let root = std::env::temp_dir().join(format!("vidgate-s3s-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(root.join(BUCKET)).expect("s3s-fs root");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("free port").local_addr().expect("addr").port();
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" & pid=$!; read _ || true; kill $pid; rm -rf "$ROOT""#)
            .arg(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .env("ROOT", &root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting s3s-fs ({}): {e}; see scripts/test.sh", bin.display()));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = guard.try_wait() {
                panic!("s3s-fs exited at start ({status}); see scripts/test.sh");
            }
            assert!(Instant::now() < deadline, "s3s-fs did not listen on {addr} within 10 s; see scripts/test.sh");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = guard.stdin.as_mut().expect("stdin").flush();
        Server { endpoint: format!("http://{addr}"), _guard: Mutex::new(guard) }
    })
}

fn settings(secret: &str) -> S3Settings {
    S3Settings {
        bucket: BUCKET.to_string(),
        prefix: format!("test-{}", ulid::Ulid::new()),
        endpoint: server().endpoint.clone(),
        region: "us-east-1".to_string(),
        access_key_id: ACCESS_KEY.to_string(),
        secret_access_key: Secret::new(secret),
        allow_http: true,
        path_style: true,
    }
}

async fn fresh() -> MediaStore {
    let scratch = std::env::temp_dir().join(format!("vidgate-s3-scratch-{}", ulid::Ulid::new()));
    MediaStore::s3(&settings(SECRET_KEY), scratch).expect("s3 media store")
}

vidgate_engine::media_conformance_tests!(fresh());

#[tokio::test]
async fn a_request_signed_with_a_wrong_secret_is_refused() {
    let scratch = std::env::temp_dir().join(format!("vidgate-s3-scratch-{}", ulid::Ulid::new()));
    let store = MediaStore::s3(&settings("not-the-secret"), scratch).expect("s3 media store");
    match store.size(&TaskId::generate(), "video.mp4").await {
        Err(MediaError::Backend { backend: "s3", .. }) => {}
        other => panic!("expected the server to refuse the signature, got {other:?}"),
    }
}

/// Stores `bytes` as the task's `video.mp4` through a scratch file.
async fn put_video(store: &MediaStore, task: &TaskId, bytes: &[u8]) {
    let src = store.scratch(task).expect("scratch").join("video.mp4");
    std::fs::write(&src, bytes).expect("scratch file");
    store.put(task, &[(&src, "video.mp4")]).await.expect("put");
}

#[tokio::test]
async fn a_presigned_url_fetches_the_object_whole_and_by_range_with_its_media_type() {
    let store = fresh().await;
    let task = TaskId::generate();
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    put_video(&store, &task, &bytes).await;
    let url = store.direct_url(&task, "video.mp4", Duration::from_secs(600)).expect("S3 presigns");
    assert!(url.starts_with(&server().endpoint), "{url}");
    assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=600"), "{url}");

    let client = reqwest::Client::new();
    let whole = client.get(&url).send().await.expect("GET");
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "video/mp4");
    assert_eq!(whole.bytes().await.expect("body").as_ref(), bytes.as_slice());

    let part = client.get(&url).header("range", "bytes=100-199").send().await.expect("ranged GET");
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.expect("body").as_ref(), &bytes[100..200]);
}

#[tokio::test]
async fn a_presigned_url_opens_only_its_own_object() {
    let store = fresh().await;
    let task = TaskId::generate();
    put_video(&store, &task, b"not really a video").await;
    let url = store.direct_url(&task, "video.mp4", Duration::from_secs(600)).expect("S3 presigns");
    let client = reqwest::Client::new();
    let other_key = url.replace("video.mp4", "audio.m4a");
    assert_eq!(client.get(&other_key).send().await.expect("GET").status(), 403);
    let tampered = url.replace("X-Amz-Expires=600", "X-Amz-Expires=6000");
    assert_eq!(client.get(&tampered).send().await.expect("GET").status(), 403);
    assert_eq!(client.get(&url).send().await.expect("GET").status(), 200);
}

#[test]
fn a_local_directory_has_no_direct_urls() {
    let root = std::env::temp_dir().join(format!("vidgate-local-{}", ulid::Ulid::new()));
    let store = MediaStore::local(&root).expect("local store");
    assert_eq!(store.direct_url(&TaskId::generate(), "video.mp4", Duration::from_secs(60)), None);
    let _ = std::fs::remove_dir_all(root);
}
