//! One `s3s-fs` process (an S3-compatible server that checks SigV4) shared by the whole test
//! binary, started on first use: every app that stores its media in S3 gets its own bucket on
//! it, a directory under the server's root, so a test can look at its objects as files.
//!
//! The binary is `target/tools/s3s-fs/bin/s3s-fs` (scripts/test.sh installs it) or
//! `$VIDGATE_TEST_S3S_FS`. Statics never drop, so the process is held by a small shell
//! watchdog instead: it kills the server and removes its root when the test binary exits,
//! however it exits (it waits for EOF on a pipe only this process holds).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use vidgate_domain::config::{StorageConfig, StorageKind};
use vidgate_domain::secret::Secret;

/// The access key every bucket of the shared server is reached with.
pub const ACCESS_KEY: &str = "vidgate-test-key";
/// Its secret key (a test value, on loopback only).
const SECRET_KEY: &str = "vidgate-test-secret";

/// The shared server: where it listens and the directory its buckets live in.
pub struct S3s {
    pub endpoint: String,
    pub root: PathBuf,
    /// The watchdog's stdin; kept open for the life of the process.
    _watchdog: Mutex<ChildStdin>,
}

/// The server, started on first use. Panics, saying what to do, when it cannot start.
pub fn shared() -> &'static S3s {
    static SERVER: OnceLock<S3s> = OnceLock::new();
    SERVER.get_or_init(start)
}

impl S3s {
    /// A new, empty bucket; returns its name.
    pub fn new_bucket(&self) -> String {
        let name = format!("vg-{}", ulid::Ulid::new().to_string().to_lowercase());
        std::fs::create_dir_all(self.root.join(&name)).unwrap();
        name
    }

    /// The directory holding the objects of `bucket` (an object `a/b` is the file `a/b` in it).
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    /// `[storage]` for `bucket` under `prefix` on this server.
    pub fn storage(&self, bucket: &str, prefix: &str) -> StorageConfig {
        StorageConfig {
            kind: StorageKind::S3,
            s3_bucket: bucket.to_owned(),
            s3_prefix: prefix.to_owned(),
            s3_endpoint: self.endpoint.clone(),
            s3_access_key_id: ACCESS_KEY.to_owned(),
            s3_secret_access_key: Secret::new(SECRET_KEY),
            s3_allow_http: true,
            ..StorageConfig::default()
        }
    }
}

/// `$1` binary, `$2` root, `$3` port, `$4`/`$5` keys: starts the server in the background,
/// prints `started`, then waits for EOF on stdin and stops and removes everything. The server
/// inherits the ignored TERM (an ignored signal stays ignored across exec), hence KILL.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP
bin=$1 root=$2 port=$3
mkdir -p "$root" || exit 1
"$bin" --host 127.0.0.1 --port "$port" --access-key "$4" --secret-key "$5" "$root" \
  </dev/null >"$root.log" 2>&1 &
pid=$!
echo started
cat >/dev/null
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$root" "$root.log"
"#;

fn binary() -> PathBuf {
    let bin = std::env::var_os("VIDGATE_TEST_S3S_FS").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("tools/s3s-fs/bin/s3s-fs")
    });
    assert!(bin.is_file(), "s3s-fs not found at {} (set VIDGATE_TEST_S3S_FS or run scripts/test.sh)", bin.display());
    bin
}

// The watchdog is never waited for: it must outlive this process to clean up after it.
#[allow(clippy::zombie_processes)]
fn start() -> S3s {
    let bin = binary();
    let root = std::env::temp_dir().join(format!("vidgate-s3s-{}", ulid::Ulid::new()));
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
    let mut child = Command::new("sh")
        .args(["-c", WATCHDOG, "vidgate-s3s"])
        .arg(&bin)
        .arg(&root)
        .args([port.to_string().as_str(), ACCESS_KEY, SECRET_KEY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the s3s-fs watchdog: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "started", "the s3s-fs watchdog did not start {}", bin.display());
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        let log = || std::fs::read_to_string(root.with_extension("log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "s3s-fs did not listen on {addr} within 10 s: {}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let stdin = child.stdin.take().expect("piped stdin");
    S3s { endpoint: format!("http://{addr}"), root, _watchdog: Mutex::new(stdin) }
}
