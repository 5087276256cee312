//! Channels (docs/channels.md): which of a model's routes leads a new task, and the
//! health, cool-down, budget and operator state that decide it.
//!
//! Every replica keeps the same picture: the shared state is a few rows in the store
//! (`UpstreamControls`), written only when a state changes (a breaker opens or closes, a
//! cool-down starts, an operator acts) and read back every [`REFRESH`] (and at once on an
//! announcement, on PostgreSQL). The outcomes that feed a breaker are counted in this
//! process only. Spend is read from the tasks' recorded upstream costs every
//! [`SPEND_REFRESH`], plus what this process routed since.
//!
//! Must not: move a task that has an upstream job, or decide a failover by itself; the
//! worker's failover rules stay (docs/api.md §7). Selection only orders a plan's routes.

mod breaker;
mod refresh;
pub mod select;
pub mod signal;

use rand::RngExt;
use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};
use vidgate_domain::Usd;
use vidgate_domain::plan::TaskPlan;
use vidgate_domain::routing::{BreakerConfig, RoutePick};
use vidgate_domain::upstream::UpstreamConfig;
use vidgate_store::upstreams::{Health, HealthChange, UpstreamControl, UpstreamSpend};
use vidgate_store::{Millis, Store};

use self::breaker::{Move, Window};
use self::select::{Candidate, Readiness};
use self::signal::Signal;

pub use refresh::{REFRESH, SPEND_REFRESH};

/// One upstream's configured routing.
#[derive(Clone, Debug)]
struct Route {
    priority: Option<u32>,
    weight: u32,
    breaker: BreakerConfig,
    daily: Option<Usd>,
    monthly: Option<Usd>,
    max_in_flight: u32,
    /// The pool entry of a credential's channel: members stand in one place of the routes.
    pool_of: Option<String>,
}

/// The routing state of every configured upstream.
#[derive(Debug, Default)]
pub struct Channels {
    routes: BTreeMap<String, Route>,
    controls: RwLock<BTreeMap<String, UpstreamControl>>,
    windows: Mutex<BTreeMap<String, Window>>,
    spend: RwLock<BTreeMap<String, UpstreamSpend>>,
    /// How a group's lead is picked (`engine.route_pick`).
    pick: RoutePick,
    /// Jobs in flight per upstream as last read (`most_free` only), plus the tasks this
    /// process routed since.
    in_flight: RwLock<BTreeMap<String, u32>>,
    /// Poked when another replica announced a change of the controls (PostgreSQL).
    pub announced: tokio::sync::Notify,
}

/// One upstream as the management listing shows it.
#[derive(Clone, Debug)]
pub struct ChannelView {
    pub control: UpstreamControl,
    /// `None`: its position in each model's routes.
    pub priority: Option<u32>,
    pub weight: u32,
    pub spend: UpstreamSpend,
    pub daily_budget: Option<Usd>,
    pub monthly_budget: Option<Usd>,
    pub readiness: Readiness,
}

impl Channels {
    /// The channels of the configured upstreams, all closed until the store says otherwise;
    /// `pick` decides among a group's routes.
    pub fn new(upstreams: &[UpstreamConfig], pick: RoutePick) -> Channels {
        let routes = upstreams
            .iter()
            .map(|u| {
                let route = Route {
                    priority: u.priority,
                    weight: u.weight,
                    breaker: u.breaker.clone(),
                    daily: u.daily_budget_usd,
                    monthly: u.monthly_budget_usd,
                    max_in_flight: u.max_in_flight,
                    pool_of: (!u.pool_of.is_empty()).then(|| u.pool_of.clone()),
                };
                (u.name.clone(), route)
            })
            .collect();
        Channels { routes, pick, ..Default::default() }
    }

    fn control(&self, name: &str) -> UpstreamControl {
        let controls = self.controls.read().expect("controls lock");
        controls.get(name).cloned().unwrap_or_else(|| UpstreamControl { name: name.to_owned(), ..Default::default() })
    }

    fn spent(&self, name: &str) -> UpstreamSpend {
        let spend = self.spend.read().expect("spend lock");
        spend.get(name).cloned().unwrap_or_else(|| UpstreamSpend { name: name.to_owned(), ..Default::default() })
    }

    /// The priority and weight in force: the operator's, else the configured ones; a route
    /// with neither priority has its position in the model's routes (`position`).
    pub fn priority_and_weight(&self, name: &str, position: usize) -> (u32, u32) {
        let c = self.control(name);
        let route = self.routes.get(name);
        let priority = c.priority.or(route.and_then(|r| r.priority)).unwrap_or(position as u32);
        (priority, c.weight.or(route.map(|r| r.weight)).unwrap_or(1))
    }

    /// Whether `name` spent its daily or monthly cap.
    pub fn over_budget(&self, name: &str) -> bool {
        let Some(route) = self.routes.get(name) else { return false };
        let spent = self.spent(name);
        route.daily.is_some_and(|cap| spent.today.micros() >= cap.micros())
            || route.monthly.is_some_and(|cap| spent.month.micros() >= cap.micros())
    }

    /// How ready `name` is to take a new task at `now` (`busy`: at its cap of jobs in flight).
    pub fn readiness(&self, name: &str, busy: bool, now: Millis) -> Readiness {
        let c = self.control(name);
        if self.taken_out(name, now) || self.over_budget(name) {
            Readiness::Out
        } else if busy || c.cool_until > now {
            Readiness::Waiting
        } else {
            Readiness::Ready
        }
    }

    /// Whether `name` is disabled by an operator or ejected by its breaker at `now` (out for
    /// every task, whatever its budget).
    pub fn taken_out(&self, name: &str, now: Millis) -> bool {
        let c = self.control(name);
        c.disabled || c.health == Health::AuthFailed || (c.health == Health::Open && now < c.open_until)
    }

    /// Whether a task may fail over to `name` now (it is not out).
    pub fn usable(&self, name: &str, now: Millis) -> bool {
        self.readiness(name, false, now) != Readiness::Out
    }

    /// `plan` with its lead picked (docs/channels.md) and the other routes after it in
    /// priority order; `None` when every route is out.
    pub fn arrange(&self, plan: TaskPlan, busy: impl Fn(&str) -> bool, now: Millis) -> Option<TaskPlan> {
        // The members of a pool share the place of its first member, so without a
        // configured priority they still form one group.
        let place = |name: &str| self.routes.get(name).and_then(|r| r.pool_of.clone()).unwrap_or_else(|| name.into());
        let places: Vec<String> = plan.routes.iter().map(|r| place(&r.route)).collect();
        let cands: Vec<Candidate> = plan
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let position = places.iter().position(|p| *p == places[i]).unwrap_or(i);
                let (priority, weight) = self.priority_and_weight(&r.route, position);
                let readiness = self.readiness(&r.route, busy(&r.route), now);
                Candidate {
                    priority,
                    weight,
                    readiness,
                    cost_micros: r.upstream_cost.micros(),
                    free: self.free(&r.route),
                }
            })
            .collect();
        let lead = select::lead(&cands, self.pick, rand::rng().random::<f64>())?;
        let routes = select::order(&cands, lead).into_iter().map(|i| plan.routes[i].clone()).collect();
        Some(TaskPlan { current: 0, routes })
    }

    /// `name`'s free job slots as last known (`most_free`; otherwise unread, all free).
    fn free(&self, name: &str) -> u32 {
        let cap = self.routes.get(name).map_or(0, |r| r.max_in_flight);
        let busy = self.in_flight.read().expect("in-flight lock").get(name).copied().unwrap_or(0);
        cap.saturating_sub(busy)
    }

    /// Counts a task routed to `name` at once: its `cost` as spent and, for `most_free`, a
    /// job slot taken (the next reads of the tasks include both).
    pub fn add_routed(&self, name: &str, cost: Usd) {
        if self.pick == RoutePick::MostFree {
            *self.in_flight.write().expect("in-flight lock").entry(name.to_owned()).or_default() += 1;
        }
        self.add_spend(name, cost);
    }

    /// Counts `cost` as spent by `name` at once (the next read of the tasks includes it).
    fn add_spend(&self, name: &str, cost: Usd) {
        let mut spend = self.spend.write().expect("spend lock");
        let s = spend
            .entry(name.to_owned())
            .or_insert_with(|| UpstreamSpend { name: name.to_owned(), ..Default::default() });
        s.today = s.today.plus(cost);
        s.month = s.month.plus(cost);
    }

    /// Feeds one call's outcome to `name`'s breaker; writes the move it makes, if any.
    pub async fn observe(&self, store: &dyn Store, name: &str, signal: Signal, submit: bool, now: Millis) {
        let Some(route) = self.routes.get(name) else { return };
        let call = if submit { "submit" } else { "poll" };
        metrics::counter!("vidgate_upstream_calls_total", "upstream" => name.to_owned(), "call" => call, "outcome" => signal.name())
            .increment(1);
        let c = self.control(name);
        let step = {
            let mut windows = self.windows.lock().expect("windows lock");
            breaker::decide(&c, windows.entry(name.to_owned()).or_default(), &signal, submit, &route.breaker, now)
        };
        let Some(step) = step else { return };
        let mut next = c.clone();
        let written = match &step {
            Move::Cool { until, why } => {
                (next.cool_until, next.last_error, next.last_error_at) = (*until, why.clone(), now);
                store.cool_upstream(name, *until, why, now).await
            }
            other => {
                let (health, open_until, error) = match other {
                    Move::Open { until, why } => (Health::Open, *until, why.clone()),
                    Move::Disable { why } => (Health::AuthFailed, 0, why.clone()),
                    _ => (Health::Closed, 0, String::new()),
                };
                (next.health, next.open_until) = (health, open_until);
                if !error.is_empty() {
                    (next.last_error, next.last_error_at) = (error.clone(), now);
                }
                store.set_upstream_health(name, HealthChange { health, open_until, error, at: now }).await
            }
        };
        tracing::warn!(upstream = name, change = ?step, "upstream health changed");
        metrics::counter!("vidgate_upstream_health_changes_total", "upstream" => name.to_owned(), "to" => move_name(&step))
            .increment(1);
        if let Err(e) = written {
            tracing::warn!(upstream = name, error = %e, "could not record the upstream's health; kept in this process");
        }
        next.changed_at = now;
        self.controls.write().expect("controls lock").insert(name.to_owned(), next);
    }

    /// Takes `rows` as the shared state.
    /// A row this process wrote after the read began (newer `changed_at`) is kept: rows
    /// are never deleted, so the read simply predates it.
    pub fn set_controls(&self, rows: Vec<UpstreamControl>) {
        let mut controls = self.controls.write().expect("controls lock");
        for row in rows {
            let newer_here = controls.get(&row.name).is_some_and(|c| c.changed_at > row.changed_at);
            if !newer_here {
                controls.insert(row.name.clone(), row);
            }
        }
    }

    /// Reads the shared controls again.
    pub async fn refresh_controls(&self, store: &dyn Store) {
        match store.upstream_controls().await {
            Ok(rows) => self.set_controls(rows),
            Err(e) => tracing::warn!(error = %e, "could not read the upstream controls"),
        }
    }

    /// Reads spend again from the tasks (and, for `most_free`, the jobs in flight).
    pub async fn refresh_spend(&self, store: &dyn Store, now: Millis) {
        let (day, month) = day_and_month_start(now);
        match store.upstream_spend(day, month).await {
            Ok(rows) => {
                *self.spend.write().expect("spend lock") = rows.into_iter().map(|r| (r.name.clone(), r)).collect()
            }
            Err(e) => tracing::warn!(error = %e, "could not read the upstreams' spend"),
        }
        if self.pick != RoutePick::MostFree {
            return;
        }
        match store.upstream_in_flight().await {
            Ok(rows) => *self.in_flight.write().expect("in-flight lock") = rows.into_iter().collect(),
            Err(e) => tracing::warn!(error = %e, "could not read the upstreams' jobs in flight"),
        }
    }

    /// Every configured upstream's state, in name order.
    pub fn views(&self, busy: impl Fn(&str) -> bool, now: Millis) -> Vec<ChannelView> {
        self.routes
            .iter()
            .map(|(name, route)| {
                let (_, weight) = self.priority_and_weight(name, 0);
                let priority = self.control(name).priority.or(route.priority);
                ChannelView {
                    control: self.control(name),
                    priority,
                    weight,
                    spend: self.spent(name),
                    daily_budget: route.daily,
                    monthly_budget: route.monthly,
                    readiness: self.readiness(name, busy(name), now),
                }
            })
            .collect()
    }

    /// Sets the per-upstream gauges (state, spend today).
    pub fn record_gauges(&self, busy: impl Fn(&str) -> bool, now: Millis) {
        for v in self.views(busy, now) {
            let state = match v.readiness {
                Readiness::Ready => 0.0,
                Readiness::Waiting => 1.0,
                Readiness::Out => 2.0,
            };
            let name = v.control.name;
            metrics::gauge!("vidgate_upstream_state", "upstream" => name.clone()).set(state);
            let spend = v.spend.today.micros() as f64 / 1e6;
            metrics::gauge!("vidgate_upstream_spend_today_usd", "upstream" => name).set(spend);
        }
    }

    /// Whether `name` is a configured upstream.
    pub fn knows(&self, name: &str) -> bool {
        self.routes.contains_key(name)
    }
}

fn move_name(m: &Move) -> &'static str {
    match m {
        Move::Close => "closed",
        Move::Open { .. } => "open",
        Move::Cool { .. } => "cooling",
        Move::Disable { .. } => "auth_failed",
    }
}

/// A failure's summary for the listing: one line, at most 200 characters.
pub fn summary(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

pub use refresh::{day_and_month_start, refresh_loop};

#[cfg(test)]
mod tests {
    use super::*;

    fn channels() -> Channels {
        let entry = |name: &str, extra: serde_json::Value| -> UpstreamConfig {
            let mut v = serde_json::json!({"name": name, "kind": "gemini", "model": "veo-3.1-generate-preview"});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            serde_json::from_value(v).unwrap()
        };
        Channels::new(
            &[
                entry("a", serde_json::json!({"daily_budget_usd": "1"})),
                entry("b", serde_json::json!({"priority": 3, "weight": 2})),
            ],
            RoutePick::Weight,
        )
    }

    fn row(name: &str, changed_at: Millis, health: Health, open_until: Millis) -> UpstreamControl {
        UpstreamControl { name: name.into(), health, open_until, changed_at, ..Default::default() }
    }

    #[test]
    fn readiness_reads_switches_breaker_cool_down_budget_and_cap() {
        let c = channels();
        assert_eq!(c.readiness("a", false, 100), Readiness::Ready);
        assert_eq!(c.readiness("a", true, 100), Readiness::Waiting, "at its cap");
        c.set_controls(vec![row("a", 1, Health::Open, 200)]);
        assert_eq!(c.readiness("a", false, 100), Readiness::Out, "open");
        assert_eq!(c.readiness("a", false, 200), Readiness::Ready, "half-open: the probe");
        c.set_controls(vec![UpstreamControl { cool_until: 300, ..row("a", 2, Health::Closed, 0) }]);
        assert_eq!(c.readiness("a", false, 250), Readiness::Waiting, "cooling down");
        c.add_spend("a", Usd::from_micros(1_000_000));
        assert_eq!(c.readiness("a", false, 400), Readiness::Out, "at its daily cap");
        assert!(!c.taken_out("a", 400), "a budget does not move a queued task");
        assert_eq!((c.priority_and_weight("a", 4), c.priority_and_weight("b", 0)), ((4, 1), (3, 2)));
    }

    #[test]
    fn the_members_of_a_pool_share_one_place_in_the_routes_and_split_its_tasks() {
        let member = |label: &str| -> UpstreamConfig {
            let mut u: UpstreamConfig = serde_json::from_value(serde_json::json!({
                "name": format!("p:{label}"), "kind": "gemini", "model": "veo-3.1-generate-preview",
            }))
            .unwrap();
            u.pool_of = "p".into();
            u
        };
        let first: UpstreamConfig =
            serde_json::from_value(serde_json::json!({"name": "first", "kind": "gemini", "model": "m"})).unwrap();
        let c = Channels::new(&[first, member("a"), member("b")], RoutePick::Weight);
        c.set_controls(vec![UpstreamControl { disabled: true, ..row("first", 1, Health::Closed, 0) }]);
        let route = |name: &str| -> vidgate_domain::plan::RoutePlan {
            serde_json::from_value(serde_json::json!({"route": name, "upstream_seconds": 8, "upstream_audio": false,
                "trim_to_ms": 8000, "upstream_cost": "0", "margin": "0"}))
            .unwrap()
        };
        let plan = TaskPlan { current: 0, routes: vec![route("first"), route("p:a"), route("p:b")] };
        let mut leads = BTreeMap::<String, u32>::new();
        for _ in 0..200 {
            let arranged = c.arrange(plan.clone(), |_| false, 10).unwrap();
            *leads.entry(arranged.routes[0].route.clone()).or_default() += 1;
        }
        assert_eq!(leads.keys().collect::<Vec<_>>(), ["p:a", "p:b"], "both lead, first never: {leads:?}");
        assert!(leads.values().all(|n| *n >= 60), "about half each: {leads:?}");
    }

    #[test]
    fn a_read_older_than_this_process_s_own_write_does_not_undo_it() {
        let c = channels();
        c.set_controls(vec![row("a", 10, Health::Open, 500)]);
        c.set_controls(vec![row("a", 5, Health::Closed, 0)]);
        assert_eq!(c.control("a").health, Health::Open);
        c.set_controls(vec![row("a", 11, Health::Closed, 0)]);
        assert_eq!(c.control("a").health, Health::Closed);
    }
}
