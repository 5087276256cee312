//! `/console/usage`: spend per day over the last 30 days, by model and by key, live and
//! test apart: bar charts drawn here as SVG (no charting library), each with its table
//! beside it, and `/console/usage.csv` (day, model, key, tasks, seconds, USD). The numbers
//! are the API's usage roll-ups for the signed-in view (the operator's cover every account).

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use vidgate_domain::{ErrorCode, Usd};
use vidgate_engine::clock::{now_ms, rfc3339};
use vidgate_engine::gateway::UsageScope;
use vidgate_engine::gateway::usage::UsageItem;

use super::html::{esc, ok};
use super::{PageResult, Signed, Who};
use crate::AppState;
use crate::error::HttpError;

/// Days shown, today included.
pub const DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
const PALETTE: [&str; 6] = ["#0b4fa8", "#b35c00", "#0a6b2a", "#7a1fa2", "#a30000", "#00666b"];

fn scope(signed: &Signed) -> UsageScope {
    match &signed.who {
        Who::Operator => UsageScope::Admin,
        Who::Account(c) => UsageScope::Account(c.account_id.clone()),
    }
}

/// The days of the period, oldest first.
fn days() -> Vec<String> {
    let now = now_ms();
    (0..DAYS).rev().map(|back| rfc3339(now - back * DAY_MS)[..10].to_owned()).collect()
}

async fn rows(state: &AppState, signed: &Signed, mode: &str, by: &str) -> Result<Vec<UsageItem>, HttpError> {
    let params = [
        ("since".to_owned(), days()[0].clone()),
        ("group_by".to_owned(), format!("day,{by}")),
        ("mode".to_owned(), mode.to_owned()),
    ];
    Ok(state.gateway.usage(scope(signed), &params).await?.data)
}

fn series_of<'a>(item: &'a UsageItem, by: &str) -> &'a str {
    let v = if by == "model" { &item.model } else { &item.key_id };
    v.as_deref().unwrap_or("")
}

/// A stacked bar chart: one bar per day, one colour per model (or key).
fn chart(id: &str, title: &str, items: &[UsageItem], by: &str) -> String {
    let days = days();
    let mut per_day: BTreeMap<&str, Usd> = BTreeMap::new();
    let mut series: Vec<&str> = Vec::new();
    for i in items {
        let total = per_day.entry(i.bucket.as_str()).or_insert(Usd::ZERO);
        *total = total.plus(i.usd);
        let name = series_of(i, by);
        if !series.contains(&name) {
            series.push(name);
        }
    }
    let max = per_day.values().map(|u| u.micros()).max().unwrap_or(0).max(1);
    let (w, h, bar) = (600i64, 200i64, 600 / DAYS);
    let mut svg = format!(
        "<svg id=\"{id}\" viewBox=\"-10 0 {} {}\" role=\"img\" aria-labelledby=\"{id}-title\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{}</title><line x1=\"0\" y1=\"{h}\" x2=\"{w}\" y2=\"{h}\" stroke=\"#767676\"/>",
        w + 20,
        h + 20,
        esc(title)
    );
    for (n, day) in days.iter().enumerate() {
        let x = n as i64 * bar;
        let total = per_day.get(day.as_str()).copied().unwrap_or(Usd::ZERO);
        svg.push_str(&format!(
            "<g class=\"day\" data-day=\"{day}\" data-usd=\"{total}\"><title>{day}: {total} USD</title>"
        ));
        let mut y = h;
        for i in items.iter().filter(|i| &i.bucket == day) {
            let height = i.usd.micros() * h / max;
            y -= height;
            let colour = PALETTE[series.iter().position(|s| *s == series_of(i, by)).unwrap_or(0) % PALETTE.len()];
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{height}\" fill=\"{colour}\"><title>{day} {}: {} USD</title></rect>",
                x + 2,
                bar - 4,
                esc(series_of(i, by)),
                i.usd
            ));
        }
        svg.push_str("</g>");
        if n % 7 == (days.len() - 1) % 7 {
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                x + bar / 2,
                h + 15,
                &day[5..]
            ));
        }
    }
    svg.push_str("</svg>");
    let legend: String = series
        .iter()
        .enumerate()
        .map(|(n, s)| {
            format!(
                "<li><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"{}\"/></svg> {}</li>",
                PALETTE[n % PALETTE.len()],
                esc(if s.is_empty() { "—" } else { s })
            )
        })
        .collect();
    format!("<figure class=\"chart\">{svg}<figcaption><ul class=\"legend\">{legend}</ul></figcaption></figure>")
}

fn table(items: &[UsageItem], by: &str) -> String {
    let mut out = format!(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Day</th><th scope=\"col\">{}</th><th scope=\"col\" class=\"num\">Tasks</th>\
         <th scope=\"col\" class=\"num\">Seconds</th><th scope=\"col\" class=\"num\">USD</th></tr></thead><tbody>",
        if by == "model" { "Model" } else { "Key" }
    );
    if items.is_empty() {
        out.push_str("<tr><td colspan=\"5\">No spend in this period.</td></tr>");
    }
    for i in items.iter().rev() {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3}</td><td class=\"num\">{}</td></tr>",
            esc(&i.bucket),
            esc(series_of(i, by)),
            i.tasks,
            i.seconds,
            i.usd
        ));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// `GET /console/usage`.
pub async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let today = rfc3339(now_ms())[..10].to_owned();
    let mut body = format!(
        "<h1>Usage</h1><p class=\"hint\">The last {DAYS} days (UTC), live and test apart. <a href=\"/console/usage.csv?mode=live\" download>Live as CSV</a> · <a href=\"/console/usage.csv?mode=test\" download>Test as CSV</a></p>"
    );
    // The four roll-ups read side by side (the store's read connections run them in
    // parallel): the page costs the slowest one, not their sum.
    let (live_model, live_key, test_model, test_key) = futures::try_join!(
        rows(&state, &signed, "live", "model"),
        rows(&state, &signed, "live", "key"),
        rows(&state, &signed, "test", "model"),
        rows(&state, &signed, "test", "key"),
    )?;
    for (mode, by_model, by_key) in [("live", live_model, live_key), ("test", test_model, test_key)] {
        let today_usd = by_model.iter().filter(|i| i.bucket == today).fold(Usd::ZERO, |a, i| a.plus(i.usd));
        let total = by_model.iter().fold(Usd::ZERO, |a, i| a.plus(i.usd));
        body.push_str(&format!(
            "<section aria-labelledby=\"h-{mode}\"><h2 id=\"h-{mode}\">{title}</h2>\
             <p>Today: <b id=\"{mode}-today\" data-usd=\"{today_usd}\">{today_usd}</b> USD · {DAYS} days: <b id=\"{mode}-total\">{total}</b> USD</p>\
             <h3>By model</h3><div class=\"chart-row\">{c1}{t1}</div><h3>By key</h3><div class=\"chart-row\">{c2}{t2}</div></section>",
            title = if mode == "live" { "Live" } else { "Test (not billed)" },
            c1 = chart(&format!("{mode}-by-model"), &format!("{mode} spend per day by model"), &by_model, "model"),
            t1 = table(&by_model, "model"),
            c2 = chart(&format!("{mode}-by-key"), &format!("{mode} spend per day by key"), &by_key, "key"),
            t2 = table(&by_key, "key"),
        ));
    }
    Ok(ok("Usage", &signed, &body))
}

/// `GET /console/usage.csv?mode=live|test`.
pub async fn csv(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> PageResult {
    let mode = match query.as_deref() {
        Some("mode=test") => "test",
        Some("mode=live") | None => "live",
        Some(_) => return Err(HttpError::param(ErrorCode::InvalidParam, "mode", "mode is live or test").into()),
    };
    let items = rows(&state, &signed, mode, "model,key").await?;
    let mut out = String::from("day,model,key_id,tasks,seconds,usd\r\n");
    for i in &items {
        let cell = |v: &Option<String>| v.clone().unwrap_or_default().replace('"', "\"\"");
        out.push_str(&format!(
            "{},\"{}\",\"{}\",{},{:.3},{}\r\n",
            i.bucket,
            cell(&i.model),
            cell(&i.key_id),
            i.tasks,
            i.seconds,
            i.usd
        ));
    }
    let name = format!("attachment; filename=\"vidgate-usage-{mode}.csv\"");
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)], out)
        .into_response())
}
