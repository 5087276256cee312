//! Fair shares of a provider's cap: which due submits a claim takes when several accounts
//! wait on one provider. Both backends read the same facts (jobs in flight per provider and
//! account, and the earliest due submits of each waiting account) and let this decide.
//!
//! The rule: a free slot of a provider goes to the waiting account that holds the fewest of
//! that provider's slots (jobs in flight plus submits being sent); ties go to the account
//! whose submit has waited longest (earliest due, then task id). So while others wait, an
//! account never gets a slot ahead of one holding fewer; with `n` accounts waiting, each
//! ends up holding at most `ceil(cap / n)` once slots free up. Running jobs are never
//! interrupted: an account that filled the cap before others came keeps its jobs, and the
//! others get the next slots that free. To keep slots free for accounts that come while
//! one is busy, [`ProviderCaps::account_ceiling`] bounds what one account may hold at all
//! (`engine.max_account_share_percent`; 100 by default, so a lone account may fill the cap).
//!
//! Must not: read the store; the backends feed it.

use std::collections::HashMap;

use crate::model::{Millis, ProviderCaps};

/// A due submit offered to the picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub next_run_at: Millis,
}

/// What one claim took, and the providers it left with no free slot (a new submit to one
/// of those has nothing to wake the engine for).
#[derive(Debug, Default)]
pub struct ClaimBatch {
    pub claimed: Vec<crate::model::Claimed>,
    pub saturated: Vec<String>,
}

/// The choice of one claim: built from what is in flight, offered each waiting account's
/// earliest due submits, then asked which to take.
pub struct FairPick<'a> {
    caps: &'a ProviderCaps,
    in_flight: HashMap<String, u32>,
    held: HashMap<(String, String), u32>,
    queues: Vec<Queue>,
}

struct Queue {
    provider: String,
    account: String,
    /// Earliest due first; the front is the next to take.
    heads: std::collections::VecDeque<Candidate>,
}

impl<'a> FairPick<'a> {
    /// `held` lists the slots taken per (provider, account): jobs in flight and submits
    /// being sent.
    pub fn new(caps: &'a ProviderCaps, held: impl IntoIterator<Item = (String, String, u32)>) -> Self {
        let mut pick = FairPick { caps, in_flight: HashMap::new(), held: HashMap::new(), queues: Vec::new() };
        for (provider, account, n) in held {
            *pick.in_flight.entry(provider.clone()).or_default() += n;
            *pick.held.entry((provider, account)).or_default() += n;
        }
        pick
    }

    /// Slots of `provider` free now (its cap minus what is in flight).
    pub fn free(&self, provider: &str) -> u32 {
        self.caps.cap(provider).saturating_sub(self.in_flight.get(provider).copied().unwrap_or(0))
    }

    /// Providers with no free slot now, among those with jobs in flight or submits offered.
    pub fn saturated(&self) -> Vec<String> {
        let mut full: Vec<String> = self.in_flight.keys().filter(|p| self.free(p) == 0).cloned().collect();
        full.sort();
        full
    }

    /// Offers an account's due submits on a provider, earliest due first. More than
    /// [`free`](Self::free) of them can never be taken.
    pub fn offer(&mut self, provider: &str, account: &str, heads: Vec<Candidate>) {
        if !heads.is_empty() {
            let (provider, account) = (provider.to_owned(), account.to_owned());
            self.queues.push(Queue { provider, account, heads: heads.into() });
        }
    }

    /// Takes up to `limit` of the offered submits, one slot at a time, in the order they are
    /// taken. Afterwards [`free`](Self::free) counts them in flight.
    pub fn choose(&mut self, limit: u32) -> Vec<String> {
        let mut picked = Vec::new();
        while (picked.len() as u32) < limit {
            let Some(best) = self.next_queue() else { break };
            let queue = &mut self.queues[best];
            let head = queue.heads.pop_front().expect("a queue offered has a head");
            *self.in_flight.entry(queue.provider.clone()).or_default() += 1;
            *self.held.entry((queue.provider.clone(), queue.account.clone())).or_default() += 1;
            picked.push(head.id);
        }
        picked
    }

    fn below_ceiling(&self, q: &Queue) -> bool {
        let held = self.held.get(&(q.provider.clone(), q.account.clone())).copied().unwrap_or(0);
        held < self.caps.account_ceiling(&q.provider)
    }

    /// The queue whose head is taken next: among providers with a free slot, the account
    /// holding fewest slots, then the earliest due head.
    fn next_queue(&self) -> Option<usize> {
        let rank = |q: &Queue| {
            let held = self.held.get(&(q.provider.clone(), q.account.clone())).copied().unwrap_or(0);
            let head = q.heads.front().expect("non-empty");
            (held, head.next_run_at, head.id.clone())
        };
        self.queues
            .iter()
            .enumerate()
            .filter(|(_, q)| !q.heads.is_empty() && self.free(&q.provider) > 0 && self.below_ceiling(q))
            .min_by_key(|(_, q)| rank(q))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn caps(default: u32) -> ProviderCaps {
        ProviderCaps { default, per_provider: BTreeMap::new(), account_share_percent: 100 }
    }

    fn heads(prefix: &str, n: usize, first_due: Millis) -> Vec<Candidate> {
        (0..n).map(|i| Candidate { id: format!("{prefix}{i}"), next_run_at: first_due + i as Millis }).collect()
    }

    #[test]
    fn a_greedy_account_gets_no_slot_while_an_account_holding_fewer_waits() {
        let caps = caps(4);
        // a holds three of four slots; b holds none and came later
        let mut pick = FairPick::new(&caps, [("sandbox".into(), "a".into(), 3)]);
        pick.offer("sandbox", "a", heads("a", 4, 0));
        pick.offer("sandbox", "b", heads("b", 4, 100));
        assert_eq!(pick.choose(10), ["b0"]);
        assert_eq!((pick.free("sandbox"), pick.saturated()), (0, vec!["sandbox".to_owned()]));
    }

    #[test]
    fn free_slots_are_shared_round_robin_and_ties_go_to_the_longest_waiting() {
        let caps = caps(5);
        let mut pick = FairPick::new(&caps, []);
        pick.offer("sandbox", "a", heads("a", 5, 0));
        pick.offer("sandbox", "b", heads("b", 5, 10));
        pick.offer("sandbox", "c", heads("c", 1, 5));
        assert_eq!(pick.choose(10), ["a0", "c0", "b0", "a1", "b1"]);
    }

    #[test]
    fn a_lone_account_may_fill_the_whole_cap() {
        let caps = caps(3);
        let mut pick = FairPick::new(&caps, []);
        pick.offer("sandbox", "a", heads("a", 10, 0));
        assert_eq!(pick.choose(10), ["a0", "a1", "a2"]);
    }

    #[test]
    fn below_a_full_share_an_account_alone_leaves_slots_free_for_the_next() {
        let mut caps = caps(4);
        caps.account_share_percent = 50;
        let mut pick = FairPick::new(&caps, []);
        pick.offer("sandbox", "a", heads("a", 10, 0));
        assert_eq!(pick.choose(10), ["a0", "a1"], "a may hold half of four");
        pick.offer("sandbox", "b", heads("b", 10, 5));
        assert_eq!(pick.choose(10), ["b0", "b1"]);
        caps.account_share_percent = 30;
        assert_eq!((caps.account_ceiling("sandbox"), caps.account_ceiling("x")), (2, 2), "30 % of 4, rounded up");
        caps.account_share_percent = 1;
        assert_eq!(caps.account_ceiling("sandbox"), 1, "at least one slot");
    }

    #[test]
    fn the_limit_and_each_providers_own_cap_bound_the_choice() {
        let mut caps = caps(2);
        caps.per_provider.insert("veo".into(), 1);
        let mut pick = FairPick::new(&caps, [("veo".into(), "b".into(), 1)]);
        pick.offer("veo", "a", heads("v", 3, 0));
        pick.offer("sandbox", "a", heads("s", 3, 50));
        assert_eq!(pick.choose(10), ["s0", "s1"], "veo is at its cap of one");
        assert_eq!(pick.saturated(), ["sandbox", "veo"]);
        let mut pick = FairPick::new(&caps, []);
        pick.offer("sandbox", "a", heads("s", 3, 0));
        assert_eq!(pick.choose(1), ["s0"]);
    }
}
