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

use crate::changes::{Change, ChangeFeed};
use crate::model::*;
use crate::money::*;
use crate::reroute::*;
use crate::webhooks::*;
use crate::{Store, StoreError};

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
            a_measured_upstream_cost_replaces_the_estimate_at_completion_only,
            provider_caps_bound_submits_in_flight, blocked_submits_never_starve_due_polls,
            concurrency_limit_counts_open_tasks,
            quota_and_spend_windows_are_enforced, listings_filter_and_page, retention_marks_files_expired,
            source_images_are_kept_with_the_task,
            listings_page_in_both_orders, deleted_tasks_vanish_from_every_read,
            the_webhook_message_is_written_with_the_terminal_transition,
            a_webhook_claim_leases_and_a_stale_token_cannot_record, a_finished_webhook_is_never_claimed_again,
            webhook_attempts_list_in_order_and_retries_wait_their_turn, released_webhook_leases_are_claimable_at_once,
            a_debit_never_takes_the_balance_below_zero, key_status_counts_what_a_key_commits_per_window,
            a_spend_window_frees_up_when_enough_spend_leaves_it, usage_rolls_up_charged_tasks_by_day_model_key_and_mode,
            a_reroute_moves_a_submit_to_the_next_route_and_only_before_acceptance,
            concurrent_submits_never_overspend, concurrent_claims_never_share_a_task_or_exceed_a_cap,
            concurrent_retention_sweeps_take_disjoint_batches, changes_are_announced_at_commit_and_leases_are_silent,
            a_submit_that_never_left_is_taken_back_out_of_the_count,
            a_start_up_reclaim_gives_back_every_lease_or_touches_none,

            accounts_list_newest_first_filtered_by_name_and_paged,
            account_and_key_changes_are_written_with_their_audit_entry,
            the_audit_list_is_newest_first_filtered_by_target_and_paged,
            a_contended_cap_goes_to_the_account_holding_fewest_slots,
            guide_images_are_kept_with_the_task_in_order_with_their_roles);
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
            remixed_from: None,
        },
        source_image: None,
        guide_images: Vec::new(),
        out_task_id: out.map(str::to_owned),
        fingerprint: "fp-1".into(),
        estimated: Usd(est),
        provider: "sandbox".into(),
        plan: Default::default(),
        upstream_cost: Usd::ZERO,
        created_at: NOW,
    }
}

fn caps(default: u32) -> ProviderCaps {
    ProviderCaps { default, per_provider: BTreeMap::new(), account_share_percent: 100 }
}

async fn created(store: &Arc<dyn Store>, t: NewTask) -> Task {
    match store.submit(t, SubmitChecks::default()).await.unwrap() {
        SubmitOutcome::Created(task) => task,
        other => panic!("expected a new task, got {other:?}"),
    }
}

/// Asserts the money identities of an account against its own ledger.
/// The ledger's sum per kind (credit, hold, capture, release), from the account's entries.
async fn ledger_totals(store: &Arc<dyn Store>, acct: &AccountId) -> Vec<(LedgerKind, Usd)> {
    let (mut entries, mut after) = (Vec::new(), None);
    loop {
        let page = store.ledger_entries(acct, after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        entries.extend(page);
    }
    let kinds = [LedgerKind::Credit, LedgerKind::Hold, LedgerKind::Capture, LedgerKind::Release];
    let sum = |kind| entries.iter().filter(|e| e.kind == kind).fold(Usd::ZERO, |total, e| total.plus(e.amount));
    kinds.into_iter().map(|kind| (kind, sum(kind))).collect()
}

/// Upstream jobs in flight (phase poll) per provider, by provider.
async fn in_flight_by_provider(store: &Arc<dyn Store>) -> Vec<(String, u32)> {
    let all = TaskFilter { limit: 10_000, ..Default::default() };
    let mut held = BTreeMap::<String, u32>::new();
    for task in store.tasks(&all).await.unwrap() {
        if task.phase == Phase::Poll {
            *held.entry(task.provider).or_default() += 1;
        }
    }
    held.into_iter().collect()
}

/// The tasks whose files are due for removal at `now`, read through a sweeper's claim whose
/// lease ends at once (so it holds nothing back from the next claim).
async fn due_for_removal(store: &Arc<dyn Store>, now: Millis, limit: u32) -> Vec<TaskId> {
    store.claim_files_for_removal(now, 0, limit).await.unwrap()
}

pub async fn assert_ledger_balanced(store: &Arc<dyn Store>, acct: &AccountId) {
    let a = store.account(acct).await.unwrap().unwrap();
    let totals: BTreeMap<&str, Usd> =
        ledger_totals(store, acct).await.into_iter().map(|(k, v)| (k.as_str(), v)).collect();
    let open_holds = totals["hold"].minus(totals["capture"]).minus(totals["release"]);
    assert_eq!(a.credited, totals["credit"], "credits match the ledger");
    assert_eq!(a.spent, totals["capture"], "captures match the ledger");
    assert_eq!(a.held, open_holds, "open holds match the ledger");
    assert_eq!(a.balance, a.credited.minus(a.spent).minus(a.held), "balance = credits - captures - open holds");
    assert_keys_balanced(store, acct).await;
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
    let end = Terminal::Completed {
        result: result(5000),
        credits_used: Usd(2_000_000),
        files_expire_at: NOW + 1,
        upstream_cost: None,
    };
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
    let complete = Terminal::Completed {
        result: result(5000),
        credits_used: Usd(2_000_000),
        files_expire_at: NOW,
        upstream_cost: None,
    };
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
    let end = Terminal::Completed {
        result: result(4000),
        credits_used: Usd(1_600_000),
        files_expire_at: NOW + 99,
        upstream_cost: None,
    };
    let done = store.finish(&task.id, Some(c.token), end, NOW + 5).await.unwrap().unwrap();
    assert_eq!((done.status, done.credits_used, done.progress), (TaskStatus::Completed, Usd(1_600_000), 100));
    assert_eq!(done.result.as_ref().unwrap().billed_ms, 4000);
    assert_eq!(done.files_expire_at, Some(NOW + 99));
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held, a.spent), (Usd(8_400_000), Usd::ZERO, Usd(1_600_000)));
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn a_measured_upstream_cost_replaces_the_estimate_at_completion_only(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let mut estimated = new_task(&acct, &key, 2_000_000, None);
    estimated.upstream_cost = Usd(900_000);
    let measured = created(&store, estimated.clone()).await;
    let c = claim_one(&store, NOW).await;
    let end = Terminal::Completed {
        result: result(5000),
        credits_used: Usd(2_000_000),
        files_expire_at: NOW + 99,
        upstream_cost: Some(Usd(261_360)),
    };
    let done = store.finish(&measured.id, Some(c.token), end, NOW + 5).await.unwrap().unwrap();
    assert_eq!(done.upstream_cost, Usd(261_360), "the measured cost is recorded");
    assert_eq!(store.task(&measured.id).await.unwrap().unwrap().upstream_cost, Usd(261_360));
    let kept = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW + 10).await;
    let end = Terminal::Completed {
        result: result(5000),
        credits_used: Usd(2_000_000),
        files_expire_at: NOW + 99,
        upstream_cost: None,
    };
    let done = store.finish(&kept.id, Some(c.token), end, NOW + 15).await.unwrap().unwrap();
    assert_eq!(done.upstream_cost, kept.upstream_cost, "without a measurement the estimate stays");
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
    assert_eq!(in_flight_by_provider(&store).await, vec![("sandbox".to_owned(), 1)]);
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
    assert_eq!(store.key_status(&key, NOW).await.unwrap().unwrap().in_flight, 2);
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
    let end = Terminal::Completed {
        result: result(5000),
        credits_used: Usd(1),
        files_expire_at: NOW + 1000,
        upstream_cost: None,
    };
    let done = store.finish(&task.id, Some(c.token), end, NOW).await.unwrap().unwrap();
    assert!(due_for_removal(&store, NOW + 999, 10).await.is_empty());
    assert_eq!(due_for_removal(&store, NOW + 1000, 10).await, vec![task.id.clone()]);
    store.mark_files_expired(&task.id).await.unwrap();
    let t = store.task(&task.id).await.unwrap().unwrap();
    assert!(t.files_expired);
    assert_eq!(t.version, done.version + 1);
    assert!(due_for_removal(&store, NOW + 5000, 10).await.is_empty());
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

pub async fn guide_images_are_kept_with_the_task_in_order_with_their_roles(store: Arc<dyn Store>) {
    use vidgate_domain::request::GuideRole;
    let (acct, key) = account_with(&store, 10_000_000).await;
    let image = |n: u8| SourceImage { mime: "image/png".into(), sha256: format!("sha{n}"), bytes: vec![0x89, n] };
    let guides = [(GuideRole::LastFrame, 1), (GuideRole::Style, 2), (GuideRole::Asset, 3)]
        .map(|(role, n)| GuideImage { role, image: image(n) })
        .to_vec();
    let mut t = new_task(&acct, &key, 1, None);
    t.guide_images = guides.clone();
    let task = created(&store, t).await;
    assert_eq!(store.guide_images(&task.id).await.unwrap(), guides);
    let plain = created(&store, new_task(&acct, &key, 1, None)).await;
    assert_eq!(store.guide_images(&plain.id).await.unwrap(), []);
}

/// A finished (failed) task of a fresh account whose callback goes to `url`; returns it.
async fn finished_with_callback(store: &Arc<dyn Store>, url: Option<&str>, at: Millis) -> Task {
    let (acct, key) = account_with(store, 10_000_000).await;
    let mut t = new_task(&acct, &key, 1_000_000, None);
    t.params.callback_url = url.map(str::to_owned);
    let task = created(store, t).await;
    let end = Terminal::Failed { code: TaskErrorCode::UpstreamError, message: "x".into(), possible_orphan: false };
    store.finish(&task.id, None, end, at).await.unwrap().unwrap()
}

fn attempt(at: Millis, status: Option<u16>, outcome: AttemptOutcome) -> WebhookAttempt {
    let error = if status.is_none() { Some("timeout".to_owned()) } else { None };
    WebhookAttempt { attempted_at: at, http_status: status, error, duration_ms: 7, outcome }
}

async fn claim_webhooks(store: &Arc<dyn Store>, now: Millis) -> Vec<ClaimedWebhook> {
    store.claim_webhooks("w1", now, 10_000, 10).await.unwrap()
}

pub async fn the_webhook_message_is_written_with_the_terminal_transition(store: Arc<dyn Store>) {
    let task = finished_with_callback(&store, Some("https://hooks.example.com/a"), NOW + 5).await;
    let silent = finished_with_callback(&store, None, NOW + 5).await;
    // a later terminal move loses and writes no second message
    assert!(
        store
            .finish(&task.id, None, Terminal::Cancelled { charge_if_running: false }, NOW + 6)
            .await
            .unwrap()
            .is_none()
    );
    let found = store.webhook_deliveries(&task.id).await.unwrap();
    assert_eq!(found.len(), 1);
    let m = &found[0].message;
    assert!(m.id.starts_with("msg_"), "{}", m.id);
    assert_eq!(
        (&m.task_id, &m.account_id, m.url.as_str()),
        (&task.id, &task.account_id, "https://hooks.example.com/a")
    );
    assert_eq!(
        (m.state, m.attempts, m.next_run_at, m.created_at, m.finished_at),
        (WebhookState::Pending, 0, NOW + 5, NOW + 5, None)
    );
    assert!(found[0].attempts.is_empty());
    assert!(store.webhook_deliveries(&silent.id).await.unwrap().is_empty(), "no callback_url, no message");
    assert!(claim_webhooks(&store, NOW + 4).await.is_empty(), "not due before the transition");
    let claimed = claim_webhooks(&store, NOW + 5).await;
    assert_eq!(claimed.iter().map(|c| c.message.id.as_str()).collect::<Vec<_>>(), [m.id.as_str()]);
}

pub async fn a_webhook_claim_leases_and_a_stale_token_cannot_record(store: Arc<dyn Store>) {
    let task = finished_with_callback(&store, Some("https://hooks.example.com/a"), NOW).await;
    let first = claim_webhooks(&store, NOW).await.remove(0);
    assert!(claim_webhooks(&store, NOW + 1).await.is_empty(), "a leased message is not claimed twice");
    // the lease (10 s) expires; another process takes over with a higher token
    let second = store.claim_webhooks("w2", NOW + 10_001, 10_000, 10).await.unwrap().remove(0);
    assert_eq!(second.message.id, first.message.id);
    assert!(second.token > first.token);
    let stale = store.record_webhook_attempt(
        &first.message.id,
        first.token,
        attempt(NOW + 2, Some(200), AttemptOutcome::Delivered),
    );
    assert!(!stale.await.unwrap(), "a stale token cannot record");
    let d = &store.webhook_deliveries(&task.id).await.unwrap()[0];
    assert_eq!(
        (d.message.state, d.message.attempts, d.attempts.len()),
        (WebhookState::Pending, 0, 0),
        "nothing written"
    );
    let fresh = attempt(NOW + 10_002, Some(200), AttemptOutcome::Delivered);
    assert!(store.record_webhook_attempt(&second.message.id, second.token, fresh).await.unwrap());
    let d = &store.webhook_deliveries(&task.id).await.unwrap()[0];
    assert_eq!(
        (d.message.state, d.message.attempts, d.message.finished_at),
        (WebhookState::Delivered, 1, Some(NOW + 10_002))
    );
}

pub async fn a_finished_webhook_is_never_claimed_again(store: Arc<dyn Store>) {
    let delivered = finished_with_callback(&store, Some("https://hooks.example.com/a"), NOW).await;
    let gone = finished_with_callback(&store, Some("https://hooks.example.com/b"), NOW).await;
    let claimed = claim_webhooks(&store, NOW).await;
    assert_eq!(claimed.len(), 2);
    for c in &claimed {
        let outcome =
            if c.message.task_id == delivered.id { AttemptOutcome::Delivered } else { AttemptOutcome::GaveUp };
        let status = if outcome == AttemptOutcome::Delivered { 204 } else { 410 };
        assert!(
            store
                .record_webhook_attempt(&c.message.id, c.token, attempt(NOW + 1, Some(status), outcome))
                .await
                .unwrap()
        );
        // the same lease cannot record a second attempt on a finished message
        let again = attempt(NOW + 2, Some(200), AttemptOutcome::Delivered);
        assert!(!store.record_webhook_attempt(&c.message.id, c.token, again).await.unwrap());
    }
    assert!(claim_webhooks(&store, NOW + 100_000_000).await.is_empty(), "finished messages are never claimed");
    let d = &store.webhook_deliveries(&delivered.id).await.unwrap()[0];
    let g = &store.webhook_deliveries(&gone.id).await.unwrap()[0];
    assert_eq!((d.message.state, d.message.attempts, d.attempts.len()), (WebhookState::Delivered, 1, 1));
    assert_eq!((g.message.state, g.message.attempts, g.attempts.len()), (WebhookState::Failed, 1, 1));
    assert_eq!(
        (g.attempts[0].http_status, g.attempts[0].delivered, g.attempts[0].next_retry_at),
        (Some(410), false, None)
    );
}

pub async fn webhook_attempts_list_in_order_and_retries_wait_their_turn(store: Arc<dyn Store>) {
    let task = finished_with_callback(&store, Some("https://hooks.example.com/a"), NOW).await;
    let mut now = NOW;
    for (i, status) in [Some(500), None].into_iter().enumerate() {
        let c = claim_webhooks(&store, now).await.remove(0);
        assert_eq!(c.message.attempts, i as u32);
        let retry_at = now + 1000;
        assert!(
            store
                .record_webhook_attempt(
                    &c.message.id,
                    c.token,
                    attempt(now, status, AttemptOutcome::Retry { at: retry_at })
                )
                .await
                .unwrap()
        );
        assert!(claim_webhooks(&store, retry_at - 1).await.is_empty(), "a retry is not due before its time");
        now = retry_at;
    }
    let c = claim_webhooks(&store, now).await.remove(0);
    assert!(
        store
            .record_webhook_attempt(&c.message.id, c.token, attempt(now, Some(200), AttemptOutcome::Delivered))
            .await
            .unwrap()
    );
    let d = store.webhook_deliveries(&task.id).await.unwrap().remove(0);
    let expected = vec![
        WebhookAttemptRecord {
            attempt: 1,
            attempted_at: NOW,
            delivered: false,
            http_status: Some(500),
            error: None,
            duration_ms: 7,
            next_retry_at: Some(NOW + 1000),
        },
        WebhookAttemptRecord {
            attempt: 2,
            attempted_at: NOW + 1000,
            delivered: false,
            http_status: None,
            error: Some("timeout".into()),
            duration_ms: 7,
            next_retry_at: Some(NOW + 2000),
        },
        WebhookAttemptRecord {
            attempt: 3,
            attempted_at: NOW + 2000,
            delivered: true,
            http_status: Some(200),
            error: None,
            duration_ms: 7,
            next_retry_at: None,
        },
    ];
    assert_eq!(d.attempts, expected);
    assert_eq!((d.message.state, d.message.attempts), (WebhookState::Delivered, 3));
}

pub async fn released_webhook_leases_are_claimable_at_once(store: Arc<dyn Store>) {
    finished_with_callback(&store, Some("https://hooks.example.com/a"), NOW).await;
    let first = claim_webhooks(&store, NOW).await.remove(0);
    assert_eq!(store.release_webhook_leases("someone-else").await.unwrap(), 0);
    assert_eq!(store.release_webhook_leases("w1").await.unwrap(), 1);
    let again = store.claim_webhooks("w2", NOW + 1, 10_000, 10).await.unwrap();
    assert_eq!(again.len(), 1, "claimable before the old lease would have expired");
    assert!(again[0].token > first.token);
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

pub async fn listings_page_in_both_orders(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(created(&store, new_task(&acct, &key, 1, None)).await.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let page = |order, after: Option<&TaskId>| {
        let f =
            TaskFilter { account_id: Some(acct.clone()), limit: 2, after: after.cloned(), order, ..Default::default() };
        let store = store.clone();
        async move { store.tasks(&f).await.unwrap().into_iter().map(|t| t.id).collect::<Vec<_>>() }
    };
    assert_eq!(page(ListOrder::OldestFirst, None).await, vec![ids[0].clone(), ids[1].clone()], "oldest first");
    assert_eq!(page(ListOrder::OldestFirst, Some(&ids[1])).await, vec![ids[2].clone(), ids[3].clone()]);
    assert_eq!(page(ListOrder::OldestFirst, Some(&ids[3])).await, vec![ids[4].clone()]);
    assert_eq!(page(ListOrder::NewestFirst, Some(&ids[2])).await, vec![ids[1].clone(), ids[0].clone()]);
}

pub async fn deleted_tasks_vanish_from_every_read(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let task = created(&store, new_task(&acct, &key, 1_000_000, Some("job-d"))).await;
    assert!(!store.delete_task(&task.id, NOW).await.unwrap(), "an open task is not deleted");
    let c = claim_one(&store, NOW).await;
    let end = Terminal::Completed {
        result: result(5000),
        credits_used: Usd(1_000_000),
        files_expire_at: NOW + 1000,
        upstream_cost: None,
    };
    store.finish(&task.id, Some(c.token), end, NOW).await.unwrap().unwrap();
    assert!(store.delete_task(&task.id, NOW + 1).await.unwrap());
    assert!(!store.delete_task(&task.id, NOW + 2).await.unwrap(), "a second delete finds nothing");
    assert_eq!(store.task(&task.id).await.unwrap(), None);
    assert_eq!(store.task_by_out_id(&acct, Mode::Live, "job-d").await.unwrap(), None);
    let f = TaskFilter { account_id: Some(acct.clone()), limit: 100, ..Default::default() };
    assert!(store.tasks(&f).await.unwrap().is_empty());
    assert_eq!(due_for_removal(&store, NOW + 1000, 10).await, vec![task.id.clone()], "swept as usual");
    let mut again = new_task(&acct, &key, 1_000_000, Some("job-d"));
    again.fingerprint = "fp-other".into();
    let again = created(&store, again).await;
    assert_eq!(store.task_by_out_id(&acct, Mode::Live, "job-d").await.unwrap().map(|t| t.id), Some(again.id));
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.spent, a.held), (Usd(1_000_000), Usd(1_000_000)), "deleting moves no money");
    assert_ledger_balanced(&store, &acct).await;
    assert!(!store.delete_task(&TaskId::generate(), NOW).await.unwrap(), "an unknown task");
}

/// Every key of the account commits (holds − releases in its ledger entries) what the
/// store's running total for it says.
async fn assert_keys_balanced(store: &Arc<dyn Store>, acct: &AccountId) {
    let entries = store.ledger_entries(acct, None, u32::MAX).await.unwrap();
    for key in store.keys(Some(acct)).await.unwrap() {
        let signed = |e: &LedgerEntry| match e.kind {
            LedgerKind::Hold => e.amount.micros(),
            LedgerKind::Release => -e.amount.micros(),
            _ => 0,
        };
        let from_ledger: i64 = entries.iter().filter(|e| e.key_id.as_ref() == Some(&key.id)).map(signed).sum();
        let status = store.key_status(&key.id, NOW).await.unwrap().unwrap();
        assert_eq!(status.committed, Usd(from_ledger), "the key's running total matches its ledger entries");
    }
}

pub async fn a_debit_never_takes_the_balance_below_zero(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    created(&store, new_task(&acct, &key, 4_000_000, None)).await;
    let refused = store.add_credit(&acct, Usd(-6_000_001), "too much", NOW).await.unwrap_err();
    assert!(matches!(refused, StoreError::InsufficientBalance { available: Usd(6_000_000) }), "{refused:?}");
    let a = store.add_credit(&acct, Usd(-6_000_000), "refund", NOW + 1).await.unwrap();
    assert_eq!((a.balance, a.held, a.credited), (Usd::ZERO, Usd(4_000_000), Usd(4_000_000)));
    let missing = store.add_credit(&AccountId::generate(), Usd(1), "x", NOW).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound), "{missing:?}");
    let entries = store.ledger_entries(&acct, None, 100).await.unwrap();
    let kinds: Vec<(LedgerKind, Usd)> = entries.iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(
        kinds,
        [
            (LedgerKind::Credit, Usd(10_000_000)),
            (LedgerKind::Hold, Usd(4_000_000)),
            (LedgerKind::Credit, Usd(-6_000_000))
        ],
        "the refused debit left no entry"
    );
    assert_eq!((entries[2].note.as_str(), entries[2].created_at), ("refund", NOW + 1));
    let page = store.ledger_entries(&acct, Some(entries[0].id), 1).await.unwrap();
    assert_eq!(page, entries[1..2].to_vec(), "paging by entry id");
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn key_status_counts_what_a_key_commits_per_window(store: Arc<dyn Store>) {
    const H: Millis = 3_600_000;
    let (acct, key) = account_with(&store, 100_000_000).await;
    let at = |t: Millis, est: i64| {
        let mut task = new_task(&acct, &key, est, None);
        task.created_at = t;
        task
    };
    let settled = created(&store, at(NOW - 6 * H, 2_000_000)).await;
    let end = Terminal::Completed {
        result: result(2500),
        credits_used: Usd(1_000_000),
        files_expire_at: NOW,
        upstream_cost: None,
    };
    store.finish(&settled.id, None, end, NOW - 5 * H).await.unwrap().unwrap();
    let failed = created(&store, at(NOW - 48 * H, 5_000_000)).await;
    let fail = Terminal::Failed { code: TaskErrorCode::Timeout, message: "late".into(), possible_orphan: false };
    store.finish(&failed.id, None, fail, NOW - 47 * H).await.unwrap().unwrap();
    created(&store, at(NOW - H, 3_000_000)).await;
    // (a key has one mode; the store must still count only live money)
    let mut test_task = new_task(&acct, &key, 9_000_000, None);
    test_task.mode = Mode::Test;
    created(&store, test_task).await;

    let s = store.key_status(&key, NOW).await.unwrap().unwrap();
    assert_eq!((s.committed, s.in_flight), (Usd(4_000_000), 2), "test tasks count in flight, never in money");
    let w: Vec<(&str, Usd, Option<Millis>)> = s.windows.iter().map(|w| (w.name, w.used, w.oldest_at)).collect();
    assert_eq!(
        w,
        [
            ("5h", Usd(3_000_000), Some(NOW - H)),
            ("1d", Usd(4_000_000), Some(NOW - 6 * H)),
            ("7d", Usd(4_000_000), Some(NOW - 6 * H)),
        ],
        "a failed task commits nothing and never holds a window"
    );
    assert_eq!(s.window("5h").unwrap().frees_at(), Some(NOW + 4 * H));
    assert!(store.key_status(&KeyId::generate(), NOW).await.unwrap().is_none());
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn a_spend_window_frees_up_when_enough_spend_leaves_it(store: Arc<dyn Store>) {
    const H: Millis = 3_600_000;
    let (acct, key) = account_with(&store, 100_000_000).await;
    for (t, est) in [(NOW - 4 * H, 1_000_000), (NOW - 3 * H, 2_000_000)] {
        let mut task = new_task(&acct, &key, est, None);
        task.created_at = t;
        created(&store, task).await;
    }
    let checks =
        SubmitChecks { spend: SpendLimits { h5: Some(Usd(3_500_000)), ..Default::default() }, ..Default::default() };
    // 3 + 2 > 3.5: the oldest leaving (in 1 h) is not enough, the second (in 2 h) is
    let refused = store.submit(new_task(&acct, &key, 2_000_000, None), checks.clone()).await.unwrap();
    assert!(
        matches!(refused, SubmitOutcome::SpendWindowExceeded { window: "5h", resets_at } if resets_at == NOW + 2 * H),
        "{refused:?}"
    );
    let alone = store.submit(new_task(&acct, &key, 4_000_000, None), checks.clone()).await.unwrap();
    assert!(
        matches!(alone, SubmitOutcome::SpendWindowExceeded { window: "5h", resets_at } if resets_at == NOW + 5 * H),
        "a task over the cap by itself: {alone:?}"
    );
    let fits = store.submit(new_task(&acct, &key, 500_000, None), checks).await.unwrap();
    assert!(matches!(fits, SubmitOutcome::Created(_)), "exactly at the cap is allowed: {fits:?}");
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn usage_rolls_up_charged_tasks_by_day_model_key_and_mode(store: Arc<dyn Store>) {
    const H: Millis = 3_600_000;
    let (acct, key) = account_with(&store, 100_000_000).await;
    let day = NOW / DAY_MS;
    // cancelled while running under `charge`: billed as requested, on the day of the cancel
    let running = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW).await;
    let step = StepUpdate { status: Some(TaskStatus::Running), next_run_at: NOW + 1000, ..Default::default() };
    assert!(store.save_step(&running.id, c.token, step, NOW).await.unwrap());
    let charge = Terminal::Cancelled { charge_if_running: true };
    store.finish(&running.id, None, charge.clone(), (day + 1) * DAY_MS + H).await.unwrap().unwrap();
    let complete = |ms: u64, usd: i64| Terminal::Completed {
        result: result(ms),
        credits_used: Usd(usd),
        files_expire_at: NOW,
        upstream_cost: None,
    };
    let short = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    store.finish(&short.id, None, complete(4000, 1_600_000), NOW + H).await.unwrap().unwrap();
    let mut other_model = new_task(&acct, &key, 1_000_000, None);
    other_model.model = "sora2".into();
    let other_model = created(&store, other_model).await;
    store.finish(&other_model.id, None, complete(5000, 1_000_000), NOW + 2 * H).await.unwrap().unwrap();
    let failed = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let fail = Terminal::Failed { code: TaskErrorCode::UpstreamError, message: "x".into(), possible_orphan: false };
    store.finish(&failed.id, None, fail, NOW + 3 * H).await.unwrap().unwrap();
    let queued = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    store.finish(&queued.id, None, charge, NOW + 3 * H).await.unwrap().unwrap();
    let test_key = new_key(&acct, Mode::Test);
    let test_key_id = test_key.id.clone();
    store.create_key(test_key, NOW).await.unwrap();
    let mut test_task = new_task(&acct, &test_key_id, 2_000_000, None);
    test_task.mode = Mode::Test;
    let test_task = created(&store, test_task).await;
    store.finish(&test_task.id, None, complete(5000, 2_000_000), (day + 1) * DAY_MS + 2 * H).await.unwrap().unwrap();

    let query = |group: UsageGrouping| UsageQuery {
        since: day * DAY_MS,
        until: (day + 2) * DAY_MS,
        account_id: Some(acct.clone()),
        group,
        ..Default::default()
    };
    let rows = store.usage(&query(UsageGrouping { day: true, mode: true, ..Default::default() })).await.unwrap();
    let got: Vec<_> = rows.iter().map(|r| (r.day, r.mode, r.tasks, r.billed_ms, r.usd)).collect();
    assert_eq!(
        got,
        [
            (Some(day), Some(Mode::Live), 2, 9000, Usd(2_600_000)),
            (Some(day + 1), Some(Mode::Live), 1, 5000, Usd(2_000_000)),
            (Some(day + 1), Some(Mode::Test), 1, 5000, Usd(2_000_000)),
        ],
        "failed and free cancels are not usage"
    );
    let rows = store.usage(&query(UsageGrouping { model: true, key: true, ..Default::default() })).await.unwrap();
    let got: Vec<(Option<&str>, Option<&KeyId>, u64, Usd)> =
        rows.iter().map(|r| (r.model.as_deref(), r.key_id.as_ref(), r.tasks, r.usd)).collect();
    let mut expected = vec![
        (Some("sora2"), Some(&key), 1, Usd(1_000_000)),
        (Some("veo3.1"), Some(&key), 2, Usd(3_600_000)),
        (Some("veo3.1"), Some(&test_key_id), 1, Usd(2_000_000)),
    ];
    expected.sort();
    assert_eq!(got, expected);
    let live = UsageQuery { mode: Some(Mode::Live), ..query(UsageGrouping::default()) };
    let total = store.usage(&live).await.unwrap();
    let captures = ledger_totals(&store, &acct).await.into_iter().find(|(k, _)| *k == LedgerKind::Capture).unwrap().1;
    assert_eq!(
        (total.len(), total[0].usd, total[0].tasks, total[0].day),
        (1, captures, 3, None),
        "live usage = captures"
    );
    let second_day = UsageQuery { since: (day + 1) * DAY_MS, ..query(UsageGrouping::default()) };
    assert_eq!(store.usage(&second_day).await.unwrap()[0].tasks, 2, "since is inclusive, by capture time");
    let before = UsageQuery { until: NOW + H, ..query(UsageGrouping::default()) };
    assert!(store.usage(&before).await.unwrap().is_empty(), "until is exclusive");
    let other = UsageQuery { account_id: Some(AccountId::generate()), ..query(UsageGrouping::default()) };
    assert!(store.usage(&other).await.unwrap().is_empty());
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn a_reroute_moves_a_submit_to_the_next_route_and_only_before_acceptance(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let t = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW).await;
    assert!(store.mark_submitting(&t.id, c.token).await.unwrap());
    let to = |provider: &str| Reroute {
        provider: provider.into(),
        plan: vidgate_domain::plan::TaskPlan { current: 1, routes: Vec::new() },
        upstream_cost: Usd(1_200_000),
        next_run_at: NOW + 5,
    };
    assert!(!store.reroute(&t.id, c.token + 1, to("stale"), NOW).await.unwrap(), "a stale token changes nothing");
    assert!(store.reroute(&t.id, c.token, to("second"), NOW).await.unwrap());
    let moved = store.task(&t.id).await.unwrap().unwrap();
    assert_eq!(moved.provider, "second");
    assert_eq!(moved.plan, vidgate_domain::plan::TaskPlan { current: 1, routes: Vec::new() });
    assert_eq!(moved.upstream_cost, Usd(1_200_000));
    assert_eq!((moved.submitting, moved.submit_attempts, moved.phase), (false, 0, Phase::Submit));
    assert_eq!(moved.estimated, Usd(2_000_000), "the hold is untouched");
    let c = claim_one(&store, NOW + 5).await;
    assert_eq!(c.task.provider, "second", "the lease was released and the task is due on its new route");
    let update = StepUpdate {
        phase: Some(Phase::Poll),
        upstream_job: Some("job-1".into()),
        next_run_at: NOW + 10,
        ..Default::default()
    };
    assert!(store.save_step(&t.id, c.token, update, NOW + 5).await.unwrap());
    let c = claim_one(&store, NOW + 10).await;
    assert!(!store.reroute(&t.id, c.token, to("third"), NOW + 10).await.unwrap(), "an accepted job never moves");
    assert_eq!(store.task(&t.id).await.unwrap().unwrap().provider, "second");
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn concurrent_submits_never_overspend(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_004).await;
    let capped = new_key(&acct, Mode::Live);
    let capped_id = capped.id.clone();
    store.create_key(capped, NOW).await.unwrap();
    // 30 submits of $1 race for $10; 12 more of 1 µ$, on a key with 4 slots, race for those
    let mut handles = Vec::new();
    for i in 0..42 {
        let (store, acct) = (store.clone(), acct.clone());
        let (key, checks, est) = if i < 30 {
            (key.clone(), SubmitChecks::default(), 1_000_000)
        } else {
            (capped_id.clone(), SubmitChecks { concurrency: Some(4), ..Default::default() }, 1)
        };
        handles
            .push(tokio::spawn(async move { store.submit(new_task(&acct, &key, est, None), checks).await.unwrap() }));
    }
    let mut outcomes = BTreeMap::new();
    for h in handles {
        let name = match h.await.unwrap() {
            SubmitOutcome::Created(t) if t.key_id == capped_id => "created on the capped key",
            SubmitOutcome::Created(_) => "created",
            SubmitOutcome::InsufficientBalance { .. } => "insufficient balance",
            SubmitOutcome::ConcurrencyLimit { limit: 4 } => "concurrency limit",
            other => panic!("unexpected {other:?}"),
        };
        *outcomes.entry(name).or_insert(0) += 1;
    }
    let expected =
        [("concurrency limit", 8), ("created", 10), ("created on the capped key", 4), ("insufficient balance", 20)];
    assert_eq!(outcomes, BTreeMap::from(expected));
    let a = store.account(&acct).await.unwrap().unwrap();
    assert_eq!((a.balance, a.held), (Usd::ZERO, Usd(10_000_004)), "ten holds of $1 and four of 1 µ$, no more");
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn concurrent_claims_never_share_a_task_or_exceed_a_cap(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 100_000_000).await;
    for _ in 0..40 {
        created(&store, new_task(&acct, &key, 1, None)).await;
    }
    // eight workers at once, five steps each, under a cap of six jobs in flight
    let claim_all = |now: Millis| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.claim(&format!("w{i}"), now, 60_000, 5, &caps(6)).await.unwrap() })
            })
            .collect();
        async move {
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.await.unwrap());
            }
            all
        }
    };
    let submits = claim_all(NOW).await;
    let ids: std::collections::HashSet<_> = submits.iter().map(|c| c.task.id.clone()).collect();
    assert_eq!((submits.len(), ids.len()), (6, 6), "six submits, each claimed once");
    for c in &submits {
        let step = StepUpdate { phase: Some(Phase::Poll), next_run_at: NOW + 1, ..Default::default() };
        assert!(store.save_step(&c.task.id, c.token, step, NOW).await.unwrap());
    }
    // the six jobs still fill the cap: only their polls are claimed, each once
    let polls = claim_all(NOW + 1).await;
    let poll_ids: std::collections::HashSet<_> = polls.iter().map(|c| c.task.id.clone()).collect();
    assert_eq!((polls.len(), poll_ids), (6, ids), "the six polls, each claimed once");
    assert!(polls.iter().all(|c| c.task.phase == Phase::Poll));
}

pub async fn concurrent_retention_sweeps_take_disjoint_batches(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..6 {
        ids.insert(created(&store, new_task(&acct, &key, 1, None)).await.id);
    }
    for c in store.claim("w1", NOW, 60_000, 10, &caps(100)).await.unwrap() {
        let end = Terminal::Completed {
            result: result(5000),
            credits_used: Usd(1),
            files_expire_at: NOW + 1000,
            upstream_cost: None,
        };
        store.finish(&c.task.id, Some(c.token), end, NOW).await.unwrap().expect("completed");
    }
    assert!(store.claim_files_for_removal(NOW + 999, 60_000, 10).await.unwrap().is_empty(), "not due yet");
    // three sweepers at once, two tasks each
    let sweeps: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_files_for_removal(NOW + 1000, 60_000, 2).await.unwrap() })
        })
        .collect();
    let mut swept = Vec::new();
    for s in sweeps {
        let batch = s.await.unwrap();
        assert_eq!(batch.len(), 2, "{batch:?}");
        swept.extend(batch);
    }
    assert_eq!(swept.iter().cloned().collect::<std::collections::BTreeSet<_>>(), ids, "each task in one batch");
    assert_eq!(swept.len(), 6);
    assert!(store.claim_files_for_removal(NOW + 2000, 60_000, 10).await.unwrap().is_empty(), "held batches");
    // a sweeper that died leaves its tasks to the next one after the lease; removed ones stay removed
    store.mark_files_expired(&swept[0]).await.unwrap();
    let again = store.claim_files_for_removal(NOW + 61_001, 60_000, 10).await.unwrap();
    let rest: Vec<TaskId> = ids.iter().filter(|id| **id != swept[0]).cloned().collect();
    assert_eq!(again, rest, "the rest, earliest expiry (then id) first");
}

/// The next announced change, waiting at most ten seconds.
async fn next_change(feed: &mut Box<dyn ChangeFeed>) -> Change {
    tokio::time::timeout(std::time::Duration::from_secs(10), feed.next())
        .await
        .expect("a change is announced within 10 s")
        .expect("the feed is up")
}

pub async fn changes_are_announced_at_commit_and_leases_are_silent(store: Arc<dyn Store>) {
    // A backend without cross-process announcements (SQLite: one process) has nothing to hear.
    let Some(mut feed) = store.listen().await.unwrap() else { return };
    // Far in the future of any wall clock, so a step never makes the task due "now".
    const LATER: Millis = 4_000_000_000_000;
    let (acct, key) = account_with(&store, 10_000_000).await;
    let mut t = new_task(&acct, &key, 1_000_000, None);
    t.params.callback_url = Some("https://example.com/hook".into());
    let task = created(&store, t).await;
    assert_eq!(next_change(&mut feed).await, Change::Due(task.id.clone()));
    let c = store.claim("w1", NOW, 60_000, 1, &caps(100)).await.unwrap().remove(0);
    assert!(store.mark_submitting(&task.id, c.token).await.unwrap());
    assert!(store.heartbeat(&task.id, c.token, NOW + 90_000).await.unwrap());
    let step = StepUpdate {
        phase: Some(Phase::Poll),
        status: Some(TaskStatus::Running),
        progress: Some(40),
        next_run_at: LATER,
        ..Default::default()
    };
    assert!(store.save_step(&task.id, c.token, step, NOW).await.unwrap());
    // the claim, the submit marker and the heartbeat said nothing: the step is next
    assert_eq!(next_change(&mut feed).await, Change::Changed(task.id.clone()));
    let c = store.claim("w1", LATER, 60_000, 1, &caps(100)).await.unwrap().remove(0);
    let end =
        Terminal::Completed { result: result(5000), credits_used: Usd(1), files_expire_at: LATER, upstream_cost: None };
    store.finish(&task.id, Some(c.token), end, LATER).await.unwrap().expect("completed");
    let mut heard = vec![next_change(&mut feed).await, next_change(&mut feed).await];
    heard.sort_by_key(|c| matches!(c, Change::Webhook(_)));
    assert_eq!(heard, vec![Change::Changed(task.id.clone()), Change::Webhook(task.id.clone())]);
}

pub async fn a_submit_that_never_left_is_taken_back_out_of_the_count(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    let t = created(&store, new_task(&acct, &key, 2_000_000, None)).await;
    let c = claim_one(&store, NOW).await;
    assert!(!store.submit_not_sent(&t.id, c.token).await.unwrap(), "no submit is marked");
    assert!(store.mark_submitting(&t.id, c.token).await.unwrap());
    assert!(store.mark_submitting(&t.id, c.token).await.unwrap());
    assert!(!store.submit_not_sent(&t.id, c.token + 1).await.unwrap(), "a stale token changes nothing");
    assert!(store.submit_not_sent(&t.id, c.token).await.unwrap());
    let task = store.task(&t.id).await.unwrap().unwrap();
    assert_eq!((task.submitting, task.submit_attempts, task.phase), (false, 1, Phase::Submit));
    assert!(!store.submit_not_sent(&t.id, c.token).await.unwrap(), "taken back once");
    assert_eq!(store.task(&t.id).await.unwrap().unwrap().submit_attempts, 1);
    assert_ledger_balanced(&store, &acct).await;
}

pub async fn a_start_up_reclaim_gives_back_every_lease_or_touches_none(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 10_000_000).await;
    for _ in 0..2 {
        created(&store, new_task(&acct, &key, 1_000_000, None)).await;
    }
    let dead = store.claim("dead", NOW, 60_000, 5, &caps(100)).await.unwrap();
    assert_eq!(dead.len(), 2);
    finished_with_callback(&store, Some("https://hooks.example.com/a"), NOW).await;
    let hook = claim_webhooks(&store, NOW).await;
    assert_eq!(hook.len(), 1);
    let expired = created(&store, new_task(&acct, &key, 1_000_000, None)).await;
    let end = Terminal::Completed {
        result: result(5_000),
        credits_used: Usd(1_000_000),
        files_expire_at: NOW,
        upstream_cost: None,
    };
    store.finish(&expired.id, None, end, NOW).await.unwrap().expect("completed");
    assert_eq!(store.claim_files_for_removal(NOW, 600_000, 10).await.unwrap(), vec![expired.id.clone()]);

    let released = store.reclaim_stale_leases_at_startup().await.unwrap();
    // One second later: every lease above would still be live for minutes.
    let later = NOW + 1_000;
    let tasks = store.claim("restarted", later, 60_000, 5, &caps(100)).await.unwrap();
    let hooks = store.claim_webhooks("restarted", later, 10_000, 10).await.unwrap();
    let sweeps = store.claim_files_for_removal(later, 600_000, 10).await.unwrap();
    match released {
        Some(n) => {
            assert_eq!(n, 4, "two task steps, one webhook attempt, one retention batch");
            let mut ids: Vec<_> = tasks.iter().map(|c| c.task.id.clone()).collect();
            ids.sort();
            let mut was: Vec<_> = dead.iter().map(|c| c.task.id.clone()).collect();
            was.sort();
            assert_eq!(ids, was, "both tasks are due again at once");
            assert!(tasks.iter().all(|c| dead.iter().any(|d| d.task.id == c.task.id && c.token > d.token)));
            assert_eq!((hooks.len(), sweeps), (1, vec![expired.id.clone()]));
            let stale = StepUpdate { next_run_at: later, ..Default::default() };
            assert!(!store.save_step(&dead[0].task.id, dead[0].token, stale, later).await.unwrap(), "old token lost");
        }
        None => {
            assert_eq!((tasks.len(), hooks.len(), sweeps.len()), (0, 0, 0), "live leases stay with their holder");
            assert!(store.heartbeat(&dead[0].task.id, dead[0].token, later + 60_000).await.unwrap());
        }
    }
    assert_ledger_balanced(&store, &acct).await;
}

fn audit(action: &str, target: &str, at: Millis) -> NewAudit {
    NewAudit {
        actor: "admin".into(),
        action: action.into(),
        target_id: target.into(),
        changes: serde_json::json!({"n": at}),
        at,
    }
}

pub async fn accounts_list_newest_first_filtered_by_name_and_paged(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for name in ["alpha one", "beta", "Alpha two", "alpha three"] {
        let id = AccountId::generate();
        store.create_account(&id, name, "whsec_x", NOW).await.unwrap();
        ids.push(id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let names = |v: Vec<Account>| v.into_iter().map(|a| a.name).collect::<Vec<_>>();
    let all = store.accounts(&AccountFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(names(all), ["alpha three", "Alpha two", "beta", "alpha one"]);
    let mut f = AccountFilter { name_contains: Some("alpha".into()), limit: 1, after: None };
    let page1 = store.accounts(&f).await.unwrap();
    assert_eq!(page1.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), [ids[3].clone()], "case-sensitive");
    f.after = Some(ids[3].clone());
    assert_eq!(names(store.accounts(&f).await.unwrap()), ["alpha one"]);
    f.after = Some(ids[0].clone());
    assert!(store.accounts(&f).await.unwrap().is_empty());
    let none = AccountFilter { name_contains: Some("%".into()), limit: 10, after: None };
    assert!(store.accounts(&none).await.unwrap().is_empty(), "no pattern characters");
    assert!(!store.account(&ids[0]).await.unwrap().unwrap().suspended, "accounts start active");
}

pub async fn account_and_key_changes_are_written_with_their_audit_entry(store: Arc<dyn Store>) {
    let (acct, key) = account_with(&store, 5_000_000).await;
    let update = AccountUpdate { name: "renamed".into(), suspended: true };
    let a = store.update_account(&acct, update.clone(), audit("account.update", acct.as_str(), NOW)).await.unwrap();
    let a = a.expect("known account");
    assert_eq!((a.name.as_str(), a.suspended, a.balance), ("renamed", true, Usd(5_000_000)));
    assert!(store.account(&acct).await.unwrap().unwrap().suspended);
    let unknown = AccountId::generate();
    let none = store.update_account(&unknown, update, audit("account.update", unknown.as_str(), NOW)).await;
    assert_eq!(none.unwrap(), None);

    assert!(!store.key(&key).await.unwrap().unwrap().disabled, "keys start enabled");
    let limits = KeyLimits {
        quota: Some(Usd(7_000_000)),
        spend: SpendLimits { h5: Some(Usd(1_000_000)), d1: None, d7: Some(Usd(3_500_000)) },
        concurrency: Some(4),
        models: Some(vec!["veo-3.1".into()]),
        expires_at: Some(NOW + 1000),
        ip_allow: vec!["10.0.0.0/8".into()],
    };
    let change = KeyUpdate { name: "ci".into(), disabled: true, limits: limits.clone() };
    let k = store.update_key(&key, change.clone(), audit("key.update", key.as_str(), NOW + 1)).await.unwrap();
    let k = k.expect("known key");
    assert_eq!((k.name.as_str(), k.disabled, &k.limits), ("ci", true, &limits));
    assert_eq!(store.key(&key).await.unwrap().unwrap(), k);
    let back = KeyUpdate { name: "ci".into(), disabled: false, limits: KeyLimits::default() };
    let k = store.update_key(&key, back.clone(), audit("key.update", key.as_str(), NOW + 2)).await.unwrap().unwrap();
    assert_eq!((k.disabled, k.limits), (false, KeyLimits::default()), "limits removed, key enabled");

    store.revoke_key(&key, NOW + 3).await.unwrap();
    let revoked = store.update_key(&key, change, audit("key.update", key.as_str(), NOW + 4)).await.unwrap();
    assert_eq!(revoked, None, "a revoked key cannot change");
    let unknown_key = KeyId::generate();
    let none = store.update_key(&unknown_key, back, audit("key.update", unknown_key.as_str(), NOW)).await.unwrap();
    assert_eq!(none, None);

    let all = store.audit_entries(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    let written: Vec<_> = all.iter().map(|e| (e.action.as_str(), e.target_id.clone(), e.at)).collect();
    assert_eq!(
        written,
        [
            ("key.update", key.to_string(), NOW + 2),
            ("key.update", key.to_string(), NOW + 1),
            ("account.update", acct.to_string(), NOW)
        ],
        "refused changes record nothing"
    );
    assert_eq!(all[0].changes, serde_json::json!({"n": NOW + 2}));
    assert_eq!(all[0].actor, "admin");
}

pub async fn the_audit_list_is_newest_first_filtered_by_target_and_paged(store: Arc<dyn Store>) {
    for i in 0..5 {
        let target = if i % 2 == 0 { "acct_a" } else { "key_b" };
        store.record_audit(audit("account.credit", target, NOW + i)).await.unwrap();
    }
    let all = store.audit_entries(&AuditFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.at).collect::<Vec<_>>(), [NOW + 4, NOW + 3, NOW + 2, NOW + 1, NOW]);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "ids grow with every entry");
    let mut f = AuditFilter { target_id: Some("acct_a".into()), limit: 2, before: None };
    let page1 = store.audit_entries(&f).await.unwrap();
    assert_eq!(page1.iter().map(|e| e.at).collect::<Vec<_>>(), [NOW + 4, NOW + 2]);
    f.before = Some(page1[1].id);
    let page2 = store.audit_entries(&f).await.unwrap();
    assert_eq!(page2.iter().map(|e| (e.at, e.target_id.as_str())).collect::<Vec<_>>(), [(NOW, "acct_a")]);
    assert_eq!(page2[0].changes, serde_json::json!({"n": NOW}));
}

/// Ends a claimed task's job (its slot frees).
async fn end_job(store: &Arc<dyn Store>, c: &Claimed, now: Millis) {
    let end = Terminal::Failed { code: TaskErrorCode::UpstreamError, message: "x".into(), possible_orphan: false };
    assert!(store.finish(&c.task.id, Some(c.token), end, now).await.unwrap().is_some());
}

pub async fn a_contended_cap_goes_to_the_account_holding_fewest_slots(store: Arc<dyn Store>) {
    let (a, ka) = account_with(&store, 100_000_000).await;
    let (b, kb) = account_with(&store, 100_000_000).await;
    let mut a_ids = Vec::new();
    for _ in 0..8 {
        a_ids.push(created(&store, new_task(&a, &ka, 1, None)).await.id);
    }
    a_ids.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    let claim = |now: Millis| {
        let store = store.clone();
        async move { store.claim_batch("w", now, 60_000, 10, &caps(3)).await.unwrap() }
    };
    // alone, a fills the whole cap of three (earliest first)
    let first = claim(NOW).await;
    let ids: Vec<_> = first.claimed.iter().map(|c| c.task.id.clone()).collect();
    assert_eq!(ids, a_ids[..3], "a alone takes the whole cap");
    assert_eq!(first.saturated, ["sandbox"]);
    let mut later = new_task(&b, &kb, 1, None);
    later.created_at = NOW + 10;
    let b0 = created(&store, later.clone()).await.id;
    later.id = TaskId::generate();
    later.created_at = NOW + 11;
    created(&store, later).await;
    // a's submits being sent hold the cap: nothing more is claimed, b's included
    let none = claim(NOW + 20).await;
    assert!(none.claimed.is_empty());
    assert_eq!(none.saturated, ["sandbox"]);
    for c in &first.claimed {
        let step = StepUpdate { phase: Some(Phase::Poll), next_run_at: NOW + 1_000_000, ..Default::default() };
        assert!(store.save_step(&c.task.id, c.token, step, NOW + 20).await.unwrap());
    }
    // a's first job ends: the slot goes to b (holding none), though a's submits waited longer
    end_job(&store, &first.claimed[0], NOW + 30).await;
    let next = claim(NOW + 40).await;
    let ids: Vec<_> = next.claimed.iter().map(|c| c.task.id.clone()).collect();
    assert_eq!(ids, [b0]);
    // a and b now hold one each (and a's third job): at a tie the longest waiting goes first
    end_job(&store, &first.claimed[1], NOW + 50).await;
    let next = claim(NOW + 60).await;
    let ids: Vec<_> = next.claimed.iter().map(|c| c.task.id.clone()).collect();
    assert_eq!(ids, [a_ids[3].clone()], "a holds one and b one: a's submit is due earlier");
    let held = in_flight_by_provider(&store).await;
    assert_eq!(held, vec![("sandbox".to_owned(), 1)], "a's third job in flight; two submits being sent");
    assert!(claim(NOW + 70).await.claimed.is_empty(), "the cap still holds");
}
