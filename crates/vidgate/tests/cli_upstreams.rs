//! `vidgate upstreams list|show|set`, run as the real binary against a real gateway (the
//! binary too) with a fake OpenAI-Videos upstream `a` and a credential pool `p` of two
//! members (`p:one`, `p:two`): rows, disabling and enabling, weights and priorities set and
//! given back to the config, a member's `:` in the path, and the errors.

mod common;

use std::process::Output;

use common::Gateway;
use serde_json::{Value, json};
use vidgate_fakes::{FakeOpenAi, OpenAiConfig};

fn config(fake: &FakeOpenAi) -> String {
    let (base, key) = (fake.api_base(), fake.api_key());
    let shared = format!(
        r#"kind = "openai"
model = "tiny-video"
serves = ["clip"]
base_url = "{base}"
durations = [4]
sizes = ["1280x720"]
requests_per_second = 0
usd_per_second = {{ default = "0.10" }}"#
    );
    format!(
        r#"
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
name = "a"
credentials = "{key}"
weight = 2
{shared}

[[upstreams]]
name = "p"
weight = 3
daily_budget_usd = "50"
{shared}

[[upstreams.pool]]
label = "one"
credentials = "{key}"

[[upstreams.pool]]
label = "two"
credentials = "{key}"
"#
    )
}

struct Cli {
    gateway: Gateway,
    admin: String,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        let profile = self.gateway.data_dir.join("no-profile.toml");
        std::process::Command::new(env!("CARGO_BIN_EXE_vidgate"))
            .args(args)
            .env("VIDGATE_URL", &self.gateway.base)
            .env("VIDGATE_ADMIN_TOKEN", &self.admin)
            .env("VIDGATE_PROFILE", profile)
            .env("VIDGATE_RETRIES", "1")
            .output()
            .unwrap()
    }

    /// A command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A `--json` command that must succeed; its stdout parsed.
    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(&[args, &["--json"]].concat());
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
    }

    /// A command that must fail with `code`; its stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stderr).unwrap()
    }
}

/// The table line of `name` in `vidgate upstreams list`, split into cells.
fn table_row(table: &str, name: &str) -> Vec<String> {
    let line = table.lines().find(|l| l.split_whitespace().next() == Some(name));
    line.unwrap_or_else(|| panic!("no row {name} in\n{table}")).split_whitespace().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_are_listed_disabled_enabled_reweighed_and_reset_from_the_command_line() {
    let fake = FakeOpenAi::start_with(OpenAiConfig { models: vec!["tiny-video".into()], ..Default::default() }).await;
    let dir = common::fresh_dir();
    std::fs::write(dir.join("vidgate.toml"), config(&fake)).unwrap();
    let gateway = Gateway::start(&dir).await;
    let admin = gateway.credentials()["admin_token"].as_str().unwrap().to_owned();
    let cli = Cli { gateway, admin };

    let rows = cli.json(&["upstreams", "list"]);
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "p:one", "p:two"], "{rows}");
    assert_eq!((rows[1]["pool"].clone(), rows[1]["state"].clone()), (json!("p"), json!("ready")));
    assert_eq!((rows[0]["weight"].clone(), rows[1]["weight"].clone()), (json!(2), json!(3)));
    let table = cli.ok(&["upstreams", "list"]);
    assert!(table.starts_with("UPSTREAM  POOL"), "{table}");
    // name, pool, state, health, disabled, priority, weight, in flight, today/budget, month
    assert_eq!(
        table_row(&table, "p:one")[..10],
        ["p:one", "p", "ready", "closed", "no", "-", "3", "0/10", "0/50", "0"]
    );
    assert_eq!(table_row(&table, "a")[1..3], ["-", "ready"]);

    let off = cli.json(&["upstreams", "set", "p:one", "--disable"]);
    assert_eq!(
        (off["name"].clone(), off["disabled"].clone(), off["state"].clone()),
        (json!("p:one"), json!(true), json!("out"))
    );
    let table = cli.ok(&["upstreams", "list"]);
    assert_eq!(table_row(&table, "p:one")[2..5], ["out", "closed", "yes"]);
    assert_eq!(table_row(&table, "p:two")[2..5], ["ready", "closed", "no"], "only the member named is out");

    let shown = cli.ok(&["upstreams", "set", "p:one", "--enable", "--weight", "5"]);
    assert!(shown.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["weight", "5"]), "{shown}");
    let one = cli.json(&["upstreams", "show", "p:one"]);
    assert_eq!(
        (one["disabled"].clone(), one["state"].clone(), one["weight"].clone()),
        (json!(false), json!("ready"), json!(5))
    );
    assert_eq!(cli.json(&["upstreams", "show", "p:two"])["weight"], 3, "the other member keeps its weight");

    let back = cli.json(&["upstreams", "set", "p:one", "--default-weight", "--priority", "7"]);
    assert_eq!((back["weight"].clone(), back["priority"].clone()), (json!(3), json!(7)));
    let reset = cli.json(&["upstreams", "set", "p:one", "--default-priority", "--reset"]);
    assert_eq!(
        (reset["priority"].clone(), reset["health"].clone(), reset["state"].clone()),
        (json!(null), json!("closed"), json!("ready"))
    );
    let audit = cli.json(&["admin", "audit", "ls", "--target", "p:one"]);
    assert_eq!(audit["data"].as_array().unwrap().len(), 4, "each set is one audited change: {audit}");

    let stderr = cli.fails(&["upstreams", "show", "nope"], 1);
    assert!(stderr.starts_with("vidgate: not_found: "), "{stderr}");
    let members = cli.json(&["upstreams", "set", "p", "--disable"]);
    let out: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap(), m["state"].as_str().unwrap()))
        .collect();
    assert_eq!(out, [("p:one", "out"), ("p:two", "out")], "the entry's name changes every member");
    cli.json(&["upstreams", "set", "p", "--enable"]);
    let stderr = cli.fails(&["upstreams", "set", "p:one"], 2);
    assert!(stderr.contains("--disable|--enable"), "{stderr}");
    let stderr = cli.fails(&["upstreams", "set", "a", "--weight", "1000001"], 2);
    assert!(stderr.contains("--weight"), "{stderr}");
    assert_eq!(cli.json(&["upstreams", "show", "a"])["weight"], 2, "a refused command changed nothing");
    let _ = std::fs::remove_dir_all(&dir);
}
