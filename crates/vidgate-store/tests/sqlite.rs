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

    fn file() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vidgate-store-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("test.db")
    }

    async fn open(path: &Path) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap())
    }

    /// One task, leased by `owner` for a minute.
    async fn leased_task(store: &Arc<dyn Store>, owner: &str) -> Claimed {
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
            plan: serde_json::Value::Null,
            upstream_cost: Usd::ZERO,
            created_at: NOW,
        };
        store.submit(task, Default::default()).await.unwrap();
        store.claim(owner, NOW, 60_000, 1, &caps()).await.unwrap().remove(0)
    }

    fn caps() -> ProviderCaps {
        ProviderCaps { default: 100, per_provider: Default::default() }
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
