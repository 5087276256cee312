//! The conformance suite on PostgreSQL, each test on a fresh database (see
//! `vidgate_store::testkit::postgres`: the server `VIDGATE_TEST_POSTGRES_URL` names, or a
//! throwaway cluster this test process starts), and what only a shared server has to get
//! right: several processes migrating and bootstrapping one database at once, and hearing
//! the changes the others commit.

use std::sync::Arc;
use std::time::Duration;

use vidgate_domain::catalog::Size;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};
use vidgate_store::testkit::postgres::fresh_database;
use vidgate_store::{Bootstrap, BootstrapPlan, Change, KeyLimits, NewKey, NewTask, Store, TaskParams};

async fn fresh() -> Arc<dyn Store> {
    vidgate_store::open(&fresh_database().await).await.unwrap()
}

vidgate_store::conformance_tests!(fresh());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_migrate_and_bootstrap_once() {
    let url = fresh_database().await;
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { vidgate_store::open(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.unwrap().expect("every process opens the database"));
    }
    let boots: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.clone();
            tokio::spawn(async move { s.bootstrap(plan(&format!("signing-{i}"))).await.unwrap() })
        })
        .collect();
    let mut created = Vec::new();
    for (i, b) in boots.into_iter().enumerate() {
        if matches!(b.await.unwrap(), Bootstrap::Created) {
            created.push(i);
        }
    }
    assert_eq!(created.len(), 1, "exactly one process bootstraps: {created:?}");
    let key = stores[0].setting("signing_key").await.unwrap();
    assert_eq!(key, Some(format!("signing-{}", created[0])));
    let versions: i64 = count(&url, "SELECT COUNT(*) FROM schema_migrations").await;
    let distinct: i64 = count(&url, "SELECT COUNT(DISTINCT version) FROM schema_migrations").await;
    assert_eq!((versions, distinct), (distinct, vidgate_store::postgres::MIGRATION_COUNT as i64), "each once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_url_picks_the_backend_and_refuses_unknown_schemes() {
    let err = vidgate_store::open("mysql://localhost/x").await.err().expect("refused");
    assert_eq!(err.to_string(), "database: unsupported database URL scheme \"mysql\"");
    let url = fresh_database().await.replacen("postgres://", "postgresql://", 1);
    let store = vidgate_store::open(&url).await.unwrap();
    assert_eq!(store.setting("bootstrapped").await.unwrap(), None);
    assert_eq!(count(&url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'tasks'").await, 1);
    let dir = std::env::temp_dir().join(format!("vidgate-open-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["bare.db", "url.db"] {
        let path = dir.join(file).display().to_string();
        let url = if file == "bare.db" { path.clone() } else { format!("sqlite://{path}") };
        vidgate_store::open(&url).await.unwrap();
        assert!(std::path::Path::new(&path).exists(), "{url} is a SQLite file");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_by_one_process_is_announced_to_the_others() {
    let url = fresh_database().await;
    let (writer, listener) = (vidgate_store::open(&url).await.unwrap(), vidgate_store::open(&url).await.unwrap());
    let mut feed = listener.listen().await.unwrap().expect("PostgreSQL announces changes");
    let acct = AccountId::generate();
    writer.create_account(&acct, "a", "whsec_a", 1).await.unwrap();
    let key = NewKey {
        id: KeyId::generate(),
        account_id: acct.clone(),
        name: "k".into(),
        mode: Mode::Test,
        hash: "h".into(),
        masked: "m".into(),
        limits: KeyLimits::default(),
    };
    let key_id = key.id.clone();
    writer.create_key(key, 1).await.unwrap();
    let task = new_task(&acct, &key_id);
    let id = task.id.clone();
    writer.submit(task, Default::default()).await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("announced").unwrap();
    assert_eq!(heard, Change::Due(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listening_connection_ends_the_feed_with_an_error() {
    let url = fresh_database().await;
    let store = vidgate_store::open(&url).await.unwrap();
    let mut feed = store.listen().await.unwrap().expect("PostgreSQL announces changes");
    let killed: i64 = count(
        &url,
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await;
    assert_eq!(killed, 1, "one listening connection");
    let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("the loss is noticed");
    assert!(next.is_err(), "{next:?}");
    let mut again = store.listen().await.unwrap().expect("a new subscription");
    let acct = AccountId::generate();
    store.create_account(&acct, "a", "whsec_a", 1).await.unwrap();
    let mut key = plan("s").test_key;
    key.account_id = acct.clone();
    let key_id = key.id.clone();
    store.create_key(key, 1).await.unwrap();
    let task = new_task(&acct, &key_id);
    let id = task.id.clone();
    store.submit(task, Default::default()).await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(10), again.next()).await.expect("announced").unwrap();
    assert_eq!(heard, Change::Due(id));
}

fn new_task(acct: &AccountId, key: &KeyId) -> NewTask {
    NewTask {
        id: TaskId::generate(),
        account_id: acct.clone(),
        key_id: key.clone(),
        mode: Mode::Test,
        model: "tiny".into(),
        params: TaskParams {
            prompt: "p".into(),
            duration_seconds: 1,
            size: Size::new(160, 90),
            audio: false,
            seed: None,
            negative_prompt: None,
            callback_url: None,
            metadata: Default::default(),
            source_image: None,
            remixed_from: None,
        },
        source_image: None,
        guide_images: Vec::new(),
        out_task_id: None,
        fingerprint: "fp".into(),
        estimated: Usd(1),
        provider: "sandbox".into(),
        plan: Default::default(),
        upstream_cost: Usd::ZERO,
        created_at: 1,
    }
}

async fn count(url: &str, sql: &'static str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

fn plan(signing_key: &str) -> BootstrapPlan {
    let acct = AccountId::generate();
    BootstrapPlan {
        admin_token_hash: "h".into(),
        signing_key: signing_key.into(),
        account: (acct.clone(), "default".into()),
        webhook_secret: "whsec_a".into(),
        test_key: NewKey {
            id: KeyId::generate(),
            account_id: acct,
            name: "test".into(),
            mode: Mode::Test,
            hash: "hash".into(),
            masked: "sk-…".into(),
            limits: KeyLimits::default(),
        },
        now: 1_800_000_000_000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starting_replica_never_takes_back_another_replicas_leases() {
    let url = fresh_database().await;
    let (running, starting) = (vidgate_store::open(&url).await.unwrap(), vidgate_store::open(&url).await.unwrap());
    let acct = AccountId::generate();
    running.create_account(&acct, "a", "whsec_a", 1).await.unwrap();
    let mut key = plan("s").test_key;
    key.account_id = acct.clone();
    let key_id = key.id.clone();
    running.create_key(key, 1).await.unwrap();
    running.submit(new_task(&acct, &key_id), Default::default()).await.unwrap();
    let caps =
        vidgate_store::ProviderCaps { default: 10, per_provider: Default::default(), account_share_percent: 100 };
    let held = running.claim("running", 10, 60_000, 1, &caps).await.unwrap().remove(0);
    assert_eq!(starting.reclaim_stale_leases_at_startup().await.unwrap(), None);
    assert!(starting.claim("starting", 1_000, 60_000, 1, &caps).await.unwrap().is_empty());
    assert!(running.heartbeat(&held.task.id, held.token, 120_000).await.unwrap(), "the lease stays with its holder");
}

/// 20,000 finished tasks, 500 queued submits and 4 jobs in flight, written straight in SQL,
/// then `ANALYZE`, so the planner sees a store with history.
const HISTORY: &str = "
INSERT INTO accounts (id, name, webhook_secret, created_at) VALUES ('acct_h', 'h', 'whsec_h', 0);
INSERT INTO api_keys (id, account_id, name, mode, hash, masked, created_at) VALUES ('key_h', 'acct_h', 'k', 'test', 'h', 'm', 0);
INSERT INTO tasks (id, account_id, key_id, mode, model, params, fingerprint, status, estimated_micros, created_at,
                   provider, phase, next_run_at, completed_at)
SELECT 'task_' || lpad(i::text, 26, '0'), 'acct_h', 'key_h', 'test', 'tiny', '{}', 'fp',
       CASE WHEN i <= 20000 THEN 'completed' WHEN i <= 20500 THEN 'queued' ELSE 'running' END, 0, i, 'sandbox',
       CASE WHEN i <= 20000 THEN 'done' WHEN i <= 20500 THEN 'submit' ELSE 'poll' END, i,
       CASE WHEN i <= 20000 THEN i END
FROM generate_series(1, 20504) AS i;
ANALYZE;
";

/// Arguments for each hot query's parameters, by name.
fn arguments(name: &str) -> &'static str {
    match name {
        "claim: due polls" => "(30000, 16, 'w', 90000)",
        "claim: slots held" => "(30000)",
        "claim: each account's due submits" => "('sandbox', 30000, 16)",
        "poll: the key" => "('key_h')",
        "poll: the task" => "('task_00000000000000000000020001')",
        _ => "",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_and_poll_queries_use_indexes_and_never_scan_tasks() {
    use sqlx::Connection;
    let url = fresh_database().await;
    vidgate_store::open(&url).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(HISTORY).execute(&mut conn).await.unwrap();
    for (i, (name, sql)) in vidgate_store::postgres::hot_queries().into_iter().enumerate() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("PREPARE hot{i} AS {sql}"))).execute(&mut conn).await.unwrap();
        let explain = format!("EXPLAIN EXECUTE hot{i}{}", arguments(name));
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain)).fetch_all(&mut conn).await.unwrap();
        // (`api_keys` has one row here: reading it whole is the planner's right choice.)
        assert!(!plan.iter().any(|l| l.contains("Seq Scan on tasks")), "{name} scans tasks:\n{}", plan.join("\n"));
        if name != "poll: the key" {
            assert!(plan.iter().any(|l| l.contains("Index")), "{name}:\n{}", plan.join("\n"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_and_account_changes_are_announced_to_the_others_once_and_spending_is_not() {
    let url = fresh_database().await;
    let (writer, listener) = (vidgate_store::open(&url).await.unwrap(), vidgate_store::open(&url).await.unwrap());
    let acct = AccountId::generate();
    writer.create_account(&acct, "a", "whsec_a", 1).await.unwrap();
    let mut key = plan("s").test_key;
    key.account_id = acct.clone();
    let key_id = key.id.clone();
    writer.create_key(key, 1).await.unwrap();
    let mut feed = listener.listen().await.unwrap().expect("PostgreSQL announces changes");
    writer.revoke_key(&key_id, 2).await.unwrap();
    writer.revoke_key(&key_id, 3).await.unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("announced").unwrap();
    assert_eq!(heard, Change::KeyChanged(key_id.clone()));
    // the second revoke changed nothing, so it announced nothing: the next change is a task's
    let task = new_task(&acct, &only_key(&writer, &acct).await);
    let id = task.id.clone();
    writer.submit(task, Default::default()).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("announced").unwrap();
    assert_eq!(next, Change::Due(id), "the submit moved the key's held money and announced only the task");
    let audit = |action: &str, target: &str| vidgate_store::NewAudit {
        actor: "admin".into(),
        action: action.into(),
        target_id: target.into(),
        changes: serde_json::json!({}),
        at: 4,
    };
    let suspend = vidgate_store::AccountUpdate { name: "a".into(), suspended: true };
    writer.update_account(&acct, suspend, audit("account.update", acct.as_str())).await.unwrap().unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("announced").unwrap();
    assert_eq!(next, Change::AccountChanged(acct.clone()));
    let mut second = plan("s").test_key;
    second.account_id = acct.clone();
    let live = second.id.clone();
    writer.create_key(second, 4).await.unwrap();
    let disable = vidgate_store::KeyUpdate { name: "k".into(), disabled: true, limits: KeyLimits::default() };
    writer.update_key(&live, disable, audit("key.update", live.as_str())).await.unwrap().unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("announced").unwrap();
    assert_eq!(next, Change::KeyChanged(live));
}

async fn only_key(store: &std::sync::Arc<dyn vidgate_store::Store>, acct: &AccountId) -> KeyId {
    store.keys(Some(acct)).await.unwrap().remove(0).id
}

/// Migration 0085 on a database written before it: an unfinished task's engine counts move
/// out of its `upstream_state` into their own column; a finished one keeps its state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0085_moves_an_unfinished_task_s_counts_out_of_its_upstream_state() {
    use sqlx::Connection;
    let url = fresh_database().await;
    let store = vidgate_store::open(&url).await.unwrap();
    let acct = AccountId::generate();
    store.create_account(&acct, "a", "whsec_a", 1).await.unwrap();
    let mut key = plan("s").test_key;
    key.account_id = acct.clone();
    let key_id = key.id.clone();
    store.create_key(key, 1).await.unwrap();
    let (running, finished) = (new_task(&acct, &key_id), new_task(&acct, &key_id));
    let ids = (running.id.clone(), finished.id.clone());
    store.submit(running, Default::default()).await.unwrap();
    store.submit(finished, Default::default()).await.unwrap();
    drop(store);
    // The layout before 0085 (and 0090, which comes after it): counts inside the state.
    let old_state = serde_json::json!({"operation": "op/1", "poll_failures": 2, "unsent_submits": 1,
        "chain_submits_before": 3, "fetch_failures": 4});
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    let down = "ALTER TABLE tasks DROP COLUMN engine_counters; DROP INDEX tasks_created_cost; \
                DROP TABLE upstream_controls; DROP FUNCTION vidgate_announce_upstream(); \
                DELETE FROM schema_migrations WHERE version IN (85, 90);";
    sqlx::raw_sql(down).execute(&mut db).await.unwrap();
    sqlx::query("UPDATE tasks SET upstream_state = $1").bind(&old_state).execute(&mut db).await.unwrap();
    sqlx::query("UPDATE tasks SET phase = 'done' WHERE id = $1").bind(ids.1.as_str()).execute(&mut db).await.unwrap();
    db.close().await.unwrap();

    let upgraded = vidgate_store::open(&url).await.unwrap();
    let t = upgraded.task(&ids.0).await.unwrap().unwrap();
    let moved = vidgate_store::EngineCounters {
        fetch_failures: 4,
        poll_failures: 2,
        unsent_submits: 1,
        chain_submits_before: 3,
    };
    assert_eq!((t.counters, t.upstream_state), (moved, serde_json::json!({"operation": "op/1"})));
    let done = upgraded.task(&ids.1).await.unwrap().unwrap();
    assert_eq!((done.counters, done.upstream_state), (Default::default(), old_state));
}
