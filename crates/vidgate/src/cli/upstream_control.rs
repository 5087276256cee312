//! `vidgate upstreams list|show|set`: the upstreams' live control through a running
//! gateway's management API (docs/channels.md "Live control"), with the admin token: each
//! upstream's state, and taking one out of rotation, back, reweighing or resetting it.

use clap::{ArgGroup, Args};
use serde_json::Number;
use vidgate_client::{Updated, Upstream, UpstreamChange};

use super::{Global, output};

/// How much of the last error a table row keeps (`show` prints it whole).
const ERROR_CELL_CHARS: usize = 48;

/// The changes `set` can make; at least one is required.
#[derive(Args)]
#[command(group = ArgGroup::new("change").required(true).multiple(true))]
pub struct SetArgs {
    /// The upstream (a pool member is `<entry>:<label>`).
    pub name: String,
    /// Take it out of rotation (tasks already at the upstream go on to their end).
    #[arg(long, group = "change", conflicts_with = "enable")]
    disable: bool,
    /// Bring it back into rotation.
    #[arg(long, group = "change")]
    enable: bool,
    /// Its share of its group's new tasks (0 to 1000000).
    #[arg(long, group = "change", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    weight: Option<u32>,
    /// Go back to the configured weight.
    #[arg(long, group = "change", conflicts_with = "weight")]
    default_weight: bool,
    /// Its priority (0 to 1000000; lower is tried first).
    #[arg(long, group = "change", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    priority: Option<u32>,
    /// Go back to the configured priority.
    #[arg(long, group = "change", conflicts_with = "priority")]
    default_priority: bool,
    /// Close its breaker, end any cool-down and forgive refused credentials.
    #[arg(long, group = "change")]
    reset: bool,
}

impl SetArgs {
    fn change(&self) -> UpstreamChange {
        let value = |n: Option<u32>, default: bool| if default { Some(None) } else { n.map(Some) };
        UpstreamChange {
            disabled: if self.disable { Some(true) } else { self.enable.then_some(false) },
            weight: value(self.weight, self.default_weight),
            priority: value(self.priority, self.default_priority),
            reset: self.reset,
        }
    }
}

/// `vidgate upstreams list`.
pub async fn list(g: &Global) -> anyhow::Result<()> {
    print_list(g, &g.client()?.upstreams().await?.data)
}

fn print_list(g: &Global, upstreams: &[Upstream]) -> anyhow::Result<()> {
    if g.json {
        return output::json(&upstreams);
    }
    if upstreams.is_empty() {
        println!("no upstreams configured (test keys and the sandbox need none)");
        return Ok(());
    }
    let headers = [
        "UPSTREAM",
        "POOL",
        "STATE",
        "HEALTH",
        "DISABLED",
        "PRIORITY",
        "WEIGHT",
        "IN FLIGHT",
        "TODAY USD",
        "MONTH USD",
        "LAST ERROR",
    ];
    output::table(&headers, &upstreams.iter().map(row).collect::<Vec<_>>());
    Ok(())
}

/// `vidgate upstreams show NAME`.
pub async fn show(g: &Global, name: &str) -> anyhow::Result<()> {
    print_upstream(g, &g.client()?.upstream(name).await?)
}

/// `vidgate upstreams set NAME …`: applies the change and prints the upstream after it (a
/// pool entry's name changes every member: they are printed as `list` prints them).
pub async fn set(g: &Global, args: SetArgs) -> anyhow::Result<()> {
    let change = args.change();
    anyhow::ensure!(!change.is_empty(), "nothing to change: give --disable, --enable, --weight, --priority or --reset");
    match g.client()?.update_upstream(&args.name, &change).await? {
        Updated::One(one) => print_upstream(g, &one),
        Updated::Members(members) => print_list(g, &members.data),
    }
}

fn row(u: &Upstream) -> Vec<String> {
    vec![
        u.name.clone(),
        dash(u.pool.as_deref()),
        u.state.clone(),
        u.health.clone(),
        yes_no(u.disabled),
        dash(u.priority.map(|p| p.to_string()).as_deref()),
        u.weight.to_string(),
        format!("{}/{}", u.in_flight, cap(u.max_in_flight)),
        spend(&u.spend_today_usd, u.daily_budget_usd.as_ref()),
        spend(&u.spend_month_usd, u.monthly_budget_usd.as_ref()),
        shorten(&dash(u.last_error.as_deref()), ERROR_CELL_CHARS),
    ]
}

fn print_upstream(g: &Global, u: &Upstream) -> anyhow::Result<()> {
    if g.json {
        return output::json(u);
    }
    let budget = |b: Option<&Number>| b.map_or_else(|| "none".to_owned(), Number::to_string);
    let mut pairs = vec![
        ("upstream", u.name.clone()),
        ("kind", u.kind.clone()),
        ("pool", dash(u.pool.as_deref())),
        ("state", u.state.clone()),
        ("health", u.health.clone()),
        ("open until", dash(u.open_until.as_deref())),
        ("cooling until", dash(u.cooling_until.as_deref())),
        ("disabled", yes_no(u.disabled)),
        ("priority", u.priority.map_or_else(|| "- (its place in each model's routes)".into(), |p| p.to_string())),
        ("weight", u.weight.to_string()),
        ("in flight", u.in_flight.to_string()),
        ("max in flight", cap(u.max_in_flight)),
        ("spend today USD", u.spend_today_usd.to_string()),
        ("daily budget USD", budget(u.daily_budget_usd.as_ref())),
        ("spend month USD", u.spend_month_usd.to_string()),
        ("monthly budget USD", budget(u.monthly_budget_usd.as_ref())),
        ("last error", dash(u.last_error.as_deref())),
        ("last error at", dash(u.last_error_at.as_deref())),
        ("changed at", dash(u.changed_at.as_deref())),
    ];
    // Fields a newer gateway adds are shown too.
    let extra: Vec<(&str, String)> =
        u.extra.iter().filter(|(k, _)| *k != "object").map(|(k, v)| (k.as_str(), output::cell(v))).collect();
    pairs.extend(extra);
    output::fields(&pairs);
    Ok(())
}

fn dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

fn yes_no(b: bool) -> String {
    (if b { "yes" } else { "no" }).to_owned()
}

/// `max_in_flight`; 0 (no configured entry behind the row) as `-`.
fn cap(max: u32) -> String {
    if max == 0 { "-".to_owned() } else { max.to_string() }
}

/// `spent` or `spent/budget`.
fn spend(spent: &Number, budget: Option<&Number>) -> String {
    budget.map_or_else(|| spent.to_string(), |b| format!("{spent}/{b}"))
}

/// At most `max` characters, an ellipsis marking a cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let kept: String = s.chars().take(max - 1).collect();
    format!("{kept}…")
}
