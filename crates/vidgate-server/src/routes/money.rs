//! Money reads: `GET /v1/balance` and `GET /v1/usage` (API key, the key's account) and
//! `GET /admin/v1/usage` (admin token, every account). See docs/billing.md.

use axum::Json;
use axum::extract::{RawQuery, State};
use vidgate_engine::gateway::UsageScope;
use vidgate_engine::gateway::balance::BalanceObject;
use vidgate_engine::gateway::usage::UsageList;

use crate::AppState;
use crate::error::{ErrorBody, HttpResult};
use crate::extract::{Admin, ApiCaller, check_pairs};

/// The query string's pairs in order; a NUL or a repeated name is refused here
/// ([`check_pairs`]), unknown names downstream, all in the contract's error shape (a raw
/// query never fails to extract).
fn pairs(query: Option<String>) -> HttpResult<Vec<(String, String)>> {
    let query = query.unwrap_or_default();
    check_pairs(&query)?;
    Ok(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
}

/// The account's balance and the calling key's limits.
#[utoipa::path(get, path = "/v1/balance", tag = "billing",
    responses((status = 200, body = BalanceObject), (status = 401, body = ErrorBody)), security(("api_key" = [])))]
pub async fn balance(State(s): State<AppState>, ApiCaller(caller): ApiCaller) -> HttpResult<Json<BalanceObject>> {
    Ok(Json(s.gateway.balance(&caller).await?))
}

/// Spend roll-ups of the key's account: `since` (inclusive) and `until` (exclusive) as
/// RFC 3339 or `YYYY-MM-DD` (UTC; default the last 30 days, at most 366), `group_by` a
/// comma-separated list of `day`, `model`, `key`, `mode` (default `day`); filters `model`,
/// `mode`, `key_id`.
#[utoipa::path(get, path = "/v1/usage", tag = "billing",
    params(("since" = Option<String>, Query, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]))?$"),
        ("until" = Option<String>, Query, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]))?$"),
        ("group_by" = Option<String>, Query, pattern = "^ *(day|model|key|mode)? *(, *(day|model|key|mode)? *)*$"),
        ("model" = Option<String>, Query), ("mode" = Option<String>, Query, pattern = "^(live|test)$"),
        ("key_id" = Option<String>, Query, pattern = "^key_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")),
    responses((status = 200, body = UsageList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn usage(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RawQuery(query): RawQuery,
) -> HttpResult<Json<UsageList>> {
    Ok(Json(s.gateway.usage(UsageScope::Account(caller.account_id), &pairs(query)?).await?))
}

/// Spend roll-ups across accounts: as `/v1/usage`, and `group_by` also takes `account`,
/// with an `account_id` filter.
#[utoipa::path(get, path = "/admin/v1/usage", tag = "admin",
    params(("since" = Option<String>, Query, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]))?$"),
        ("until" = Option<String>, Query, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]))?$"),
        ("group_by" = Option<String>, Query, pattern = "^ *(day|model|account|key|mode)? *(, *(day|model|account|key|mode)? *)*$"),
        ("account_id" = Option<String>, Query, pattern = "^acct_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"), ("model" = Option<String>, Query),
        ("mode" = Option<String>, Query, pattern = "^(live|test)$"), ("key_id" = Option<String>, Query, pattern = "^key_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")),
    responses((status = 200, body = UsageList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn admin_usage(
    State(s): State<AppState>,
    _: Admin,
    RawQuery(query): RawQuery,
) -> HttpResult<Json<UsageList>> {
    Ok(Json(s.gateway.usage(UsageScope::Admin, &pairs(query)?).await?))
}
