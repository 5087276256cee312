//! The deadline rule, run as real steps: a SQLite store, the sandbox provider rendering on a
//! media pool and local files. A task's deadline fails it only when its upstream job is
//! still unfinished when the step runs; a job that finished is fetched and delivered however
//! late its step comes (behind a render backlog, or after a restart).

use std::sync::Arc;

use tokio::sync::Notify;
use vidgate_domain::catalog::Size;
use vidgate_domain::config::SandboxConfig;
use vidgate_domain::task::{Mode, TaskErrorCode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};
use vidgate_media::MediaPool;
use vidgate_store::sqlite::SqliteStore;
use vidgate_store::{
    KeyLimits, NewKey, NewTask, Phase, ProviderCaps, StepUpdate, Store, SubmitOutcome, Task, TaskParams,
};

use super::{Engine, EngineSettings};
use crate::clock::now_ms;
use crate::files::MediaStore;
use crate::notify::Notifier;
use crate::provider::sandbox::SandboxProvider;
use crate::provider::{Providers, Upstream};

/// One second of 160x90 at $0.25 a second.
const PRICE: Usd = Usd(250_000);

async fn engine() -> (Arc<Engine>, AccountId, KeyId) {
    let dir = std::env::temp_dir().join(format!("vidgate-deadline-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("db").to_str().unwrap()).await.unwrap());
    let media = Arc::new(MediaPool::new(1));
    let sandbox = SandboxProvider::new(SandboxConfig::default(), media.clone());
    let engine = Engine {
        store: store.clone(),
        providers: Providers::new(vec![Upstream::Sandbox(Arc::new(sandbox))]),
        files: MediaStore::local(dir.join("files")).unwrap(),
        media,
        notifier: Notifier::default(),
        settings: EngineSettings {
            owner: "w".into(),
            workers: 1,
            lease_ms: 60_000,
            idle_poll_ms: 20,
            caps: ProviderCaps { default: 10, per_provider: Default::default(), account_share_percent: 100 },
            retention_ms: 3_600_000,
            max_result_bytes: 50_000_000,
            max_deliveries: 1,
        },
        wake: Notify::new(),
        webhooks_due: Notify::new(),
        at_cap: Default::default(),
        channels: Default::default(),
        key_cache: crate::gateway::key_cache::KeyCache::new(std::time::Duration::ZERO),
    };
    let account = AccountId::generate();
    store.create_account(&account, "a", "whsec_a", now_ms()).await.unwrap();
    store.add_credit(&account, Usd(10_000_000), "top-up", now_ms()).await.unwrap();
    let key = NewKey {
        id: KeyId::generate(),
        account_id: account.clone(),
        name: "k".into(),
        mode: Mode::Live,
        hash: "h".into(),
        masked: "m".into(),
        limits: KeyLimits::default(),
    };
    let key_id = key.id.clone();
    store.create_key(key, now_ms()).await.unwrap();
    (Arc::new(engine), account, key_id)
}

/// A paid one-second sandbox task whose job was accepted upstream at `accepted_at`, runs
/// for `run_ms`, and whose deadline passed a second ago; its poll is due now.
async fn past_its_deadline(engine: &Engine, account: &AccountId, key: &KeyId, accepted_at: i64, run_ms: u64) -> Task {
    let store = &engine.store;
    let params = TaskParams {
        prompt: "a ball".into(),
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
        account_id: account.clone(),
        key_id: key.clone(),
        mode: Mode::Live,
        model: "tiny".into(),
        params,
        source_image: None,
        guide_images: Vec::new(),
        out_task_id: None,
        fingerprint: "fp".into(),
        estimated: PRICE,
        provider: "sandbox".into(),
        plan: vidgate_domain::plan::TaskPlan::from_stored(
            &serde_json::json!({"provider": "sandbox", "upstream_seconds": 1, "trim_to_ms": 1000}),
            false,
        ),
        upstream_cost: Usd::ZERO,
        created_at: accepted_at,
    };
    let SubmitOutcome::Created(task) = store.submit(task, Default::default()).await.unwrap() else { panic!() };
    let now = now_ms();
    let c = store.claim("w", now, 60_000, 1, &engine.settings.caps).await.unwrap().remove(0);
    let accepted = StepUpdate {
        phase: Some(Phase::Poll),
        status: Some(TaskStatus::Running),
        upstream_job: Some(format!("sbx_{}", task.id)),
        upstream_state: Some(serde_json::json!({"accepted_at": accepted_at, "queue_ms": 0, "run_ms": run_ms})),
        deadline_at: Some(now - 1_000),
        next_run_at: now,
        ..Default::default()
    };
    assert!(store.save_step(&task.id, c.token, accepted, now).await.unwrap());
    task
}

/// Claims the task's due poll and runs that one step.
async fn run_its_step(engine: &Engine, task: &Task) -> Task {
    let c = engine.store.claim("w", now_ms(), 60_000, 1, &engine.settings.caps).await.unwrap().remove(0);
    assert_eq!((&c.task.id, c.task.phase), (&task.id, Phase::Poll));
    engine.step(c).await;
    engine.store.task(&task.id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_finished_upstream_is_delivered_and_billed_though_its_step_runs_past_the_deadline() {
    let (engine, account, key) = engine().await;
    let finished = past_its_deadline(&engine, &account, &key, now_ms() - 40_000, 1_500).await;
    let done = run_its_step(&engine, &finished).await;
    assert_eq!((done.status, done.error.as_ref().map(|e| e.0)), (TaskStatus::Completed, None));
    assert_eq!((done.credits_used, done.result.as_ref().map(|r| r.billed_ms)), (PRICE, Some(1_000)));
    let acct = engine.store.account(&account).await.unwrap().unwrap();
    assert_eq!((acct.spent, acct.held, acct.balance), (PRICE, Usd::ZERO, Usd(10_000_000).minus(PRICE)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_still_running_upstream_past_the_deadline_fails_with_timeout_unbilled() {
    let (engine, account, key) = engine().await;
    let running = past_its_deadline(&engine, &account, &key, now_ms() - 40_000, 600_000).await;
    let done = run_its_step(&engine, &running).await;
    let (code, message) = done.error.clone().expect("failed");
    assert_eq!((done.status, code, done.credits_used), (TaskStatus::Failed, TaskErrorCode::Timeout, Usd::ZERO));
    assert!(message.starts_with("the upstream did not finish before the deadline"), "{message}");
    assert!(done.result.is_none());
    let acct = engine.store.account(&account).await.unwrap().unwrap();
    assert_eq!((acct.spent, acct.held, acct.balance), (Usd::ZERO, Usd::ZERO, Usd(10_000_000)));
}
