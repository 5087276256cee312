//! `/console/accounts` (operator only): accounts with their money and keys, read through
//! the admin API's account listing (newest first, in pages, filtered by name), and the
//! newest entries of the audit list. The changes: create an account, credit it, suspend or
//! resume it, create a key (its secret shown once, on the answer page), disable, enable or
//! revoke one. Every read and change goes through the admin API's own handlers, so it is
//! checked exactly as the API checks it (and recorded in the audit list as the API's are).

use std::collections::HashMap;

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

/// Accounts on one page of the listing.
pub const ACCOUNT_ROWS: u32 = 20;
/// Entries of the audit list shown on one page.
pub const AUDIT_ROWS: u32 = 20;

fn operator_only(signed: &Signed) -> Result<(), Fail> {
    match signed.who {
        Who::Operator => Ok(()),
        Who::Account(_) => {
            Err(Fail(HttpError::new(ErrorCode::PermissionDenied, "accounts and keys are for the operator")))
        }
    }
}

fn to_values<T: serde::Serialize>(items: Vec<T>) -> Vec<Value> {
    items.into_iter().map(|i| serde_json::to_value(i).expect("serializes")).collect()
}

/// One account's keys, masked.
async fn keys_of(state: &AppState, account: &str) -> Result<Vec<Value>, HttpError> {
    let q: admin::KeyQuery = serde_json::from_value(json!({"account_id": account})).expect("a key query");
    Ok(to_values(admin::list_keys(State(state.clone()), Admin, Query(q)).await?.0.data))
}

/// What the query string asks for.
#[derive(Default)]
struct Wanted {
    /// Only this account (a lookup by id, or the account a change was made on).
    account_id: Option<String>,
    name: String,
    after: String,
    audit_after: String,
    notice: String,
}

fn parse_query(query: &str) -> Result<Wanted, HttpError> {
    check_pairs(query)?;
    let mut w = Wanted::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_owned();
        let done = match k.as_ref() {
            "created" => Some("created."),
            "credited" => Some("credited."),
            "suspended" => Some("suspended: its keys are refused until it is resumed."),
            "resumed" => Some("resumed."),
            _ => None,
        };
        if let Some(done) = done {
            w.notice = format!("Account {v} {done}");
            w.account_id = Some(v);
            continue;
        }
        match k.as_ref() {
            "account_id" => w.account_id = (!v.is_empty()).then_some(v),
            "name" => w.name = v,
            "after" => w.after = v,
            "audit_after" => w.audit_after = v,
            "revoked" => w.notice = format!("Key {v} revoked."),
            "disabled" => w.notice = format!("Key {v} disabled: it is refused until enabled again."),
            "enabled" => w.notice = format!("Key {v} enabled."),
            other => {
                return Err(HttpError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}")));
            }
        }
    }
    Ok(w)
}

/// `GET /console/accounts`: a page of accounts (`?name=` keeps those whose name contains
/// it, `?after=` pages on), or one account (`?account_id=`); `?audit_after=` pages the
/// audit list; `?created=`, `?credited=`, `?suspended=`, `?resumed=`, `?revoked=`,
/// `?disabled=`, `?enabled=` say what the last change did.
pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> PageResult {
    operator_only(&signed)?;
    let w = parse_query(query.as_deref().unwrap_or(""))?;
    let (accounts, next) = match &w.account_id {
        Some(id) => {
            let account = admin::get_account(State(state.clone()), Admin, Path(id.clone())).await?.0;
            (to_values(vec![account]), None)
        }
        None => {
            let mut q = HashMap::from([("limit".to_owned(), ACCOUNT_ROWS.to_string())]);
            for (k, v) in [("name", &w.name), ("after", &w.after)] {
                if !v.is_empty() {
                    q.insert(k.to_owned(), v.clone());
                }
            }
            let page = admin::list_accounts(State(state.clone()), Admin, Query(q)).await?.0;
            let next = page.has_more.then_some(page.last_id).flatten();
            (to_values(page.data), next)
        }
    };
    let mut body = String::from("<h1>Accounts and keys</h1>");
    if !w.notice.is_empty() {
        body.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", esc(&w.notice)));
    }
    body.push_str(&forms(&signed, &accounts, &w));
    if accounts.is_empty() {
        body.push_str("<p>No account matches.</p>");
    }
    for a in &accounts {
        let keys = keys_of(&state, a["id"].as_str().unwrap_or("")).await?;
        body.push_str(&account_section(&signed, a, &keys));
    }
    if let Some(last) = next {
        let name = if w.name.is_empty() { String::new() } else { format!("name={}&amp;", url_arg(&w.name)) };
        body.push_str(&format!(
            "<p><a href=\"/console/accounts?{name}after={}\" rel=\"next\">Older accounts</a></p>",
            url_arg(&last)
        ));
    }
    body.push_str(&audit(&state, &w.audit_after).await?);
    Ok(ok("Accounts and keys", &signed, &body))
}

/// The newest entries of the audit list (older ones a link away).
async fn audit(state: &AppState, after: &str) -> Result<String, HttpError> {
    let mut q = HashMap::from([("limit".to_owned(), AUDIT_ROWS.to_string())]);
    if !after.is_empty() {
        q.insert("after".to_owned(), after.to_owned());
    }
    let page = admin::list_audit(State(state.clone()), Admin, Query(q)).await?.0;
    let mut out = String::from(
        "<h2 id=\"h-audit\">Audit: management changes, newest first</h2><div class=\"table-wrap\"><table id=\"audit\" aria-labelledby=\"h-audit\">\
         <thead><tr><th scope=\"col\">At</th><th scope=\"col\">Action</th><th scope=\"col\">Target</th><th scope=\"col\">Changes</th></tr></thead><tbody>",
    );
    if page.data.is_empty() {
        out.push_str("<tr><td colspan=\"4\">No change recorded.</td></tr>");
    }
    for e in &page.data {
        out.push_str(&format!(
            "<tr data-audit-id=\"{}\"><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&e.id),
            esc(&e.created_at),
            esc(&e.action),
            esc(&e.target_id),
            esc(&e.changes.to_string())
        ));
    }
    out.push_str("</tbody></table></div>");
    if let Some(last) = page.has_more.then_some(page.last_id).flatten() {
        out.push_str(&format!(
            "<p><a href=\"/console/accounts?audit_after={}#h-audit\">Older changes</a></p>",
            url_arg(&last)
        ));
    }
    Ok(out)
}

fn forms(signed: &Signed, accounts: &[Value], w: &Wanted) -> String {
    let csrf = csrf_field(signed);
    let options: String = accounts
        .iter()
        .map(|a| {
            let id = esc(a["id"].as_str().unwrap_or(""));
            format!("<option value=\"{id}\">{} ({id})</option>", esc(a["name"].as_str().unwrap_or("")))
        })
        .collect();
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
         <form method=\"get\" action=\"/console/accounts\" class=\"card\" role=\"search\" aria-labelledby=\"h-find\"><h2 id=\"h-find\">Find accounts</h2>\
         <label for=\"find-name\">Name contains</label><input id=\"find-name\" name=\"name\" value=\"{name}\" type=\"search\">\
         <button type=\"submit\">Filter</button></form>\
         <form method=\"get\" action=\"/console/accounts\" class=\"card\" aria-labelledby=\"h-find-id\"><h2 id=\"h-find-id\">Account by id</h2>\
         <label for=\"find-account\">Account id</label><input id=\"find-account\" name=\"account_id\" required><button type=\"submit\">Show</button></form></div>",
        name = esc(&w.name)
    )
}

fn account_section(signed: &Signed, a: &Value, keys: &[Value]) -> String {
    let s = |k: &str| esc(&plain(&a[k]));
    let id = s("id");
    let csrf = csrf_field(signed);
    let (next, button, class) = if a["status"] == "suspended" {
        ("active", "Resume", "")
    } else {
        ("suspended", "Suspend", " class=\"danger\"")
    };
    let mut out = format!(
        "<section class=\"account\" id=\"account-{id}\" aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{name} <code>{id}</code></h2>\
         <p>Status <b data-field=\"status\" class=\"status status-{status}\">{status}</b> · \
         Balance <b data-field=\"balance_usd\">{bal}</b> USD · held {held} · spent {spent}</p>\
         <div class=\"filters\"><form method=\"post\" action=\"/console/accounts/{id}/credits\" class=\"filters\">{csrf}\
         <div><label for=\"credit-{id}\">Credit (USD; negative removes)</label><input id=\"credit-{id}\" name=\"amount_usd\" inputmode=\"decimal\" required></div>\
         <div><label for=\"note-{id}\">Note</label><input id=\"note-{id}\" name=\"note\"></div><button type=\"submit\">Credit</button></form>\
         <form method=\"post\" action=\"/console/accounts/{id}/status\">{csrf}<input type=\"hidden\" name=\"status\" value=\"{next}\">\
         <button type=\"submit\"{class} aria-label=\"{button} account {id}\">{button}</button></form></div>",
        name = s("name"),
        status = s("status"),
        bal = s("balance_usd"),
        held = s("held_usd"),
        spent = s("spent_usd"),
    );
    out.push_str(
        "<div class=\"table-wrap\"><table><thead><tr><th scope=\"col\">Key</th><th scope=\"col\">Name</th><th scope=\"col\">Mode</th>\
         <th scope=\"col\">State</th><th scope=\"col\">Quota</th><th scope=\"col\">Tasks at once</th><th scope=\"col\">Models</th><th scope=\"col\">Other limits</th><th scope=\"col\"></th></tr></thead><tbody>",
    );
    if keys.is_empty() {
        out.push_str("<tr><td colspan=\"9\">No key yet.</td></tr>");
    }
    for k in keys {
        out.push_str(&key_row(signed, k));
    }
    out.push_str("</tbody></table></div></section>");
    out
}

fn key_row(signed: &Signed, k: &Value) -> String {
    let f = |n: &str| esc(&plain(&k[n]));
    let (state, buttons) = if !k["revoked_at"].is_null() {
        (format!("revoked {}", f("revoked_at")), String::new())
    } else {
        let disabled = k["disabled"] == true;
        let (value, label, class) =
            if disabled { ("false", "Enable", "") } else { ("true", "Disable", " class=\"danger\"") };
        let csrf = csrf_field(signed);
        let buttons = format!(
            "<form method=\"post\" action=\"/console/keys/{id}/disabled\">{csrf}<input type=\"hidden\" name=\"disabled\" value=\"{value}\">\
             <button type=\"submit\"{class} aria-label=\"{label} key {masked}\">{label}</button></form>\
             <form method=\"post\" action=\"/console/keys/{id}/revoke\">{csrf}<button type=\"submit\" class=\"danger\" aria-label=\"Revoke key {masked}\">Revoke</button></form>",
            id = f("id"),
            masked = f("masked"),
        );
        ((if disabled { "disabled" } else { "active" }).to_owned(), buttons)
    };
    format!(
        "<tr data-key-id=\"{}\"><td><code>{}</code><br><span class=\"hint\">{}</span></td><td>{}</td><td>{}</td><td data-field=\"state\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{buttons}</td></tr>",
        f("id"),
        f("masked"),
        f("id"),
        f("name"),
        f("mode"),
        esc(&state),
        f("quota_usd"),
        f("concurrency_limit"),
        f("models"),
        esc(&other_limits(k)),
    )
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
    Ok(Redirect::to(&format!("/console/accounts?account_id={}&revoked={}", url_arg(&key.account_id), url_arg(&key.id)))
        .into_response())
}

/// `POST /console/accounts/{id}/status` (`status` is `active` or `suspended`): resumes or
/// suspends the account as `PATCH /admin/v1/accounts/{id}` does.
pub async fn set_status(State(state): State<AppState>, Path(id): Path<String>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let status = change.field("status").to_owned();
    let body = json!({"status": status});
    let account = admin::update_account(State(state), Admin, Path(id), JsonObject(body)).await?.0;
    let done = if account.status == "suspended" { "suspended" } else { "resumed" };
    Ok(Redirect::to(&format!("/console/accounts?{done}={}", url_arg(&account.id))).into_response())
}

/// `POST /console/keys/{id}/disabled` (`disabled` is `true` or `false`): disables or enables
/// the key as `PATCH /admin/v1/keys/{id}` does (a disabled key's console sessions end too).
pub async fn set_disabled(State(state): State<AppState>, Path(id): Path<String>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let disabled = match change.field("disabled") {
        "true" => true,
        "false" => false,
        _ => return Err(HttpError::param(ErrorCode::InvalidParam, "disabled", "disabled must be true or false").into()),
    };
    let key = admin::update_key(State(state), Admin, Path(id), JsonObject(json!({"disabled": disabled}))).await?.0;
    let done = if key.disabled { "disabled" } else { "enabled" };
    Ok(Redirect::to(&format!("/console/accounts?account_id={}&{done}={}", url_arg(&key.account_id), url_arg(&key.id)))
        .into_response())
}
