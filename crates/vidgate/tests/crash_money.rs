//! Money under process crashes: the real binary, live keys on the sandbox
//! (`serve_live_keys = true`), 100 tiny tasks (some scripted to fail), and several SIGKILLs
//! at random moments (one of them while a submit is in flight), each followed by a restart
//! on the same data dir. Once every task is terminal the money identities hold: nothing is
//! held, spent = Σ `credits_used` of the completed tasks, balance = credits − spent, every
//! task is billed 0.25 × its seconds or, failed, nothing; the ledger has one hold per task
//! and, per task, at most one capture and one release adding up to it; usage equals the
//! captures. The moments come from a seeded generator; the seed is printed (rerun with
//! `VIDGATE_CRASH_SEED=<seed>`).

mod common;

use std::time::Duration;

use common::{Gateway, fresh_dir, wait_all_terminal};
use serde_json::{Value, json};
use vidgate_domain::Usd;
use vidgate_store::{LedgerKind, MoneyStore};

const TASKS: usize = 100;
const KILLS_DURING_SUBMITS: usize = 3;
const CREDIT_USD: f64 = 100.0;
const FAULTS: [&str; 3] = ["upstream_error", "invalid_result", "content_filtered"];

/// SplitMix64: small, seedable, good enough to pick moments.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn seed() -> u64 {
    std::env::var("VIDGATE_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    })
}

/// Task `n`: 1 or 2 seconds; about one in eight scripted to fail.
fn body(n: usize, rng: &mut Rng) -> Value {
    let mut body = json!({"model": "tiny", "prompt": format!("clip {n}"), "duration_seconds": 1 + rng.below(2),
        "out_task_id": format!("job-{n}")});
    if rng.below(8) == 0 {
        body["metadata"] = json!({"sandbox.fault": FAULTS[rng.below(3) as usize]});
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_at_random_moments_never_break_the_money_identities() {
    let seed = seed();
    println!("crash_money seed: {seed} (rerun with VIDGATE_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = fresh_dir();
    let mut g = Gateway::start(&dir).await;
    let admin = g.credentials()["admin_token"].as_str().unwrap().to_owned();
    let (account, key) = g.funded_live_key(&admin, CREDIT_USD).await;
    let mut kill_at: Vec<usize> =
        (0..KILLS_DURING_SUBMITS).map(|_| 5 + rng.below(TASKS as u64 - 10) as usize).collect();
    kill_at.sort_unstable();
    let mut ids = Vec::new();
    for n in 0..TASKS {
        let body = body(n, &mut rng);
        if kill_at.contains(&n) {
            // The kill lands just before, during or after this submit; the client then
            // retries with the same out_task_id, as a client would.
            let (client, url) = (g.client.clone(), format!("{}/v1/videos/generations", g.base));
            let (key, in_flight_body) = (key.clone(), body.clone());
            let submit =
                tokio::spawn(async move { client.post(url).bearer_auth(key).json(&in_flight_body).send().await });
            tokio::time::sleep(Duration::from_millis(rng.below(30))).await;
            g.kill();
            let _ = submit.await;
            g = Gateway::start(&dir).await;
        }
        let (s, t) = g.post("/v1/videos/generations", &key, &body).await;
        assert_eq!(s, 200, "seed {seed}: {t}");
        ids.push(t["task_id"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
    }
    // One more, while the last tasks render and settle.
    tokio::time::sleep(Duration::from_millis(rng.below(2500))).await;
    g.kill();
    let g = Gateway::start(&dir).await;

    let done = wait_all_terminal(&g, &key, &ids, Duration::from_secs(240)).await;
    let mut spent = Usd::ZERO;
    let mut completed = 0;
    for (n, t) in done.iter().enumerate() {
        let used = Usd::from_json(&t["credits_used"]).unwrap();
        match t["metadata"]["sandbox.fault"].as_str() {
            Some(fault) => assert_eq!(
                (&t["status"], &t["error"]["code"], used),
                (&json!("failed"), &json!(fault), Usd::ZERO),
                "seed {seed}: task {n}"
            ),
            None => {
                let seconds = t["duration_seconds"].as_i64().unwrap();
                assert_eq!(
                    (&t["status"], used),
                    (&json!("completed"), Usd(250_000 * seconds)),
                    "seed {seed}: task {n}: {t}"
                );
                spent = spent.plus(used);
                completed += 1;
            }
        }
    }
    let acct = g.get(&format!("/admin/v1/accounts/{account}"), &admin).await;
    let usd = |field: &str| Usd::from_json(&acct[field]).unwrap();
    assert_eq!(usd("held_usd"), Usd::ZERO, "seed {seed}: no hold left open: {acct}");
    assert_eq!(usd("spent_usd"), spent, "seed {seed}: each completed task captured once: {acct}");
    assert_eq!(usd("balance_usd"), Usd(100_000_000).minus(spent), "seed {seed}: {acct}");
    let tasks = g.get(&format!("/admin/v1/tasks?account_id={account}&limit=100"), &admin).await;
    assert_eq!(
        (tasks["data"].as_array().unwrap().len(), &tasks["has_more"]),
        (TASKS, &json!(false)),
        "no duplicate task"
    );
    let usage = g.get(&format!("/admin/v1/usage?account_id={account}&group_by="), &admin).await;
    assert_eq!(Usd::from_json(&usage["totals"]["usd"]), Some(spent), "seed {seed}: usage = captures: {usage}");
    assert_eq!(usage["totals"]["tasks"], json!(completed));
    assert_ledger_settles_each_task_once(&g, &account, &ids, spent, seed).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads the ledger itself (the database is in WAL mode, so a second reader is fine).
async fn assert_ledger_settles_each_task_once(g: &Gateway, account: &str, ids: &[String], spent: Usd, seed: u64) {
    let store =
        vidgate_store::sqlite::SqliteStore::open(g.data_dir.join("vidgate.db").to_str().unwrap()).await.unwrap();
    let entries = store.ledger_entries(&account.parse().unwrap(), None, u32::MAX).await.unwrap();
    for id in ids {
        let of = |kind: LedgerKind| -> Vec<Usd> {
            entries
                .iter()
                .filter(|e| e.task_id.as_ref().map(|t| t.as_str()) == Some(id) && e.kind == kind)
                .map(|e| e.amount)
                .collect()
        };
        let (holds, captures, releases) = (of(LedgerKind::Hold), of(LedgerKind::Capture), of(LedgerKind::Release));
        assert_eq!(holds.len(), 1, "seed {seed}: one hold for {id}");
        assert!(captures.len() <= 1 && releases.len() <= 1, "seed {seed}: {id} settled twice");
        let settled = captures.iter().chain(&releases).fold(Usd::ZERO, |s, a| s.plus(*a));
        assert_eq!(settled, holds[0], "seed {seed}: {id}'s hold is settled exactly");
    }
    let captured = entries.iter().filter(|e| e.kind == LedgerKind::Capture).fold(Usd::ZERO, |s, e| s.plus(e.amount));
    assert_eq!(captured, spent, "seed {seed}");
}
