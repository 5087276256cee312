//! `/console/tasks`: the signed-in view's tasks, newest first, filtered and paged, with a
//! table body that refreshes itself (`?part=rows` answers just the rows).
//!
//! The operator reads through the admin task search (status, model and account filtered
//! there); an account through its own task listing. The day range is served by the listing's
//! order: task ids sort by creation time, so "before this day" starts the listing at the
//! day's first possible id (a cursor), and "from this day" ends the scan at the first older
//! task. The filters the API does not take (key, prompt text, and for an account status and
//! model) are applied to the pages read, scanning at most [`SCAN_PAGES`] pages of 100 tasks
//! for one page of [`PAGE_ROWS`].

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;
use vidgate_domain::ErrorCode;
use vidgate_engine::clock::now_ms;
use vidgate_engine::view::task_object;

use super::html::{esc, ok, respond, url_arg};
use super::{PageResult, Signed, Who};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Admin, Query, check_pairs};

/// Rows on one page of the table.
pub const PAGE_ROWS: usize = 25;
/// Pages of 100 tasks read at most for one page of the table.
pub const SCAN_PAGES: usize = 10;

/// The filters of the table, as the query string names them.
#[derive(Default)]
pub struct Filters {
    pub status: String,
    pub model: String,
    pub account_id: String,
    pub key_id: String,
    /// `YYYY-MM-DD`, inclusive (UTC).
    pub since: String,
    /// `YYYY-MM-DD`, exclusive (UTC).
    pub until: String,
    pub q: String,
    pub after: String,
}

fn bad(param: &str, message: &str) -> HttpError {
    HttpError::param(ErrorCode::InvalidParam, param, message.to_owned())
}

/// Reads the query string (a repeated name or a NUL is refused; empty values are unset).
pub fn parse_query(query: Option<&str>) -> Result<(Filters, bool), HttpError> {
    let query = query.unwrap_or("");
    check_pairs(query)?;
    let mut f = Filters::default();
    let mut rows_only = false;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_owned();
        match k.as_ref() {
            "status" => f.status = v,
            "model" => f.model = v,
            "account_id" => f.account_id = v,
            "key_id" => f.key_id = v,
            "since" => f.since = v,
            "until" => f.until = v,
            "q" => f.q = v,
            "after" => f.after = v,
            "part" => rows_only = v == "rows",
            other => {
                return Err(HttpError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}")));
            }
        }
    }
    for (name, day) in [("since", &f.since), ("until", &f.until)] {
        if !day.is_empty() && day_start(day).is_none() {
            return Err(bad(name, "a day is written YYYY-MM-DD"));
        }
    }
    if !f.status.is_empty() && vidgate_domain::task::TaskStatus::parse(&f.status).is_none() {
        return Err(bad("status", "not a task status"));
    }
    Ok((f, rows_only))
}

/// Midnight UTC of a `YYYY-MM-DD` day, in milliseconds (`None` for anything else).
fn day_start(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[0] == b'+' || b[0] == b'-' {
        return None;
    }
    let date = time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some((date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Where a newest-first listing starts: the page's cursor, or the first id of the `until`
/// day when that is older (every id below it was created before that day).
fn start_cursor(f: &Filters) -> Option<String> {
    let until = day_start(&f.until).and_then(|ms| u64::try_from(ms).ok()).map(|ms| {
        vidgate_domain::TaskId::from_ulid(ulid::Ulid::from_parts(ms.min((1 << 48) - 1), 0)).as_str().to_owned()
    });
    let after = (!f.after.is_empty()).then(|| f.after.clone());
    match (after, until) {
        (Some(a), Some(u)) => Some(if a < u { a } else { u }),
        (a, u) => a.or(u),
    }
}

/// One page of tasks as the API renders them, newest first, and the cursor of the next.
pub async fn find(state: &AppState, signed: &Signed, f: &Filters) -> Result<(Vec<Value>, Option<String>), HttpError> {
    let model = (!f.model.is_empty())
        .then(|| state.gateway.catalog.resolve(&f.model).map_or_else(|| f.model.clone(), |m| m.id.clone()));
    let mut after = start_cursor(f);
    let mut found = Vec::new();
    for _ in 0..SCAN_PAGES {
        let (page, more) = read_page(state, signed, f, model.as_deref(), after.as_deref()).await?;
        for task in page {
            after = task["task_id"].as_str().map(str::to_owned);
            if !f.since.is_empty() && task["created_at"].as_str().unwrap_or("") < f.since.as_str() {
                // Newest first: every task from here on is older than the range.
                return Ok((found, None));
            }
            if matches(&task, f, model.as_deref()) {
                found.push(task);
                if found.len() == PAGE_ROWS {
                    return Ok((found, after));
                }
            }
        }
        if !more {
            return Ok((found, None));
        }
    }
    Ok((found, after))
}

/// One page of 100 from the API, and whether older tasks remain.
pub(super) async fn read_page(
    state: &AppState,
    signed: &Signed,
    f: &Filters,
    model: Option<&str>,
    after: Option<&str>,
) -> Result<(Vec<Value>, bool), HttpError> {
    match &signed.who {
        Who::Operator => {
            let mut q = HashMap::from([("limit".to_owned(), "100".to_owned())]);
            for (name, value) in [("status", f.status.as_str()), ("account_id", f.account_id.as_str())] {
                if !value.is_empty() {
                    q.insert(name.to_owned(), value.to_owned());
                }
            }
            if let Some(m) = model {
                q.insert("model".to_owned(), m.to_owned());
            }
            if let Some(a) = after {
                q.insert("after".to_owned(), a.to_owned());
            }
            let page = crate::routes::admin::search_tasks(State(state.clone()), Admin, Query(q)).await?.0;
            let more = page.has_more;
            Ok((page.data.into_iter().map(|t| serde_json::to_value(t).expect("serializes")).collect(), more))
        }
        Who::Account(caller) => {
            let tasks = state.gateway.list_tasks(caller, 101, after).await?;
            let more = tasks.len() > 100;
            let now = now_ms();
            let rows = tasks.iter().take(100).map(|t| task_object(t, &state.gateway.urls, now));
            Ok((rows.map(|t| serde_json::to_value(t).expect("serializes")).collect(), more))
        }
    }
}

fn matches(task: &Value, f: &Filters, model: Option<&str>) -> bool {
    let s = |k: &str| task[k].as_str().unwrap_or("");
    let created = s("created_at");
    (f.status.is_empty() || s("status") == f.status)
        && model.is_none_or(|m| s("model") == m)
        && (f.account_id.is_empty() || task.get("account_id").is_none() || s("account_id") == f.account_id)
        && (f.key_id.is_empty() || s("key_id") == f.key_id)
        && (f.since.is_empty() || created >= f.since.as_str())
        && (f.until.is_empty() || created < f.until.as_str())
        && (f.q.is_empty() || s("prompt").to_lowercase().contains(&f.q.to_lowercase()))
}

/// The rows of the table (also the answer to `?part=rows`).
pub fn rows(tasks: &[Value], operator: bool) -> String {
    if tasks.is_empty() {
        let cols = if operator { 8 } else { 6 };
        return format!("<tr><td colspan=\"{cols}\">No task matches.</td></tr>");
    }
    let mut out = String::new();
    for t in tasks {
        let s = |k: &str| esc(t[k].as_str().unwrap_or(""));
        let id = s("task_id");
        let prompt: String = t["prompt"].as_str().unwrap_or("").chars().take(80).collect();
        let who =
            if operator { format!("<td>{}</td><td>{}</td>", s("account_id"), s("key_id")) } else { String::new() };
        out.push_str(&format!(
            "<tr data-task-id=\"{id}\" data-status=\"{st}\"><td><a href=\"/console/tasks/{id}\">{id}</a></td>\
             <td class=\"status status-{st}\">{st}</td><td>{model}</td><td>{prompt}</td><td>{created}</td>\
             <td class=\"num\">{used}</td>{who}</tr>",
            st = s("status"),
            model = s("model"),
            prompt = esc(&prompt),
            created = s("created_at"),
            used = esc(&super::html::plain(&t["credits_used"])),
        ));
    }
    out
}

fn filter_form(f: &Filters, operator: bool) -> String {
    let statuses = ["", "queued", "running", "completed", "failed", "cancelled"];
    let options: String = statuses
        .iter()
        .map(|s| {
            let label = if s.is_empty() { "any" } else { s };
            let sel = if *s == f.status { " selected" } else { "" };
            format!("<option value=\"{s}\"{sel}>{label}</option>")
        })
        .collect();
    let text = |name: &str, label: &str, value: &str, kind: &str| {
        format!(
            "<div><label for=\"f-{name}\">{label}</label><input id=\"f-{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\"></div>",
            esc(value)
        )
    };
    let mut fields = format!(
        "<div><label for=\"f-status\">Status</label><select id=\"f-status\" name=\"status\">{options}</select></div>"
    );
    fields.push_str(&text("model", "Model", &f.model, "text"));
    if operator {
        fields.push_str(&text("account_id", "Account", &f.account_id, "text"));
        fields.push_str(&text("key_id", "Key", &f.key_id, "text"));
    }
    fields.push_str(&text("since", "From (UTC day)", &f.since, "date"));
    fields.push_str(&text("until", "Before (UTC day)", &f.until, "date"));
    fields.push_str(&text("q", "Prompt contains", &f.q, "search"));
    format!(
        "<form method=\"get\" action=\"/console/tasks\" class=\"filters\" role=\"search\" aria-label=\"Filter tasks\">{fields}<button type=\"submit\">Filter</button></form>"
    )
}

fn query_of(f: &Filters) -> String {
    let pairs = [
        ("status", &f.status),
        ("model", &f.model),
        ("account_id", &f.account_id),
        ("key_id", &f.key_id),
        ("since", &f.since),
        ("until", &f.until),
        ("q", &f.q),
        ("after", &f.after),
    ];
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_arg(v)))
        .collect::<Vec<_>>()
        .join("&amp;")
}

/// `GET /console/tasks`.
pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> PageResult {
    let (mut f, rows_only) = parse_query(query.as_deref())?;
    let operator = matches!(signed.who, Who::Operator);
    let (tasks, next) = find(&state, &signed, &f).await?;
    if rows_only {
        return Ok(respond(StatusCode::OK, rows(&tasks, operator)));
    }
    let current = query_of(&f);
    let sep = if current.is_empty() { "" } else { "&amp;" };
    let refresh = format!("/console/tasks?{current}{sep}part=rows");
    let more = next.map_or_else(String::new, |n| {
        f.after = n;
        format!("<p><a href=\"/console/tasks?{}\" rel=\"next\">Older tasks</a></p>", query_of(&f))
    });
    let who_cols = if operator { "<th scope=\"col\">Account</th><th scope=\"col\">Key</th>" } else { "" };
    let body = format!(
        "<h1>Tasks</h1>{form}<p class=\"hint\">The table refreshes by itself every two seconds.</p>\
         <div class=\"table-wrap\"><table id=\"tasks\"><caption class=\"hint\">Newest first</caption><thead><tr>\
         <th scope=\"col\">Task</th><th scope=\"col\">Status</th><th scope=\"col\">Model</th><th scope=\"col\">Prompt</th>\
         <th scope=\"col\">Created</th><th scope=\"col\" class=\"num\">Charged (USD)</th>{who_cols}</tr></thead>\
         <tbody id=\"task-rows\" data-refresh=\"{refresh}\">{rows}</tbody></table></div>{more}",
        form = filter_form(&f, operator),
        rows = rows(&tasks, operator),
    );
    Ok(ok("Tasks", &signed, &body))
}

#[cfg(test)]
mod tests {
    use super::{Filters, day_start, start_cursor};

    #[test]
    fn a_day_starts_at_midnight_utc_and_anything_else_is_no_day() {
        assert_eq!(day_start("1970-01-02"), Some(86_400_000));
        assert_eq!(day_start("2026-12-04"), Some(1_796_342_400_000));
        for text in ["2026-13-01", "2026-02-30", "yesterday", "2026-1-01", "+02026-01-01", ""] {
            assert_eq!(day_start(text), None, "{text}");
        }
    }

    #[test]
    fn the_until_day_starts_the_listing_at_its_first_possible_task_id() {
        let f = Filters { until: "1970-01-02".to_owned(), ..Default::default() };
        // 86 400 000 ms in the ULID's 48-bit time, then 80 zero bits.
        assert_eq!(start_cursor(&f).as_deref(), Some("task_00002JCQ000000000000000000"));
        let older = "task_00000000010000000000000000".to_owned();
        let f = Filters { until: "1970-01-02".to_owned(), after: older.clone(), ..Default::default() };
        assert_eq!(start_cursor(&f), Some(older), "a page further on keeps its own cursor");
        let newer = "task_01KBP000000000000000000000".to_owned();
        let f = Filters { until: "1970-01-02".to_owned(), after: newer, ..Default::default() };
        assert_eq!(start_cursor(&f).as_deref(), Some("task_00002JCQ000000000000000000"));
        assert_eq!(start_cursor(&Filters::default()), None);
    }
}
