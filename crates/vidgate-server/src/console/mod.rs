//! The web console for people, under `/console/`: server-rendered HTML pages over the same
//! gateway operations and admin handlers the API serves, signed in with the admin token
//! (operator view) or an API key (account view: exactly what the API allows that key).
//!
//! Layout: [`session`] (sign-in, the session table, the [`Signed`] and [`Change`]
//! extractors: every page re-checks the secret, every change its CSRF token), [`html`]
//! (the page shell, escaping, security headers), one file per page, and [`assets`] (the
//! stylesheet and the script, embedded with `include_str!`: no CDN, no build step).
//! Pages never touch the store.

mod accounts;
mod assets;
mod html;
mod overview;
mod rates;
mod session;
mod task;
mod tasks;
mod upstreams;
mod usage;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use vidgate_domain::ErrorCode;

use crate::AppState;
use crate::error::HttpError;

pub use session::{Change, Signed, Who};

/// The console's routes, and `GET /` (a browser goes to the console; an API client keeps
/// the JSON 404).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route(
            "/console",
            get(|State(state): State<AppState>| async move {
                if state.gateway.config.console.enabled {
                    Redirect::to("/console/").into_response()
                } else {
                    session::disabled()
                }
            }),
        )
        .route("/console/", get(overview::page))
        .route("/console/login", get(session::login_page).post(session::login))
        .route("/console/logout", post(session::logout))
        .route("/console/tasks", get(tasks::page))
        .route("/console/tasks/{task_id}", get(task::page))
        .route("/console/tasks/{task_id}/cancel", post(task::cancel))
        .route("/console/accounts", get(accounts::page).post(accounts::create_account))
        .route("/console/accounts/{id}/credits", post(accounts::credit))
        .route("/console/accounts/{id}/status", post(accounts::set_status))
        .route("/console/keys", post(accounts::create_key))
        .route("/console/keys/{id}/disabled", post(accounts::set_disabled))
        .route("/console/keys/{id}/revoke", post(accounts::revoke_key))
        .route("/console/usage", get(usage::page))
        .route("/console/usage.csv", get(usage::csv))
        .route("/console/rates", get(rates::page))
        .route("/console/upstreams", get(upstreams::page))
        .route("/console/upstreams/{name}", post(upstreams::change))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
}

/// A browser (its `Accept` names `text/html`) is sent to the console; anything else gets
/// the contract's 404, as for any unknown path.
async fn root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if state.gateway.config.console.enabled && accepts_html(accept) {
        return Redirect::to("/console/").into_response();
    }
    HttpError::new(ErrorCode::NotFound, "no such endpoint").into_response()
}

/// `text/html` among the media ranges of an `Accept` header (with a non-zero weight).
fn accepts_html(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("");
        let refused = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0") || p == "q=0.0" || p == "q=0.00");
        essence.eq_ignore_ascii_case("text/html") && !refused
    })
}

/// A page that could not be shown: an HTML page with the status and message of the API's
/// refusal (the task is unknown, a form field is wrong).
pub struct Fail(pub HttpError);

impl From<HttpError> for Fail {
    fn from(e: HttpError) -> Self {
        Fail(e)
    }
}

impl From<vidgate_engine::gateway::ApiError> for Fail {
    fn from(e: vidgate_engine::gateway::ApiError) -> Self {
        Fail(HttpError(e))
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let e = &self.0.0.error;
        let status =
            axum::http::StatusCode::from_u16(e.code.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\" data-code=\"{}\">{}</p><p><a href=\"/console/\">Back to the console</a></p>",
            status.as_u16(),
            e.code.as_str(),
            html::esc(&e.message)
        );
        html::respond(status, html::shell("Error", None, &body))
    }
}

/// What console handlers return.
pub type PageResult = Result<Response, Fail>;

#[cfg(test)]
mod tests {
    use super::accepts_html;

    #[test]
    fn a_browser_accept_header_asks_for_html() {
        assert!(accepts_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
    }

    #[test]
    fn an_api_client_accept_header_does_not() {
        assert!(!accepts_html("application/json"));
        assert!(!accepts_html("*/*"));
        assert!(!accepts_html(""));
        assert!(!accepts_html("text/html;q=0, application/json"));
    }
}
