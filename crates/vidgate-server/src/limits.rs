//! The limit headers of docs/api.md §7 on every authenticated response (`X-RateLimit-Limit`,
//! `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `X-Quota-Remaining-Credits`).
//!
//! The middleware leaves an empty [`CallerSlot`] in the request; the [`ApiCaller`]
//! extractor fills it when a key authenticates. After the handler has answered (so a
//! submit's new hold is already counted), the middleware asks the gateway for the headers
//! of that key: nothing for a request that did not authenticate or a key without a quota or
//! spend window, otherwise one store query. Handlers know nothing of it.
//!
//! [`ApiCaller`]: crate::extract::ApiCaller

use std::sync::{Arc, OnceLock};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use vidgate_engine::gateway::Caller;

use crate::AppState;

/// Who authenticated on this request, if anyone.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<Caller>>);

impl CallerSlot {
    /// Records the authenticated caller (the first one wins).
    pub fn fill(&self, caller: &Caller) {
        let _ = self.0.set(caller.clone());
    }
}

/// Adds the limit headers of the request's caller to its response.
pub async fn limit_headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    let Some(caller) = slot.0.get() else { return response };
    match state.gateway.limit_headers(&caller.key).await {
        Ok(headers) => {
            for (name, value) in headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(HeaderName::from_static(name), value);
                }
            }
        }
        // The answer itself stands; the headers are advisory.
        Err(e) => tracing::warn!(error = ?e.error, "limit headers could not be computed"),
    }
    response
}
