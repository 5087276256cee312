//! Several replicas on one database and one bucket (issue #8): three `vidgate serve`
//! processes share one PostgreSQL (a throwaway cluster, `vidgate_store::testkit::postgres`)
//! and one S3 server (s3s-fs). 300 tasks are submitted round-robin; one replica is killed
//! with SIGKILL while it holds tasks, the rest are submitted to the survivors. Then:
//!
//! - every task ended exactly once: on the sandbox, completed; through a fake OpenAI-Videos
//!   upstream (not idempotent), completed, or failed unbilled as a possible orphan, and only
//!   if its submit was in flight on the killed replica;
//! - no upstream job was submitted twice (the fake's journal, by the task's unique prompt);
//! - every webhook was delivered, all deliveries of a task agreeing;
//! - the media is served by every surviving replica, byte for byte the same;
//! - the ledger identities hold (docs/billing.md): one hold per task, one capture per
//!   completed task equal to its `credits_used`, none for a failure, nothing left held, and
//!   the account's balance = credits − captures.
//!
//! Waits are wait-for-condition loops with deadlines, never sleeps that decide an outcome.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Gateway, S3sFs};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;
use vidgate_fakes::{Endpoint, FakeOpenAi, Fault, OpenAiConfig};

const TASKS: usize = 300;
/// The scenarios run one after the other: each already runs five processes (three
/// replicas, PostgreSQL, s3s-fs), and CI machines may have two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const VICTIM: usize = 1;
const FUNDS_USD: i64 = 1000;

/// What every replica shares, whatever the scenario: the store, the bucket, fast leases and
/// polls, and webhooks to loopback retried quickly.
fn shared_config(s3: &S3sFs) -> String {
    format!(
        r#"
[engine]
idle_poll_ms = 100
lease_secs = 2
workers = 8
[server]
shutdown_grace_secs = 2
[storage]
kind = "s3"
s3_bucket = "{bucket}"
s3_prefix = "replicas"
s3_endpoint = "{endpoint}"
s3_access_key_id = "replicas-key"
s3_secret_access_key = "replicas-secret"
s3_allow_http = true
[webhooks]
allow_private_targets = true
retry_schedule = ["1s", "2s", "4s", "8s", "16s"]
timeout_secs = 5
"#,
        bucket = s3.bucket,
        endpoint = s3.endpoint
    )
}

/// The sandbox with the tiny test model, serving live keys (so money moves).
const SANDBOX: &str = r#"
[sandbox]
queue_delay_ms = 200
run_delay_ms = 1000
deadline_grace_ms = 60000
serve_live_keys = true
[[models]]
id = "tiny"
native_audio = true
durations = [1, 2]
default_duration = 1
sizes = ["160x90"]
default_size = "160x90"
max_prompt_chars = 200
usd_per_second = "0.25"
"#;

/// One model served only by the fake OpenAI-Videos upstream (its smallest job: 4 s at 720p).
fn upstream(fake: &FakeOpenAi) -> String {
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
name = "fake-openai"
kind = "openai"
model = "tiny-video"
serves = ["clip"]
base_url = "{base}"
credentials = "{key}"
durations = [4]
sizes = ["1280x720"]
expected_latency_secs = 1
deadline_secs = 120
timeout_secs = 10
requests_per_second = 0
max_in_flight = 60
usd_per_second = {{ default = "0.10" }}
"#,
        base = fake.api_base(),
        key = fake.api_key()
    )
}

/// Webhooks received: (webhook-id, task id, status) per POST.
#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<Vec<(String, String, String)>>>);

impl Hooks {
    /// Starts a receiver on loopback that answers 200 to every POST; its URL.
    async fn start(&self) -> String {
        let hooks = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let hooks = hooks.clone();
                async move {
                    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    let task: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let (task_id, status) = (task["task_id"].as_str(), task["status"].as_str());
                    let entry = (id, task_id.unwrap_or_default().to_owned(), status.unwrap_or_default().to_owned());
                    hooks.0.lock().unwrap().push(entry);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    /// Deliveries per task id.
    fn by_task(&self) -> BTreeMap<String, Vec<(String, String)>> {
        let mut map: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (id, task, status) in self.0.lock().unwrap().iter() {
            map.entry(task.clone()).or_default().push((id.clone(), status.clone()));
        }
        map
    }
}

/// Three replicas on one database and one bucket, with a funded live key.
struct Cluster {
    replicas: Vec<Gateway>,
    alive: Vec<bool>,
    db: PgPool,
    admin: String,
    account: String,
    key: String,
    dirs: Vec<std::path::PathBuf>,
    _s3: S3sFs,
}

impl Cluster {
    async fn start(scenario: &str) -> Cluster {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = vidgate_store::testkit::postgres::fresh_database().await;
        let s3 = S3sFs::start("vidgate-replicas", "replicas-key", "replicas-secret");
        let config = format!("{}{scenario}", shared_config(&s3));
        let dirs: Vec<_> = (0..3).map(|_| common::fresh_dir()).collect();
        for dir in &dirs {
            std::fs::write(dir.join("vidgate.toml"), &config).unwrap();
        }
        // The first replica bootstraps the database; the others find it bootstrapped.
        let first = Gateway::start_replica(&dirs[0], &url).await;
        let admin = first.credentials()["admin_token"].as_str().unwrap().to_owned();
        let mut replicas = vec![first];
        for dir in &dirs[1..] {
            replicas.push(Gateway::start_replica(dir, &url).await);
        }
        assert!(!dirs[1].join("credentials.json").exists(), "only the first replica bootstraps");
        let (account, key) = replicas[2].funded_live_key(&admin, FUNDS_USD as f64).await;
        let db = PgPool::connect(&url).await.unwrap();
        Cluster { replicas, alive: vec![true; 3], db, admin, account, key, dirs, _s3: s3 }
    }

    fn survivors(&self) -> Vec<&Gateway> {
        self.replicas.iter().zip(&self.alive).filter(|(_, a)| **a).map(|(g, _)| g).collect()
    }

    /// Submits `n` tasks round-robin over the live replicas; their ids.
    async fn submit(&self, from: usize, n: usize, body: impl Fn(usize) -> Value) -> Vec<String> {
        let survivors = self.survivors();
        let mut ids = Vec::new();
        for i in from..from + n {
            let (s, t) = survivors[i % survivors.len()].post("/v1/videos/generations", &self.key, &body(i)).await;
            assert_eq!(s, 200, "submit {i}: {t}");
            ids.push(t["task_id"].as_str().unwrap().to_owned());
        }
        ids
    }

    /// The lease owner prefix of a replica's engine (`<pid>-<ulid>`).
    fn owner_prefix(&self, replica: usize) -> String {
        format!("{}-%", self.replicas[replica].child.id())
    }

    /// Waits until `sql` (one BIGINT; `$1`, when used, is the victim's lease owner prefix) is
    /// at least `min`.
    async fn wait_for(&self, what: &str, sql: &'static str, min: i64, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let query = sqlx::query_scalar(sql);
            let query = if sql.contains("$1") { query.bind(self.owner_prefix(VICTIM)) } else { query };
            let n: i64 = query.fetch_one(&self.db).await.unwrap();
            if n >= min {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: {n} < {min} after {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILLs the victim; the tasks it held with a submit in flight at that moment.
    async fn kill_victim(&mut self) -> BTreeSet<String> {
        let prefix = self.owner_prefix(VICTIM);
        self.replicas[VICTIM].kill();
        self.alive[VICTIM] = false;
        // Its leases stay in the rows until another replica takes the tasks over.
        sqlx::query_scalar("SELECT id FROM tasks WHERE lease_owner LIKE $1 AND submitting AND phase = 'submit'")
            .bind(prefix)
            .fetch_all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .collect()
    }

    /// Long-polls every task (`?wait=`) on the survivors in turn, never on the replica that
    /// ran it, until each is terminal; the final task objects by id.
    async fn wait_all_terminal(&self, ids: &[String], limit: Duration) -> BTreeMap<String, Value> {
        let deadline = Instant::now() + limit;
        let survivors = self.survivors();
        let mut done = BTreeMap::new();
        for (n, id) in ids.iter().enumerate() {
            let mut turn = n;
            loop {
                let g = survivors[turn % survivors.len()];
                let t = g.get(&format!("/v1/videos/tasks/{id}?wait=10"), &self.key).await;
                if ["completed", "failed", "cancelled"].contains(&t["status"].as_str().unwrap()) {
                    done.insert(id.clone(), t);
                    break;
                }
                assert!(Instant::now() < deadline, "task {id} not terminal after {limit:?}: {t}");
                turn += 1;
            }
        }
        done
    }

    /// Waits until no webhook message is pending, then checks that every task's webhook was
    /// delivered: at least one POST each, all with the message's one `webhook-id` and the
    /// task's final status.
    async fn check_webhooks(&self, hooks: &Hooks, done: &BTreeMap<String, Value>) {
        // A message the killed replica held waits for its lease (webhooks.timeout_secs + 30 s).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox WHERE state <> 'delivered'")
                .fetch_one(&self.db)
                .await
                .unwrap();
            if pending == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{pending} webhook messages still not delivered");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let messages: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox").fetch_one(&self.db).await.unwrap();
        assert_eq!(messages, done.len() as i64, "one webhook message per task");
        let received = hooks.by_task();
        for (id, task) in done {
            let got = received.get(id).unwrap_or_else(|| panic!("no webhook received for {id}"));
            let ids: BTreeSet<_> = got.iter().map(|(w, _)| w.clone()).collect();
            assert_eq!(ids.len(), 1, "one stable webhook-id for {id}: {got:?}");
            assert!(got.iter().all(|(_, s)| *s == task["status"]), "every delivery of {id} agrees: {got:?} vs {task}");
        }
        assert_eq!(received.len(), done.len(), "no webhook for an unknown task");
    }

    /// The ledger identities of docs/billing.md, per task and for the account; returns the
    /// total captured, micro-dollars.
    #[allow(clippy::type_complexity)] // one row of a query, read once
    async fn check_ledger(&self, done: &BTreeMap<String, Value>) -> i64 {
        let rows: Vec<(String, String, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT t.id, t.status, t.estimated_micros, t.used_micros, \
               COUNT(*) FILTER (WHERE l.kind = 'hold'), COALESCE(SUM(l.amount_micros) FILTER (WHERE l.kind = 'hold'), 0)::BIGINT, \
               COUNT(*) FILTER (WHERE l.kind = 'capture'), COALESCE(SUM(l.amount_micros) FILTER (WHERE l.kind = 'capture'), 0)::BIGINT, \
               COALESCE(SUM(l.amount_micros) FILTER (WHERE l.kind = 'release'), 0)::BIGINT \
             FROM tasks t LEFT JOIN ledger l ON l.task_id = t.id WHERE t.account_id = $1 GROUP BY t.id",
        )
        .bind(&self.account)
        .fetch_all(&self.db)
        .await
        .unwrap();
        assert_eq!(rows.len(), done.len(), "every task of the account is one of ours");
        let mut captured = 0;
        for (id, status, est, used, holds, held, captures, capture, released) in rows {
            let task = &done[&id];
            assert_eq!(task["status"], status.as_str(), "{id}");
            assert_eq!((holds, held), (1, est), "{id}: one hold of the estimate");
            assert_eq!(micros(&task["credits_used"]), used, "{id}: credits_used is the capture");
            if status == "completed" {
                assert_eq!((captures, capture), (1, used), "{id}: captured once");
                assert!(used > 0, "{id}");
            } else {
                assert_eq!((captures, used), (0, 0), "{id}: nothing captured for a {status} task");
            }
            assert_eq!(released, est - capture, "{id}: the rest of the hold released");
            captured += capture;
        }
        let acct = self.survivors()[0].get(&format!("/admin/v1/accounts/{}", self.account), &self.admin).await;
        assert_eq!(micros(&acct["held_usd"]), 0, "nothing left held: {acct}");
        assert_eq!(micros(&acct["spent_usd"]), captured, "spent = the captures: {acct}");
        assert_eq!(micros(&acct["balance_usd"]), FUNDS_USD * 1_000_000 - captured, "balance = credits − captures");
        captured
    }

    /// Every completed task's files are served by every survivor, byte for byte the same.
    async fn check_media(&self, done: &BTreeMap<String, Value>, every: usize) {
        let survivors = self.survivors();
        for t in done.values().filter(|t| t["status"] == "completed").step_by(every) {
            let url = t["result_url"].as_str().unwrap();
            let path = &url[url.find("/files/").expect("a gateway file URL")..];
            let mut bodies = Vec::new();
            for g in &survivors {
                let r = g.client.get(format!("{}{path}", g.base)).send().await.unwrap();
                assert_eq!(r.status(), 200, "{path} on {}", g.base);
                bodies.push(r.bytes().await.unwrap());
            }
            assert_eq!(&bodies[0][4..8], b"ftyp", "{path} is an MP4");
            assert!(bodies.iter().all(|b| *b == bodies[0]), "{path}: every replica serves the same bytes");
        }
    }

    fn remove_dirs(&self) {
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A JSON number of USD as micro-dollars.
fn micros(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("a number: {v}")) * 1e6).round() as i64
}

/// Follows a task's SSE stream on `g` until its terminal event; the statuses seen.
async fn stream_statuses(g: &Gateway, key: &str, id: &str) -> Vec<String> {
    let mut r = g.client.get(format!("{}/v1/tasks/stream/{id}", g.base)).bearer_auth(key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (mut text, mut statuses) = (String::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    while let Some(chunk) = tokio::time::timeout_at(deadline, r.chunk()).await.expect("the stream ends").unwrap() {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                let t: Value = serde_json::from_str(data.trim()).unwrap();
                statuses.push(t["status"].as_str().unwrap().to_owned());
            }
        }
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_sandbox_every_task_completes_exactly_once_when_a_replica_is_killed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let mut c = Cluster::start(SANDBOX).await;
    let hooks = Hooks::default();
    let hook_url = hooks.start().await;
    let body = |i: usize| {
        json!({"model": "tiny", "prompt": format!("replica clip {i}"), "duration_seconds": 1 + i % 2,
               "audio": i.is_multiple_of(3), "callback_url": hook_url})
    };
    let mut ids = c.submit(0, TASKS / 2, body).await;
    // Mid-run: some tasks finished, and the victim holds several (submits, polls, fetches).
    c.wait_for("completed", "SELECT COUNT(*) FROM tasks WHERE status = 'completed'", 1, secs(120)).await;
    c.wait_for(
        "victim's leases",
        "SELECT COUNT(*) FROM tasks WHERE lease_owner LIKE $1 AND phase <> 'done'",
        3,
        secs(120),
    )
    .await;
    c.kill_victim().await;
    eprintln!("killed replica {VICTIM} at {:?}", started.elapsed());
    ids.extend(c.submit(TASKS / 2, TASKS / 2, body).await);
    // SSE on another replica than the one that took the submit.
    let (s, t) = c.survivors()[0].post("/v1/videos/generations", &c.key, &body(TASKS)).await;
    assert_eq!(s, 200, "{t}");
    let streamed = t["task_id"].as_str().unwrap().to_owned();
    let statuses = stream_statuses(c.survivors()[1], &c.key, &streamed).await;
    assert_eq!(statuses.last().map(String::as_str), Some("completed"), "{statuses:?}");
    ids.push(streamed);

    let done = c.wait_all_terminal(&ids, secs(240)).await;
    eprintln!("all {} terminal at {:?}", done.len(), started.elapsed());
    for (id, t) in &done {
        assert_eq!(t["status"], "completed", "{id}: {t}");
        assert_eq!(micros(&t["credits_used"]), 250_000 * t["duration_seconds"].as_i64().unwrap(), "{id}");
    }
    let captured = c.check_ledger(&done).await;
    let expected: i64 = done.values().map(|t| 250_000 * t["duration_seconds"].as_i64().unwrap()).sum();
    assert_eq!(captured, expected);
    c.check_webhooks(&hooks, &done).await;
    c.check_media(&done, 1).await;
    c.remove_dirs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_upstream_no_job_is_submitted_twice_when_a_replica_is_killed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let fake = FakeOpenAi::start_with(OpenAiConfig { models: vec!["tiny-video".into()], ..Default::default() }).await;
    // Every submit is processed at once but answered 300 ms later, so a killed replica
    // leaves submits whose job exists upstream while the gateway does not know it.
    fake.faults().push_n(Endpoint::Submit, 10 * TASKS, Fault::Slow(Duration::from_millis(300)));
    let mut c = Cluster::start(&upstream(&fake)).await;
    let hooks = Hooks::default();
    let hook_url = hooks.start().await;
    let body = |i: usize| json!({"model": "clip", "prompt": format!("replica job {i}"), "callback_url": hook_url});
    let mut ids = c.submit(0, TASKS / 2, body).await;
    // Mid-run: jobs have completed, and, as the upstream takes at most 60 jobs at once, the
    // submits of the rest are still going out one by one when the victim sends one.
    c.wait_for("completed", "SELECT COUNT(*) FROM tasks WHERE status = 'completed'", 1, secs(120)).await;
    c.wait_for(
        "victim's submits in flight",
        "SELECT COUNT(*) FROM tasks WHERE lease_owner LIKE $1 AND submitting AND phase = 'submit'",
        1,
        secs(120),
    )
    .await;
    let in_flight = c.kill_victim().await;
    eprintln!("killed replica {VICTIM} at {:?} with {} submits in flight", started.elapsed(), in_flight.len());
    assert!(!in_flight.is_empty(), "the kill landed on submits in flight");
    ids.extend(c.submit(TASKS / 2, TASKS / 2, body).await);

    let done = c.wait_all_terminal(&ids, secs(240)).await;
    eprintln!("all {} terminal at {:?}", done.len(), started.elapsed());
    let orphans: Vec<(String, bool)> =
        sqlx::query_as("SELECT id, possible_orphan FROM tasks WHERE status = 'failed' ORDER BY id")
            .fetch_all(&c.db)
            .await
            .unwrap();
    let journal = fake.journal().counters();
    let prompt_of = |id: &str| done[id]["prompt"].as_str().unwrap().to_owned();
    for (id, t) in &done {
        let submits = journal.submits_by_prompt.get(&prompt_of(id)).copied().unwrap_or(0);
        match t["status"].as_str().unwrap() {
            "completed" => assert_eq!(submits, 1, "{id}: one upstream job"),
            "failed" => {
                assert_eq!(t["error"]["code"], "upstream_outcome_unknown", "{id}: {t}");
                assert!(in_flight.contains(id), "{id} failed but its submit was not in flight at the kill");
                assert!(submits <= 1, "{id}: an orphan's job was sent at most once, not {submits}");
            }
            other => panic!("{id} ended {other}: {t}"),
        }
    }
    assert!(orphans.iter().all(|(_, flagged)| *flagged), "every failure is flagged a possible orphan: {orphans:?}");
    eprintln!("{} possible orphans of {} submits in flight at the kill", orphans.len(), in_flight.len());
    assert!(journal.submits_by_prompt.values().all(|n| *n == 1), "no job submitted twice: {journal:?}");
    assert_eq!(journal.jobs_created, journal.submits_by_prompt.len() as u64);
    let violations = fake.journal().violations();
    assert!(violations.is_empty(), "the adapter kept to the protocol: {violations:?}");
    c.check_ledger(&done).await;
    c.check_webhooks(&hooks, &done).await;
    c.check_media(&done, 10).await;
    c.remove_dirs();
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
