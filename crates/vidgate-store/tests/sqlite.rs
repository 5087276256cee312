//! The conformance suite on SQLite, each test on a fresh database file; what only a SQLite
//! file has (its process lock); and an upgrade across a migration that moves data.

use std::sync::Arc;

use vidgate_store::Store;
use vidgate_store::sqlite::SqliteStore;

async fn fresh() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("vidgate-store-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(SqliteStore::open(dir.join("test.db").to_str().unwrap()).await.unwrap())
}

vidgate_store::conformance_tests!(fresh());

/// What only a SQLite file has: the process lock that proves a restart is alone, so it
/// takes its dead predecessor's leases back at once (see `sqlite/reclaim.rs`).
mod start_up {
    use std::path::{Path, PathBuf};

    use vidgate_domain::catalog::Size;
    use vidgate_domain::task::Mode;
    use vidgate_domain::{AccountId, KeyId, TaskId, Usd};
    use vidgate_store::{Claimed, KeyLimits, NewKey, NewTask, ProviderCaps, Store, TaskParams};

    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    pub(super) fn file() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vidgate-store-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("test.db")
    }

    pub(super) async fn open(path: &Path) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap())
    }

    /// One task, leased by `owner` for a minute.
    pub(super) async fn leased_task(store: &Arc<dyn Store>, owner: &str) -> Claimed {
        let acct = AccountId::generate();
        store.create_account(&acct, "a", "whsec_a", NOW).await.unwrap();
        let key = NewKey {
            id: KeyId::generate(),
            account_id: acct.clone(),
            name: "k".into(),
            mode: Mode::Test,
            hash: format!("h-{}", ulid::Ulid::new()),
            masked: "m".into(),
            limits: KeyLimits::default(),
        };
        let key_id = key.id.clone();
        store.create_key(key, NOW).await.unwrap();
        let params = TaskParams {
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
        };
        let task = NewTask {
            id: TaskId::generate(),
            account_id: acct,
            key_id,
            mode: Mode::Test,
            model: "tiny".into(),
            params,
            source_image: None,
            guide_images: Vec::new(),
            out_task_id: None,
            fingerprint: "fp".into(),
            estimated: Usd(1),
            provider: "sandbox".into(),
            plan: Default::default(),
            upstream_cost: Usd::ZERO,
            created_at: NOW,
        };
        store.submit(task, Default::default()).await.unwrap();
        store.claim(owner, NOW, 60_000, 1, &caps()).await.unwrap().remove(0)
    }

    fn caps() -> ProviderCaps {
        ProviderCaps { default: 100, per_provider: Default::default(), account_share_percent: 100 }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_opened_after_the_last_one_closed_takes_every_lease_back_at_once() {
        let path = file();
        let dead = open(&path).await;
        let held = leased_task(&dead, "dead").await;
        drop(dead);
        let restarted = open(&path).await;
        assert_eq!(restarted.reclaim_stale_leases_at_startup().await.unwrap(), Some(1));
        let again = restarted.claim("restarted", NOW + 1_000, 60_000, 1, &caps()).await.unwrap();
        assert_eq!(again.len(), 1, "due at once, 59 s before the old lease would expire");
        assert_eq!((&again[0].task.id, again[0].token), (&held.task.id, held.token + 1));
        assert!(path.with_extension("db.lock").exists(), "the lock file sits beside the database");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_lease_is_taken_back_while_another_store_has_the_file_open() {
        let path = file();
        let live = open(&path).await;
        let held = leased_task(&live, "live").await;
        let second = open(&path).await;
        assert_eq!(second.reclaim_stale_leases_at_startup().await.unwrap(), None);
        assert!(second.claim("second", NOW + 1_000, 60_000, 1, &caps()).await.unwrap().is_empty());
        assert!(live.heartbeat(&held.task.id, held.token, NOW + 90_000).await.unwrap(), "the live lease holds");
        // The refused reclaim kept `second`'s own claim on the file: with `live` gone, a
        // third store still finds the file in use.
        drop(live);
        let third = open(&path).await;
        assert_eq!(third.reclaim_stale_leases_at_startup().await.unwrap(), None);
        drop(second);
        drop(third);
        let alone = open(&path).await;
        assert_eq!(alone.reclaim_stale_leases_at_startup().await.unwrap(), Some(1));
    }
}

/// 20,000 finished tasks, 500 queued submits and 4 jobs in flight, written straight in SQL,
/// then `ANALYZE`, so the planner sees a store with history.
const HISTORY: &str = "
INSERT INTO accounts (id, name, webhook_secret, created_at) VALUES ('acct_h', 'h', 'whsec_h', 0);
INSERT INTO api_keys (id, account_id, name, mode, hash, masked, created_at) VALUES ('key_h', 'acct_h', 'k', 'test', 'h', 'm', 0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20504)
INSERT INTO tasks (id, account_id, key_id, mode, model, params, fingerprint, status, estimated_micros, created_at,
                   provider, phase, next_run_at, completed_at)
SELECT printf('task_%026d', i), 'acct_h', 'key_h', 'test', 'tiny', '{}', 'fp',
       CASE WHEN i <= 20000 THEN 'completed' WHEN i <= 20500 THEN 'queued' ELSE 'running' END, 0, i, 'sandbox',
       CASE WHEN i <= 20000 THEN 'done' WHEN i <= 20500 THEN 'submit' ELSE 'poll' END, i,
       CASE WHEN i <= 20000 THEN i END
FROM n;
ANALYZE;
";

/// Indexes that hold only unfinished rows: reading one whole is reading due work, not history.
const PARTIAL: [&str; 4] = ["tasks_due_poll", "tasks_in_flight", "tasks_submits", "tasks_submits_leased"];

#[tokio::test]
async fn the_claim_and_poll_queries_use_indexes_and_never_scan_tasks() {
    use sqlx::Connection;
    let dir = std::env::temp_dir().join(format!("vidgate-store-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plans.db");
    SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::raw_sql(HISTORY).execute(&mut conn).await.unwrap();
    for (name, sql) in vidgate_store::sqlite::hot_queries() {
        let rows: Vec<sqlx::sqlite::SqliteRow> =
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).fetch_all(&mut conn).await.unwrap();
        let plan: Vec<String> = rows.iter().map(|r| sqlx::Row::get::<String, _>(r, "detail")).collect();
        // Every table is searched by a key, never scanned; the only scans are of the
        // recursive queries' own rows and of partial indexes of unfinished tasks.
        for line in plan.iter().map(|l| l.replace("COVERING INDEX", "INDEX")) {
            let Some(scanned) = line.strip_prefix("SCAN ") else { continue };
            let own_rows = ["CONSTANT ROW", "p", "acct", "a"].contains(&scanned);
            let partial = PARTIAL.iter().any(|i| scanned == format!("tasks USING INDEX {i}"));
            assert!(own_rows || partial, "{name}: `{line}` scans a table: {plan:?}");
        }
        assert!(plan.iter().any(|l| l.starts_with("SEARCH ") || l.contains("USING")), "{name}: {plan:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Upgrading a database written before a migration: its rows are carried over.
mod upgrade {
    use serde_json::json;
    use vidgate_store::EngineCounters;

    use super::start_up::{file, leased_task, open};

    /// Migration 0085 moved the engine's counts out of `upstream_state` into their own
    /// column: an unfinished task keeps its counts and its provider's state, a finished one
    /// keeps its state as it was.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migration_0085_moves_an_unfinished_task_s_counts_out_of_its_upstream_state() {
        let path = file();
        let store = open(&path).await;
        let running = leased_task(&store, "w").await.task.id;
        let finished = leased_task(&store, "w").await.task.id;
        drop(store);
        // The layout before 0085 (and 0090, which comes after it): counts inside the state.
        let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let down = "ALTER TABLE tasks DROP COLUMN engine_counters; DROP INDEX tasks_created_cost; \
                    DROP TABLE upstream_controls; DELETE FROM schema_migrations WHERE version IN (85, 90);";
        sqlx::raw_sql(down).execute(&db).await.unwrap();
        let old_state =
            r#"{"operation":"op/1","poll_failures":2,"unsent_submits":1,"chain_submits_before":3,"fetch_failures":4}"#;
        for id in [&running, &finished] {
            sqlx::query("UPDATE tasks SET upstream_state = ? WHERE id = ?")
                .bind(old_state)
                .bind(id.as_str())
                .execute(&db)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE tasks SET phase = 'done' WHERE id = ?").bind(finished.as_str()).execute(&db).await.unwrap();
        db.close().await;

        let upgraded = open(&path).await;
        let t = upgraded.task(&running).await.unwrap().unwrap();
        let moved = EngineCounters { fetch_failures: 4, poll_failures: 2, unsent_submits: 1, chain_submits_before: 3 };
        assert_eq!((t.counters, t.upstream_state), (moved, json!({"operation": "op/1"})));
        let done = upgraded.task(&finished).await.unwrap().unwrap();
        let as_it_was: serde_json::Value = serde_json::from_str(old_state).unwrap();
        assert_eq!((done.counters, done.upstream_state), (EngineCounters::default(), as_it_was));
    }
}
