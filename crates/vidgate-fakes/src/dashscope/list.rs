//! The DashScope fake's task list (digest §6, the SDK's `list`):
//! `GET /api/v1/tasks?start_time&end_time&model_name&status&page_no&page_size`, with the
//! bearer key. `start_time`/`end_time` are `YYYYMMDDhhmmss`, read at UTC+8 like the answers'
//! times (§5; the query's zone is UNCONFIRMED), both bounds included; `status` is one of
//! `PENDING|RUNNING|SUCCEEDED|FAILED|CANCELED`; `page_no` counts from 1, `page_size` defaults
//! to 10. Every filter is optional. The answer's shape is UNCONFIRMED (the digest names the
//! query only); the fake answers `{"request_id", "data": [{"task_id", "status",
//! "model_name", "submit_time"}], "total", "total_page", "page_no", "page_size"}`, oldest
//! first, and never moves a task (only a `GET` of one does).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};
use time::PrimitiveDateTime;
use time::macros::format_description;

use super::state::WanState;
use crate::core::Ctx;
use crate::errors::Refusal;

const STATUSES: [&str; 5] = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"];

/// `YYYYMMDDhhmmss` at UTC+8 in Unix seconds.
fn query_time(text: &str) -> Option<u64> {
    let format = format_description!("[year][month][day][hour][minute][second]");
    let t = PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    u64::try_from(t.unix_timestamp() - 8 * 3600).ok()
}

/// What the query asks for, or the refusal of a malformed parameter.
struct Filter {
    from: Option<u64>,
    to: Option<u64>,
    model: Option<String>,
    status: Option<String>,
    page: usize,
    size: usize,
}

fn filter(q: &[(String, String)]) -> Result<Filter, Refusal> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let bad = |k: &str, v: &str| Refusal::bad(format!("Parameter {k} is invalid: {v:?}")).code("InvalidParameter");
    let time = |k: &str| get(k).map(|v| query_time(v).ok_or_else(|| bad(k, v))).transpose();
    let number = |k: &str, d: usize| match get(k) {
        None => Ok(d),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| bad(k, v)),
    };
    let status = get("status").map(str::to_owned);
    if let Some(s) = status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(bad("status", s));
    }
    Ok(Filter {
        from: time("start_time")?,
        to: time("end_time")?,
        model: get("model_name").map(str::to_owned),
        status,
        page: number("page_no", 1)?,
        size: number("page_size", 10)?,
    })
}

pub(super) async fn list(
    State(state): State<Arc<WanState>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    state.lists.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let f = match state.check_key(&headers).and_then(|()| filter(&q)) {
        Ok(f) => f,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    let tasks: Vec<_> = state
        .all()
        .into_iter()
        .filter(|t| f.from.is_none_or(|from| t.submitted_at >= from) && f.to.is_none_or(|to| t.submitted_at <= to))
        .filter(|t| f.model.as_deref().is_none_or(|m| t.create.model == m))
        .filter(|t| f.status.as_deref().is_none_or(|s| t.status() == s))
        .collect();
    let data: Vec<Value> = tasks
        .iter()
        .skip((f.page - 1) * f.size)
        .take(f.size)
        .map(|t| {
            json!({"task_id": t.id, "status": t.status(), "model_name": t.create.model,
                "submit_time": super::routes::beijing_time(t.submitted_at)})
        })
        .collect();
    let total = tasks.len();
    Json(json!({
        "request_id": super::routes::uuid_like(), "data": data, "total": total,
        "total_page": total.div_ceil(f.size), "page_no": f.page, "page_size": f.size,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_times_are_read_at_utc_plus_8() {
        // 2026-08-27 15:59:59 at UTC+8 is 07:59:59 UTC.
        assert_eq!(query_time("20260827155959"), Some(1_787_817_599));
        assert_eq!(query_time("2026-08-27"), None);
    }
}
