//! Fault scenarios every adapter goes through, written once over [`Fake`] (any of the
//! fakes): a fault on submit that is retried, a submit whose outcome is unknown, a fault on a
//! poll or a download that is retried, jobs that end badly, a job that never ends, and a
//! restart during a poll. Each scenario starts its own gateway, checks the task's terminal
//! state and bill, the account's money, the fake's counters, and that the fake saw no
//! protocol violation.
//!
//! The tests at the end run them table-driven: one test per scenario, one row per adapter
//! (and fault), every row on its own fake and gateway at the same time ([`each`]); a failing
//! row is named in the test's failure. The per-adapter files
//! (`upstream_{vertex,gemini,openai,vidgate,modelark,dashscope,minimax,kling,comfyui,runway,luma}.rs`) keep what only their adapter does.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vidgate_fakes::{
    Endpoint, FakeDashscope, FakeGemini, FakeKling, FakeLuma, FakeMinimax, FakeModelark, FakeOpenAi, FakeRunway,
    FakeVertex, FakeVidgate, Fault, Faults, Journal, Latency, Outcome,
};

use crate::upstream_helpers::{
    GEN45_RATE, KLING26_RATE, Live, MINIMAX_H3_RATE, RAY32_RATE, SEEDANCE2_RATE, SORA2_RATE, VEO31_RATE, WAN26_RATE,
    assert_billed, assert_delivered, assert_failed_unbilled, assert_no_violations, config_with, dashscope_entry,
    gemini_entry, kling_entry, luma_entry, minimax_entry, modelark_entry, openai_entry, png_data_url,
    restart_during_a_poll, runway_entry, vertex_entry, vidgate_entry, with,
};

/// Any fake: its fault control and its journal.
pub trait Fake: Send + Sync {
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
fake!(FakeModelark);
fake!(FakeDashscope);
fake!(FakeMinimax);
fake!(FakeKling);
fake!(vidgate_fakes::FakeComfyui);
fake!(FakeRunway);
fake!(FakeLuma);
fake!(vidgate_fakes::FakeFal);

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

/// The submit meets `fault` after it may have reached the upstream (docs/api.md §7): the task fails
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
/// fails unbilled with `upstream_error`, after 5 downloads (docs/api.md §7: a result that could not
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

/// The seven adapters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Vertex,
    Gemini,
    OpenAi,
    Vidgate,
    Modelark,
    Dashscope,
    Minimax,
    Kling,
    Runway,
    Luma,
}

/// Every adapter, in the order rows are listed.
pub const ALL: [Kind; 10] = [
    Kind::Vertex,
    Kind::Gemini,
    Kind::OpenAi,
    Kind::Vidgate,
    Kind::Modelark,
    Kind::Dashscope,
    Kind::Minimax,
    Kind::Kling,
    Kind::Runway,
    Kind::Luma,
];

/// One adapter under test: a fresh fake and the `[[upstreams]]` entry pointing at it.
pub struct Adapter {
    pub kind: Kind,
    pub fake: Box<dyn Fake>,
    pub entry: Value,
}

impl Kind {
    /// Starts a fresh fake of this kind, its jobs done at their first poll, with its entry
    /// (`openai_entry` named `openai`).
    pub async fn start(self) -> Adapter {
        let (fake, entry): (Box<dyn Fake>, Value) = match self {
            Kind::Vertex => {
                let fake = FakeVertex::start().await;
                let entry = vertex_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::Gemini => {
                let fake = FakeGemini::start().await;
                let entry = gemini_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::OpenAi => {
                let fake = FakeOpenAi::start().await;
                let entry = openai_entry("openai", &fake);
                (Box::new(fake), entry)
            }
            Kind::Vidgate => {
                let fake = FakeVidgate::start().await;
                let entry = vidgate_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::Modelark => {
                let fake = FakeModelark::start().await;
                let entry = modelark_entry("modelark", &fake);
                (Box::new(fake), entry)
            }
            Kind::Dashscope => {
                let fake = FakeDashscope::start().await;
                let entry = dashscope_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::Minimax => {
                let fake = FakeMinimax::start().await;
                let entry = minimax_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::Kling => {
                let fake = FakeKling::start().await;
                let entry = kling_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::Runway => {
                let fake = FakeRunway::start().await;
                let entry = runway_entry(&fake);
                (Box::new(fake), entry)
            }
            Kind::Luma => {
                let fake = FakeLuma::start().await;
                let entry = luma_entry(&fake);
                (Box::new(fake), entry)
            }
        };
        // Done at the first poll rather than the fakes' default second: one poll interval (2 s)
        // less per task. A scenario that needs a job running for a while sets its own latency.
        fake.faults().set_latency(Latency::polls(0));
        Adapter { kind: self, fake, entry }
    }

    /// The catalog model its entry serves.
    fn model(self) -> &'static str {
        match self {
            Kind::OpenAi => "sora2",
            Kind::Modelark => "seedance2",
            Kind::Dashscope => "wan2.6",
            Kind::Minimax => "minimax-h3",
            Kind::Kling => "kling2.6",
            Kind::Runway => "gen4.5",
            Kind::Luma => "ray-3.2",
            _ => "veo3.1",
        }
    }

    /// What a 5 s task on it costs.
    pub fn five_seconds(self) -> Price {
        let rate = match self {
            Kind::OpenAi => SORA2_RATE,
            Kind::Modelark => SEEDANCE2_RATE,
            Kind::Dashscope => WAN26_RATE,
            Kind::Minimax => MINIMAX_H3_RATE,
            Kind::Kling => KLING26_RATE,
            Kind::Runway => GEN45_RATE,
            Kind::Luma => RAY32_RATE,
            _ => VEO31_RATE,
        };
        Price { rate, seconds: 5 }
    }
}

impl Adapter {
    /// A 5 s request for its model with `prompt`, `extra` merged in.
    pub fn task(&self, prompt: &str, extra: Value) -> Value {
        with(json!({"model": self.kind.model(), "prompt": prompt, "duration_seconds": 5}), extra)
    }
}

/// Rows of one table run at once: enough to overlap their waits on upstream polls, few
/// enough that their media work does not starve a loaded 2-core machine.
const AT_ONCE: usize = 4;

/// Runs `scenario` for every row, [`AT_ONCE`] at a time, each in its own task (with its own
/// fake and gateway), and fails naming every row that failed.
pub async fn each<R, F, Fut>(rows: Vec<R>, scenario: F)
where
    R: Debug + Send + 'static,
    F: Fn(R) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let running: Vec<_> = rows
        .into_iter()
        .map(|row| {
            let (name, run, slots) = (format!("{row:?}"), scenario(row), slots.clone());
            let task = tokio::spawn(async move {
                let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
                run.await
            });
            (name, task)
        })
        .collect();
    let mut failed = Vec::new();
    for (name, task) in running {
        if let Err(e) = task.await {
            let why = match e.try_into_panic() {
                Ok(p) => {
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                }
                Err(e) => Some(e.to_string()),
            };
            failed.push(format!("{name}: {}", why.unwrap_or_default()));
        }
    }
    assert!(failed.is_empty(), "{} row(s) failed:\n{}", failed.len(), failed.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_adapter_delivers_audio_silence_and_image_to_video_trimmed_and_billed_exactly() {
    /// A 5 s request with `extra`: delivered at `size` with an audio track exactly when
    /// `track`; the plan's first route asks for `seconds` (with audio when `audio`) at `cost`.
    #[derive(Debug)]
    struct Row {
        kind: Kind,
        prompt: &'static str,
        extra: Value,
        size: (u32, u32),
        track: bool,
        seconds: u32,
        audio: Option<bool>,
        cost: Option<Value>,
    }
    let (on, off) = (json!({"audio": true}), json!({"audio": false, "size": "720x1280"}));
    // The source image is made in the row's task, so a failing row prints a short name.
    let image = || json!({"source_image": "<a 1280x720 PNG>"});
    let (wide, tall) = ((1280, 720), (720, 1280));
    #[rustfmt::skip]
    let rows = vec![
        Row { kind: Kind::Vertex, prompt: "a lighthouse at dusk, waves", extra: on.clone(), size: wide, track: true, seconds: 6, audio: Some(true), cost: Some(json!(2.4)) },
        Row { kind: Kind::Vertex, prompt: "a silent forest", extra: off.clone(), size: tall, track: false, seconds: 6, audio: Some(false), cost: Some(json!(1.2)) },
        Row { kind: Kind::Vertex, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 6, audio: None, cost: None },
        Row { kind: Kind::Gemini, prompt: "a harbour at dawn, gulls", extra: on.clone(), size: wide, track: true, seconds: 6, audio: None, cost: Some(json!(2.4)) },
        // Gemini always makes audio: stripped for a silent request, billed the same.
        Row { kind: Kind::Gemini, prompt: "a quiet street", extra: off.clone(), size: tall, track: false, seconds: 6, audio: Some(true), cost: None },
        Row { kind: Kind::Gemini, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 6, audio: None, cost: None },
        Row { kind: Kind::OpenAi, prompt: "a city at night, rain", extra: on.clone(), size: wide, track: true, seconds: 8, audio: None, cost: Some(json!(0.8)) },
        Row { kind: Kind::OpenAi, prompt: "a silent film", extra: off.clone(), size: tall, track: false, seconds: 8, audio: None, cost: None },
        Row { kind: Kind::OpenAi, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 8, audio: None, cost: None },
        // Another vidgate is asked for exactly what was requested.
        Row { kind: Kind::Vidgate, prompt: "a train through snow", extra: on.clone(), size: wide, track: true, seconds: 5, audio: None, cost: Some(json!(1.5)) },
        Row { kind: Kind::Vidgate, prompt: "a silent train", extra: off.clone(), size: tall, track: false, seconds: 5, audio: None, cost: None },
        Row { kind: Kind::Vidgate, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 5, audio: None, cost: None },
        // ModelArk makes whole seconds: exactly 5 s; its cost is the billed tokens × $2.4/M
        // (720p 5 s: 1280 × 720 × 121 frames / 1024 = 108 900 tokens).
        Row { kind: Kind::Modelark, prompt: "a market at noon, voices", extra: on.clone(), size: wide, track: true, seconds: 5, audio: Some(true), cost: Some(json!(0.26136)) },
        Row { kind: Kind::Modelark, prompt: "a silent lake", extra: off.clone(), size: tall, track: false, seconds: 5, audio: Some(false), cost: Some(json!(0.26136)) },
        Row { kind: Kind::Modelark, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 5, audio: None, cost: None },
        // DashScope makes whole seconds too; its cost is `usage.duration` × $0.10/s at 720p.
        Row { kind: Kind::Dashscope, prompt: "a market at noon, voices", extra: on.clone(), size: wide, track: true, seconds: 5, audio: Some(true), cost: Some(json!(0.5)) },
        Row { kind: Kind::Dashscope, prompt: "a silent lake", extra: off.clone(), size: tall, track: false, seconds: 5, audio: Some(false), cost: Some(json!(0.5)) },
        Row { kind: Kind::Dashscope, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 5, audio: None, cost: Some(json!(0.5)) },
        // MiniMax-H3 delivers 5.167 s for 5 s (docs/upstreams.md §11.7): trimmed to 5 s; its
        // cost is `usage.output_seconds` × $0.08/s at 768P.
        Row { kind: Kind::Minimax, prompt: "a market at noon, voices", extra: on.clone(), size: (1344, 768), track: true, seconds: 5, audio: Some(true), cost: Some(json!(0.4)) },
        Row { kind: Kind::Minimax, prompt: "a silent lake", extra: json!({"audio": false, "size": "768x1344"}), size: (768, 1344), track: false, seconds: 5, audio: Some(false), cost: Some(json!(0.4)) },
        Row { kind: Kind::Minimax, prompt: "the picture comes alive", extra: image(), size: (1344, 768), track: false, seconds: 5, audio: None, cost: Some(json!(0.4)) },
        // Kling 2.6 makes its audio at 1080p only; a little over 5 s is delivered ("5.041",
        // docs/upstreams.md §10.8 trap 4) and trimmed; its cost is the units billed × $0.14
        // (1.0 unit/s with audio, 0.5 silent).
        Row { kind: Kind::Kling, prompt: "a market at noon, voices", extra: on.clone(), size: (1920, 1080), track: true, seconds: 5, audio: Some(true), cost: Some(json!(0.7)) },
        Row { kind: Kind::Kling, prompt: "a silent lake", extra: json!({"audio": false, "size": "1080x1920"}), size: (1080, 1920), track: false, seconds: 5, audio: Some(false), cost: Some(json!(0.35)) },
        Row { kind: Kind::Kling, prompt: "the picture comes alive", extra: image(), size: (1920, 1080), track: false, seconds: 5, audio: None, cost: Some(json!(0.35)) },
        // Gen-4.5 on Runway is silent and makes whole seconds; its cost is `cost.credits`
        // (12 a second) × $0.01.
        Row { kind: Kind::Runway, prompt: "a silent lake", extra: off.clone(), size: tall, track: false, seconds: 5, audio: Some(false), cost: Some(json!(0.6)) },
        Row { kind: Kind::Runway, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 5, audio: None, cost: Some(json!(0.6)) },
        // Ray 3.2 on Luma's Agents API is silent; no cost field: the estimate, 5 s × $0.06.
        Row { kind: Kind::Luma, prompt: "a silent lake", extra: off.clone(), size: tall, track: false, seconds: 5, audio: Some(false), cost: Some(json!(0.3)) },
        Row { kind: Kind::Luma, prompt: "the picture comes alive", extra: image(), size: wide, track: false, seconds: 5, audio: None, cost: Some(json!(0.3)) },
    ];
    each(rows, |row| async move {
        let a = row.kind.start().await;
        let live = Live::start(vec![a.entry.clone()]).await;
        let mut extra = row.extra;
        if extra.get("source_image").is_some() {
            extra["source_image"] = json!(png_data_url(1280, 720));
        }
        let id = live.submit(a.task(row.prompt, extra)).await;
        let done = live.wait(&id).await;
        let price = row.kind.five_seconds();
        let spent = assert_billed(&done, price.rate, price.seconds);
        assert_eq!(done["audio_url"].is_string(), row.track, "{done}");
        assert_delivered(&live.probe_result(&done).await, row.size.0, row.size.1, 5000, row.track);
        let admin = live.admin_task(&id).await;
        let route = &admin["plan"]["routes"][0];
        assert_eq!((route["upstream_seconds"].clone(), route["trim_to_ms"].clone()), (json!(row.seconds), json!(5000)));
        if let Some(audio) = row.audio {
            assert_eq!(route["upstream_audio"], audio, "{admin}");
        }
        if let Some(cost) = row.cost {
            assert_eq!(admin["upstream_cost_usd"], cost, "{admin}");
        }
        let counters = a.fake.journal().counters();
        assert_eq!((counters.submits(), counters.jobs_created), (1, 1), "one submit, one job");
        if row.kind == Kind::Vidgate {
            assert_eq!(counters.submits_by_key.get(&id), Some(&1), "the task id is the out_task_id");
        }
        live.assert_settled(spent).await;
        assert_no_violations(a.fake.journal());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_or_a_5xx_on_submit_is_retried_with_one_job_on_every_adapter() {
    let limited = Fault::RateLimited { retry_after_secs: 1 };
    let mut rows: Vec<(Kind, Fault)> = ALL.iter().map(|k| (*k, limited.clone())).collect();
    rows.extend(
        [
            (Kind::Vertex, 503),
            (Kind::Gemini, 500),
            (Kind::OpenAi, 502),
            (Kind::Vidgate, 503),
            (Kind::Modelark, 503),
            (Kind::Dashscope, 503),
            (Kind::Minimax, 500),
            (Kind::Kling, 503),
            (Kind::Runway, 503),
            (Kind::Luma, 503),
        ]
        .map(|(k, s)| (k, Fault::Status(s))),
    );
    each(rows, |(kind, fault)| async move {
        let a = kind.start().await;
        let body = a.task(&format!("refused once: {fault:?}"), json!({}));
        submit_fault_is_retried(&*a.fake, a.entry.clone(), body, fault, kind.five_seconds()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_whose_outcome_is_unknown_fails_unbilled_as_a_possible_orphan_never_resent() {
    // (adapter, fault, jobs it leaves upstream); the vidgate adapter resends by its key instead
    // (upstream_vidgate.rs).
    let mut rows = Vec::new();
    for kind in [Kind::Vertex, Kind::Gemini, Kind::OpenAi, Kind::Modelark, Kind::Runway, Kind::Luma] {
        let unreadable = if kind == Kind::Gemini { Fault::Truncated } else { Fault::MalformedJson };
        let slow = Fault::Slow(Duration::from_secs(3));
        rows.extend([(kind, Fault::Reset, 0), (kind, Fault::ResetAfter, 1), (kind, slow, 1), (kind, unreadable, 1)]);
    }
    // DashScope and MiniMax v2 find a lost create in their task list and fail only when it is
    // not there exactly once (upstream_dashscope.rs, upstream_minimax.rs).
    rows.extend([(Kind::Dashscope, Fault::Reset, 0), (Kind::Minimax, Fault::Reset, 0)]);
    // ModelArk has no idempotency key and a 500 on a create may have made a task.
    rows.push((Kind::Modelark, Fault::Status(500), 0));
    // Nor has DashScope (docs/upstreams.md §9.8 trap 12).
    rows.push((Kind::Dashscope, Fault::Status(500), 0));
    // Kling finds a lost create by its external_task_id and fails only when there is none
    // (a reset before processing, a 5000 that made nothing): upstream_kling.rs.
    rows.extend([(Kind::Kling, Fault::Reset, 0), (Kind::Kling, Fault::Status(500), 0)]);
    // Nor have Runway and Luma (docs/upstreams.md §13.8 trap 7, §14.8 trap 9).
    rows.extend([(Kind::Runway, Fault::Status(502), 0), (Kind::Luma, Fault::Status(500), 0)]);
    each(rows, |(kind, fault, jobs)| async move {
        let a = kind.start().await;
        let body = a.task(&format!("an unknown outcome: {fault:?}"), json!({}));
        unknown_submit_is_never_resent(&*a.fake, a.entry.clone(), body, fault, jobs).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_on_a_poll_or_a_download_is_retried_and_the_task_completes() {
    /// `fault` on the first `endpoint` request after the submit, on an entry with `changes`
    /// and jobs of `latency`; `downloads` when the download count is asserted.
    #[derive(Debug)]
    struct Row {
        kind: Kind,
        endpoint: Endpoint,
        fault: Fault,
        changes: Value,
        latency: Option<Latency>,
        downloads: Option<u64>,
    }
    let row =
        |kind, endpoint, fault, downloads| Row { kind, endpoint, fault, changes: json!({}), latency: None, downloads };
    let mut rows: Vec<Row> = ALL.iter().map(|k| row(*k, Endpoint::Poll, Fault::MalformedJson, None)).collect();
    // One cut download, one whole; Vertex's result is in Cloud Storage for this.
    rows.extend(ALL.iter().map(|k| row(*k, Endpoint::Download, Fault::Truncated, Some(2))));
    rows[ALL.len()].changes = json!({"storage_uri": "gs://vidgate-results/veo"});
    // Vertex done at the first poll, whose answer carries the video inline and is cut.
    rows.push(Row { latency: Some(Latency::polls(0)), ..row(Kind::Vertex, Endpoint::Poll, Fault::Truncated, None) });
    each(rows, |row| async move {
        let a = row.kind.start().await;
        if let Some(latency) = row.latency {
            a.fake.faults().set_latency(latency);
        }
        let body = a.task(&format!("a fault on {:?}: {:?}", row.endpoint, row.fault), json!({}));
        let entry = with(a.entry.clone(), row.changes);
        read_fault_is_retried(&*a.fake, entry, body, row.endpoint, row.fault, row.kind.five_seconds()).await;
        if let Some(downloads) = row.downloads {
            assert_eq!(a.fake.journal().counters().downloads(), downloads, "one cut, one whole");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_end_as_upstream_error_content_filtered_and_invalid_result_unbilled() {
    let error = |code: &str, message: &str| Outcome::Error { code: code.into(), message: message.into() };
    let (filtered, corrupt) = ((Outcome::SafetyBlock, "content_filtered"), (Outcome::CorruptMedia, "invalid_result"));
    let rows = vec![
        (Kind::Vertex, vec![(error("13", "internal"), "upstream_error"), filtered.clone(), corrupt.clone()]),
        (Kind::Gemini, vec![(error("3", "bad argument"), "upstream_error"), filtered.clone(), corrupt.clone()]),
        (Kind::OpenAi, vec![(error("internal_error", "boom"), "upstream_error"), filtered.clone(), corrupt.clone()]),
        (
            Kind::Vidgate,
            vec![
                (error("upstream_error", "its upstream failed"), "upstream_error"),
                (error("timeout", "too slow there"), "upstream_error"),
                filtered.clone(),
                corrupt.clone(),
                (Outcome::Status("cancelled".into()), "upstream_error"),
            ],
        ),
        (
            Kind::Modelark,
            vec![
                (error("InternalServiceError", "boom"), "upstream_error"),
                // Output moderation after `running`, and a task that expired upstream.
                filtered,
                corrupt,
                (Outcome::Status("expired".into()), "upstream_error"),
                (Outcome::Status("cancelled".into()), "upstream_error"),
            ],
        ),
        (
            Kind::Dashscope,
            vec![
                (error("InternalError", "boom"), "upstream_error"),
                // A failure without a reason (docs/upstreams.md §9.8 trap 7).
                (error("", ""), "upstream_error"),
                (Outcome::SafetyBlock, "content_filtered"),
                (Outcome::CorruptMedia, "invalid_result"),
                // Expired or never known upstream (trap 6), and cancelled there.
                (Outcome::Status("UNKNOWN".into()), "upstream_error"),
                (Outcome::Status("CANCELED".into()), "upstream_error"),
            ],
        ),
        (
            Kind::Minimax,
            vec![
                (error("1000", "unknown error"), "upstream_error"),
                // Output flagged sensitive (1027, docs/upstreams.md §11.4).
                (Outcome::SafetyBlock, "content_filtered"),
                (Outcome::CorruptMedia, "invalid_result"),
                // Expired and cancelled upstream, and a status vidgate does not know (trap 18).
                (Outcome::Status("expired".into()), "upstream_error"),
                (Outcome::Status("cancelled".into()), "upstream_error"),
                (Outcome::Status("Success".into()), "upstream_error"),
            ],
        ),
        (
            Kind::Kling,
            vec![
                (error("5000", "generation failed"), "upstream_error"),
                // The content risk control after `processing` (docs/upstreams.md §10.5).
                (Outcome::SafetyBlock, "content_filtered"),
                (Outcome::CorruptMedia, "invalid_result"),
                // A status the digest does not list is an alarm, not "running".
                (Outcome::Status("cancelled".into()), "upstream_error"),
            ],
        ),
        (
            Kind::Runway,
            vec![
                (error("INTERNAL.BAD_OUTPUT.CODE01", "rejected"), "upstream_error"),
                (error("SAFETY.INPUT.IMAGE", "moderated"), "content_filtered"),
                (Outcome::SafetyBlock, "content_filtered"),
                (Outcome::CorruptMedia, "invalid_result"),
                (Outcome::Status("CANCELED".into()), "upstream_error"),
            ],
        ),
        (
            Kind::Luma,
            vec![
                (error("generation_failed", "boom"), "upstream_error"),
                (Outcome::SafetyBlock, "content_filtered"),
                (Outcome::CorruptMedia, "invalid_result"),
                // Dream Machine's running state, unknown on the Agents API (§14.8 trap 1).
                (Outcome::Status("dreaming".into()), "upstream_error"),
            ],
        ),
    ];
    each(rows, |(kind, cases)| async move {
        let a = kind.start().await;
        bad_outcomes_fail_unbilled(&*a.fake, a.entry.clone(), a.task("", json!({})), &cases).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_never_finishes_or_stays_in_an_unknown_status_times_out_at_the_deadline_unbilled() {
    let status = |s: &str| Outcome::Status(s.into());
    let mut rows: Vec<(Kind, Outcome)> = ALL.iter().map(|k| (*k, Outcome::Never)).collect();
    // Statuses the adapter does not know keep the task polling; `cancelled` is not taken for
    // a known one by the OpenAI adapter.
    rows.extend([(Kind::OpenAi, status("processing")), (Kind::Vidgate, status("processing"))]);
    rows.push((Kind::OpenAi, status("cancelled")));
    each(rows, |(kind, outcome)| async move {
        let a = kind.start().await;
        let body = a.task(&format!("unfinished: {outcome:?}"), json!({}));
        unfinished_job_times_out(&*a.fake, a.entry.clone(), body, outcome).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_poll_resumes_the_same_job_on_every_adapter() {
    each(ALL.to_vec(), |kind| async move {
        let a = kind.start().await;
        restart_resumes_the_same_job(
            &*a.fake,
            a.entry.clone(),
            a.task("across a restart", json!({})),
            kind.five_seconds(),
        )
        .await;
    })
    .await;
}
