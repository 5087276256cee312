//! Sign-in, sign-out and the session table.
//!
//! One password field takes either secret: the admin token opens the operator view, an API
//! key the account view of its account. The session cookie (`vidgate_console`, HttpOnly,
//! SameSite=Strict, path `/console`, `Secure` when the public URL is https) holds only an
//! opaque random id; the secret stays in this process's memory and is checked again on every
//! request (the admin token against the configured one, a key through the same
//! authentication as the API, with its IP allow-list), so a session ends the moment its key
//! is revoked or expires. Sessions live at most `console.session_secs`, at most
//! `console.max_sessions` at once (the oldest go first), and not across a restart.
//!
//! Every change is a form POST taken through [`Change`], which refuses it with 403
//! `permission_denied` (param `csrf`) unless it carries the session's CSRF token.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq;
use vidgate_domain::ErrorCode;
use vidgate_engine::clock::now_ms;
use vidgate_engine::gateway::Caller;
use vidgate_engine::gateway::auth::random_base62;

use super::html::{esc, respond, shell};
use crate::AppState;
use crate::error::HttpError;
use crate::extract::{check_pairs, client_ip};

/// The cookie's name.
pub const COOKIE: &str = "vidgate_console";

struct Session {
    /// The secret signed in with; kept in memory only, never printed.
    secret: String,
    operator: bool,
    csrf: String,
    started: Instant,
    /// How long it lasts from `started` (`console.session_secs` at sign-in).
    lifetime: Duration,
}

impl Session {
    fn live(&self) -> bool {
        self.started.elapsed() < self.lifetime
    }
}

static SESSIONS: LazyLock<Mutex<HashMap<String, Session>>> = LazyLock::new(Default::default);

/// Who is signed in.
pub enum Who {
    /// The admin token.
    Operator,
    /// An API key: its account, only what the API allows it.
    Account(Box<Caller>),
}

/// A signed-in request: the secret was checked again just now.
pub struct Signed {
    pub who: Who,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    sid: String,
}

impl Signed {
    /// The account's caller, or `None` for the operator.
    pub fn caller(&self) -> Option<&Caller> {
        match &self.who {
            Who::Account(c) => Some(c),
            Who::Operator => None,
        }
    }
}

fn cookie_sid(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The answer of every console path when `console.enabled = false`: the API's 404.
pub fn disabled() -> Response {
    HttpError::new(ErrorCode::NotFound, "no such endpoint").into_response()
}

fn to_login() -> Response {
    Redirect::to("/console/login").into_response()
}

/// Checks a secret: the admin token, or an API key usable from this address. `Ok(None)`
/// when it is refused; an error only when it could not be checked (the store is down),
/// which must not end a session.
async fn check(state: &AppState, parts: &Parts, secret: &str, operator: bool) -> Result<Option<Who>, HttpError> {
    let gw = &state.gateway;
    if operator {
        return Ok(gw.is_admin(Some(secret)).then_some(Who::Operator));
    }
    let caller = match gw.authenticate(Some(secret), now_ms()).await {
        Ok(caller) => caller,
        Err(e) if e.error.code == ErrorCode::InternalError => return Err(HttpError(e)),
        Err(_) => return Ok(None),
    };
    if !caller.key.limits.ip_allow.is_empty() {
        let ip = client_ip(parts, &gw.config.server.trusted_proxies);
        if !ip.is_some_and(|ip| vidgate_engine::ipnet::allowed(&caller.key.limits.ip_allow, ip)) {
            return Ok(None);
        }
    }
    Ok(Some(Who::Account(Box::new(caller))))
}

impl FromRequestParts<AppState> for Signed {
    /// Without a live session: to the sign-in page.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if !state.gateway.config.console.enabled {
            return Err(disabled());
        }
        let sid = cookie_sid(&parts.headers).ok_or_else(to_login)?;
        let found = {
            let table = SESSIONS.lock().expect("session table");
            table.get(&sid).filter(|s| s.live()).map(|s| (s.secret.clone(), s.operator, s.csrf.clone()))
        };
        let Some((secret, operator, csrf)) = found else {
            SESSIONS.lock().expect("session table").remove(&sid);
            return Err(to_login());
        };
        match check(state, parts, &secret, operator).await.map_err(|e| super::Fail(e).into_response())? {
            Some(who) => Ok(Signed { who, csrf, sid }),
            None => {
                // The key was revoked or expired (or the token changed): the session ends now.
                SESSIONS.lock().expect("session table").remove(&sid);
                Err(to_login())
            }
        }
    }
}

/// A change: a signed-in form POST (`application/x-www-form-urlencoded`) whose `csrf` field
/// is the session's token. The other fields are in `fields`.
pub struct Change {
    pub signed: Signed,
    pub fields: HashMap<String, String>,
}

impl Change {
    /// A field, trimmed; empty when absent.
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.trim())
    }
}

/// Reads a form body: the content type, the size limit, UTF-8, no repeated name, no NUL.
async fn read_form(req: Request, limit: usize) -> Result<HashMap<String, String>, HttpError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.split(';').next().unwrap_or("").trim() != "application/x-www-form-urlencoded" {
        return Err(HttpError::param(
            ErrorCode::UnsupportedMediaType,
            "content-type",
            "console forms are sent as application/x-www-form-urlencoded",
        ));
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| HttpError::new(ErrorCode::RequestTooLarge, format!("the form is larger than {limit} bytes")))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| HttpError::new(ErrorCode::InvalidParam, "the form is not UTF-8"))?;
    check_pairs(text)?;
    Ok(url::form_urlencoded::parse(text.as_bytes()).into_owned().collect())
}

fn csrf_refused() -> Response {
    HttpError::param(ErrorCode::PermissionDenied, "csrf", "this change lacks the console's CSRF token; reload the page")
        .into_response()
}

impl FromRequest<AppState> for Change {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let limit = state.gateway.config.server.body_limit_bytes;
        let fields = read_form(Request::from_parts(parts, body), limit).await.map_err(IntoResponse::into_response)?;
        let given = fields.get("csrf").map_or("", String::as_str);
        if !bool::from(given.as_bytes().ct_eq(signed.csrf.as_bytes())) || given.is_empty() {
            return Err(csrf_refused());
        }
        Ok(Change { signed, fields })
    }
}

fn login_form(status: StatusCode, problem: Option<&str>) -> Response {
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\" id=\"login-error\">{}</p>", esc(p)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in to vidgate</h1>{problem}<form method=\"post\" action=\"/console/login\" class=\"card\">\
         <label for=\"secret\">Admin token or API key</label>\
         <input id=\"secret\" name=\"secret\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <p class=\"hint\">The admin token opens the operator view; an API key shows its own account.</p>\
         <button type=\"submit\">Sign in</button></form>"
    );
    respond(status, shell("Sign in", None, &body))
}

/// `GET /console/login`.
pub async fn login_page(State(state): State<AppState>) -> Response {
    if !state.gateway.config.console.enabled {
        return disabled();
    }
    login_form(StatusCode::OK, None)
}

/// `POST /console/login`: a new session for a valid secret, else the form again (401).
pub async fn login(State(state): State<AppState>, req: Request) -> Response {
    if !state.gateway.config.console.enabled {
        return disabled();
    }
    let (parts, body) = req.into_parts();
    let limit = state.gateway.config.server.body_limit_bytes;
    let fields = match read_form(Request::from_parts(parts.clone(), body), limit).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let secret = fields.get("secret").map_or("", |s| s.trim()).to_owned();
    let operator = state.gateway.is_admin(Some(&secret));
    let checked = if secret.is_empty() { Ok(None) } else { check(&state, &parts, &secret, operator).await };
    match checked {
        Ok(Some(_)) => {}
        Ok(None) => {
            return login_form(StatusCode::UNAUTHORIZED, Some("That is neither the admin token nor a usable API key."));
        }
        Err(e) => return super::Fail(e).into_response(),
    }
    let sid = random_base62(43);
    let lifetime = Duration::from_secs(state.gateway.config.console.session_secs);
    let session = Session { secret, operator, csrf: random_base62(43), started: Instant::now(), lifetime };
    insert(sid.clone(), session, state.gateway.config.console.max_sessions);
    let secure = if state.gateway.config.server.public_url.starts_with("https:") { "; Secure" } else { "" };
    let cookie =
        format!("{COOKIE}={sid}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}", lifetime.as_secs());
    let mut response = Redirect::to("/console/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("ascii cookie"));
    response
}

fn insert(sid: String, session: Session, max: usize) {
    let mut table = SESSIONS.lock().expect("session table");
    table.retain(|_, s| s.live());
    if table.len() >= max
        && let Some(oldest) = table.iter().min_by_key(|(_, s)| s.started).map(|(k, _)| k.clone())
    {
        table.remove(&oldest);
    }
    table.insert(sid, session);
}

/// `POST /console/logout`: ends the session and clears the cookie.
pub async fn logout(change: Change) -> Response {
    SESSIONS.lock().expect("session table").remove(&change.signed.sid);
    let mut response = Redirect::to("/console/login").into_response();
    let gone = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&gone).expect("ascii cookie"));
    response
}
