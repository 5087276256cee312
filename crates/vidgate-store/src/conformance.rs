//! The conformance suite: what every [`Store`] backend must do, written once. A backend's
//! test binary expands [`conformance_tests!`](crate::conformance_tests) with a factory
//! that returns a fresh, empty store.
//!
//! Each check asserts exact values: statuses, tokens, money to the micro-dollar, and the
//! identity `balance = credits − captures − open holds` against the ledger itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use vidgate_domain::catalog::Size;
use vidgate_domain::task::{Mode, TaskErrorCode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};

use crate::Store;
use crate::model::*;

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh store from
/// `$factory` (an async expression returning `Arc<dyn Store>`).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@each $factory;
            bootstrap_happens_once, submit_takes_a_hold_and_keeps_the_ledger_balanced,
            same_key_same_request_replays_and_other_request_conflicts, concurrent_duplicates_create_one_task,
            a_submit_beyond_the_balance_leaves_no_trace, test_mode_moves_no_money,
            a_claim_leases_and_a_stale_token_loses, a_terminal_transition_settles_once,
            completion_captures_billed_and_releases_the_rest, cancel_follows_the_cancel_policy,
            provider_caps_bound_submits_in_flight, blocked_submits_never_starve_due_polls,
            concurrency_limit_counts_open_tasks,
            quota_and_spend_windows_are_enforced, listings_filter_and_page, retention_marks_files_expired,
            source_images_are_kept_with_the_task);
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: std::sync::Arc<dyn $crate::Store> = $factory.await;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

const NOW: Millis = 1_800_000_000_000;

async fn account_with(store: &Arc<dyn Store>, credit: i64) -> (AccountId, KeyId) {
    let acct = AccountId::generate();
    store.create_account(&acct, "acme", "whsec_x", NOW).await.unwrap();
    if credit != 0 {
        store.add_credit(&acct, Usd(credit), "top-up", NOW).await.unwrap();
    }
    let key = new_key(&acct, Mode::Live);
    let key_id = key.id.clone();
    store.create_key(key, NOW).await.unwrap();
    (acct, key_id)
}

fn new_key(acct: &AccountId, mode: Mode) -> NewKey {
    let id = KeyId::generate();
    NewKey {
        id: id.clone(),
        account_id: acct.clone(),
        name: "k".into(),
        mode,
        hash: format!("hash-{id}"),
        masked: "sk-…x".into(),
        limits: KeyLimits::default(),
    }
}

fn new_task(acct: &AccountId, key: &KeyId, est: i64, out: Option<&str>) -> NewTask {
    NewTask {
        id: TaskId::generate(),
        account_id: acct.clone(),
        key_id: key.clone(),
        mode: Mode::Live,
        model: "veo3.1".into(),
        params: TaskParams {
            prompt: "rain".into(),
            duration_seconds: 5,
            size: Size::new(1280, 720),
            audio: true,
            seed: None,
            negative_prompt: None,
            callback_url: None,
            metadata: BTreeMap::from([("job".to_owned(), "a".to_owned())]),
            source_image: None,
        },
        source_image: None,
        out_task_id: out.map(str::to_owned),
        fingerprint: "fp-1".into(),
        estimated: Usd(est),
        provider: "sandbox".into(),
        plan: serde_json::Value::Null,
        upstream_cost: Usd::ZERO,
        created_at: NOW,
    }
}

fn caps(default: u32) -> ProviderCaps {
    ProviderCaps { default, per_provider: BTreeMap::new() }
}

async fn created(store: &Arc<dyn Store>, t: NewTask) -> Task {
    match store.submit(t, SubmitChecks::default()).await.unwrap() {
        SubmitOutcome::Created(task) => task,
        other => panic!("expected a new task, got {other:?}"),
    }
}

/// Asserts the money identities of an account against its own ledger.
pub async fn assert_ledger_balanced(store: &Arc<dyn Store>, acct: &AccountId) {
    let a = store.account(acct).await.unwrap().unwrap();
    let totals: BTreeMap<&str, Usd> =
        store.ledger_totals(acct).await.unwrap().into_iter().map(|(k, v)| (k.as_str(), v)).collect();
    let open_holds = totals["hold"].minus(totals["capture"]).minus(totals["release"]);
    assert_eq!(a.credited, totals["credit"], "credits match the ledger");
    assert_eq!(a.spent, totals["capture"], "captures match the ledger");
    assert_eq!(a.held, open_holds, "open holds match the ledger");
    assert_eq!(a.balance, a.credited.minus(a.spent).minus(a.held), "balance = credits - captures - open holds");
}

async fn claim_one(store: &Arc<dyn Store>, now: Millis) -> Claimed {
    let mut got = store.claim("w1", now, 60_000, 1, &caps(100)).await.unwrap();
    assert_eq!(got.len(), 1, "one task due");
    got.remove(0)
}

pub async fn bootstrap_happens_once(store: Arc<dyn Store>) {
    let acct = AccountId::generate();
    let plan = BootstrapPlan {
        admin_token_hash: "h".into(),
        signing_key: "sk".into(),
        account: (acct.clone(), "default".into()),
        webhook_secret: "whsec_a".into(),
        test_key: new_key(&acct, Mode::Test),
        now: NOW,
    };
    assert!(matches!(store.bootstrap(plan.clone()).await.unwrap(), Bootstrap::Created));
    let mut again = plan.clone();
    again.account.0 = AccountId::generate();
    again.signing_key = "other".into();
    assert!(matches!(store.bootstrap(again).await.unwrap(), Bootstrap::Existing));
    assert_eq!(store.setting("signing_key").await.unwrap().as_deref(), Some("sk"));
    assert_eq!(store.keys(Some(&acct)).await.unwrap().len(), 1);
}

pub async fn submit_takes_a_hold_and_keeps_the_ledger_balanced(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let task = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    assert_eq!((task.status, task.phase, task.version), (TaskStatus::Queued, Phase::Submit, 1));
    assert_eq!(task.estimated, Usd(2_000_000));
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held, a.spent), (Usd(8_000_000), Usd(2_000_000), Usd::ZERO));
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn same_key_same_request_replays_and_other_request_conflicts(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let first = created(&store, new_task(&acct, &key, 1_000_000, Some("job-1"))).await;
    let replay = store.submit(new_task(&acct, &key, 1_000_000, Some("job-1")), SubmitChecks::default()).await.unwrap();
    assert!(matches!(&replay, SubmitOutcome::Replayed(t) if t.id == first.id), "{replay:?}");
    let mut other = new_task(&acct, &key, 1_000_000, Some("job-1"));
    other.fingerprint = "fp-2".into();
    assert!(matches!(store.submit(other, SubmitChecks::default()).await.unwrap(), SubmitOutcome::Conflict));
    assert_eq!(store.account(&acct).await.unwrap().unwrap().held, Usd(1_000_000), "one hold only");
    let found = store.task_by_out_id(&acct, Mode::Live, "job-1").await.unwrap().unwrap();
    assert_eq!(found.id, first.id);
    assert!(store.task_by_out_id(&acct, Mode::Test, "job-1").await.unwrap().is_none(), "keys are scoped by mode");
}

pub async fn concurrent_duplicates_create_one_task(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (store, acct, key) = (store.clone(), acct.clone(), key.clone());
        handles.push(tokio::spawn(async move {
            store.submit(new_task(&acct, &key, 1_000_000, Some("dup")), SubmitChecks::default()).await.unwrap()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut created_count = 0;
    for h in handles {
        match h.await.unwrap() {
            SubmitOutcome::Created(t) => {
                created_count += 1;
                ids.insert(t.id);
            }
            SubmitOutcome::Replayed(t) => {
                ids.insert(t.id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created_count, ids.len()), (1, 1));
    assert_eq!(store.account(&acct).await.unwrap().unwrap().held, Usd(1_000_000));
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn a_submit_beyond_the_balance_leaves_no_trace(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 1_500_000).await;
    created(&store, new_task(&acct, &key, 1_000_000, None)).await;
    let refused = store.submit(new_task(&acct, &key, 1_000_000, Some("x")), SubmitChecks::default()).await.unwrap();
    assert!(
        matches!(refused, SubmitOutcome::InsufficientBalance { needed: Usd(1_000_000), available: Usd(500_000) }),
        "{refused:?}"
    );
    assert!(store.task_by_out_id(&acct, Mode::Live, "x").await.unwrap().is_none());
    let filter = TaskFilter { account_id: Some(acct.clone()), limit: 100, ..Default::default() };
    assert_eq!(store.tasks(&filter).await.unwrap().len(), 1);
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn test_mode_moves_no_money(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 0).await;
    let mut t = new_task(&acct, &key, 2_000_000, None);
    t.mode = Mode::Test;
    let task = created(&store, t).await;
    let c = claim_one(&store, NOW).await;
    let end = Terminal::Completed { result: result(5000), credits_used: Usd(2_000_000), files_expire_at: NOW + 1 };
    let done = store.finish(&task.id, Some(c.token), end, NOW + 10).await.unwrap().unwrap();
    assert_eq!(done.credits_used, Usd(2_000_000), "test tasks still report their price");
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held, a.spent), (Usd::ZERO, Usd::ZERO, Usd::ZERO));
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn a_claim_leases_and_a_stale_token_loses(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let task = created(&store, new_task(&acct, &key, 1_000_000, None)).await;
    let first = claim_one(&store, NOW).await;
    assert_eq!(first.task.id, task.id);
    assert!(
        store.claim("w2", NOW + 1, 60_000, 10, &caps(100)).await.unwrap().is_empty(),
        "leased tasks are not claimed twice"
    );
    // the lease expires; another worker takes over with a higher token
    let second = store.claim("w2", NOW + 60_001, 60_000, 10, &caps(100)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].token > first.token);
    let step =
        StepUpdate { status: Some(TaskStatus::Running), progress: Some(10), next_run_at: NOW, ..Default::default() };
    assert!(!store.save_step(&task.id, first.token, step.clone(), NOW).await.unwrap(), "stale token loses");
    assert!(!store.heartbeat(&task.id, first.token, NOW + 100_000).await.unwrap());
    let stale_end =
        Terminal::Failed { code: TaskErrorCode::UpstreamError, message: "x".into(), possible_orphan: false };
    assert!(store.finish(&task.id, Some(first.token), stale_end, NOW).await.unwrap().is_none());
    assert!(store.save_step(&task.id, second[0].token, step, NOW + 60_002).await.unwrap());
    let t = store.task(&task.id).await.unwrap().unwrap();
    assert_eq!((t.status, t.progress, t.version, t.started_at), (TaskStatus::Running, 10, 2, Some(NOW + 60_002)));
    assert_eq!(t.attempts, 2);
}

pub async fn a_terminal_transition_settles_once(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let task = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW).await;
    let fail =
        Terminal::Failed { code: TaskErrorCode::ContentFiltered, message: "blocked".into(), possible_orphan: false };
    let done = store.finish(&task.id, Some(c.token), fail, NOW + 5).await.unwrap().unwrap();
    assert_eq!((done.status, done.credits_used), (TaskStatus::Failed, Usd::ZERO));
    assert_eq!(done.error, Some((TaskErrorCode::ContentFiltered, "blocked".into())));
    // every later path loses: cancel, completion, a second failure
    assert!(
        store.finish(&task.id, None, Terminal::Cancelled { charge_if_running: true }, NOW + 6).await.unwrap().is_none()
    );
    let complete = Terminal::Completed { result: result(5000), credits_used: Usd(2_000_000), files_expire_at: NOW };
    assert!(store.finish(&task.id, None, complete, NOW + 7).await.unwrap().is_none());
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held, a.spent), (Usd(10_000_000), Usd::ZERO, Usd::ZERO), "a failure is never billed");
    assert_ledger_balanced(&store, &acct).await;
    assert!(
        store.claim("w", NOW + 1_000_000, 1, 10, &caps(100)).await.unwrap().is_empty(),
        "terminal tasks are never claimed"
    );
}

pub async fn completion_captures_billed_and_releases_the_rest(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let task = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW).await;
    let end = Terminal::Completed { result: result(4000), credits_used: Usd(1_600_000), files_expire_at: NOW + 99 };
    let done = store.finish(&task.id, Some(c.token), end, NOW + 5).await.unwrap().unwrap();
    assert_eq!((done.status, done.credits_used, done.progress), (TaskStatus::Completed, Usd(1_600_000), 100));
    assert_eq!(done.result.as_ref().unwrap().billed_ms, 4000);
    assert_eq!(done.files_expire_at, Some(NOW + 99));
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held, a.spent), (Usd(8_400_000), Usd::ZERO, Usd(1_600_000)));
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn cancel_follows_the_cancel_policy(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    // queued: free even under `charge`
    let queued = created(&store, new_task(&acct, &key, 1_000_000, None)).await;
    let t =
        store.finish(&queued.id, None, Terminal::Cancelled { charge_if_running: true }, NOW).await.unwrap().unwrap();
    assert_eq!((t.status, t.credits_used), (TaskStatus::Cancelled, Usd::ZERO));
    assert_eq!(t.error.as_ref().map(|e| e.0), Some(TaskErrorCode::Cancelled));
    // running under `charge`: the full estimate
    let running = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW).await;
    let step = StepUpdate { status: Some(TaskStatus::Running), next_run_at: NOW + 1000, ..Default::default() };
    assert!(store.save_step(&running.id, c.token, step, NOW).await.unwrap());
    let t =
        store.finish(&running.id, None, Terminal::Cancelled { charge_if_running: true }, NOW).await.unwrap().unwrap();
    assert_eq!(t.credits_used, Usd(2_000_000));
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held, a.spent), (Usd(8_000_000), Usd::ZERO, Usd(2_000_000)));
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn provider_caps_bound_submits_in_flight(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    for _ in 0..5 {
        created(&store, new_task(&acct, &key, 1, None)).await;
    }
    let first = store.claim("w", NOW, 60_000, 10, &caps(2)).await.unwrap();
    assert_eq!(first.len(), 2, "only two submits may be in flight");
    assert!(store.claim("w", NOW, 60_000, 10, &caps(2)).await.unwrap().is_empty());
    let mut c = caps(2);
    c.per_provider.insert("sandbox".into(), 3);
    assert_eq!(store.claim("w", NOW, 60_000, 10, &c).await.unwrap().len(), 1, "per-provider caps win");
    // a submitted job (poll phase) still counts once its lease is gone
    let step = StepUpdate { phase: Some(Phase::Poll), next_run_at: NOW + 10_000, ..Default::default() };
    assert!(store.save_step(&first[0].task.id, first[0].token, step, NOW).await.unwrap());
    assert!(store.claim("w", NOW + 1, 60_000, 10, &c).await.unwrap().is_empty());
    assert_eq!(store.in_flight_by_provider().await.unwrap(), vec![("sandbox".to_owned(), 1)]);
}

pub async fn blocked_submits_never_starve_due_polls(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    for _ in 0..10 {
        created(&store, new_task(&acct, &key, 1, None)).await;
    }
    let first = store.claim("w", NOW, 60_000, 10, &caps(2)).await.unwrap();
    assert_eq!(first.len(), 2);
    for c in &first {
        let step = StepUpdate { phase: Some(Phase::Poll), next_run_at: NOW + 1, ..Default::default() };
        assert!(store.save_step(&c.task.id, c.token, step, NOW).await.unwrap());
    }
    // eight submits are due earlier than the two polls, and all are blocked by the cap
    let polls = store.claim("w", NOW + 2, 60_000, 1, &caps(2)).await.unwrap();
    assert_eq!(polls.len(), 1, "a due poll is claimed");
    assert_eq!(polls[0].task.phase, Phase::Poll);
}

pub async fn concurrency_limit_counts_open_tasks(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    let checks = SubmitChecks { concurrency: Some(2), ..Default::default() };
    for _ in 0..2 {
        assert!(matches!(
            store.submit(new_task(&acct, &key, 1, None), checks.clone()).await.unwrap(),
            SubmitOutcome::Created(_)
        ));
    }
    let refused = store.submit(new_task(&acct, &key, 1, None), checks.clone()).await.unwrap();
    assert!(matches!(refused, SubmitOutcome::ConcurrencyLimit { limit: 2 }), "{refused:?}");
    assert_eq!(store.in_flight_for_key(&key).await.unwrap(), 2);
}

pub async fn quota_and_spend_windows_are_enforced(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    let checks = SubmitChecks { key_quota: Some(Usd(3_000_000)), ..Default::default() };
    assert!(matches!(
        store.submit(new_task(&acct, &key, 2_000_000, None), checks.clone()).await.unwrap(),
        SubmitOutcome::Created(_)
    ));
    let refused = store.submit(new_task(&acct, &key, 2_000_000, None), checks).await.unwrap();
    assert!(matches!(refused, SubmitOutcome::QuotaExceeded { remaining: Usd(1_000_000) }), "{refused:?}");
    let spend = SpendLimits { h5: Some(Usd(3_000_000)), ..Default::default() };
    let checks = SubmitChecks { spend, ..Default::default() };
    let refused = store.submit(new_task(&acct, &key, 2_000_000, None), checks.clone()).await.unwrap();
    assert!(
        matches!(refused, SubmitOutcome::SpendWindowExceeded { window: "5h", resets_at } if resets_at == NOW + 5 * 3_600_000),
        "{refused:?}"
    );
    let mut later = new_task(&acct, &key, 2_000_000, None);
    later.created_at = NOW + 5 * 3_600_000 + 1;
    assert!(matches!(store.submit(later, checks).await.unwrap(), SubmitOutcome::Created(_)), "the window moved on");
}

pub async fn listings_filter_and_page(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    let (other, other_key) = account_with(&store, 100_000_000).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut t = new_task(&acct, &key, 1, None);
        t.params.metadata.insert("n".into(), i.to_string());
        ids.push(created(&store, t).await.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    created(&store, new_task(&other, &other_key, 1, None)).await;
    let mut f = TaskFilter { account_id: Some(acct.clone()), limit: 2, ..Default::default() };
    let page1: Vec<_> = store.tasks(&f).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(page1, vec![ids[4].clone(), ids[3].clone()], "newest first");
    f.after = Some(ids[3].clone());
    let page2: Vec<_> = store.tasks(&f).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(page2, vec![ids[2].clone(), ids[1].clone()]);
    let by_meta = TaskFilter {
        account_id: Some(acct),
        metadata: vec![("n".into(), "3".into())],
        limit: 100,
        ..Default::default()
    };
    let found: Vec<_> = store.tasks(&by_meta).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(found, vec![ids[3].clone()]);
    let by_status = TaskFilter { status: Some(TaskStatus::Completed), limit: 100, ..Default::default() };
    assert!(store.tasks(&by_status).await.unwrap().is_empty());
}

pub async fn retention_marks_files_expired(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let task = created(&store, new_task(&acct, &key, 1, None)).await;
    let c = claim_one(&store, NOW).await;
    let end = Terminal::Completed { result: result(5000), credits_used: Usd(1), files_expire_at: NOW + 1000 };
    let done = store.finish(&task.id, Some(c.token), end, NOW).await.unwrap().unwrap();
    assert!(store.files_due_for_removal(NOW + 999, 10).await.unwrap().is_empty());
    assert_eq!(store.files_due_for_removal(NOW + 1000, 10).await.unwrap(), vec![task.id.clone()]);
    store.mark_files_expired(&task.id).await.unwrap();
    let t = store.task(&task.id).await.unwrap().unwrap();
    assert!(t.files_expired);
    assert_eq!(t.version, done.version + 1);
    assert!(store.files_due_for_removal(NOW + 5000, 10).await.unwrap().is_empty());
}

pub async fn source_images_are_kept_with_the_task(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let mut t = new_task(&acct, &key, 1, None);
    let img =
        SourceImage { mime: "image/png".into(), sha256: "abc".into(), bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2] };
    t.source_image = Some(img.clone());
    t.params.source_image = Some(SourceImageRef { sha256: "abc".into(), mime: "image/png".into() });
    let task = created(&store, t).await;
    assert_eq!(store.source_image(&task.id).await.unwrap(), Some(img));
    assert_eq!(task.params.source_image.unwrap().sha256, "abc");
}

fn result(video_ms: u64) -> TaskResult {
    TaskResult {
        video: StoredFile {
            name: "video.mp4".into(),
            mime: "video/mp4".into(),
            bytes: 10,
            duration_ms: Some(video_ms),
            width: Some(1280),
            height: Some(720),
        },
        audio: None,
        thumbnail: None,
        spritesheet: None,
        billed_ms: video_ms,
    }
}
