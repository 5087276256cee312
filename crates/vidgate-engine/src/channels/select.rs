//! Which route leads a new task (docs/channels.md): routing groups by priority (lower
//! first), within the best group that can take the task a pick by weight (or first by
//! lowest cost or most free slots, `engine.route_pick`); the plan's other routes follow in
//! priority order as failover.
//!
//! Pure: readiness and the random roll come from the caller.

pub use vidgate_domain::routing::RoutePick;

/// How ready a route is to take a new task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Readiness {
    /// It can start the job now.
    Ready,
    /// It can take the task, which waits for it: at its cap of jobs in flight, or cooling
    /// down after a rate limit.
    Waiting,
    /// It cannot: disabled, ejected by its breaker, refused credentials, or over budget.
    Out,
}

/// One route as selection sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub priority: u32,
    pub weight: u32,
    pub readiness: Readiness,
    /// What the route's upstream charges for this request, micro-dollars.
    pub cost_micros: i64,
    /// Its free job slots (`max_in_flight` minus its jobs in flight, as last known).
    pub free: u32,
}

/// The index of the route to lead, or `None` when every route is out. The best priority
/// with a ready route of positive weight wins: within it, `pick` keeps the cheapest or the
/// freest routes (all of them for `weight`), and one is picked by weight with `roll` (in
/// [0, 1)); failing that the same among waiting routes; failing that the first ready or
/// waiting route of weight 0, by priority.
pub fn lead(cands: &[Candidate], pick: RoutePick, roll: f64) -> Option<usize> {
    for level in [Readiness::Ready, Readiness::Waiting] {
        let eligible = |c: &Candidate| c.readiness == level && c.weight > 0;
        let Some(best) = cands.iter().filter(|c| eligible(c)).map(|c| c.priority).min() else { continue };
        let mut group: Vec<usize> =
            (0..cands.len()).filter(|&i| eligible(&cands[i]) && cands[i].priority == best).collect();
        match pick {
            RoutePick::Weight => {}
            RoutePick::LowestCost => {
                let cheapest = group.iter().map(|&i| cands[i].cost_micros).min().unwrap_or_default();
                group.retain(|&i| cands[i].cost_micros == cheapest);
            }
            RoutePick::MostFree => {
                let freest = group.iter().map(|&i| cands[i].free).max().unwrap_or_default();
                group.retain(|&i| cands[i].free == freest);
            }
        }
        let total: u64 = group.iter().map(|&i| u64::from(cands[i].weight)).sum();
        let mut point = (roll.clamp(0.0, 1.0) * total as f64) as u64;
        for &i in &group {
            let w = u64::from(cands[i].weight);
            if point < w {
                return Some(i);
            }
            point -= w;
        }
        return group.last().copied();
    }
    let usable = (0..cands.len()).filter(|&i| cands[i].readiness != Readiness::Out);
    usable.min_by_key(|&i| (cands[i].readiness, cands[i].priority))
}

/// The plan's order: `lead` first, then the others by priority (their configured order
/// within one priority).
pub fn order(cands: &[Candidate], lead: usize) -> Vec<usize> {
    let mut rest: Vec<usize> = (0..cands.len()).filter(|&i| i != lead).collect();
    rest.sort_by_key(|&i| cands[i].priority);
    std::iter::once(lead).chain(rest).collect()
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn c(priority: u32, weight: u32, readiness: Readiness) -> Candidate {
        Candidate { priority, weight, readiness, cost_micros: 0, free: 1 }
    }

    fn shares(cands: &[Candidate], n: usize) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(19);
        let mut counts = vec![0; cands.len()];
        for _ in 0..n {
            counts[lead(cands, RoutePick::Weight, rng.random::<f64>()).unwrap()] += 1;
        }
        counts
    }

    #[test]
    fn traffic_splits_by_weight_within_five_percent_over_a_thousand_submits() {
        let cands = [c(0, 1, Readiness::Ready), c(0, 3, Readiness::Ready), c(0, 6, Readiness::Ready)];
        let counts = shares(&cands, 1000);
        for (count, expected) in counts.iter().zip([100.0, 300.0, 600.0]) {
            let off = (*count as f64 - expected).abs() / 1000.0;
            assert!(off <= 0.05, "{counts:?}");
        }
        assert_eq!(counts.iter().sum::<usize>(), 1000);
    }

    #[test]
    fn the_next_priority_leads_only_when_the_whole_group_cannot_start_the_job() {
        let busy = [c(0, 1, Readiness::Waiting), c(0, 1, Readiness::Out), c(1, 1, Readiness::Ready)];
        assert_eq!(shares(&busy, 50), vec![0, 0, 50], "a ready route of the next group beats a waiting one");
        let one_left = [c(0, 1, Readiness::Ready), c(0, 5, Readiness::Out), c(1, 9, Readiness::Ready)];
        assert_eq!(shares(&one_left, 50), vec![50, 0, 0]);
        let all_waiting = [c(2, 1, Readiness::Waiting), c(1, 1, Readiness::Waiting), c(0, 1, Readiness::Out)];
        assert_eq!(shares(&all_waiting, 50), vec![0, 50, 0]);
        assert_eq!(lead(&[c(0, 1, Readiness::Out), c(1, 1, Readiness::Out)], RoutePick::Weight, 0.3), None);
    }

    #[test]
    fn weight_zero_leads_only_when_nothing_else_can() {
        assert_eq!(shares(&[c(0, 0, Readiness::Ready), c(1, 1, Readiness::Waiting)], 20), vec![0, 20]);
        assert_eq!(lead(&[c(0, 0, Readiness::Waiting), c(1, 1, Readiness::Out)], RoutePick::Weight, 0.9), Some(0));
    }

    #[test]
    fn lowest_cost_and_most_free_narrow_the_group_before_the_weights_and_never_cross_priorities() {
        let group =
            |cost: i64, free: u32, weight: u32| Candidate { cost_micros: cost, free, ..c(0, weight, Readiness::Ready) };
        let cands =
            [group(300, 1, 5), group(100, 2, 1), group(100, 8, 1), Candidate { priority: 1, ..group(1, 50, 1) }];
        let picks = |pick: RoutePick| {
            let mut rng = StdRng::seed_from_u64(7);
            let mut counts = vec![0; cands.len()];
            for _ in 0..200 {
                counts[lead(&cands, pick, rng.random::<f64>()).unwrap()] += 1;
            }
            counts
        };
        let cheapest = picks(RoutePick::LowestCost);
        assert_eq!((cheapest[0], cheapest[3]), (0, 0), "only the cheapest of the best group: {cheapest:?}");
        assert!(cheapest[1] > 60 && cheapest[2] > 60, "a tie shares by weight: {cheapest:?}");
        assert_eq!(picks(RoutePick::MostFree), vec![0, 0, 200, 0]);
        let by_weight = picks(RoutePick::Weight);
        assert!(by_weight[0] > by_weight[1] && by_weight[3] == 0, "{by_weight:?}");
    }

    #[test]
    fn the_others_follow_the_lead_in_priority_order() {
        let cands = [
            c(1, 1, Readiness::Ready),
            c(0, 1, Readiness::Ready),
            c(1, 1, Readiness::Ready),
            c(0, 1, Readiness::Ready),
        ];
        assert_eq!(order(&cands, 2), vec![2, 1, 3, 0]);
    }
}
