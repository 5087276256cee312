//! `UpstreamControls` on both backends: breaker moves, cool-downs and an operator's
//! change with its audit entry, read back as every replica reads them.

use std::sync::Arc;

use vidgate_store::upstreams::{Health, HealthChange, UpstreamChange};
use vidgate_store::{AuditFilter, NewAudit, Store};

const NOW: i64 = 1_800_000_000_000;

async fn controls_move_and_are_audited(store: Arc<dyn Store>) {
    assert!(store.upstream_controls().await.unwrap().is_empty(), "no row until a state changes");
    let open = HealthChange { health: Health::Open, open_until: NOW + 30_000, error: "503: busy".into(), at: NOW };
    store.set_upstream_health("veo-a", open).await.unwrap();
    store.cool_upstream("veo-b", NOW + 30_000, "429: slow down", NOW).await.unwrap();
    let close = HealthChange { health: Health::Closed, open_until: 0, error: String::new(), at: NOW + 31_000 };
    store.set_upstream_health("veo-a", close).await.unwrap();
    let rows = store.upstream_controls().await.unwrap();
    assert_eq!(rows.len(), 2);
    let a = &rows[0];
    assert_eq!((a.name.as_str(), a.health, a.open_until), ("veo-a", Health::Closed, 0));
    assert_eq!(
        (a.last_error.as_str(), a.last_error_at, a.changed_at),
        ("503: busy", NOW, NOW + 31_000),
        "a close keeps the last error"
    );
    let b = &rows[1];
    assert_eq!((b.health, b.cool_until, b.last_error.as_str()), (Health::Closed, NOW + 30_000, "429: slow down"));

    let auth = HealthChange { health: Health::AuthFailed, open_until: 0, error: "401: bad key".into(), at: NOW };
    store.set_upstream_health("veo-b", auth).await.unwrap();
    let audit = NewAudit {
        actor: "admin".into(),
        action: "upstream.update".into(),
        target_id: "veo-b".into(),
        changes: serde_json::json!({"weight": 3, "reset": true}),
        at: NOW + 1,
    };
    let change = UpstreamChange { weight: Some(Some(3)), reset: true, ..Default::default() };
    let b = store.change_upstream("veo-b", change, audit).await.unwrap();
    assert_eq!((b.health, b.cool_until, b.weight, b.priority, b.disabled), (Health::Closed, 0, Some(3), None, false));
    let change = UpstreamChange { disabled: Some(true), priority: Some(Some(2)), ..Default::default() };
    let audit2 = NewAudit {
        actor: "admin".into(),
        action: "upstream.update".into(),
        target_id: "veo-b".into(),
        changes: serde_json::json!({"disabled": true}),
        at: NOW + 2,
    };
    let b = store.change_upstream("veo-b", change, audit2).await.unwrap();
    assert_eq!((b.disabled, b.weight, b.priority), (true, Some(3), Some(2)), "fields left out stay");
    let filter = AuditFilter { target_id: Some("veo-b".into()), before: None, limit: 10 };
    let entries = store.audit_entries(&filter).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].changes, serde_json::json!({"weight": 3, "reset": true}));
    assert!(store.upstream_in_flight().await.unwrap().is_empty());
    assert!(store.upstream_spend(NOW, NOW - 1000).await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_controls_move_and_are_audited() {
    let dir = std::env::temp_dir().join(format!("vidgate-store-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = vidgate_store::sqlite::SqliteStore::open(dir.join("test.db").to_str().unwrap()).await.unwrap();
    controls_move_and_are_audited(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_controls_move_and_are_audited() {
    let url = vidgate_store::testkit::postgres::fresh_database().await;
    let store = vidgate_store::postgres::PgStore::open(&url).await.unwrap();
    controls_move_and_are_audited(Arc::new(store)).await;
}
