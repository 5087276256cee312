//! `/console/`: the overview. For the operator: tasks by status now, completions and
//! failures over the last 24 hours, live spend today and this month. For an account: its
//! balance, holds and spend, and its recent tasks by status.

use axum::extract::State;
use vidgate_domain::Usd;
use vidgate_engine::clock::{now_ms, rfc3339};
use vidgate_engine::gateway::UsageScope;

use super::html::{esc, ok};
use super::tasks::{Filters, find, read_page};
use super::{PageResult, Signed, Who};
use crate::AppState;
use crate::error::HttpError;

const DAY_MS: i64 = 86_400_000;

fn stat(label: &str, id: &str, value: &str) -> String {
    format!("<div class=\"stat\"><span>{}</span><b id=\"{id}\">{}</b></div>", esc(label), esc(value))
}

/// Live spend since `since` (a `YYYY-MM-DD` day), in the scope.
async fn spend_since(state: &AppState, scope: UsageScope, since: &str) -> Result<String, HttpError> {
    let params = [("since".to_owned(), since.to_owned()), ("mode".to_owned(), "live".to_owned())];
    let list = state.gateway.usage(scope, &params).await?;
    Ok(list.totals.usd.to_string())
}

/// Tasks read at most to sum the operator's margins.
const MARGIN_SCAN_TASKS: usize = 2000;

/// The operator's live margin (charged less upstream cost) of the tasks that ended today and
/// this month, and whether the scan stopped at [`MARGIN_SCAN_TASKS`] before reaching tasks
/// created a day before the month began (a task runs well under a day).
async fn margins(state: &AppState, signed: &Signed, today: &str, month: &str) -> Result<(Usd, Usd, bool), HttpError> {
    // A day before the month began: the day of the month, plus one, days ago.
    let day_of_month: i64 = today[8..10].parse().unwrap_or(31);
    let oldest = rfc3339(now_ms() - (day_of_month + 1) * DAY_MS);
    let (mut day, mut all, mut read, mut after) = (Usd::ZERO, Usd::ZERO, 0, None::<String>);
    loop {
        let (page, more) = read_page(state, signed, &Filters::default(), None, after.as_deref()).await?;
        for t in &page {
            read += 1;
            after = t["task_id"].as_str().map(str::to_owned);
            if t["created_at"].as_str().unwrap_or("") < oldest.as_str() {
                return Ok((day, all, false));
            }
            let ended = t["completed_at"].as_str().unwrap_or("");
            if t["mode"] == "live" && ended >= month {
                let margin = Usd::from_json(&t["margin_usd"]).unwrap_or(Usd::ZERO);
                all = all.plus(margin);
                if ended >= today {
                    day = day.plus(margin);
                }
            }
        }
        if !more {
            return Ok((day, all, false));
        }
        if read >= MARGIN_SCAN_TASKS {
            return Ok((day, all, true));
        }
    }
}

/// A count shown as "25+" when there are more than a page.
fn capped(n: usize, more: bool) -> String {
    if more { format!("{n}+") } else { n.to_string() }
}

/// Tasks read at most, newest first, to count an account's tasks by status.
const COUNT_SCAN_PAGES: usize = 5;

/// Per status: the tasks in it now, and those that reached it in the last 24 hours.
///
/// The operator's open counts are exact (the store counts open tasks through their own
/// index); the ended ones come from one page of the admin search per status. An account's
/// come from one pass over its newest tasks (at most [`COUNT_SCAN_PAGES`] pages of 100, the
/// API's own listing, which cannot filter by status), a count marked "+" when older tasks
/// were left unread.
async fn counts(state: &AppState, signed: &Signed) -> Result<Vec<(&'static str, String, String)>, HttpError> {
    let day_ago = rfc3339(now_ms() - DAY_MS);
    let recent_of = |tasks: &[serde_json::Value], status: &str| {
        tasks
            .iter()
            .filter(|t| t["status"] == status && t["completed_at"].as_str().is_some_and(|at| at >= day_ago.as_str()))
            .count()
    };
    let mut out = Vec::new();
    if matches!(signed.who, Who::Operator) {
        let (queued, running) = state.gateway.open_task_totals().await?;
        out.push(("queued", queued.to_string(), "0".to_owned()));
        out.push(("running", running.to_string(), "0".to_owned()));
        for status in ["completed", "failed", "cancelled"] {
            let filters = Filters { status: status.to_owned(), ..Default::default() };
            let (tasks, more) = find(state, signed, &filters).await?;
            let recent = recent_of(&tasks, status);
            // The page is newest first, so it holds every recent end unless all of it is recent.
            let recent_more = more.is_some() && recent == tasks.len();
            out.push((status, capped(tasks.len(), more.is_some()), capped(recent, recent_more)));
        }
        return Ok(out);
    }
    let (mut tasks, mut after, mut more) = (Vec::new(), None::<String>, true);
    for _ in 0..COUNT_SCAN_PAGES {
        let (page, left) = read_page(state, signed, &Filters::default(), None, after.as_deref()).await?;
        after = page.last().and_then(|t| t["task_id"].as_str().map(str::to_owned));
        tasks.extend(page);
        more = left;
        if !more {
            break;
        }
    }
    // A recent end is among the newest tasks unless every task read ended recently.
    let all_recent = more && tasks.iter().all(|t| t["completed_at"].as_str().is_some_and(|at| at >= day_ago.as_str()));
    for status in ["queued", "running", "completed", "failed", "cancelled"] {
        let now = tasks.iter().filter(|t| t["status"] == status).count();
        out.push((status, capped(now, more), capped(recent_of(&tasks, status), all_recent)));
    }
    Ok(out)
}

/// `GET /console/`.
pub async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let today = rfc3339(now_ms())[..10].to_owned();
    let month = format!("{}-01", &today[..7]);
    let mut body = String::from("<h1>Overview</h1>");
    match &signed.who {
        Who::Operator => {
            body.push_str("<h2>Live spend</h2><div class=\"grid\">");
            body.push_str(&stat("Today (USD)", "spend-today", &spend_since(&state, UsageScope::Admin, &today).await?));
            body.push_str(&stat(
                "This month (USD)",
                "spend-month",
                &spend_since(&state, UsageScope::Admin, &month).await?,
            ));
            let (today_margin, month_margin, capped) = margins(&state, &signed, &today, &month).await?;
            let mark = if capped { "≥ " } else { "" };
            body.push_str(&stat("Margin today (USD)", "margin-today", &format!("{mark}{today_margin}")));
            body.push_str(&stat("Margin this month (USD)", "margin-month", &format!("{mark}{month_margin}")));
            body.push_str("</div><p class=\"hint\">Margin is what live tasks were charged less what their upstreams cost, by the day they ended; each task's is on its page.</p>");
            if capped {
                body.push_str(&format!(
                    "<p class=\"hint\">Margins are summed over the newest {MARGIN_SCAN_TASKS} tasks only.</p>"
                ));
            }
        }
        Who::Account(caller) => {
            let b = state.gateway.balance(caller).await?;
            body.push_str("<h2>Money</h2><div class=\"grid\">");
            body.push_str(&stat("Balance (USD)", "balance", &b.balance_usd.to_string()));
            body.push_str(&stat("Held by running tasks (USD)", "held", &b.held_usd.to_string()));
            body.push_str(&stat("Spent (USD)", "spent", &b.spent_usd.to_string()));
            let scope = UsageScope::Account(caller.account_id.clone());
            body.push_str(&stat("Live spend today (USD)", "spend-today", &spend_since(&state, scope, &today).await?));
            body.push_str("</div>");
            body.push_str(&key_limits(&b.key));
        }
    }
    let counts = counts(&state, &signed).await?;
    body.push_str("<h2>Tasks by status now</h2><div class=\"grid\">");
    for (status, now, _) in &counts {
        body.push_str(&format!(
            "<div class=\"stat\"><a href=\"/console/tasks?status={status}\">{status}</a><b id=\"count-{status}\">{now}</b></div>"
        ));
    }
    body.push_str("</div><h2>Ended in the last 24 hours</h2><div class=\"grid\">");
    for (status, _, recent) in counts.iter().skip(2) {
        body.push_str(&stat(status, &format!("day-{status}"), recent));
    }
    body.push_str("</div>");
    Ok(ok("Overview", &signed, &body))
}

/// The signed-in key's limits and what is left of them, as `GET /v1/balance` reports.
fn key_limits(k: &vidgate_engine::gateway::balance::KeyBalance) -> String {
    let mut out = format!(
        "<h2>This key</h2><p>{} key <b>{}</b> ({}): {} task(s) running now",
        k.mode,
        esc(&k.name),
        esc(&k.id),
        k.in_flight
    );
    if let Some(limit) = k.concurrency_limit {
        out.push_str(&format!(" of at most {limit}"));
    }
    if let (Some(quota), Some(left)) = (k.quota_usd, k.quota_remaining_usd) {
        out.push_str(&format!("; quota {quota} USD, <span id=\"quota-left\">{left}</span> USD left"));
    }
    let windows = [("5 hours", &k.spend_windows.h5), ("1 day", &k.spend_windows.d1), ("7 days", &k.spend_windows.d7)];
    for (name, w) in windows {
        if let Some(w) = w {
            out.push_str(&format!("; {} of {} USD used in {name}", w.used_usd, w.limit_usd));
        }
    }
    out.push_str(".</p>");
    out
}
