//! `/console/upstreams` (operator only): every configured upstream with its routing state
//! (docs/channels.md), the members of a credential pool grouped under their entry, read
//! through `GET /admin/v1/upstreams`. The changes (disable, enable, reset the breaker, set
//! weight and priority; for a pool entry, disable or enable every member) go through the
//! admin handler of `PATCH /admin/v1/upstreams/{name}`, so they are checked and recorded in
//! the audit list exactly as the API's are.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect};
use serde_json::{Value, json};
use vidgate_domain::{ErrorCode, Usd};
use vidgate_engine::gateway::UpstreamObject;

use super::html::{csrf_field, esc, ok};
use super::{Change, Fail, PageResult, Signed, Who};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{Admin, JsonObject, Path, check_pairs};
use crate::routes::upstreams as api;

/// The longest last error shown in the table (the whole one is the cell's title).
const ERROR_CHARS: usize = 80;
/// Columns of the table.
const COLUMNS: usize = 10;

fn operator_only(signed: &Signed) -> Result<(), Fail> {
    match signed.who {
        Who::Operator => Ok(()),
        Who::Account(_) => Err(Fail(HttpError::new(ErrorCode::PermissionDenied, "upstreams are for the operator"))),
    }
}

/// The notice a redirect's query string asks for (`?disabled=NAME` and so on).
fn notice(query: &str) -> Result<String, HttpError> {
    check_pairs(query)?;
    let mut out = String::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let done = match k.as_ref() {
            "disabled" => "disabled: it takes no new task until enabled again",
            "enabled" => "enabled",
            "reset" => "reset: breaker closed, no cool-down",
            "tuned" => "now has the weight and priority shown",
            other => {
                return Err(HttpError::param(ErrorCode::UnknownParam, other, format!("unknown parameter {other}")));
            }
        };
        out = format!("{v} {done}.");
    }
    Ok(out)
}

/// `GET /console/upstreams`: the table; `?disabled=`, `?enabled=`, `?reset=`, `?tuned=`
/// say what the last change did.
pub async fn page(State(state): State<AppState>, signed: Signed, RawQuery(query): RawQuery) -> PageResult {
    operator_only(&signed)?;
    let notice = notice(query.as_deref().unwrap_or(""))?;
    let rows = api::list_upstreams(State(state), Admin).await?.0.data;
    let mut body = String::from("<h1>Upstreams</h1>");
    if !notice.is_empty() {
        body.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", esc(&notice)));
    }
    body.push_str(
        "<p class=\"hint\">Routing state of every upstream (docs/channels.md). A change applies on every replica within a \
         second and is recorded in the audit list. An empty weight or priority goes back to the configured value.</p>\
         <div class=\"table-wrap\"><table id=\"upstreams\"><thead><tr><th scope=\"col\">Upstream</th><th scope=\"col\">State</th>\
         <th scope=\"col\">Health</th><th scope=\"col\">Disabled</th><th scope=\"col\" class=\"num\">Priority</th>\
         <th scope=\"col\" class=\"num\">Weight</th><th scope=\"col\" class=\"num\">In flight / cap</th>\
         <th scope=\"col\" class=\"num\">Spend today / budget</th><th scope=\"col\" class=\"num\">Spend month / budget</th>\
         <th scope=\"col\">Last error</th><th scope=\"col\">Actions</th></tr></thead><tbody>",
    );
    if rows.is_empty() {
        body.push_str(&format!("<tr><td colspan=\"{}\">No upstream is configured.</td></tr>", COLUMNS + 1));
    }
    let mut pool_shown: Option<&str> = None;
    for (i, u) in rows.iter().enumerate() {
        if let Some(pool) = u.pool.as_deref()
            && pool_shown != Some(pool)
        {
            let members = rows.iter().filter(|m| m.pool.as_deref() == Some(pool)).count();
            body.push_str(&pool_row(&signed, pool, members));
            pool_shown = Some(pool);
        }
        body.push_str(&row(&signed, i, u));
    }
    body.push_str("</tbody></table></div>");
    Ok(ok("Upstreams", &signed, &body))
}

/// The heading row of a credential pool, with the actions that change every member.
fn pool_row(signed: &Signed, pool: &str, members: usize) -> String {
    let csrf = csrf_field(signed);
    let action = format!("/console/upstreams/{}", path_arg(pool));
    format!(
        "<tr class=\"pool\" data-pool=\"{p}\"><th scope=\"rowgroup\" colspan=\"{COLUMNS}\">Credential pool <code>{p}</code>: \
         {members} members, each an upstream of its own</th><td class=\"actions\">\
         <form method=\"post\" action=\"{action}\">{csrf}<input type=\"hidden\" name=\"disabled\" value=\"true\">\
         <button type=\"submit\" class=\"danger\" aria-label=\"Disable every member of pool {p}\">Disable all</button></form>\
         <form method=\"post\" action=\"{action}\">{csrf}<input type=\"hidden\" name=\"disabled\" value=\"false\">\
         <button type=\"submit\" aria-label=\"Enable every member of pool {p}\">Enable all</button></form></td></tr>",
        p = esc(pool),
    )
}

fn row(signed: &Signed, i: usize, u: &UpstreamObject) -> String {
    let name = esc(&u.name);
    let mut health = esc(u.health);
    if let Some(t) = &u.open_until {
        health.push_str(&format!("<br><span class=\"hint\">open until {}</span>", esc(t)));
    }
    if let Some(t) = &u.cooling_until {
        health.push_str(&format!("<br><span class=\"hint\">cooling until {}</span>", esc(t)));
    }
    let (error, title) = match &u.last_error {
        Some(e) => {
            let at = u.last_error_at.as_deref().map(|t| format!("<br><span class=\"hint\">{}</span>", esc(t)));
            (format!("{}{}", esc(&shorten(e)), at.unwrap_or_default()), format!(" title=\"{}\"", esc(e)))
        }
        None => ("—".to_owned(), String::new()),
    };
    format!(
        "<tr data-upstream=\"{name}\" data-state=\"{state}\"><th scope=\"row\"><code>{name}</code><br><span class=\"hint\">{kind}</span></th>\
         <td data-field=\"state\" class=\"status status-{state}\">{state}</td><td data-field=\"health\">{health}</td>\
         <td data-field=\"disabled\">{disabled}</td><td class=\"num\" data-field=\"priority\">{priority}</td>\
         <td class=\"num\" data-field=\"weight\">{weight}</td><td class=\"num\">{in_flight} / {cap}</td>\
         <td class=\"num\">{today} / {daily}</td><td class=\"num\">{month} / {monthly}</td><td{title}>{error}</td><td class=\"actions\">{actions}</td></tr>",
        state = esc(u.state),
        kind = esc(&u.kind),
        disabled = if u.disabled { "yes" } else { "no" },
        priority = u.priority.map_or("—".to_owned(), |p| p.to_string()),
        weight = u.weight,
        in_flight = u.in_flight,
        cap = u.max_in_flight,
        today = u.spend_today_usd,
        daily = budget(u.daily_budget_usd),
        month = u.spend_month_usd,
        monthly = budget(u.monthly_budget_usd),
        actions = actions(signed, i, u),
    )
}

fn budget(b: Option<Usd>) -> String {
    b.map_or("—".to_owned(), |b| b.to_string())
}

/// At most [`ERROR_CHARS`] characters, with an ellipsis when cut.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn actions(signed: &Signed, i: usize, u: &UpstreamObject) -> String {
    let csrf = csrf_field(signed);
    let name = esc(&u.name);
    let action = format!("/console/upstreams/{}", path_arg(&u.name));
    let (value, label, class) =
        if u.disabled { ("false", "Enable", "") } else { ("true", "Disable", " class=\"danger\"") };
    format!(
        "<form method=\"post\" action=\"{action}\">{csrf}<input type=\"hidden\" name=\"disabled\" value=\"{value}\">\
         <button type=\"submit\"{class} aria-label=\"{label} upstream {name}\">{label}</button></form>\
         <form method=\"post\" action=\"{action}\">{csrf}<input type=\"hidden\" name=\"reset\" value=\"true\">\
         <button type=\"submit\" aria-label=\"Reset the breaker of {name}\">Reset breaker</button></form>\
         <form method=\"post\" action=\"{action}\">{csrf}\
         <div><label for=\"weight-{i}\">Weight</label><input id=\"weight-{i}\" name=\"weight\" value=\"{weight}\" inputmode=\"numeric\" size=\"6\"></div>\
         <div><label for=\"priority-{i}\">Priority</label><input id=\"priority-{i}\" name=\"priority\" value=\"{priority}\" inputmode=\"numeric\" size=\"6\"></div>\
         <button type=\"submit\" aria-label=\"Save weight and priority of {name}\">Save</button></form>",
        weight = u.weight,
        priority = u.priority.map_or(String::new(), |p| p.to_string()),
    )
}

/// A name as one path segment: unreserved characters and `:` as they are, the rest
/// percent-encoded.
fn path_arg(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    esc(&out)
}

/// A weight or priority form field: empty is `null` (back to the configured value).
fn knob(change: &Change, name: &str) -> Result<Value, HttpError> {
    let text = change.field(name);
    if text.is_empty() {
        return Ok(Value::Null);
    }
    text.parse::<u32>().map(|n| json!(n)).map_err(|_| {
        HttpError::param(ErrorCode::InvalidParam, name, format!("{name} must be a whole number from 0, or empty"))
    })
}

/// `POST /console/upstreams/{name}`: `disabled` (`true` or `false`), `reset` (`true`), or
/// `weight` and `priority` together; the same change as `PATCH /admin/v1/upstreams/{name}`
/// (on a pool entry's name, to every member).
pub async fn change(State(state): State<AppState>, Path(name): Path<String>, change: Change) -> PageResult {
    operator_only(&change.signed)?;
    let (body, done) = match (change.field("disabled"), change.field("reset")) {
        ("true", "") => (json!({"disabled": true}), "disabled"),
        ("false", "") => (json!({"disabled": false}), "enabled"),
        ("", "true") => (json!({"reset": true}), "reset"),
        ("", "") if change.fields.contains_key("weight") || change.fields.contains_key("priority") => {
            (json!({"weight": knob(&change, "weight")?, "priority": knob(&change, "priority")?}), "tuned")
        }
        _ => {
            let message = "send disabled (true or false), reset (true), or weight and priority";
            return Err(HttpError::param(ErrorCode::InvalidParam, "disabled", message).into());
        }
    };
    let _changed = api::update_upstream(State(state), Admin, Path(name.clone()), JsonObject(body)).await?;
    let target = url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>();
    Ok(Redirect::to(&format!("/console/upstreams?{done}={target}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::{path_arg, shorten};

    #[test]
    fn a_long_error_is_cut_at_eighty_characters_with_an_ellipsis() {
        let long = "é".repeat(100);
        assert_eq!(shorten(&long), format!("{}…", "é".repeat(80)));
        assert_eq!(shorten("429 Too Many Requests"), "429 Too Many Requests");
    }

    #[test]
    fn a_name_becomes_one_path_segment() {
        assert_eq!(path_arg("pool:team-b"), "pool:team-b");
        assert_eq!(path_arg("a/b c\""), "a%2Fb%20c%22");
    }
}
