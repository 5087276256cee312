//! The money identities as a property: random interleavings of submits, engine steps
//! (start, complete with a random delivered length, fail, deadline timeout, a worker that
//! dies holding its lease), cancels (either policy, queued, running or already over),
//! completion-versus-cancel races, credits and debits, and process restarts (the store is
//! dropped and the same database reopened), across three accounts with a live and a test
//! key each, on SQLite and on PostgreSQL. After every step the store is checked against a model kept here and
//! against its own ledger:
//!
//! - `balance = credits − captures − open holds`, with the running totals equal to the
//!   ledger's sums, per account;
//! - no task settled twice: a live task has one hold, and once terminal at most one capture
//!   and one release that add up to it; an open task has neither;
//! - no failed task captured; test-mode tasks write no ledger entries;
//! - total captures = Σ rate × billed seconds over completed tasks + Σ estimates over tasks
//!   cancelled while running under `charge`;
//! - live usage equals the captures; every task's status and `credits_used` match the model.

use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;
use vidgate_domain::billing;
use vidgate_domain::catalog::Size;
use vidgate_domain::task::{Mode, TaskErrorCode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, TaskId, Usd};
use vidgate_store::testkit::postgres::fresh_database;
use vidgate_store::*;

const START: Millis = 1_800_000_000_000;
const LEASE: Millis = 60_000;
const ACCOUNTS: usize = 3;
const OPENING_CREDIT: Usd = Usd(10_000_000);

#[derive(Clone, Debug)]
enum Op {
    Submit {
        account: usize,
        live: bool,
        seconds: u32,
        rate_micros: i64,
    },
    /// A worker claims a due task and the upstream reports it running.
    Start,
    /// A worker claims a due task and delivers `permille` ‰ of the requested length.
    Complete {
        permille: u64,
    },
    Fail,
    /// The engine's deadline passed.
    Timeout,
    /// A worker claims a task and dies without a word (its lease must expire).
    Abandon,
    Cancel {
        pick: usize,
        charge: bool,
    },
    /// A worker's completion and a client's cancel reach the store at the same time.
    Race {
        permille: u64,
        charge: bool,
    },
    Credit {
        account: usize,
        micros: i64,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..ACCOUNTS, prop::bool::weighted(0.75), 1u32..=8, 10_000i64..=600_000)
            .prop_map(|(account, live, seconds, rate_micros)| Op::Submit { account, live, seconds, rate_micros }),
        2 => Just(Op::Start),
        3 => (400u64..=1100).prop_map(|permille| Op::Complete { permille }),
        1 => Just(Op::Fail),
        1 => Just(Op::Timeout),
        1 => Just(Op::Abandon),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(pick, charge)| Op::Cancel { pick, charge }),
        1 => (400u64..=1100, any::<bool>()).prop_map(|(permille, charge)| Op::Race { permille, charge }),
        1 => (0..ACCOUNTS, -8_000_000i64..=8_000_000)
            .prop_map(|(account, micros)| Op::Credit { account, micros: if micros == 0 { 1 } else { micros } }),
        1 => Just(Op::Restart),
    ]
}

/// What the test expects of one task.
#[derive(Clone, Debug)]
struct Expected {
    id: TaskId,
    account: usize,
    live: bool,
    estimate: Usd,
    status: TaskStatus,
    /// `credits_used` once terminal (live: the capture).
    used: Usd,
}

struct World {
    /// The database, reopened at a restart.
    url: String,
    /// The SQLite database's directory, removed at the end.
    dir: Option<PathBuf>,
    store: Arc<dyn Store>,
    now: Millis,
    accounts: Vec<(AccountId, KeyId, KeyId)>,
    credited: Vec<Usd>,
    tasks: Vec<Expected>,
}

impl World {
    async fn new(postgres: bool) -> World {
        let (url, dir) = if postgres {
            (fresh_database().await, None)
        } else {
            let dir = std::env::temp_dir().join(format!("vidgate-props-{}", ulid::Ulid::new()));
            std::fs::create_dir_all(&dir).unwrap();
            (dir.join("props.db").to_str().unwrap().to_owned(), Some(dir))
        };
        let store = vidgate_store::open(&url).await.unwrap();
        let mut accounts = Vec::new();
        for i in 0..ACCOUNTS {
            let acct = AccountId::generate();
            store.create_account(&acct, &format!("a{i}"), "whsec_x", START).await.unwrap();
            store.add_credit(&acct, OPENING_CREDIT, "opening", START).await.unwrap();
            let live = key(&store, &acct, Mode::Live).await;
            let test = key(&store, &acct, Mode::Test).await;
            accounts.push((acct, live, test));
        }
        World { url, dir, store, now: START, accounts, credited: vec![OPENING_CREDIT; ACCOUNTS], tasks: Vec::new() }
    }

    fn expected(&mut self, id: &TaskId) -> &mut Expected {
        self.tasks.iter_mut().find(|t| &t.id == id).expect("the store only knows tasks the test submitted")
    }

    fn open_live_estimates(&self, account: usize) -> Usd {
        let open = self.tasks.iter().filter(|t| t.account == account && t.live && !t.status.is_terminal());
        open.fold(Usd::ZERO, |sum, t| sum.plus(t.estimate))
    }

    fn captured(&self, account: usize) -> Usd {
        let settled = self.tasks.iter().filter(|t| t.account == account && t.live && t.status.is_terminal());
        settled.fold(Usd::ZERO, |sum, t| sum.plus(t.used))
    }

    async fn claim(&self) -> Option<Claimed> {
        let caps = ProviderCaps { default: 1000, per_provider: Default::default(), account_share_percent: 100 };
        self.store.claim("w", self.now, LEASE, 1, &caps).await.unwrap().pop()
    }

    async fn apply(&mut self, op: &Op) {
        // Every step happens after the previous one's leases expired.
        self.now += LEASE + 1;
        match op {
            Op::Submit { account, live, seconds, rate_micros } => {
                self.submit(*account, *live, *seconds, *rate_micros).await
            }
            Op::Start => {
                if let Some(c) = self.claim().await {
                    let step =
                        StepUpdate { status: Some(TaskStatus::Running), next_run_at: self.now, ..Default::default() };
                    assert!(self.store.save_step(&c.task.id, c.token, step, self.now).await.unwrap());
                    self.expected(&c.task.id).status = TaskStatus::Running;
                }
            }
            Op::Complete { permille } => {
                if let Some(c) = self.claim().await {
                    let (end, used) = completion(&c.task, *permille);
                    let done = self.store.finish(&c.task.id, Some(c.token), end, self.now).await.unwrap();
                    assert_eq!(done.map(|t| (t.status, t.credits_used)), Some((TaskStatus::Completed, used)));
                    let e = self.expected(&c.task.id);
                    (e.status, e.used) = (TaskStatus::Completed, used);
                }
            }
            Op::Fail | Op::Timeout => {
                if let Some(c) = self.claim().await {
                    let code =
                        if matches!(op, Op::Fail) { TaskErrorCode::UpstreamError } else { TaskErrorCode::Timeout };
                    let end = Terminal::Failed { code, message: "x".into(), possible_orphan: false };
                    let done = self.store.finish(&c.task.id, Some(c.token), end, self.now).await.unwrap().unwrap();
                    assert_eq!(
                        (done.status, done.credits_used, done.error.map(|e| e.0)),
                        (TaskStatus::Failed, Usd::ZERO, Some(code))
                    );
                    self.expected(&c.task.id).status = TaskStatus::Failed;
                }
            }
            Op::Abandon => {
                if let Some(c) = self.claim().await {
                    // the lease is still held: nobody else may claim the task right now
                    let caps =
                        ProviderCaps { default: 1000, per_provider: Default::default(), account_share_percent: 100 };
                    let others = self.store.claim("w2", self.now, LEASE, 1000, &caps).await.unwrap();
                    assert!(others.iter().all(|o| o.task.id != c.task.id), "a held lease is not claimed twice");
                    for o in others {
                        // hand the others back untouched
                        let step = StepUpdate { next_run_at: self.now, ..Default::default() };
                        assert!(self.store.save_step(&o.task.id, o.token, step, self.now).await.unwrap());
                    }
                }
            }
            Op::Cancel { pick, charge } => self.cancel(*pick, *charge).await,
            Op::Race { permille, charge } => self.race(*permille, *charge).await,
            Op::Credit { account, micros } => self.credit(*account, Usd(*micros)).await,
            Op::Restart => {
                self.store = vidgate_store::open(&self.url).await.unwrap();
            }
        }
    }

    async fn submit(&mut self, account: usize, live: bool, seconds: u32, rate_micros: i64) {
        let (acct, live_key, test_key) = self.accounts[account].clone();
        let estimate = billing::estimate(Usd(rate_micros), seconds);
        let task = new_task(&acct, if live { &live_key } else { &test_key }, live, seconds, estimate, self.now);
        let id = task.id.clone();
        let available = self.credited[account].minus(self.captured(account)).minus(self.open_live_estimates(account));
        let outcome = self.store.submit(task, SubmitChecks::default()).await.unwrap();
        if live && available < estimate {
            assert!(
                matches!(outcome, SubmitOutcome::InsufficientBalance { needed, available: a } if needed == estimate && a == available),
                "{outcome:?}"
            );
            assert!(self.store.task(&id).await.unwrap().is_none(), "a refusal leaves no trace");
            return;
        }
        assert!(matches!(&outcome, SubmitOutcome::Created(t) if t.id == id && t.estimated == estimate), "{outcome:?}");
        let used = Usd::ZERO;
        self.tasks.push(Expected { id, account, live, estimate, status: TaskStatus::Queued, used });
    }

    async fn cancel(&mut self, pick: usize, charge: bool) {
        if self.tasks.is_empty() {
            return;
        }
        let t = self.tasks[pick % self.tasks.len()].clone();
        let done = self.store.finish(&t.id, None, Terminal::Cancelled { charge_if_running: charge }, self.now).await;
        match done.unwrap() {
            None => assert!(t.status.is_terminal(), "only an ended task refuses a cancel"),
            Some(after) => {
                assert!(!t.status.is_terminal(), "a terminal task was cancelled: {t:?}");
                let used = if charge && t.status == TaskStatus::Running { t.estimate } else { Usd::ZERO };
                assert_eq!((after.status, after.credits_used), (TaskStatus::Cancelled, used));
                let e = self.expected(&t.id);
                (e.status, e.used) = (TaskStatus::Cancelled, used);
            }
        }
    }

    async fn race(&mut self, permille: u64, charge: bool) {
        let Some(c) = self.claim().await else { return };
        let was = self.expected(&c.task.id).status;
        let (end, completed_used) = completion(&c.task, permille);
        let (store, id, now) = (self.store.clone(), c.task.id.clone(), self.now);
        let worker = tokio::spawn(async move { store.finish(&id, Some(c.token), end, now).await.unwrap() });
        let (store, id) = (self.store.clone(), c.task.id.clone());
        let cancel = Terminal::Cancelled { charge_if_running: charge };
        let client = tokio::spawn(async move { store.finish(&id, None, cancel, now).await.unwrap() });
        let (w, k) = (worker.await.unwrap(), client.await.unwrap());
        let (status, used) = match (w, k) {
            (Some(t), None) => (t.status, t.credits_used),
            (None, Some(t)) => (t.status, t.credits_used),
            other => panic!("exactly one terminal transition must win: {other:?}"),
        };
        let expected_used = match status {
            TaskStatus::Completed => completed_used,
            _ if charge && was == TaskStatus::Running => c.task.estimated,
            _ => Usd::ZERO,
        };
        assert_eq!(used, expected_used, "{status:?}");
        let e = self.expected(&c.task.id);
        (e.status, e.used) = (status, used);
    }

    async fn credit(&mut self, account: usize, amount: Usd) {
        let acct = self.accounts[account].0.clone();
        let available = self.credited[account].minus(self.captured(account)).minus(self.open_live_estimates(account));
        match self.store.add_credit(&acct, amount, "adjustment", self.now).await {
            Ok(_) => self.credited[account] = self.credited[account].plus(amount),
            Err(StoreError::InsufficientBalance { available: a }) => {
                assert!(amount.plus(available) < Usd::ZERO, "a debit within the balance was refused");
                assert_eq!(a, available);
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Every identity of the module doc, after every step.
    async fn check(&self) {
        for (i, (acct, ..)) in self.accounts.iter().enumerate() {
            self.check_account(i, acct).await;
        }
    }

    async fn check_account(&self, i: usize, acct: &AccountId) {
        let store = &self.store;
        let (held, spent) = (self.open_live_estimates(i), self.captured(i));
        let a = store.account(acct).await.unwrap().unwrap();
        assert_eq!((a.credited, a.held, a.spent), (self.credited[i], held, spent), "account {i} against the model");
        assert_eq!(a.balance, a.credited.minus(a.spent).minus(a.held), "balance = credits − captures − open holds");
        assert!(a.balance >= Usd::ZERO, "the balance never goes below zero");
        vidgate_store::conformance::assert_ledger_balanced(store, acct).await;

        let entries = store.ledger_entries(acct, None, u32::MAX).await.unwrap();
        let mine: Vec<&Expected> = self.tasks.iter().filter(|t| t.account == i).collect();
        for t in &mine {
            let of = |kind: LedgerKind| -> Vec<Usd> {
                entries
                    .iter()
                    .filter(|e| e.task_id.as_ref() == Some(&t.id) && e.kind == kind)
                    .map(|e| e.amount)
                    .collect()
            };
            let (holds, captures, releases) = (of(LedgerKind::Hold), of(LedgerKind::Capture), of(LedgerKind::Release));
            if !t.live {
                assert!(holds.is_empty() && captures.is_empty() && releases.is_empty(), "test tasks move no money");
                continue;
            }
            assert_eq!(holds, [t.estimate], "one hold of the estimate");
            if !t.status.is_terminal() {
                assert!(captures.is_empty() && releases.is_empty(), "an open task is not settled");
                continue;
            }
            assert!(captures.len() <= 1 && releases.len() <= 1, "settled twice: {t:?}");
            let capture = captures.first().copied().unwrap_or(Usd::ZERO);
            let release = releases.first().copied().unwrap_or(Usd::ZERO);
            assert_eq!(capture.plus(release), t.estimate, "no hold left open on a terminal task");
            assert_eq!(capture, t.used);
            if t.status == TaskStatus::Failed {
                assert_eq!(capture, Usd::ZERO, "a failed task is never captured");
            }
        }
        let total_captures =
            entries.iter().filter(|e| e.kind == LedgerKind::Capture).fold(Usd::ZERO, |s, e| s.plus(e.amount));
        assert_eq!(total_captures, spent, "captures = Σ rate × billed (completed) + Σ estimates (charged cancels)");

        let filter = TaskFilter { account_id: Some(acct.clone()), limit: 10_000, ..Default::default() };
        let stored = store.tasks(&filter).await.unwrap();
        assert_eq!(stored.len(), mine.len(), "refused submits left no task");
        for s in &stored {
            let e = mine.iter().find(|t| t.id == s.id).unwrap();
            assert_eq!((s.status, s.credits_used), (e.status, e.used), "{e:?}");
        }
        for (mode, live) in [(Mode::Live, true), (Mode::Test, false)] {
            let q = UsageQuery {
                since: 0,
                until: i64::MAX,
                account_id: Some(acct.clone()),
                mode: Some(mode),
                ..Default::default()
            };
            let usage = store.usage(&q).await.unwrap();
            let charged: Vec<&&Expected> = mine
                .iter()
                .filter(|t| t.live == live)
                .filter(|t| {
                    t.status == TaskStatus::Completed || t.status == TaskStatus::Cancelled && t.used > Usd::ZERO
                })
                .collect();
            let usd = charged.iter().fold(Usd::ZERO, |s, t| s.plus(t.used));
            let got = usage.first().map_or((0, Usd::ZERO), |u| (u.tasks, u.usd));
            assert_eq!(got, (charged.len() as u64, usd), "{mode:?} usage = what was charged");
        }
    }
}

async fn key(store: &Arc<dyn Store>, acct: &AccountId, mode: Mode) -> KeyId {
    let id = KeyId::generate();
    let key = NewKey {
        id: id.clone(),
        account_id: acct.clone(),
        name: "k".into(),
        mode,
        hash: format!("hash-{id}"),
        masked: "sk-…".into(),
        limits: KeyLimits::default(),
    };
    store.create_key(key, START).await.unwrap();
    id
}

fn new_task(acct: &AccountId, key: &KeyId, live: bool, seconds: u32, estimated: Usd, now: Millis) -> NewTask {
    NewTask {
        id: TaskId::generate(),
        account_id: acct.clone(),
        key_id: key.clone(),
        mode: if live { Mode::Live } else { Mode::Test },
        model: "m".into(),
        params: TaskParams {
            prompt: "p".into(),
            duration_seconds: seconds,
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
        estimated,
        provider: "sandbox".into(),
        plan: Default::default(),
        upstream_cost: Usd::ZERO,
        created_at: now,
    }
}

/// A completion delivering `permille` ‰ of the requested length at 24 fps, priced as the
/// engine prices it (the rate locked at submit × billed milliseconds).
fn completion(task: &Task, permille: u64) -> (Terminal, Usd) {
    let requested_ms = u64::from(task.params.duration_seconds) * 1000;
    let billed_ms = billing::billed_ms(task.params.duration_seconds, requested_ms * permille / 1000, 24.0);
    let rate = Usd(task.estimated.micros() / i64::from(task.params.duration_seconds));
    let used = billing::price_for_ms(rate, billed_ms);
    let file = StoredFile {
        name: "video.mp4".into(),
        mime: "video/mp4".into(),
        bytes: 1,
        duration_ms: Some(billed_ms),
        width: Some(160),
        height: Some(90),
    };
    let result = TaskResult { video: file, audio: None, thumbnail: None, spritesheet: None, billed_ms };
    (Terminal::Completed { result, credits_used: used, files_expire_at: START, upstream_cost: None }, used)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_balances_after_every_step_of_any_interleaving(ops in prop::collection::vec(op(), 1..50)) {
        run(false, &ops);
    }
}

proptest! {
    // Each step is a few network round trips here, and each case a new database: half the
    // cases keep it near the SQLite run's time; the races run under PostgreSQL's real locks.
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 100, ..ProptestConfig::default() })]

    #[test]
    fn the_ledger_balances_after_every_step_of_any_interleaving_on_postgres(
        ops in prop::collection::vec(op(), 1..50)
    ) {
        run(true, &ops);
    }
}

fn run(postgres: bool, ops: &[Op]) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut world = World::new(postgres).await;
        world.check().await;
        for op in ops {
            world.apply(op).await;
            world.check().await;
        }
        if let Some(dir) = &world.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}
