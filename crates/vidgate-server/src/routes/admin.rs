//! The management API (docs/api.md §12), behind the admin token.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vidgate_domain::{ErrorCode, Usd};
use vidgate_engine::clock::{now_ms, rfc3339};
use vidgate_engine::gateway::NewKeyRequest;
use vidgate_engine::gateway::{AccountPatch, KeyPatch};
use vidgate_engine::view::{AdminTaskObject, admin_task_object};
use vidgate_store::AuditEntry;
use vidgate_store::{Account, ApiKey};

use crate::AppState;
use crate::error::{ErrorBody, HttpError, HttpResult};
use crate::extract::{Admin, JsonObject, Path, Query};

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/accounts", post(create_account).get(list_accounts))
        .route("/admin/v1/accounts/{id}", get(get_account).patch(update_account))
        .route("/admin/v1/accounts/{id}/webhook-secret", post(rotate_secret))
        .route("/admin/v1/accounts/{id}/credits", post(add_credits))
        .route("/admin/v1/keys", post(create_key).get(list_keys))
        .route("/admin/v1/keys/{id}", delete(revoke_key).get(get_key).patch(update_key))
        .route("/admin/v1/audit", get(list_audit))
        .route("/admin/v1/tasks", get(search_tasks))
}

/// An account with its money.
#[derive(Serialize, ToSchema)]
pub struct AccountObject {
    pub id: String,
    pub object: &'static str,
    pub name: String,
    /// `active` or `suspended`.
    pub status: &'static str,
    #[schema(value_type = f64)]
    pub balance_usd: Usd,
    #[schema(value_type = f64)]
    pub held_usd: Usd,
    #[schema(value_type = f64)]
    pub spent_usd: Usd,
    pub webhook_secret: String,
    pub created_at: String,
}

impl From<Account> for AccountObject {
    fn from(a: Account) -> Self {
        AccountObject {
            id: a.id.to_string(),
            object: "account",
            status: vidgate_engine::gateway::management::account_status(&a),
            name: a.name,
            balance_usd: a.balance,
            held_usd: a.held,
            spent_usd: a.spent,
            webhook_secret: a.webhook_secret,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// A key (masked, except once at creation).
#[derive(Serialize, ToSchema)]
pub struct KeyObject {
    pub id: String,
    pub object: &'static str,
    /// The key itself: only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub masked: String,
    pub name: String,
    pub account_id: String,
    pub mode: &'static str,
    /// A disabled key is refused until enabled again.
    pub disabled: bool,
    #[schema(value_type = Option<f64>)]
    pub quota_usd: Option<Usd>,
    #[schema(value_type = Object)]
    pub spend_limits: serde_json::Value,
    pub concurrency_limit: Option<u32>,
    pub models: Option<Vec<String>>,
    pub expires_at: Option<String>,
    pub ip_allow: Vec<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

fn key_object(k: ApiKey, secret: Option<String>) -> KeyObject {
    KeyObject {
        id: k.id.to_string(),
        object: "api_key",
        key: secret,
        masked: k.masked,
        name: k.name,
        account_id: k.account_id.to_string(),
        mode: k.mode.as_str(),
        disabled: k.disabled,
        quota_usd: k.limits.quota,
        spend_limits: serde_json::to_value(&k.limits.spend).expect("serializes"),
        concurrency_limit: k.limits.concurrency,
        models: k.limits.models,
        expires_at: k.limits.expires_at.map(rfc3339),
        ip_allow: k.limits.ip_allow,
        created_at: rfc3339(k.created_at),
        revoked_at: k.revoked_at.map(rfc3339),
    }
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct ListPage<T: ToSchema> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub has_more: bool,
    pub last_id: Option<String>,
}

/// Names the field of a key's USD amount that is not a number with at most 6 decimals
/// (serde's own error would not say which).
fn check_money_fields(body: &serde_json::Value) -> HttpResult<()> {
    let mut fields = vec![("quota_usd".to_owned(), body.get("quota_usd"))];
    if let Some(limits) = body.get("spend_limits").and_then(|v| v.as_object()) {
        fields.extend(limits.iter().map(|(k, v)| (format!("spend_limits.{k}"), Some(v))));
    }
    for (name, value) in fields {
        if let Some(v) = value.filter(|v| !v.is_null())
            && Usd::from_json(v).is_none()
        {
            let msg = format!("{name} must be a USD amount with at most 6 decimals");
            return Err(HttpError::param(ErrorCode::InvalidParam, &name, msg));
        }
    }
    Ok(())
}

/// Turns a JSON object into a typed admin body, naming the field at fault with its path
/// (`name`, `spend_limits.daily`, `models[1]`), also for a value of the wrong type.
pub fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> HttpResult<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let msg = e.inner().to_string();
        let field = |marker: &str| msg.split(marker).nth(1).and_then(|r| r.split('`').next()).map(str::to_owned);
        let name = |f: &str| if at == "." { f.to_owned() } else { format!("{at}.{f}") };
        if let Some(f) = field("unknown field `") {
            // The path already ends at the unknown key.
            let f = vidgate_domain::request::echo(if at == "." { &f } else { &at });
            HttpError::param(ErrorCode::UnknownParam, &f, format!("unknown field {f}"))
        } else if let Some(f) = field("missing field `") {
            let f = name(&f);
            HttpError::param(ErrorCode::InvalidParam, &f, format!("{f} is required"))
        } else if at != "." {
            let at = vidgate_domain::request::echo(&at);
            HttpError::param(ErrorCode::InvalidParam, &at, format!("{at}: {msg}"))
        } else {
            HttpError::new(ErrorCode::InvalidParam, format!("invalid body: {msg}"))
        }
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// 1 to 200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    /// USD, at most 6 decimals; negative removes money (never below a zero balance).
    #[schema(value_type = f64)]
    amount_usd: serde_json::Value,
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: String,
}

/// Create an account.
#[utoipa::path(post, path = "/admin/v1/accounts", tag = "admin", request_body = NewAccount,
    responses((status = 200, body = AccountObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn create_account(
    State(s): State<AppState>,
    _: Admin,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<AccountObject>> {
    let body: NewAccount = typed(body)?;
    Ok(Json(s.gateway.create_account(&body.name).await?.into()))
}

/// Read an account.
#[utoipa::path(get, path = "/admin/v1/accounts/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AccountObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn get_account(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> HttpResult<Json<AccountObject>> {
    Ok(Json(s.gateway.account(&id).await?.into()))
}

/// Rotate an account's webhook secret.
#[utoipa::path(post, path = "/admin/v1/accounts/{id}/webhook-secret", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AccountObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> HttpResult<Json<AccountObject>> {
    Ok(Json(s.gateway.rotate_webhook_secret(&id).await?.into()))
}

/// Add money (a negative amount removes it).
#[utoipa::path(post, path = "/admin/v1/accounts/{id}/credits", tag = "admin", params(("id" = String, Path)), request_body = Credit,
    responses((status = 200, body = AccountObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn add_credits(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<AccountObject>> {
    let body: Credit = typed(body)?;
    let amount = Usd::from_json(&body.amount_usd).ok_or_else(|| {
        HttpError::param(ErrorCode::InvalidParam, "amount_usd", "amount_usd must be a number with at most 6 decimals")
    })?;
    Ok(Json(s.gateway.add_credit(&id, amount, &body.note).await?.into()))
}

/// Create a key; the answer is the only time the key is shown.
#[utoipa::path(post, path = "/admin/v1/keys", tag = "admin", request_body = NewKeyRequest,
    responses((status = 200, body = KeyObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn create_key(
    State(s): State<AppState>,
    _: Admin,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<KeyObject>> {
    check_money_fields(&body)?;
    let req: NewKeyRequest = typed(body)?;
    let (key, secret) = s.gateway.create_key(req).await?;
    Ok(Json(key_object(key, Some(secret))))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct KeyQuery {
    #[param(pattern = "^acct_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    account_id: Option<String>,
}

/// List keys (masked).
#[utoipa::path(get, path = "/admin/v1/keys", tag = "admin", params(KeyQuery),
    responses((status = 200, body = ListPage<KeyObject>), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn list_keys(
    State(s): State<AppState>,
    _: Admin,
    Query(q): Query<KeyQuery>,
) -> HttpResult<Json<ListPage<KeyObject>>> {
    let account = match &q.account_id {
        Some(a) => {
            Some(a.parse().map_err(|_| HttpError::param(ErrorCode::InvalidParam, "account_id", "not an account id"))?)
        }
        None => None,
    };
    let keys = s.gateway.keys(account.as_ref()).await?;
    let last_id = keys.last().map(|k| k.id.to_string());
    Ok(Json(ListPage {
        object: "list",
        data: keys.into_iter().map(|k| key_object(k, None)).collect(),
        has_more: false,
        last_id,
    }))
}

/// Revoke a key.
#[utoipa::path(delete, path = "/admin/v1/keys/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = KeyObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn revoke_key(State(s): State<AppState>, _: Admin, Path(id): Path<String>) -> HttpResult<Json<KeyObject>> {
    Ok(Json(key_object(s.gateway.revoke_key(&id).await?, None)))
}

/// Search tasks, newest first: `account_id`, `status`, `model`, `metadata.K=V`, `limit`
/// (1–100, default 20), `after` (a task id).
#[utoipa::path(get, path = "/admin/v1/tasks", tag = "admin",
    params(("account_id" = Option<String>, Query, pattern = "^acct_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"),
        ("status" = Option<String>, Query, pattern = "^(queued|running|completed|failed|cancelled)$"),
        ("model" = Option<String>, Query), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("after" = Option<String>, Query, pattern = "^task_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")),
    responses((status = 200, body = ListPage<AdminTaskObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn search_tasks(
    State(s): State<AppState>,
    _: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> HttpResult<Json<ListPage<AdminTaskObject>>> {
    let page = s.gateway.search_tasks(&q).await?;
    let (tasks, has_more) = (page.tasks, page.has_more);
    let now = now_ms();
    let last_id = tasks.last().map(|t| t.id.to_string());
    let data = tasks.iter().map(|t| admin_task_object(t, &s.gateway.urls, now)).collect();
    Ok(Json(ListPage { object: "list", data, has_more, last_id }))
}

/// Reads the paging and filter parameters a listing takes; any other is 400 `unknown_param`.
fn listing_params(
    q: &HashMap<String, String>,
    filter: &str,
) -> HttpResult<(Option<String>, Option<u32>, Option<String>)> {
    let mut out = (None, None, None);
    for (k, v) in q {
        match k.as_str() {
            "limit" => {
                let n = v
                    .parse()
                    .map_err(|_| HttpError::param(ErrorCode::InvalidParam, "limit", "limit must be 1 to 100"))?;
                out.1 = Some(n);
            }
            "after" => out.2 = Some(v.clone()),
            f if f == filter => out.0 = Some(v.clone()),
            other => {
                return Err(HttpError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}")));
            }
        }
    }
    Ok(out)
}

/// List accounts, newest first: `name` (contained in the name), `limit`, `after`.
#[utoipa::path(get, path = "/admin/v1/accounts", tag = "admin",
    params(("name" = Option<String>, Query), ("limit" = Option<u32>, Query), ("after" = Option<String>, Query)),
    responses((status = 200, body = ListPage<AccountObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn list_accounts(
    State(s): State<AppState>,
    _: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> HttpResult<Json<ListPage<AccountObject>>> {
    let (name, limit, after) = listing_params(&q, "name")?;
    let page = s.gateway.list_accounts(name.as_deref(), limit, after.as_deref()).await?;
    let last_id = page.items.last().map(|a| a.id.to_string());
    let data = page.items.into_iter().map(AccountObject::from).collect();
    Ok(Json(ListPage { object: "list", data, has_more: page.has_more, last_id }))
}

/// Rename, suspend or resume an account.
#[utoipa::path(patch, path = "/admin/v1/accounts/{id}", tag = "admin", params(("id" = String, Path)), request_body = AccountPatch,
    responses((status = 200, body = AccountObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn update_account(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<AccountObject>> {
    let patch: AccountPatch = typed(body)?;
    Ok(Json(s.gateway.update_account(&id, patch).await?.into()))
}

/// Read a key (masked).
#[utoipa::path(get, path = "/admin/v1/keys/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = KeyObject), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn get_key(State(s): State<AppState>, _: Admin, Path(id): Path<String>) -> HttpResult<Json<KeyObject>> {
    Ok(Json(key_object(s.gateway.key(&id).await?, None)))
}

/// Change a key: its name, `disabled`, or any of its limits.
#[utoipa::path(patch, path = "/admin/v1/keys/{id}", tag = "admin", params(("id" = String, Path)), request_body = KeyPatch,
    responses((status = 200, body = KeyObject), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn update_key(
    State(s): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> HttpResult<Json<KeyObject>> {
    check_money_fields(&body)?;
    let patch: KeyPatch = typed(body)?;
    Ok(Json(key_object(s.gateway.update_key(&id, patch).await?, None)))
}

/// One recorded management change.
#[derive(Serialize, ToSchema)]
pub struct AuditObject {
    pub id: String,
    pub object: &'static str,
    pub created_at: String,
    pub actor: String,
    pub action: String,
    pub target_id: String,
    /// The fields set or changed, with their new values; never a secret.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

fn audit_object(e: AuditEntry) -> AuditObject {
    AuditObject {
        id: format!("{}{}", vidgate_engine::gateway::management::AUDIT_ID_PREFIX, e.id),
        object: "audit_entry",
        created_at: rfc3339(e.at),
        actor: e.actor,
        action: e.action,
        target_id: e.target_id,
        changes: e.changes,
    }
}

/// The audit list of management changes, newest first: `target_id`, `limit`, `after`.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin",
    params(("target_id" = Option<String>, Query), ("limit" = Option<u32>, Query), ("after" = Option<String>, Query)),
    responses((status = 200, body = ListPage<AuditObject>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("admin_token" = [])))]
pub async fn list_audit(
    State(s): State<AppState>,
    _: Admin,
    Query(q): Query<HashMap<String, String>>,
) -> HttpResult<Json<ListPage<AuditObject>>> {
    let (target, limit, after) = listing_params(&q, "target_id")?;
    let page = s.gateway.audit_entries(target.as_deref(), limit, after.as_deref()).await?;
    let data: Vec<AuditObject> = page.items.into_iter().map(audit_object).collect();
    let last_id = data.last().map(|e| e.id.clone());
    Ok(Json(ListPage { object: "list", data, has_more: page.has_more, last_id }))
}
