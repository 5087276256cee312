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
