//! The `vidgate` client commands, run as the real binary against a real gateway (the
//! binary too) on the shipped catalog, with the sandbox renderer behind test keys.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Gateway;
use serde_json::{Value, json};

/// The shipped catalog (no `[[models]]`), a quick sandbox and a quick engine.
const CONFIG: &str = "
[sandbox]
queue_delay_ms = 200
run_delay_ms = 1200
[engine]
idle_poll_ms = 20
";

/// A gateway on the shipped catalog and a working directory for the CLI's files.
struct Setup {
    gateway: Gateway,
    work: PathBuf,
    key: String,
    admin: String,
}

async fn setup() -> Setup {
    let dir = std::env::temp_dir().join(format!("vidgate-cli-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::write(dir.join("vidgate.toml"), CONFIG).unwrap();
    let gateway = Gateway::start(&dir).await;
    let creds = gateway.credentials();
    let key = creds["test_api_key"].as_str().unwrap().to_owned();
    let admin = creds["admin_token"].as_str().unwrap().to_owned();
    Setup { work: dir.join("work"), gateway, key, admin }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.gateway.kill();
        if let Some(dir) = self.work.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Setup {
    /// The binary with this gateway's URL and credentials in the environment, run in the
    /// work dir.
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vidgate"));
        c.current_dir(&self.work)
            .env("VIDGATE_URL", &self.gateway.base)
            .env("VIDGATE_API_KEY", &self.key)
            .env("VIDGATE_ADMIN_TOKEN", &self.admin)
            .env("VIDGATE_PROFILE", self.no_profile());
        c
    }

    /// A profile path with nothing there, so the runner's own profile is never read.
    fn no_profile(&self) -> PathBuf {
        self.work.parent().unwrap().join("no-profile.toml")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a `--json` command that must succeed; its stdout parsed, all of it.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }
}

/// ffprobe's streams and format of a file.
fn probe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-show_format", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn codecs(probe: &Value) -> Vec<(String, String)> {
    let streams = probe["streams"].as_array().unwrap();
    streams
        .iter()
        .map(|s| (s["codec_type"].as_str().unwrap().into(), s["codec_name"].as_str().unwrap().into()))
        .collect()
}

fn seconds(probe: &Value) -> f64 {
    probe["format"]["duration"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_leaves_a_5_second_h264_mp4_with_aac_an_m4a_and_a_poster_and_exits_0() {
    let s = setup().await;
    let stdout = s.ok(&[
        "generate",
        "a paper boat on a river",
        "--model",
        "veo3.1",
        "--duration",
        "5",
        "--size",
        "1280x720",
        "--audio",
        "-o",
        "boat.mp4",
    ]);
    let video = probe(&s.path("boat.mp4"));
    assert_eq!(codecs(&video), vec![("video".into(), "h264".into()), ("audio".into(), "aac".into())]);
    assert_eq!(video["streams"][0]["width"], 1280);
    assert_eq!(video["streams"][0]["height"], 720);
    assert!((seconds(&video) - 5.0).abs() < 0.01, "{video}");
    let audio = probe(&s.path("boat.m4a"));
    assert_eq!(codecs(&audio), vec![("audio".into(), "aac".into())]);
    assert!((seconds(&audio) - 5.0).abs() < 0.05, "{audio}");
    let png = std::fs::read(s.path("boat.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!((&png[16..20], &png[20..24]), (&1280u32.to_be_bytes()[..], &720u32.to_be_bytes()[..]));
    // Not a terminal: a line per change, then the files and the bill.
    assert!(stdout.contains(" completed 100%\n"), "{stdout}");
    assert!(stdout.contains("video   boat.mp4\naudio   boat.m4a\nposter  boat.png\n"), "{stdout}");
    assert!(stdout.ends_with("billed  5 s, 2 USD\n"), "{stdout}");
    let names: Vec<String> =
        std::fs::read_dir(&s.work).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_generate_exits_1_with_the_error_code_and_creates_no_task_and_a_failed_one_exits_1_with_its_code() {
    let s = setup().await;
    let out = s.run(&["generate", "a boat", "--model", "veo3.1", "--duration", "7"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("vidgate: unsupported_value: duration_seconds must be one of 5, 10 for model veo3.1 (HTTP 400, param duration_seconds, request req_"),
        "{stderr}"
    );
    assert_eq!(s.json(&["tasks", "ls"])["data"], json!([]));
    assert_eq!(std::fs::read_dir(&s.work).unwrap().count(), 0);

    // A task that fails: exit 1 with the task's error code and message.
    let out = s.run(&["generate", "a boat", "--model", "veo3.1-lite", "--metadata", "sandbox.fault=content_filtered"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let failed = s.json(&["tasks", "ls", "--status", "failed"]);
    let id = failed["data"][0]["id"].as_str().unwrap();
    assert!(stderr.starts_with(&format!("vidgate: task {id} failed: content_filtered: ")), "{stderr}");
    assert_eq!(std::fs::read_dir(&s.work).unwrap().count(), 0, "nothing downloaded");
    // A command without its credential says which one.
    let out = s.command().env_remove("VIDGATE_ADMIN_TOKEN").args(["accounts", "show", "acct_x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "vidgate: the admin token is required for this command (a flag or the environment variable)\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_json_prints_only_the_api_task_object() {
    let s = setup().await;
    let printed = s.json(&["generate", "a lantern", "--model", "veo3.1-lite", "-o", "lantern.mp4"]);
    let id = printed["task_id"].as_str().unwrap();
    let api = s.gateway.get(&format!("/v1/videos/tasks/{id}"), &s.key).await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&printed), keys(&api));
    // Every field is the API's, but the links, which each read mints afresh.
    let fresh = ["result_url", "audio_url", "thumbnail_url", "output", "expires_at"];
    for (k, v) in api.as_object().unwrap().iter().filter(|(k, _)| !fresh.contains(&k.as_str())) {
        assert_eq!(&printed[k], v, "field {k}");
    }
    assert_eq!(printed["object"], "video.task");
    assert_eq!(printed["status"], "completed");
    assert_eq!(printed["credits_used"], json!(0.25));
    assert!(s.path("lantern.mp4").is_file() && s.path("lantern.png").is_file());
    assert!(!s.path("lantern.m4a").exists(), "no audio asked, no track");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_run_draws_the_progress_bar_and_ends_at_100_percent() {
    let s = setup().await;
    let bin = env!("CARGO_BIN_EXE_vidgate");
    let line = format!("{bin} generate 'a kite' --model veo3.1-lite -o kite.mp4");
    // `script` gives the CLI a pseudo-terminal for stdout (`-e`: its exit code).
    let out = Command::new("script")
        .current_dir(&s.work)
        .env("VIDGATE_URL", &s.gateway.base)
        .env("VIDGATE_API_KEY", &s.key)
        .env("VIDGATE_PROFILE", s.no_profile())
        .args(["-qfec", &line, "/dev/null"])
        .output()
        .expect("script (util-linux) is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let screen = String::from_utf8_lossy(&out.stdout);
    let frames: Vec<&str> = screen.split(['\r', '\n']).filter(|f| f.contains("] [")).collect();
    assert!(frames.iter().any(|f| f.contains("running")), "{screen}");
    let last = frames.last().expect("a progress bar was drawn");
    assert!(last.contains("[==============================] 100% completed"), "{last:?}");
    assert!(screen.contains("video   kite.mp4"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_ls_show_wait_cancel_and_download_work_on_tasks_submitted_over_the_api() {
    let s = setup().await;
    let body = json!({"model": "veo3.1-lite", "prompt": "quick"});
    let (status, t) = s.gateway.post("/v1/videos/generations", &s.key, &body).await;
    assert_eq!(status, 200, "{t}");
    let done_id = t["task_id"].as_str().unwrap().to_owned();
    let slow = json!({"model": "veo3.1-lite", "prompt": "slow", "metadata": {"sandbox.delay_ms": "60000"}});
    let (_, t) = s.gateway.post("/v1/videos/generations", &s.key, &slow).await;
    let slow_id = t["task_id"].as_str().unwrap().to_owned();

    let waited = s.ok(&["tasks", "wait", &done_id]);
    assert!(waited.contains(&format!("{done_id} completed 100%")), "{waited}");
    assert!(waited.contains("status     completed\n"), "{waited}");
    let completed = s.json(&["tasks", "ls", "--status", "completed"]);
    assert_eq!(completed["data"].as_array().unwrap().len(), 1);
    assert_eq!(completed["data"][0]["id"], done_id.as_str());
    assert_eq!(s.json(&["tasks", "show", &done_id])["task_id"], done_id.as_str());
    let files = s.ok(&["tasks", "download", &done_id, "-o", "quick.mp4"]);
    assert_eq!(files, "video   quick.mp4\nposter  quick.png\n");
    assert_eq!(codecs(&probe(&s.path("quick.mp4"))), vec![("video".into(), "h264".into())]);

    let cancelled = s.json(&["tasks", "cancel", &slow_id]);
    assert_eq!(cancelled["status"], "cancelled");
    let out = s.run(&["tasks", "wait", &slow_id]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with(&format!("vidgate: task {slow_id} cancelled: cancelled")), "{stderr}");
    let ls = s.ok(&["tasks", "ls"]);
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines.len(), 3, "{ls}");
    assert!(lines[0].starts_with("ID ") && lines[1].starts_with(&format!("{slow_id}  cancelled")), "{ls}");
    let out = s.run(&["tasks", "download", &slow_id]);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_commands_create_an_account_add_credits_create_a_live_key_and_list_it() {
    let s = setup().await;
    let account = s.json(&["accounts", "create", "--name", "acme"]);
    let id = account["id"].as_str().unwrap().to_owned();
    assert_eq!(account["balance_usd"], json!(0));

    let shown = s.ok(&["credits", "add", &id, "12.5", "--note", "first top-up"]);
    assert!(shown.contains(&format!("account      {id}\n")) && shown.contains("balance USD  12.5\n"), "{shown}");
    let after = s.json(&["credits", "add", &id, "-2.25"]);
    assert_eq!(after["balance_usd"], json!(10.25));
    let out = s.run(&["credits", "add", &id, "ten"]);
    assert_eq!(out.status.code(), Some(1));

    let key = s.json(&["keys", "create", "--account", &id, "--name", "prod", "--mode", "live", "--spend-1d", "5"]);
    let secret = key["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-vg-") && !secret.starts_with("sk-vg-test-"), "{key}");
    assert_eq!(key["spend_limits"], json!({"1d": 5}));
    let key_id = key["id"].as_str().unwrap().to_owned();

    // The new key works, on the new account's money.
    let balance = s.command().env("VIDGATE_API_KEY", &secret).args(["balance", "--json"]).output().unwrap();
    let balance: Value = serde_json::from_slice(&balance.stdout).unwrap();
    assert_eq!(balance["account_id"], id.as_str());
    assert_eq!(balance["balance_usd"], json!(10.25));

    let table = s.ok(&["keys", "ls", "--account", &id]);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[1].starts_with(&format!("{key_id}  prod  {id}  live  sk-vg-")) && rows[1].ends_with("  active"));
    assert!(!table.contains(&secret), "a listing never shows the secret");
    let listed = s.json(&["keys", "ls", "--account", &id]);
    assert_eq!(listed["data"][0]["id"], key_id.as_str());
    assert!(listed["data"][0].get("key").is_none());

    assert_eq!(s.json(&["accounts", "show", &id])["balance_usd"], json!(10.25));
    let deleted = s.json(&["keys", "delete", &key_id]);
    assert!(deleted["revoked_at"].is_string(), "{deleted}");
    let out = s.command().env("VIDGATE_API_KEY", &secret).args(["balance"]).output().unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("vidgate: invalid_api_key: "));
    let tasks = s.json(&["admin", "tasks", "ls", "--account", &id]);
    assert_eq!(tasks["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_ls_finds_an_account_by_name_and_update_suspends_it() {
    let s = setup().await;
    let id = s.json(&["accounts", "create", "--name", "zebra-co"])["id"].as_str().unwrap().to_owned();
    s.json(&["accounts", "create", "--name", "other"]);
    let found = s.json(&["accounts", "ls", "--name", "zebra-co"]);
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["data"][0]["id"], id.as_str());
    let updated = s.json(&["accounts", "update", &id, "--name", "zebra-2", "--status", "suspended"]);
    assert_eq!((updated["name"].as_str(), updated["status"].as_str()), (Some("zebra-2"), Some("suspended")));
    let table = s.ok(&["accounts", "ls", "--name", "zebra-2"]);
    assert!(table.lines().nth(1).unwrap().starts_with(&format!("{id}  zebra-2  suspended  ")), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_update_and_disable_change_a_key_a_disabled_key_is_refused_and_the_audit_lists_it() {
    let s = setup().await;
    let id = s.json(&["accounts", "create", "--name", "k"])["id"].as_str().unwrap().to_owned();
    let key = s.json(&["keys", "create", "--account", &id, "--name", "a", "--mode", "test"]);
    let (key_id, secret) = (key["id"].as_str().unwrap().to_owned(), key["key"].as_str().unwrap().to_owned());
    let updated = s.json(&["keys", "update", &key_id, "--name", "b", "--concurrency-limit", "2"]);
    assert_eq!((updated["name"].as_str(), updated["concurrency_limit"].as_u64()), (Some("b"), Some(2)));
    let disabled = s.json(&["keys", "disable", &key_id]);
    assert_eq!(disabled["disabled"], true);
    let out = s.command().env("VIDGATE_API_KEY", &secret).args(["balance"]).output().unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("vidgate: invalid_api_key: "));
    let enabled = s.json(&["keys", "update", &key_id, "--disabled", "false"]);
    assert_eq!(enabled["disabled"], false);
    assert!(s.command().env("VIDGATE_API_KEY", &secret).args(["balance"]).output().unwrap().status.success());
    let cleared = s.json(&["keys", "update", &key_id, "--clear", "concurrency_limit"]);
    assert_eq!(cleared["concurrency_limit"], Value::Null);
    let audit = s.json(&["admin", "audit", "ls", "--target", &key_id]);
    let actions: Vec<&str> = audit["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["key.update", "key.update", "key.update", "key.update", "key.create"], "{audit}");
    assert!(!audit.to_string().contains(&secret), "the audit never shows the secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_saves_a_private_profile_that_later_commands_use_and_flags_override() {
    let s = setup().await;
    let home = s.work.join("config");
    let bare = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vidgate"));
        c.current_dir(&s.work)
            .env_remove("VIDGATE_URL")
            .env_remove("VIDGATE_API_KEY")
            .env_remove("VIDGATE_ADMIN_TOKEN")
            .env_remove("VIDGATE_PROFILE")
            .env("XDG_CONFIG_HOME", &home);
        c
    };
    let profile = home.join("vidgate/profile.toml");
    // A key the gateway refuses is not saved.
    let out = bare().args(["login", "--url", &s.gateway.base, "--api-key", "sk-vg-test-nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("vidgate: checking the API key: invalid_api_key: "));
    assert!(!profile.exists());

    let out = bare()
        .args(["login", "--url", &s.gateway.base, "--api-key", &s.key, "--admin-token", &s.admin])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("saved to {}\n", profile.display()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(profile.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);

    // Later commands need no flags and no environment.
    let out = bare().args(["balance", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let balance: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(balance["account_id"], s.gateway.credentials()["account_id"]);
    assert!(bare().args(["admin", "tasks", "ls"]).output().unwrap().status.success());
    // A flag wins over the profile.
    let out = bare().args(["balance", "--api-key", "sk-vg-test-nope"]).output().unwrap();
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("vidgate: invalid_api_key: "));
    // A profile others can read is refused, not used.
    std::fs::set_permissions(&profile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = bare().args(["balance"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "vidgate: {} can be read by others (mode 644); run `chmod 600` on it, or `vidgate logout`\n",
            profile.display()
        )
    );
    let out = bare().arg("logout").output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("removed {}\n", profile.display()));
    assert!(!profile.exists());
}

#[test]
fn completions_print_a_script_for_the_shell_asked() {
    let out = Command::new(env!("CARGO_BIN_EXE_vidgate")).args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_vidgate()") && script.contains("generate"), "{}", &script[..200.min(script.len())]);
    let out = Command::new(env!("CARGO_BIN_EXE_vidgate")).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

/// Waits until the gateway has a running task; its id.
async fn running_task(s: &Setup) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let list = s.gateway.get("/admin/v1/tasks?status=running&limit=1", &s.admin).await;
        if let Some(id) = list["data"][0]["task_id"].as_str() {
            return id.to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no task started running");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Collects a child's output as it comes.
fn collect(mut from: impl std::io::Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_without_a_terminal_leaves_the_task_running_and_says_how_to_follow_it() {
    let s = setup().await;
    let child = s
        .command()
        .args(["generate", "slow", "--model", "veo3.1-lite", "--metadata", "sandbox.delay_ms=60000"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = running_task(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("vidgate: interrupted: task {id} is still running; follow it with `vidgate tasks wait {id}`\n")
    );
    assert_eq!(s.gateway.get(&format!("/v1/videos/tasks/{id}"), &s.key).await["status"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_terminal_asks_and_yes_cancels_the_task() {
    use std::io::Write;
    let s = setup().await;
    let bin = env!("CARGO_BIN_EXE_vidgate");
    // `exec`: script(1) runs the line with $SHELL or /bin/sh; a shell left waiting in the
    // foreground would take the SIGINT too and end with 130 whatever vidgate does.
    let line = format!("exec {bin} generate slow --model veo3.1-lite --metadata sandbox.delay_ms=60000");
    let mut child = Command::new("script")
        .current_dir(&s.work)
        .env("VIDGATE_URL", &s.gateway.base)
        .env("VIDGATE_API_KEY", &s.key)
        .env("VIDGATE_PROFILE", s.no_profile())
        .args(["-qfec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) is installed");
    let screen = collect(child.stdout.take().unwrap());
    let mut keyboard = child.stdin.take().unwrap();
    let id = running_task(&s).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Ctrl-C as typed: the terminal turns it into SIGINT.
    keyboard.write_all(b"\x03").unwrap();
    let question = format!("Cancel task {id}? [y/N] (no leaves it running)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !String::from_utf8_lossy(&screen.lock().unwrap()).contains(&question) {
        assert!(std::time::Instant::now() < deadline, "{}", String::from_utf8_lossy(&screen.lock().unwrap()));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    keyboard.write_all(b"y\n").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let text = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    assert!(text.contains(&format!("vidgate: interrupted: task {id} is now cancelled")), "{text}");
    assert_eq!(s.gateway.get(&format!("/v1/videos/tasks/{id}"), &s.key).await["status"], "cancelled");
}
