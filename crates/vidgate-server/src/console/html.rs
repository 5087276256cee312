//! The page shell (head, navigation, sign-out), HTML escaping and the headers every console
//! page carries: no caching, no framing, a Content-Security-Policy that allows only the
//! console's own script and stylesheet (media may come from the file URLs, which can be a
//! bucket's presigned URLs on another origin).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::session::{Signed, Who};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; \
    media-src 'self' https: http:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for an element's content or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a query-string value inside an attribute.
pub fn url_arg(text: &str) -> String {
    esc(&url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>())
}

/// A JSON value as the text a person reads: strings bare, null as an em dash.
pub fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The hidden CSRF field of a form.
pub fn csrf_field(signed: &Signed) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", esc(&signed.csrf))
}

/// A whole page: head, the navigation of the signed-in view, and `body` inside `<main>`.
pub fn shell(title: &str, signed: Option<&Signed>, body: &str) -> String {
    let nav = signed.map(nav).unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · vidgate console</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <script src=\"/console/assets/console.js\" defer></script></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>{nav}<main id=\"main\">{body}</main></body></html>",
        t = esc(title)
    )
}

fn nav(signed: &Signed) -> String {
    let (who, accounts) = match &signed.who {
        Who::Operator => (
            "Operator".to_owned(),
            "<li><a href=\"/console/accounts\">Accounts and keys</a></li><li><a href=\"/console/upstreams\">Upstreams</a></li>",
        ),
        Who::Account(c) => (format!("Account {} · key {}", c.account_id, c.key.masked), ""),
    };
    format!(
        "<header><nav aria-label=\"Console\"><ul><li><a href=\"/console/\">Overview</a></li>\
         <li><a href=\"/console/tasks\">Tasks</a></li>{accounts}<li><a href=\"/console/usage\">Usage</a></li>\
         <li><a href=\"/console/rates\">Rate card</a></li></ul></nav>\
         <div class=\"who\"><span id=\"signed-in-as\">{who}</span>\
         <form method=\"post\" action=\"/console/logout\">{csrf}<button type=\"submit\">Sign out</button></form></div></header>",
        who = esc(&who),
        csrf = csrf_field(signed)
    )
}

/// An HTML response with the console's headers.
pub fn respond(status: StatusCode, page: String) -> Response {
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// A 200 page.
pub fn ok(title: &str, signed: &Signed, body: &str) -> Response {
    respond(StatusCode::OK, shell(title, Some(signed), body))
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping_neutralises_markup_and_attribute_quotes() {
        assert_eq!(esc("<script>\"a\" & 'b'</script>"), "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;");
    }
}
