//! The conformance suite on PostgreSQL, each test on a fresh database (see
//! `vidgate_store::testkit::postgres`: the server `VIDGATE_TEST_POSTGRES_URL` names, or a
//! throwaway cluster this test process starts), and what only a shared server has to get
//! right: several processes migrating and bootstrapping one database at once.

use std::sync::Arc;

use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId};
use vidgate_store::testkit::postgres::fresh_database;
use vidgate_store::{Bootstrap, BootstrapPlan, KeyLimits, NewKey, Store};

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
    assert_eq!(versions, 4, "each migration recorded once");
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
