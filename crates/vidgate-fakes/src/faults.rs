//! The control a test holds over a fake: transport faults for the next requests of a kind,
//! seeded random faults, the outcome of the next jobs, latency and download redirects.
//!
//! Owns the decision of *what* goes wrong; `middleware` and the fakes' handlers carry it out.
//! It must not know any protocol's wire format.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// The kind of request a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// The OAuth token endpoint (Vertex only).
    Token,
    /// Starting a job (`predictLongRunning`, `POST /v1/videos`, `POST /v1/videos/generations`).
    Submit,
    /// Reading a job's state (`fetchPredictOperation`, `GET` of an operation, video or task).
    Poll,
    /// Fetching result bytes (GCS objects, Files API downloads, `/content`, result files),
    /// including the target of a download redirect.
    Download,
    /// `DELETE /v1/videos/{id}` and `POST /v1/tasks/cancel/...`.
    Delete,
    /// Naming a finished job's file for download (MiniMax v1 `GET /v1/files/retrieve`, fal
    /// `GET {response_url}`).
    Retrieve,
}

/// A transport-level fault for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 in the upstream's error shape with `Retry-After: <secs>`; nothing is processed.
    RateLimited {
        /// The `Retry-After` value in seconds.
        retry_after_secs: u64,
    },
    /// This status (e.g. 500, 503) in the upstream's error shape; nothing is processed.
    Status(u16),
    /// The request is processed (a submit creates its job), then the answer waits this long,
    /// so a client with a shorter timeout gives up on a job that exists.
    Slow(Duration),
    /// The socket is closed (RST) before anything is processed or answered.
    Reset,
    /// The request is processed (a submit creates its job), then the socket is closed (RST)
    /// without an answer: the "outcome unknown" case.
    ResetAfter,
    /// The request is processed and answered 200 with a body cut in half, so it is not JSON.
    MalformedJson,
    /// The request is processed and the answer announces its full `Content-Length` but only
    /// half the body is sent before the socket closes.
    Truncated,
    /// The request is processed and answered with its status and the first half of the body,
    /// whose `Content-Length` says that half: the transfer looks complete (a cut result file).
    ShortBody,
}

/// How a job ends once its latency has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Real MP4 results of the native length.
    Success,
    /// Google: `done: true` without samples, `raiMediaFilteredCount: 1` and a reason.
    /// OpenAI: `failed` with a moderation error. vidgate: `failed` with `content_filtered`.
    SafetyBlock,
    /// Google: `done: true, error: {code, message}` (`code` is a google.rpc.Code number).
    /// OpenAI: `failed` with `error: {code, message}`. vidgate: `failed` with that error.
    Error {
        /// Google: a google.rpc.Code number as text (e.g. "13"); others: the error code.
        code: String,
        /// The human-readable message.
        message: String,
    },
    /// Reports this status string forever (OpenAI and vidgate: statuses a client does not
    /// know, e.g. "cancelled" or "processing"). Google fakes treat it as `Success`.
    Status(String),
    /// Reports success, but the result bytes are not an MP4.
    CorruptMedia,
    /// Never finishes.
    Never,
}

impl Outcome {
    /// Whether the job ends with result bytes worth rendering ahead of time.
    pub(crate) fn renders(&self) -> bool {
        matches!(self, Outcome::Success | Outcome::Status(_))
    }
}

/// How long a job runs: it is done once it has been polled `polls` times *and* `min` has
/// passed since the submit (tokio time, so a paused clock advances it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Polls that still answer "running" before the one that answers "done".
    pub polls: u32,
    /// The least time between submit and done.
    pub min: Duration,
}

impl Latency {
    /// Done at the `n + 1`-th poll.
    pub fn polls(n: u32) -> Self {
        Self { polls: n, min: Duration::ZERO }
    }

    /// Done at the first poll at least `ms` milliseconds after the submit.
    pub fn millis(ms: u64) -> Self {
        Self { polls: 0, min: Duration::from_millis(ms) }
    }
}

impl Default for Latency {
    /// One "running" answer, then done.
    fn default() -> Self {
        Self::polls(1)
    }
}

/// Faults chosen at random with a seeded generator, so a run can be replayed.
#[derive(Debug)]
struct RandomFaults {
    state: u64,
    probability: f64,
    endpoints: Vec<Endpoint>,
    faults: Vec<Fault>,
}

impl RandomFaults {
    /// SplitMix64: tiny, seedable and good enough to pick faults.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick(&mut self, endpoint: Endpoint) -> Option<Fault> {
        if self.faults.is_empty() || !self.endpoints.contains(&endpoint) {
            return None;
        }
        let roll = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= self.probability {
            return None;
        }
        let index = (self.next_u64() % self.faults.len() as u64) as usize;
        Some(self.faults[index].clone())
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// `None` lets one request through untouched (see [`Faults::push_after`]).
    queued: HashMap<Endpoint, VecDeque<Option<Fault>>>,
    random: Option<RandomFaults>,
    outcomes: VecDeque<Outcome>,
    by_prompt: HashMap<String, Outcome>,
    latency: Latency,
    redirect_downloads: bool,
}

/// The fault control of one fake; every method takes `&self` and can be called while the fake
/// serves requests.
#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Faults {
    pub(crate) fn new(redirect_downloads: bool) -> Self {
        Self { inner: Mutex::new(Inner { redirect_downloads, ..Inner::default() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next request of kind `endpoint` meets `fault` (faults queue up in order).
    pub fn push(&self, endpoint: Endpoint, fault: Fault) -> &Self {
        self.push_n(endpoint, 1, fault)
    }

    /// The next `n` requests of kind `endpoint` meet `fault`.
    pub fn push_n(&self, endpoint: Endpoint, n: usize, fault: Fault) -> &Self {
        let mut inner = self.lock();
        let queue = inner.queued.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(Some(fault), n));
        self
    }

    /// The next `pass` requests of kind `endpoint` go through untouched, then one meets
    /// `fault`: e.g. `push_after(Endpoint::Submit, 1, f)` hits the second submit, which for a
    /// Gemini extension chain is its first extension.
    pub fn push_after(&self, endpoint: Endpoint, pass: usize, fault: Fault) -> &Self {
        let mut inner = self.lock();
        let queue = inner.queued.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(None, pass));
        queue.push_back(Some(fault));
        self
    }

    /// From now on, each request of the given kinds with no queued fault meets one of `faults`
    /// with `probability` (0.0..=1.0), drawn from a generator seeded with `seed`.
    pub fn random(&self, seed: u64, probability: f64, endpoints: &[Endpoint], faults: &[Fault]) -> &Self {
        self.lock().random =
            Some(RandomFaults { state: seed, probability, endpoints: endpoints.to_vec(), faults: faults.to_vec() });
        self
    }

    /// Drops queued and random faults and scripted outcomes (latency and redirects stay).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.queued.clear();
        inner.random = None;
        inner.outcomes.clear();
        inner.by_prompt.clear();
    }

    /// Faults still queued for `endpoint` (not yet met).
    pub fn pending(&self, endpoint: Endpoint) -> usize {
        self.lock().queued.get(&endpoint).map_or(0, |q| q.iter().filter(|f| f.is_some()).count())
    }

    /// The next job submitted ends with `outcome` (outcomes queue up in order).
    pub fn push_outcome(&self, outcome: Outcome) -> &Self {
        self.lock().outcomes.push_back(outcome);
        self
    }

    /// Every job whose prompt is exactly `prompt` ends with `outcome` (wins over the queue);
    /// useful when jobs are submitted concurrently.
    pub fn outcome_for_prompt(&self, prompt: &str, outcome: Outcome) -> &Self {
        self.lock().by_prompt.insert(prompt.to_owned(), outcome);
        self
    }

    /// Latency of jobs submitted from now on.
    pub fn set_latency(&self, latency: Latency) -> &Self {
        self.lock().latency = latency;
        self
    }

    /// Whether downloads answer with a redirect to the bytes (default: on for Gemini only).
    pub fn set_redirect_downloads(&self, on: bool) -> &Self {
        self.lock().redirect_downloads = on;
        self
    }

    /// The fault for this request, if any: the queue first, then the random draw.
    pub(crate) fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut inner = self.lock();
        if let Some(queued) = inner.queued.get_mut(&endpoint).and_then(VecDeque::pop_front) {
            return queued;
        }
        inner.random.as_mut().and_then(|random| random.pick(endpoint))
    }

    /// The outcome and latency of a job being created with `prompt`.
    pub(crate) fn job_script(&self, prompt: &str) -> (Outcome, Latency) {
        let mut inner = self.lock();
        let outcome = match inner.by_prompt.get(prompt) {
            Some(outcome) => outcome.clone(),
            None => inner.outcomes.pop_front().unwrap_or(Outcome::Success),
        };
        (outcome, inner.latency)
    }

    pub(crate) fn redirect_downloads(&self) -> bool {
        self.lock().redirect_downloads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_are_met_in_order_then_run_out() {
        let faults = Faults::default();
        faults.push(Endpoint::Poll, Fault::Status(503)).push(Endpoint::Poll, Fault::Reset);
        assert_eq!(faults.take(Endpoint::Submit), None);
        assert_eq!(faults.take(Endpoint::Poll), Some(Fault::Status(503)));
        assert_eq!(faults.take(Endpoint::Poll), Some(Fault::Reset));
        assert_eq!(faults.take(Endpoint::Poll), None);
    }

    #[test]
    fn a_fault_pushed_after_passes_lets_that_many_requests_through_first() {
        let faults = Faults::default();
        faults.push_after(Endpoint::Submit, 2, Fault::Reset);
        assert_eq!(faults.pending(Endpoint::Submit), 1);
        assert_eq!(faults.take(Endpoint::Submit), None);
        assert_eq!(faults.take(Endpoint::Submit), None);
        assert_eq!(faults.take(Endpoint::Submit), Some(Fault::Reset));
        assert_eq!((faults.take(Endpoint::Submit), faults.pending(Endpoint::Submit)), (None, 0));
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let draw = |seed| {
            let faults = Faults::default();
            faults.random(seed, 0.5, &[Endpoint::Poll], &[Fault::Status(500), Fault::Reset]);
            (0..64).map(|_| faults.take(Endpoint::Poll)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let hits = draw(7).iter().filter(|f| f.is_some()).count();
        assert!((16..=48).contains(&hits), "{hits} of 64 draws hit at p = 0.5");
    }

    #[test]
    fn random_faults_touch_only_the_chosen_endpoints() {
        let faults = Faults::default();
        faults.random(1, 1.0, &[Endpoint::Download], &[Fault::Truncated]);
        assert_eq!(faults.take(Endpoint::Submit), None);
        assert_eq!(faults.take(Endpoint::Download), Some(Fault::Truncated));
    }

    #[test]
    fn a_prompt_outcome_wins_over_the_queue_and_the_queue_defaults_to_success() {
        let faults = Faults::default();
        faults.push_outcome(Outcome::SafetyBlock).outcome_for_prompt("p", Outcome::CorruptMedia);
        assert_eq!(faults.job_script("p").0, Outcome::CorruptMedia);
        assert_eq!(faults.job_script("q").0, Outcome::SafetyBlock);
        assert_eq!(faults.job_script("q").0, Outcome::Success);
    }
}
