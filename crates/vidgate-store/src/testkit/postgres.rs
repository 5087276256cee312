//! A PostgreSQL server for tests, and a fresh empty database on it per test.
//!
//! The server is the one `VIDGATE_TEST_POSTGRES_URL` names (any database the user may run
//! `CREATE DATABASE` from, e.g. `postgres://postgres@127.0.0.1:55432/postgres`). When that
//! is unset and PostgreSQL is installed (`/usr/lib/postgresql/*/bin/initdb`, Debian's
//! `postgresql` package), the first test of the process starts a throwaway cluster in a
//! temporary directory (`initdb` + `pg_ctl`, loopback only, fsync off; about 0.6 s; as root
//! through `runuser -u postgres`). A small shell watchdog holds the cluster: it stops it and
//! removes the directory when the test process exits, however it exits (it waits for EOF on
//! a pipe only this process holds). With neither, the tests fail and say what to do; they
//! never pass silently.
//!
//! Databases are named `vg_<ulid>` and are not dropped: a throwaway cluster goes away with
//! them, and a server named by the variable should be a throwaway one too.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use sqlx::Connection;

/// The variable naming a server to use instead of a throwaway cluster.
pub const URL_VAR: &str = "VIDGATE_TEST_POSTGRES_URL";

/// The URL of a fresh, empty database for one test. Panics, saying why and what to do,
/// when there is no server to use.
pub async fn fresh_database() -> String {
    let admin = server_url();
    let name = format!("vg_{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL server: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
    let _ = conn.close().await;
    with_database(admin, &name)
}

/// The URL of the server's administrative database (from the variable, or the throwaway
/// cluster's, started on first use). Blocks while a cluster starts.
pub fn server_url() -> &'static str {
    static SERVER: OnceLock<Server> = OnceLock::new();
    &SERVER.get_or_init(Server::find_or_start).url
}

/// `url` with its database replaced by `name` (the query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let authority_at = url.find("://").map_or(0, |i| i + 3);
    let path_at = url[authority_at..].find(['/', '?']).map_or(url.len(), |i| authority_at + i);
    let query_at = url[path_at..].find('?').map_or(url.len(), |i| path_at + i);
    format!("{}/{name}{}", &url[..path_at], &url[query_at..])
}

struct Server {
    url: String,
    /// The watchdog's stdin; kept open for the life of the process (statics never drop).
    _watchdog: Option<Mutex<ChildStdin>>,
}

impl Server {
    fn find_or_start() -> Server {
        if let Ok(url) = std::env::var(URL_VAR)
            && !url.is_empty()
        {
            return Server { url, _watchdog: None };
        }
        let Some(bin) = postgres_bin() else {
            panic!(
                "the PostgreSQL tests need a server: run scripts/test.sh (it installs Debian's `postgresql` \
                 package, and the tests then start a throwaway cluster themselves), or set {URL_VAR} to a \
                 throwaway server, e.g. postgres://postgres@127.0.0.1:55432/postgres"
            )
        };
        start_cluster(&bin)
    }
}

/// The newest installed server's `bin` directory (`/usr/lib/postgresql/<version>/bin`).
fn postgres_bin() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    let mut found: Vec<(u32, PathBuf)> = versions
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Starts the cluster under a shell watchdog: `$1` is the bin dir, `$2` the port. It prints
/// one line (`ready`, or why not), then waits for EOF on stdin, then stops and removes all.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP
bin=$1 port=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/vidgate-pg.XXXXXX") || { echo "mktemp failed"; exit 1; }
as=""
if [ "$(id -u)" = 0 ]; then chown postgres "$dir" && as="runuser -u postgres --"; fi
cleanup() { $as "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$dir"; }
opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=300"
if $as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 &&
   $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$opts" start >/dev/null 2>&1; then
  echo ready
else
  echo "failed: $(tail -n 5 "$dir"/*.log 2>/dev/null | tr '\n' ' ')"
  cleanup
  exit 1
fi
cat >/dev/null
cleanup
"#;

// The watchdog is never waited for: it must outlive this process to clean up after it.
#[allow(clippy::zombie_processes)]
fn start_cluster(bin: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("finding a free port for PostgreSQL: {e}"))
        .port();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("vidgate-pg")
        .arg(bin)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the PostgreSQL watchdog: {e}"));
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout).read_line(&mut line).unwrap_or_else(|e| panic!("reading the watchdog: {e}"));
    if line.trim() != "ready" {
        let _ = child.wait();
        panic!("starting a throwaway PostgreSQL cluster with {}: {}", bin.display(), line.trim());
    }
    let stdin = child.stdin.take().expect("piped stdin");
    Server { url: format!("postgres://postgres@127.0.0.1:{port}/postgres"), _watchdog: Some(Mutex::new(stdin)) }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_query_kept() {
        assert_eq!(with_database("postgres://u:p@h:5/postgres", "vg_1"), "postgres://u:p@h:5/vg_1");
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "x"), "postgres://h:5432/x");
        assert_eq!(with_database("postgres://h?sslmode=require", "x"), "postgres://h/x?sslmode=require");
    }
}
