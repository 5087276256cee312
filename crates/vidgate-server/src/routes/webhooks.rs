//! `GET /v1/tasks/{task_id}/deliveries`: the webhook attempts of a task, oldest first, and
//! the state of its message (docs/api.md §8).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use vidgate_engine::clock::rfc3339;
use vidgate_store::{WebhookAttemptRecord, WebhookDeliveries, WebhookMessage, WebhookState};

use crate::AppState;
use crate::error::{ErrorBody, HttpResult};
use crate::extract::{ApiCaller, Path};

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct DeliveryAttempt {
    /// The message id: the `webhook-id` header, the same on every attempt.
    pub id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `delivered` (the receiver answered 2xx) or `failed`.
    pub status: &'static str,
    /// The receiver's status, when it answered.
    pub http_status: Option<u16>,
    /// Why there was no answer: `timeout`, `connect`, `target_refused`, `invalid_secret`,
    /// `task_missing`.
    pub error: Option<String>,
    pub duration_ms: u64,
    pub attempted_at: String,
    /// When the next attempt was scheduled; null after the last one.
    pub next_retry_at: Option<String>,
}

/// A task's webhook message.
#[derive(Serialize, ToSchema)]
pub struct DeliveryMessage {
    /// `msg_` + ULID, the `webhook-id`.
    pub id: String,
    pub url: String,
    /// `pending` (an attempt is due at `next_attempt_at`), `delivered`, or `failed` (given up).
    pub state: &'static str,
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// When it was delivered or given up.
    pub finished_at: Option<String>,
}

/// The attempts of a task's webhook.
#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    /// Always `list`.
    pub object: &'static str,
    pub data: Vec<DeliveryAttempt>,
    /// Always false: a task has few attempts, all listed.
    pub has_more: bool,
    /// The message, once the task ended with a `callback_url`; null before, or without one.
    pub message: Option<DeliveryMessage>,
}

/// List a task's webhook delivery attempts.
#[utoipa::path(get, path = "/v1/tasks/{task_id}/deliveries", tag = "async tasks", params(("task_id" = String, Path)),
    responses((status = 200, body = DeliveryList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(task_id): Path<String>,
) -> HttpResult<Json<DeliveryList>> {
    let found = state.gateway.deliveries(&caller, &task_id).await?;
    Ok(Json(render(found)))
}

fn render(found: Vec<WebhookDeliveries>) -> DeliveryList {
    let mut data = Vec::new();
    let mut message = None;
    for d in found {
        data.extend(d.attempts.iter().map(|a| attempt(&d.message.id, a)));
        message = Some(message_object(&d.message));
    }
    DeliveryList { object: "list", data, has_more: false, message }
}

fn attempt(id: &str, a: &WebhookAttemptRecord) -> DeliveryAttempt {
    DeliveryAttempt {
        id: id.to_owned(),
        attempt: a.attempt,
        status: if a.delivered { "delivered" } else { "failed" },
        http_status: a.http_status,
        error: a.error.clone(),
        duration_ms: a.duration_ms,
        attempted_at: rfc3339(a.attempted_at),
        next_retry_at: a.next_retry_at.map(rfc3339),
    }
}

fn message_object(m: &WebhookMessage) -> DeliveryMessage {
    DeliveryMessage {
        id: m.id.clone(),
        url: m.url.clone(),
        state: m.state.as_str(),
        attempts: m.attempts,
        next_attempt_at: (m.state == WebhookState::Pending).then(|| rfc3339(m.next_run_at)),
        created_at: rfc3339(m.created_at),
        finished_at: m.finished_at.map(rfc3339),
    }
}
