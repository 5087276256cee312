//! `GET /v1/tasks/stream/{task_id}`: the task as Server-Sent Events (docs/api.md §9). With an API
//! key, or with the signed `stream_url` (no headers, for `EventSource`). One `task` event
//! per change (`id:` the task's version), a comment heartbeat every 15 s, closed after the
//! terminal event; a reconnect with `Last-Event-ID` gets the current state at once if it is
//! newer, otherwise the next change.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use vidgate_domain::{ErrorCode, TaskId};
use vidgate_engine::clock::now_ms;
use vidgate_store::Task;

use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{ApiCaller, Path, Query};
use crate::routes::common::render;

/// The signature of a `stream_url`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    exp: Option<String>,
    sig: Option<String>,
}

/// Stream a task's changes.
#[utoipa::path(get, path = "/v1/tasks/stream/{task_id}", tag = "async tasks", params(("task_id" = String, Path)),
    responses((status = 200, description = "text/event-stream of `task` events", content_type = "text/event-stream"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("api_key" = []), ()))]
pub async fn stream(
    State(state): State<AppState>,
    Path(task_id): Path<String>,
    Query(q): Query<StreamQuery>,
    caller: Option<ApiCaller>,
    headers: HeaderMap,
) -> HttpResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let gw = state.gateway.clone();
    let heartbeat = gw.config.server.sse_heartbeat_secs;
    let task = if q.sig.is_some() {
        let path = format!("/v1/tasks/stream/{task_id}");
        gw.urls
            .signer
            .verify(&path, q.exp.as_deref(), q.sig.as_deref(), now_ms() / 1000)
            .map_err(|_| HttpError::new(ErrorCode::PermissionDenied, "this stream link is not valid or has expired"))?;
        let id: TaskId = task_id.parse().map_err(|_| HttpError::new(ErrorCode::TaskNotFound, "no such task"))?;
        gw.task_behind_signed_link(&id).await?.ok_or_else(|| HttpError::new(ErrorCode::TaskNotFound, "no such task"))?
    } else {
        // The key path checks what every keyed request does (expiry, revocation, IP list).
        let ApiCaller(caller) =
            caller.ok_or_else(|| HttpError::new(ErrorCode::InvalidApiKey, "missing or invalid API key"))?;
        gw.task_for(&caller, &task_id).await?
    };
    let last_seen =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    let events = futures::stream::unfold(Some((task, last_seen)), move |st| {
        let (state, gw) = (state.clone(), gw.clone());
        async move {
            let (mut task, last) = st?;
            if last.is_some_and(|l| l >= task.version) {
                if task.status.is_terminal() {
                    return None;
                }
                task = next_change(&gw, &task).await?;
            }
            let event =
                Event::default().event("task").id(task.version.to_string()).json_data(render(&state, &task)).ok()?;
            let next = (!task.status.is_terminal()).then(|| (task.clone(), Some(task.version)));
            Some((Ok(event), next))
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(heartbeat.max(1))).text("heartbeat")))
}

async fn next_change(gw: &vidgate_engine::gateway::Gateway, task: &Task) -> Option<Task> {
    loop {
        let now = gw.wait_for_change(&task.id, task.version, Duration::from_secs(300)).await.ok()?;
        if now.version != task.version {
            return Some(now);
        }
    }
}
