//! `/console/accounts` (operator only): accounts with their money and keys; create an
//! account, credit it, create a key (its secret shown once, on the answer page) and revoke
//! one. Every change goes through the admin API's own handlers, so it is checked exactly as
//! the API checks it. Accounts are found through their keys (the API has no account
//! listing yet), or looked up by id.

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Value, json};
use vidgate_domain::{ErrorCode, Usd};

use super::html::{csrf_field, esc, ok, plain, url_arg};
use super::{Change, Fail, PageResult, Signed, Who};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Admin, JsonObject, Path, Query, check_pairs};
use crate::routes::admin;

fn operator_only(signed: &Signed) -> Result<(), Fail> {
    match signed.who {
        Who::Operator => Ok(()),
        Who::Account(_) => {
            Err(Fail(HttpError::new(ErrorCode::PermissionDenied, "accounts and keys are for the operator")))
        }
    }
}

async fn all_keys(state: &AppState) -> Result<Vec<Value>, HttpError> {
    let q: admin::KeyQuery = serde_json::from_value(json!({})).expect("an empty key query");
    let page = admin::list_keys(State(state.clone()), Admin, Query(q)).await?.0;
    Ok(page.data.into_iter().map(|k| serde_json::to_value(k).expect("serializes")).collect())
}

/// `GET /console/accounts` (`?account_id=` also shows that account; `?created=`,
/// `?credited=` say what the last change did).
pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> PageResult {
    operator_only(&signed)?;
    let query = query.unwrap_or_default();
    check_pairs(&query)?;
    let mut notice = String::new();
    let mut wanted = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "account_id" if !v.trim().is_empty() => wanted = Some(v.trim().to_owned()),
            "created" => {
                notice = format!("Account {v} created.");
                wanted = Some(v.into_owned());
            }
            "credited" => {
                notice = format!("Account {v} credited.");
                wanted = Some(v.into_owned());
            }
            "revoked" => notice = format!("Key {} revoked.", v),
            _ => {}
        }
    }
    let keys = all_keys(&state).await?;
    let mut ids: BTreeSet<String> = keys.iter().filter_map(|k| k["account_id"].as_str().map(str::to_owned)).collect();
    if let Some(w) = &wanted {
        ids.insert(w.clone());
    }
    let mut body = String::from("<h1>Accounts and keys</h1>");
    if !notice.is_empty() {
        body.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", esc(&notice)));
    }
    body.push_str(&forms(&signed, &ids));
    for id in &ids {
        let account = state.gateway.account(id).await?;
        let a = serde_json::to_value(admin::AccountObject::from(account)).expect("serializes");
        let own: Vec<&Value> = keys.iter().filter(|k| k["account_id"].as_str() == Some(id)).collect();
        body.push_str(&account_section(&signed, &a, &own));
    }
    body.push_str("<p class=\"hint\">Suspending an account is not offered yet: the API has no such operation in this version.</p>");
    Ok(ok("Accounts and keys", &signed, &body))
}

fn forms(signed: &Signed, ids: &BTreeSet<String>) -> String {
    let csrf = csrf_field(signed);
    let options: String = ids.iter().map(|id| format!("<option value=\"{0}\">{0}</option>", esc(id))).collect();
    format!(
        "<div class=\"grid\"><form method=\"post\" action=\"/console/accounts\" class=\"card\" aria-labelledby=\"h-new-account\">\
         <h2 id=\"h-new-account\">New account</h2>{csrf}<label for=\"new-account-name\">Name</label>\
         <input id=\"new-account-name\" name=\"name\" required maxlength=\"200\"><button type=\"submit\">Create the account</button></form>\
         <form method=\"post\" action=\"/console/keys\" class=\"card\" aria-labelledby=\"h-new-key\"><h2 id=\"h-new-key\">New key</h2>{csrf}\
         <label for=\"new-key-account\">Account</label><select id=\"new-key-account\" name=\"account_id\" required>{options}</select>\
         <label for=\"new-key-name\">Name</label><input id=\"new-key-name\" name=\"name\" required maxlength=\"200\">\
         <label for=\"new-key-mode\">Mode</label><select id=\"new-key-mode\" name=\"mode\"><option value=\"live\">live</option><option value=\"test\">test</option></select>\
         <label for=\"new-key-quota\">Quota (USD, optional)</label><input id=\"new-key-quota\" name=\"quota_usd\" inputmode=\"decimal\">\
         <label for=\"new-key-concurrency\">Tasks at once (optional)</label><input id=\"new-key-concurrency\" name=\"concurrency_limit\" inputmode=\"numeric\">\
         <label for=\"new-key-models\">Models allowed (comma-separated, optional)</label><input id=\"new-key-models\" name=\"models\">\
         <button type=\"submit\">Create the key</button></form>\
         <form method=\"get\" action=\"/console/accounts\" class=\"card\" aria-labelledby=\"h-find\"><h2 id=\"h-find\">Find an account</h2>\
         <label for=\"find-account\">Account id</label><input id=\"find-account\" name=\"account_id\" required><button type=\"submit\">Show</button></form></div>"
    )
}

fn account_section(signed: &Signed, a: &Value, keys: &[&Value]) -> String {
    let s = |k: &str| esc(&plain(&a[k]));
    let id = s("id");
    let mut out = format!(
        "<section class=\"account\" id=\"account-{id}\" aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{name} <code>{id}</code></h2>\
         <p>Balance <b data-field=\"balance_usd\">{bal}</b> USD · held {held} · spent {spent}</p>\
         <form method=\"post\" action=\"/console/accounts/{id}/credits\" class=\"filters\">{csrf}\
         <div><label for=\"credit-{id}\">Credit (USD; negative removes)</label><input id=\"credit-{id}\" name=\"amount_usd\" inputmode=\"decimal\" required></div>\
         <div><label for=\"note-{id}\">Note</label><input id=\"note-{id}\" name=\"note\"></div><button type=\"submit\">Credit</button></form>",
        name = s("name"),
        bal = s("balance_usd"),
        held = s("held_usd"),
        spent = s("spent_usd"),
        csrf = csrf_field(signed)
    );
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Name</th><th scope=\"col\">Mode</th>\
         <th scope=\"col\">Quota</th><th scope=\"col\">Tasks at once</th><th scope=\"col\">Models</th><th scope=\"col\">Other limits</th><th scope=\"col\">Revoked</th><th scope=\"col\"></th></tr></thead><tbody>",
    );
    for k in keys {
        let f = |n: &str| esc(&plain(&k[n]));
        let revoke = if k["revoked_at"].is_null() {
            format!(
                "<form method=\"post\" action=\"/console/keys/{}/revoke\">{}<button type=\"submit\" class=\"danger\" aria-label=\"Revoke key {}\">Revoke</button></form>",
                f("id"),
                csrf_field(signed),
                f("masked")
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "<tr data-key-id=\"{}\"><td><code>{}</code><br><span class=\"hint\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
            f("id"),
            f("masked"),
            f("id"),
            f("name"),
            f("mode"),
            f("quota_usd"),
            f("concurrency_limit"),
            f("models"),
            esc(&other_limits(k)),
            f("revoked_at"),
        ));
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// A key's spend windows, expiry and IP allow-list in a few words.
fn other_limits(k: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(windows) = k["spend_limits"].as_object() {
        parts.extend(windows.iter().filter(|(_, v)| !v.is_null()).map(|(w, v)| format!("{w}: {} USD", plain(v))));
    }
    if let Some(at) = k["expires_at"].as_str() {
        parts.push(format!("expires {at}"));
    }
    if let Some(ips) = k["ip_allow"].as_array().filter(|a| !a.is_empty()) {
        parts.push(format!("from {}", ips.iter().map(plain).collect::<Vec<_>>().join(", ")));
    }
    if parts.is_empty() { "—".to_owned() } else { parts.join("; ") }
}

/// `POST /console/accounts`: a new account.
pub async fn create_account(State(state): State<AppState>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let body = json!({"name": change.field("name")});
    let made = admin::create_account(State(state), Admin, JsonObject(body)).await?.0;
    Ok(Redirect::to(&format!("/console/accounts?created={}", url_arg(&made.id))).into_response())
}

/// A decimal form field as a JSON number (so the API reads it without a float).
fn decimal(change: &Change, name: &str) -> Result<Option<Value>, HttpError> {
    let text = change.field(name);
    if text.is_empty() {
        return Ok(None);
    }
    Usd::parse_decimal(text)
        .and_then(|_| text.parse::<serde_json::Number>().ok())
        .map(|n| Some(Value::Number(n)))
        .ok_or_else(|| {
            HttpError::param(
                ErrorCode::InvalidParam,
                name,
                format!("{name} must be a USD amount with at most 6 decimals"),
            )
        })
}

/// `POST /console/accounts/{id}/credits`.
pub async fn credit(State(state): State<AppState>, Path(id): Path<String>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let amount = decimal(&change, "amount_usd")?
        .ok_or_else(|| HttpError::param(ErrorCode::InvalidParam, "amount_usd", "amount_usd is required"))?;
    let body = json!({"amount_usd": amount, "note": change.field("note")});
    let account = admin::add_credits(State(state), Admin, Path(id), JsonObject(body)).await?.0;
    Ok(Redirect::to(&format!("/console/accounts?credited={}", url_arg(&account.id))).into_response())
}

/// `POST /console/keys`: a new key, its secret shown on this answer only.
pub async fn create_key(State(state): State<AppState>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let mut body =
        json!({"account_id": change.field("account_id"), "name": change.field("name"), "mode": change.field("mode")});
    if let Some(q) = decimal(&change, "quota_usd")? {
        body["quota_usd"] = q;
    }
    let concurrency = change.field("concurrency_limit");
    if !concurrency.is_empty() {
        let n: u32 = concurrency.parse().map_err(|_| {
            HttpError::param(ErrorCode::InvalidParam, "concurrency_limit", "concurrency_limit must be a whole number")
        })?;
        body["concurrency_limit"] = json!(n);
    }
    let models = change.field("models");
    if !models.is_empty() {
        body["models"] = json!(models.split(',').map(str::trim).filter(|m| !m.is_empty()).collect::<Vec<_>>());
    }
    let key = admin::create_key(State(state), Admin, JsonObject(body)).await?.0;
    let secret = key.key.as_deref().unwrap_or("");
    let page = format!(
        "<h1>Key created</h1><p class=\"notice\" role=\"status\">Key <code>{id}</code> ({mode}) for account <code>{acct}</code>.</p>\
         <p>Copy the key now: it is shown this once and never again.</p><label for=\"new-key-secret\">The key</label>\
         <output id=\"new-key-secret\" class=\"secret\">{secret}</output><p><a href=\"/console/accounts\">Back to accounts and keys</a></p>",
        id = esc(&key.id),
        mode = esc(key.mode),
        acct = esc(&key.account_id),
        secret = esc(secret)
    );
    Ok(ok("Key created", &change.signed, &page))
}

/// `POST /console/keys/{id}/revoke`: the key stops working at once (and its console
/// sessions with it).
pub async fn revoke_key(State(state): State<AppState>, Path(id): Path<String>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let key = admin::revoke_key(State(state), Admin, Path(id)).await?.0;
    Ok(Redirect::to(&format!("/console/accounts?revoked={}", url_arg(&key.id))).into_response())
}
