//! Finding a create whose answer was lost in an upstream's task list (DashScope §9.6,
//! MiniMax v2 §11.6 of docs/upstreams.md), for upstreams that take no idempotency key: what
//! the lookups of both kinds share. [`Sends`] remembers the creates this process sent and
//! the job each answer named; [`decide`] turns what a lookup found into the job to adopt or
//! an unknown outcome. It never sends a create: a create not found is not sent again.
//!
//! The rule: a job is adopted only when the list, read to the end of the time window, shows
//! exactly one task that matches the create, that no answered create of this process holds,
//! and no other unanswered create of this process with the same signature could own. Zero
//! matches or several are an unknown outcome, as without the lookup.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use vidgate_domain::task_list::TaskListLookup;

use super::ProviderError;

/// After a create sent at `sent_at` whose answer was lost: the job `find` shows for it in
/// the upstream's list, read over the window around the send, or the unknown outcome `why`
/// (the lookup off, the list unreadable, or not exactly one match this process may adopt).
pub async fn recover<Fut>(
    upstream: &str,
    lookup: &TaskListLookup,
    sends: &Sends,
    (send, sent_at): (SendId, u64),
    why: String,
    find: impl FnOnce(Window) -> Fut,
) -> Result<String, ProviderError>
where
    Fut: std::future::Future<Output = Result<Found, ProviderError>>,
{
    if !lookup.is_enabled() {
        return Err(ProviderError::OutcomeUnknown(why));
    }
    let window = Window::around(sent_at, lookup.slack_secs);
    let found = find(window).await.map_err(|e| {
        ProviderError::OutcomeUnknown(format!("{why}; the upstream's task list could not be read ({e})"))
    })?;
    let job = decide(found, sends.rivals(send, window), &why)?;
    tracing::info!(upstream, job = %job, "lost create recovered from the task list");
    Ok(job)
}

/// Creates remembered; older ones are forgotten (their windows closed long ago).
const REMEMBERED: usize = 4096;

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The creation times, in Unix seconds, a task of a lost create may show: from the send
/// less the slack to the lost answer plus the slack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: u64,
    pub to: u64,
}

impl Window {
    /// Around a create sent at `sent_at` whose answer was lost by now.
    pub fn around(sent_at: u64, slack_secs: u64) -> Window {
        Window { from: sent_at.saturating_sub(slack_secs), to: unix_now().max(sent_at) + slack_secs }
    }

    pub fn contains(&self, at: u64) -> bool {
        (self.from..=self.to).contains(&at)
    }
}

/// One create sent by this process.
#[derive(Debug)]
struct Send {
    id: u64,
    signature: String,
    at: u64,
    job: Option<String>,
}

/// The creates this process sent to one upstream, with the job each answer named.
#[derive(Debug, Default)]
pub struct Sends {
    inner: Mutex<(u64, VecDeque<Send>)>,
}

/// A create being sent, as [`Sends`] knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendId(u64);

impl Sends {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, VecDeque<Send>)> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a create of `signature` (what a listed task can be matched on) sent at `at`.
    pub fn begin(&self, signature: String, at: u64) -> SendId {
        let mut inner = self.lock();
        inner.0 += 1;
        let id = inner.0;
        if inner.1.len() == REMEMBERED {
            inner.1.pop_front();
        }
        inner.1.push_back(Send { id, signature, at, job: None });
        SendId(id)
    }

    /// The create's job is `job` (its answer named it, or a lookup adopted it).
    pub fn holds(&self, send: SendId, job: &str) {
        if let Some(s) = self.lock().1.iter_mut().find(|s| s.id == send.0) {
            s.job = Some(job.to_owned());
        }
    }

    /// The create was answered without a job (refused, never sent): it owns nothing.
    pub fn forget(&self, send: SendId) {
        self.lock().1.retain(|s| s.id != send.0);
    }

    /// Every job a create of this process holds: never adopted by another.
    pub fn held(&self) -> HashSet<String> {
        self.lock().1.iter().filter_map(|s| s.job.clone()).collect()
    }

    /// Other creates of this process with the same signature, sent in `window`, whose job
    /// is not known: a matching task may be theirs.
    pub fn rivals(&self, send: SendId, window: Window) -> usize {
        let inner = self.lock();
        let Some(me) = inner.1.iter().find(|s| s.id == send.0) else { return 0 };
        let rival =
            |s: &&Send| s.id != me.id && s.job.is_none() && s.signature == me.signature && window.contains(s.at);
        inner.1.iter().filter(rival).count()
    }
}

/// What a lookup found: the ids of the listed tasks that match the create and no create of
/// this process holds, and whether the list was read to the end of the window.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    pub matches: Vec<String>,
    pub complete: bool,
}

/// The job to adopt, or the unknown outcome `why` with what the lookup found.
pub fn decide(found: Found, rivals: usize, why: &str) -> Result<String, ProviderError> {
    let unknown = |what: String| Err(ProviderError::OutcomeUnknown(format!("{why}; {what}")));
    if !found.complete {
        return unknown("the upstream's task list was not read to the end of the window".into());
    }
    match found.matches.len() {
        0 => unknown("no task of this create is in the upstream's task list".into()),
        1 if rivals == 0 => Ok(found.matches.into_iter().next().expect("one match")),
        1 => unknown(format!("the one matching task may belong to {rivals} other create(s) whose answer is missing")),
        n => unknown(format!("{n} tasks in the upstream's task list match; none is adopted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(ids: &[&str], complete: bool) -> Found {
        Found { matches: ids.iter().map(|s| s.to_string()).collect(), complete }
    }

    #[test]
    fn exactly_one_match_read_to_the_end_with_no_rival_is_adopted_anything_else_is_unknown() {
        assert_eq!(decide(found(&["t1"], true), 0, "lost").unwrap(), "t1");
        let unknown = |f, rivals| match decide(f, rivals, "lost") {
            Err(ProviderError::OutcomeUnknown(m)) => m,
            other => panic!("not unknown: {other:?}"),
        };
        assert!(unknown(found(&[], true), 0).contains("no task"));
        assert!(unknown(found(&["t1", "t2"], true), 0).contains("2 tasks"));
        assert!(unknown(found(&["t1"], false), 0).contains("not read to the end"));
        assert!(unknown(found(&["t1"], true), 1).contains("1 other create"));
    }

    #[test]
    fn answered_creates_hold_their_jobs_and_unanswered_ones_of_the_same_signature_are_rivals() {
        let sends = Sends::default();
        let a = sends.begin("m|p".into(), 1000);
        let b = sends.begin("m|p".into(), 1005);
        let c = sends.begin("m|q".into(), 1005);
        let late = sends.begin("m|p".into(), 2000);
        let window = Window { from: 990, to: 1040 };
        assert_eq!(sends.rivals(a, window), 1, "b is unanswered; c differs; late is outside");
        sends.holds(b, "job-b");
        assert_eq!(sends.rivals(a, window), 0);
        assert_eq!(sends.held(), HashSet::from(["job-b".to_owned()]));
        let _ = (c, late);
        assert!(window.contains(990) && window.contains(1040) && !window.contains(1041));
    }
}
