//! Start-up as an operator meets it, running the real binary: `config print` shows what the
//! server would use, a bad configuration is refused before any state exists and the error
//! names the path, key or variable at fault, and logs are plain or JSON lines.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Gateway, fresh_dir};

/// A path inside a fresh temp dir that does not exist yet.
fn absent_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vidgate-startup-{}", ulid::Ulid::new()));
    assert!(!dir.exists());
    dir
}

fn vidgate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vidgate"));
    cmd.args(args).env_remove("VIDGATE_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_print_shows_the_values_the_server_derives_for_its_data_dir() {
    let data = absent_dir();
    let d = data.display();
    let out = vidgate(&["config", "print", "--data-dir", &d.to_string(), "--listen", "127.0.0.1:9123"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    for line in [
        format!("url = \"sqlite://{d}/vidgate.db\""),
        format!("dir = \"{d}/files\""),
        "public_url = \"http://127.0.0.1:9123\"".to_owned(),
        "listen = \"127.0.0.1:9123\"".to_owned(),
    ] {
        assert!(printed.lines().any(|l| l == line), "{line} missing from:\n{printed}");
    }
    assert!(!data.exists(), "config print creates nothing");

    let env = [("VIDGATE_SERVER__PUBLIC_URL", "https://v.example.com/"), ("VIDGATE_FILES__DIR", "/srv/media")];
    let out = vidgate(&["config", "print", "--data-dir", &d.to_string(), "--database-url", "sqlite:///x.db"], &env);
    let printed = text(&out.stdout);
    for line in ["url = \"sqlite:///x.db\"", "dir = \"/srv/media\"", "public_url = \"https://v.example.com\""] {
        assert!(printed.lines().any(|l| l == line), "{line} missing from:\n{printed}");
    }
}

#[test]
fn config_print_refuses_an_unspecified_address_without_a_public_url_as_serve_does() {
    let out = vidgate(
        &["config", "print", "--listen", "0.0.0.0:8080", "--data-dir", &absent_dir().display().to_string()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("vidgate: server.public_url (VIDGATE_SERVER__PUBLIC_URL) is required when listening on an unspecified address (0.0.0.0:8080)"),
        "{err}"
    );
}

fn serve_refused(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir"];
    let d = data.display().to_string();
    args.push(&d);
    args.extend_from_slice(extra);
    let out = vidgate(&args, env);
    assert_eq!(out.status.code(), Some(1), "stdout: {} stderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(!data.exists(), "the data dir was created before the configuration was checked");
    text(&out.stderr)
}

#[test]
fn a_missing_upstream_key_file_is_named_with_its_config_key_before_any_state_exists() {
    let config = std::env::temp_dir().join(format!("vidgate-startup-{}.toml", ulid::Ulid::new()));
    let key = "/nonexistent/vidgate/sa-key.json";
    std::fs::write(
        &config,
        format!(
            "[[upstreams]]\nname = \"vertex-main\"\nkind = \"vertex\"\nmodel = \"veo-3.1-generate-001\"\nserves = [\"veo-3.1\"]\ncredentials = \"{key}\"\n"
        ),
    )
    .unwrap();
    let err = serve_refused(&absent_dir(), &["--config", &config.display().to_string()], &[]);
    let expected = format!(
        "vidgate: upstream vertex-main: reading the key file {key} (`credentials` of its [[upstreams]] entry): No such file or directory"
    );
    assert!(err.lines().any(|l| l.starts_with(&expected)), "{err}");
}

#[test]
fn a_misspelt_environment_variable_is_named_before_any_state_exists() {
    let err = serve_refused(&absent_dir(), &[], &[("VIDGATE_SERVER__LISTN", "127.0.0.1:9000")]);
    assert!(
        err.starts_with(
            "vidgate: environment variable VIDGATE_SERVER__LISTN: unknown field `listn`, expected one of `listen`"
        ),
        "{err}"
    );
    let err = serve_refused(&absent_dir(), &[], &[("VIDGATE_ENGINE__WORKERS", "plenty")]);
    assert!(err.starts_with("vidgate: environment variable VIDGATE_ENGINE__WORKERS: "), "{err}");
}

#[test]
fn a_missing_or_broken_config_file_is_named_before_any_state_exists() {
    let missing = "/nonexistent/vidgate.toml";
    let err = serve_refused(&absent_dir(), &["--config", missing], &[]);
    assert!(
        err.starts_with(&format!("vidgate: reading the config file {missing}: No such file or directory")),
        "{err}"
    );
    let broken = std::env::temp_dir().join(format!("vidgate-startup-{}.toml", ulid::Ulid::new()));
    std::fs::write(&broken, "[server]\nlistn = \"127.0.0.1:1\"\n").unwrap();
    let err = serve_refused(&absent_dir(), &["--config", &broken.display().to_string()], &[]);
    assert!(err.starts_with(&format!("vidgate: config file {}: unknown field `listn`", broken.display())), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_plain_text_when_stderr_is_not_a_terminal_and_json_lines_on_request() {
    let dir = fresh_dir();
    let mut g = Gateway::start(&dir).await;
    g.terminate();
    let log = std::fs::read_to_string(dir.join("gateway.log")).unwrap();
    assert!(log.contains(" INFO ") && log.contains("vidgate is serving"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escapes in a log file:\n{log}");

    let dir = fresh_dir();
    let mut g = Gateway::start_with(&dir, &["--log-format", "json"]).await;
    g.terminate();
    let log = std::fs::read_to_string(dir.join("gateway.log")).unwrap();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let serving = lines.iter().find(|l| l["fields"]["message"] == "vidgate is serving").expect("the serving line");
    assert_eq!(serving["level"], "INFO");
    assert!(serving["fields"]["public_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_one_readable_warn_line_without_its_key() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let secret = "sk-upstream-secret-7f3a9c";
    let dir = std::env::temp_dir().join(format!("vidgate-proc-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        r#"
[engine]
idle_poll_ms = 20
[[models]]
id = "clip"
native_audio = true
durations = [4]
default_duration = 4
sizes = ["1280x720"]
default_size = "1280x720"
max_prompt_chars = 200
usd_per_second = "0.25"
[[upstreams]]
name = "down-openai"
kind = "openai"
model = "tiny-video"
serves = ["clip"]
base_url = "http://127.0.0.1:{closed}/v1"
credentials = "{secret}"
durations = [4]
sizes = ["1280x720"]
expected_latency_secs = 1
deadline_secs = 120
usd_per_second = {{ default = "0.10" }}
"#
    );
    std::fs::write(dir.join("vidgate.toml"), config).unwrap();
    let mut g = Gateway::start(&dir).await;
    let admin = g.credentials()["admin_token"].as_str().unwrap().to_owned();
    let (_, key) = g.funded_live_key(&admin, 10.0).await;
    let (s, task) = g.post("/v1/videos/generations", &key, &serde_json::json!({"model": "clip", "prompt": "x"})).await;
    assert_eq!(s, 200, "{task}");
    let task_id = task["task_id"].as_str().unwrap().to_owned();
    let log_path = dir.join("gateway.log");
    let mut warn = None;
    for _ in 0..200 {
        let log = std::fs::read_to_string(&log_path).unwrap();
        warn = log.lines().find(|l| l.contains(" WARN ") && l.contains("upstream call failed")).map(str::to_owned);
        if warn.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    g.terminate();
    let warn = warn.expect("a WARN line for the failed submit");
    for part in [
        "upstream call failed".to_owned(),
        "upstream=\"down-openai\"".to_owned(),
        format!("task={task_id}"),
        "call=\"submit\"".to_owned(),
        "kind=\"unreachable\"".to_owned(),
        "cause=connect failed: ".to_owned(),
    ] {
        assert!(warn.contains(&part), "{part} missing from: {warn}");
    }
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("reqwest::Error") && !log.contains(secret), "{log}");
}
