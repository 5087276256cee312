//! The conformance suite on SQLite, each test on a fresh database file.

use std::sync::Arc;

use vidgate_store::Store;
use vidgate_store::sqlite::SqliteStore;

async fn fresh() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("vidgate-store-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(SqliteStore::open(dir.join("test.db").to_str().unwrap()).await.unwrap())
}

vidgate_store::conformance_tests!(fresh());

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
