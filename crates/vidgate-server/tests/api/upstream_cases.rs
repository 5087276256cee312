//! Fault scenarios every adapter goes through, written once over [`Fake`] (any of the four
//! fakes): a fault on submit that is retried, a submit whose outcome is unknown, a fault on a
//! poll or a download that is retried, jobs that end badly, a job that never ends, and a
//! restart during a poll. Each scenario starts its own gateway, checks the task's terminal
//! state and bill, the account's money, the fake's counters, and that the fake saw no
//! protocol violation.
//!
//! The per-adapter files (`upstream_{vertex,gemini,openai,vidgate}.rs`) name the tests and
//! give each scenario its entry, request and expected price.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidgate_fakes::{Endpoint, FakeGemini, FakeOpenAi, FakeVertex, FakeVidgate, Fault, Faults, Journal, Outcome};

use crate::upstream_helpers::{
    Live, assert_billed, assert_failed_unbilled, assert_no_violations, config_with, restart_during_a_poll, with,
};

/// Any fake: its fault control and its journal.
pub trait Fake {
    /// What goes wrong, and how jobs end.
    fn faults(&self) -> &Faults;
    /// What the fake saw.
    fn journal(&self) -> &Journal;
}

macro_rules! fake {
    ($t:ty) => {
        impl Fake for $t {
            fn faults(&self) -> &Faults {
                <$t>::faults(self)
            }
            fn journal(&self) -> &Journal {
                <$t>::journal(self)
            }
        }
    };
}
fake!(FakeVertex);
fake!(FakeGemini);
fake!(FakeOpenAi);
fake!(FakeVidgate);

/// What a task costs when it completes: the catalog rate (micro-dollars per second) and the
/// requested seconds.
#[derive(Clone, Copy, Debug)]
pub struct Price {
    pub rate: i64,
    pub seconds: i64,
}

/// The next submit meets `fault`, which the upstream did not process (429, 5xx): the submit is
/// sent again, the task completes billed exactly, and the upstream made one job.
pub async fn submit_fault_is_retried(fake: &dyn Fake, entry: Value, body: Value, fault: Fault, price: Price) {
    fake.faults().push(Endpoint::Submit, fault);
    let live = Live::start(vec![entry]).await;
    let id = live.submit(body).await;
    let done = live.wait(&id).await;
    let spent = assert_billed(&done, price.rate, price.seconds);
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (2, 1), "sent again after the refusal, one job");
    assert_eq!(live.admin_task(&id).await["upstream_submits"], 2);
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

/// The submit meets `fault` after it may have reached the upstream (API.md §7): the task fails
/// unbilled with `upstream_outcome_unknown`, flagged as a possible orphan, and the submit is
/// never sent again. `jobs` is how many jobs the fault left upstream (0 for a reset before
/// processing, 1 after it). The adapter's request timeout is 1 s, shorter than any `Slow`.
pub async fn unknown_submit_is_never_resent(fake: &dyn Fake, entry: Value, body: Value, fault: Fault, jobs: u64) {
    fake.faults().push(Endpoint::Submit, fault);
    let live = Live::start(vec![with(entry, json!({"timeout_secs": 1}))]).await;
    let id = live.submit(body).await;
    let done = live.wait(&id).await;
    assert_failed_unbilled(&done, "upstream_outcome_unknown");
    let admin = live.admin_task(&id).await;
    assert_eq!((admin["possible_orphan"].clone(), admin["upstream_submits"].clone()), (json!(true), json!(1)));
    // The fake may still be sleeping on a `Slow` answer; what it counted is already final.
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (1, jobs), "never sent twice");
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

/// The next request of kind `endpoint` after the submit meets `fault` (a malformed or cut
/// answer, a 5xx): it is asked again and the task completes billed exactly, with one job.
pub async fn read_fault_is_retried(
    fake: &dyn Fake,
    entry: Value,
    body: Value,
    endpoint: Endpoint,
    fault: Fault,
    price: Price,
) {
    fake.faults().push(endpoint, fault);
    let live = Live::start(vec![entry]).await;
    let done = live.run(body).await;
    let spent = assert_billed(&done, price.rate, price.seconds);
    assert_eq!(fake.faults().pending(endpoint), 0, "the fault was met");
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (1, 1));
    live.assert_settled(spent).await;
    assert_no_violations(fake.journal());
}

/// Jobs that end in each of `cases` (an outcome and the task error code it must give), run at
/// once with one prompt each: every task fails with its code, unbilled.
pub async fn bad_outcomes_fail_unbilled(fake: &dyn Fake, entry: Value, body: Value, cases: &[(Outcome, &str)]) {
    let live = Live::start(vec![entry]).await;
    let mut ids = Vec::new();
    for (i, (outcome, code)) in cases.iter().enumerate() {
        let prompt = format!("outcome case {i}: {outcome:?}");
        fake.faults().outcome_for_prompt(&prompt, outcome.clone());
        ids.push((live.submit(with(body.clone(), json!({"prompt": prompt}))).await, *code));
    }
    for (id, code) in ids {
        let done = live.wait(&id).await;
        assert_failed_unbilled(&done, code);
        assert_eq!(live.admin_task(&id).await["possible_orphan"], false);
    }
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (cases.len() as u64, cases.len() as u64));
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

/// A job that stays unfinished (`outcome`: `Never`, or a status the adapter does not know)
/// on an upstream with a 3 s deadline: polled until then, then failed unbilled with `timeout`.
pub async fn unfinished_job_times_out(fake: &dyn Fake, entry: Value, body: Value, outcome: Outcome) {
    fake.faults().push_outcome(outcome);
    let live = Live::start(vec![with(entry, json!({"deadline_secs": 3}))]).await;
    let started = Instant::now();
    let done = live.run(body).await;
    let took = started.elapsed();
    assert_failed_unbilled(&done, "timeout");
    assert!(took >= Duration::from_secs(3), "not before the deadline: {took:?}");
    assert!(took < Duration::from_secs(10), "soon after the deadline: {took:?}");
    let counters = fake.journal().counters();
    assert!(counters.polls() >= 1, "it was polled: {counters:?}");
    assert_eq!((counters.submits(), counters.jobs_created, counters.downloads()), (1, 1, 0));
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

/// Every download of the result meets `Truncated`, up to the engine's retry budget: the task
/// fails unbilled with `upstream_error`, after 5 downloads (API.md §7: a result that could not
/// be downloaded).
pub async fn downloads_cut_every_time_fail_unbilled(fake: &dyn Fake, entry: Value, body: Value) {
    fake.faults().push_n(Endpoint::Download, 5, Fault::Truncated);
    let live = Live::start(vec![entry]).await;
    let done = live.run(body).await;
    assert_failed_unbilled(&done, "upstream_error");
    assert_eq!(fake.faults().pending(Endpoint::Download), 0);
    assert_eq!(fake.journal().counters().downloads(), 5, "the retry budget is five downloads");
    live.assert_settled(0).await;
    assert_no_violations(fake.journal());
}

/// The gateway is stopped while the job runs (after the upstream answered a poll) and started
/// again: the task resumes polling the same job and completes billed exactly, one submit.
pub async fn restart_resumes_the_same_job(fake: &dyn Fake, entry: Value, body: Value, price: Price) {
    fake.faults().set_latency(vidgate_fakes::Latency::polls(3));
    let (done, admin) = restart_during_a_poll(config_with(vec![entry]), fake.journal(), body).await;
    assert_billed(&done, price.rate, price.seconds);
    assert_eq!(admin["upstream_submits"], 1, "{admin}");
    let counters = fake.journal().counters();
    assert_eq!((counters.submits(), counters.jobs_created), (1, 1), "one upstream job across the restart");
    assert!(counters.polls() >= 4, "polled before and after the restart: {counters:?}");
    assert_no_violations(fake.journal());
}
