//! `/console/tasks/{task_id}`: one task: the video and the separate audio player, the poster
//! and the spritesheet, every field of the task object, the timeline of its states, the plan
//! with its upstream cost and margin (operator only), the webhook attempts, and the cancel
//! and download buttons. While the task runs, the page's live part refreshes itself.
//!
//! An account sees only its own tasks: another account's task is answered as an unknown one
//! (404), exactly as by the API.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde_json::Value;
use vidgate_engine::clock::{now_ms, rfc3339};
use vidgate_engine::view::{admin_task_object, task_object};
use vidgate_store::{Task, WebhookDeliveries};

use super::html::{csrf_field, esc, ok, plain, respond};
use super::{Change, PageResult, Signed, Who};
use crate::AppState;
use crate::extract::Path;

/// Fields shown elsewhere on the page rather than in the field list.
const SHOWN_APART: [&str; 6] = ["plan", "upstream", "upstream_job", "upstream_cost_usd", "margin_usd", "output"];

async fn read(
    state: &AppState,
    signed: &Signed,
    id: &str,
) -> Result<(Task, Value, Vec<WebhookDeliveries>), super::Fail> {
    let gw = &state.gateway;
    let now = now_ms();
    Ok(match &signed.who {
        Who::Operator => {
            let task = gw.admin_task(id).await?;
            let object = serde_json::to_value(admin_task_object(&task, &gw.urls, now)).expect("serializes");
            let deliveries = gw.admin_deliveries(id).await?;
            (task, object, deliveries)
        }
        Who::Account(caller) => {
            let task = gw.task_for(caller, id).await?;
            let object = serde_json::to_value(task_object(&task, &gw.urls, now)).expect("serializes");
            let deliveries = gw.deliveries(caller, id).await?;
            (task, object, deliveries)
        }
    })
}

/// `GET /console/tasks/{task_id}` (`?part=live` answers only the part that refreshes).
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let (task, t, deliveries) = read(&state, &signed, &id).await?;
    let live = live_part(&state, &signed, &task, &t, &deliveries);
    if query.as_deref() == Some("part=live") {
        return Ok(respond(StatusCode::OK, live));
    }
    let id = esc(task.id.as_str());
    let refresh = if task.status.is_terminal() {
        String::new()
    } else {
        format!(" data-refresh=\"/console/tasks/{id}?part=live\" data-refresh-stop=\"[data-terminal]\"")
    };
    let body =
        format!("<h1>Task <code>{id}</code></h1><div id=\"task-live\" aria-live=\"polite\"{refresh}>{live}</div>");
    Ok(ok(&format!("Task {}", task.id), &signed, &body))
}

fn live_part(state: &AppState, signed: &Signed, task: &Task, t: &Value, deliveries: &[WebhookDeliveries]) -> String {
    let s = |k: &str| esc(t[k].as_str().unwrap_or(""));
    let terminal = if task.status.is_terminal() { " data-terminal" } else { "" };
    let mut out = format!(
        "<p{terminal}>Status: <span id=\"task-status\" class=\"status status-{st}\">{st}</span> · progress {p}%</p>",
        st = s("status"),
        p = t["progress"].as_u64().unwrap_or(0)
    );
    out.push_str(&actions(signed, task, t));
    out.push_str(&media(state, task, t));
    out.push_str("<h2>Timeline</h2><ol class=\"timeline\">");
    out.push_str(&format!("<li>queued at {}</li>", s("created_at")));
    if let Some(at) = t["started_at"].as_str() {
        out.push_str(&format!("<li>running from {}</li>", esc(at)));
    }
    if let Some(at) = t["completed_at"].as_str() {
        out.push_str(&format!("<li>{} at {}</li>", s("status"), esc(at)));
    }
    out.push_str("</ol>");
    if matches!(signed.who, Who::Operator) {
        out.push_str(&plan(t));
    }
    out.push_str("<h2>Fields</h2><dl class=\"fields\" id=\"task-fields\">");
    if let Some(fields) = t.as_object() {
        for (k, v) in fields.iter().filter(|(k, _)| !SHOWN_APART.contains(&k.as_str())) {
            out.push_str(&format!("<dt>{}</dt><dd data-field=\"{0}\">{}</dd>", esc(k), esc(&plain(v))));
        }
    }
    out.push_str("</dl>");
    out.push_str(&webhooks(deliveries));
    out
}

fn actions(signed: &Signed, task: &Task, t: &Value) -> String {
    let mut out = String::from("<div class=\"actions\">");
    if let Some(url) = t["result_url"].as_str() {
        out.push_str(&format!(
            "<a id=\"download\" href=\"{}\" download=\"{}.mp4\">Download the video</a> ",
            esc(url),
            esc(task.id.as_str())
        ));
    }
    if !task.status.is_terminal() {
        out.push_str(&format!(
            "<form method=\"post\" action=\"/console/tasks/{}/cancel\">{}<button type=\"submit\" class=\"danger\">Cancel the task</button></form>",
            esc(task.id.as_str()),
            csrf_field(signed)
        ));
    }
    out.push_str("</div>");
    out
}

fn media(state: &AppState, task: &Task, t: &Value) -> String {
    let Some(video) = t["result_url"].as_str() else { return String::new() };
    let poster = t["thumbnail_url"].as_str();
    let mut out = format!(
        "<h2>Result</h2><div class=\"media\"><video id=\"player\" controls preload=\"auto\" src=\"{}\"{} aria-label=\"The video\"></video>",
        esc(video),
        poster.map(|p| format!(" poster=\"{}\"", esc(p))).unwrap_or_default()
    );
    if let Some(audio) = t["audio_url"].as_str() {
        out.push_str(&format!(
            "<div><label for=\"audio-player\">Audio track</label><audio id=\"audio-player\" controls preload=\"auto\" src=\"{}\"></audio></div>",
            esc(audio)
        ));
    }
    if let Some(p) = poster {
        out.push_str(&format!("<figure><img class=\"poster\" id=\"poster\" src=\"{}\" alt=\"Poster frame of the video\"><figcaption>Poster</figcaption></figure>", esc(p)));
    }
    let sheet = task.result.as_ref().filter(|_| !task.files_expired).and_then(|r| r.spritesheet.as_ref());
    if let Some(sheet) = sheet {
        let now = now_ms() / 1000;
        let url = state.gateway.urls.file_url(&task.id, &sheet.name, now + state.gateway.urls.ttl_secs, now);
        out.push_str(&format!("<figure><img class=\"sprites\" id=\"spritesheet\" src=\"{}\" alt=\"Spritesheet: frames across the video\"><figcaption>Spritesheet</figcaption></figure>", esc(&url)));
    }
    out.push_str("</div>");
    out
}

fn plan(t: &Value) -> String {
    let row =
        |label: &str, key: &str| format!("<dt>{label}</dt><dd data-field=\"{key}\">{}</dd>", esc(&plain(&t[key])));
    format!(
        "<h2>Plan (operator)</h2><dl class=\"fields\">{}{}{}{}</dl><pre id=\"plan\">{}</pre>",
        row("Upstream", "upstream"),
        row("Upstream job", "upstream_job"),
        row("Upstream cost (USD)", "upstream_cost_usd"),
        row("Margin (USD)", "margin_usd"),
        esc(&serde_json::to_string_pretty(&t["plan"]).unwrap_or_default())
    )
}

fn webhooks(deliveries: &[WebhookDeliveries]) -> String {
    let mut out = String::from("<h2>Webhook attempts</h2>");
    let attempts: Vec<_> = deliveries.iter().flat_map(|d| d.attempts.iter().map(move |a| (d, a))).collect();
    if deliveries.is_empty() {
        out.push_str("<p>No webhook: the task has no callback URL, or has not ended yet.</p>");
        return out;
    }
    for d in deliveries {
        out.push_str(&format!(
            "<p>To <code>{}</code>: {} after {} attempt(s).</p>",
            esc(&d.message.url),
            d.message.state.as_str(),
            d.message.attempts
        ));
    }
    out.push_str("<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">#</th><th scope=\"col\">At</th><th scope=\"col\">Outcome</th><th scope=\"col\">HTTP</th><th scope=\"col\" class=\"num\">ms</th></tr></thead><tbody>");
    for (_, a) in attempts {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            a.attempt,
            rfc3339(a.attempted_at),
            if a.delivered { "delivered".to_owned() } else { esc(a.error.as_deref().unwrap_or("failed")) },
            a.http_status.map(|s| s.to_string()).unwrap_or_default(),
            a.duration_ms
        ));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// `POST /console/tasks/{task_id}/cancel`: cancels as the API does, then back to the task.
pub async fn cancel(State(state): State<AppState>, Path(id): Path<String>, change: Change) -> PageResult {
    let gw = &state.gateway;
    let task = match &change.signed.who {
        Who::Operator => gw.cancel_task(gw.admin_task(&id).await?).await?,
        Who::Account(caller) => gw.cancel(caller, &id).await?,
    };
    Ok(Redirect::to(&format!("/console/tasks/{}", task.id)).into_response())
}
