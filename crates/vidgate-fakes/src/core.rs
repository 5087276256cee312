//! What every fake shares: its fault control, its journal, its error shape, and the middleware
//! that counts each request and carries out the transport faults before and after the handler.
//!
//! Owns the order of a faulted request (count → fault → handler → mangle the answer). It must
//! not know any protocol beyond the error shape it renders.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::blobs::{BLOB_PREFIX, Blobs};
use crate::conn::ConnHandle;
use crate::errors::{Refusal, Shape, fault_status, rate_limited};
use crate::faults::{Endpoint, Fault, Faults};
use crate::journal::{Journal, Rejection};

/// Tells which kind of request a method and path are (None: not one the faults target). The
/// flag says whether downloads redirect: then the redirect target, not the redirecting
/// endpoint, is the download that faults hit and counters count.
pub(crate) type Classify = fn(&Method, &str, bool) -> Option<Endpoint>;

/// The parts of a fake every handler can reach.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) faults: Faults,
    pub(crate) journal: Journal,
    pub(crate) shape: Shape,
    pub(crate) base_url: String,
    pub(crate) blobs: Blobs,
    classify: Classify,
}

/// A fake's router state, which holds its core.
pub(crate) trait HasCore: Clone + Send + Sync + 'static {
    fn core(&self) -> &Core;
}

/// The refusal of a request no route of the fake takes: a 404 recorded as a violation,
/// since the adapter called something the protocol document does not have.
pub(crate) fn no_such_endpoint(method: &Method, uri: &axum::http::Uri) -> Refusal {
    Refusal::protocol(StatusCode::NOT_FOUND, format!("no such endpoint in the fake: {method} {}", uri.path()))
}

/// A fake's state, as the handlers every fake shares see it.
pub(crate) trait FakeState: Send + Sync + 'static {
    /// The upstream's error `code` on a request for an endpoint it does not have, if any.
    const UNKNOWN_ENDPOINT_CODE: Option<&'static str> = None;
    fn core(&self) -> &Core;
}

/// A request no route serves (its path or its method): [`no_such_endpoint`] in the
/// upstream's error shape, journaled as a rejection.
pub(crate) async fn unknown_endpoint<S: FakeState>(
    State(state): State<Arc<S>>,
    axum::Extension(ctx): axum::Extension<Ctx>,
    method: Method,
    uri: axum::http::Uri,
) -> Response {
    let refusal = no_such_endpoint(&method, &uri);
    let refusal = match S::UNKNOWN_ENDPOINT_CODE {
        Some(code) => refusal.code(code),
        None => refusal,
    };
    state.core().refuse(&ctx, refusal)
}

/// The request as the journal names it, put in the extensions by the middleware.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) request: String,
    pub(crate) endpoint: Option<Endpoint>,
}

impl Core {
    pub(crate) fn new(shape: Shape, base_url: String, classify: Classify, redirect_downloads: bool) -> Arc<Self> {
        let faults = Faults::new(redirect_downloads);
        Arc::new(Self { faults, journal: Journal::default(), shape, base_url, blobs: Blobs::default(), classify })
    }

    /// Records `refusal` against the request in `ctx` and answers it in this fake's shape.
    pub(crate) fn refuse(&self, ctx: &Ctx, refusal: Refusal) -> Response {
        self.refuse_as(ctx, refusal, self.shape_for(ctx.endpoint))
    }

    /// The error shape for a kind of request: OAuth at the token endpoint, else the fake's.
    fn shape_for(&self, endpoint: Option<Endpoint>) -> Shape {
        if endpoint == Some(Endpoint::Token) { Shape::OAuth } else { self.shape }
    }

    /// [`Core::refuse`] in a given shape.
    pub(crate) fn refuse_as(&self, ctx: &Ctx, refusal: Refusal, shape: Shape) -> Response {
        self.journal.reject(Rejection {
            endpoint: ctx.endpoint,
            request: ctx.request.clone(),
            status: refusal.status.as_u16(),
            kind: refusal.kind,
            reason: refusal.reason.clone(),
        });
        refusal.into_response(shape)
    }

    /// Records that `ctx` was accepted only on an UNCONFIRMED point.
    pub(crate) fn note(&self, ctx: &Ctx, what: impl Into<String>) {
        self.journal.note(&ctx.request, what);
    }
}

/// Counts the request, then applies the next fault for its kind around the handler.
pub(crate) async fn faults_layer(
    State(core): State<Arc<Core>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let endpoint = if path.starts_with(BLOB_PREFIX) {
        Some(Endpoint::Download)
    } else {
        (core.classify)(request.method(), path, core.faults.redirect_downloads())
    };
    let ctx = Ctx { request: format!("{} {}", request.method(), request.uri().path()), endpoint };
    request.extensions_mut().insert(ctx);
    let Some(endpoint) = endpoint else { return next.run(request).await };
    core.journal.received(endpoint);
    let Some(fault) = core.faults.take(endpoint) else { return next.run(request).await };
    let shape = core.shape_for(Some(endpoint));
    match fault {
        Fault::RateLimited { retry_after_secs } => rate_limited(shape, retry_after_secs),
        Fault::Status(status) => {
            fault_status(shape, StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        }
        Fault::Reset => {
            conn.kill();
            StatusCode::OK.into_response()
        }
        Fault::ResetAfter => {
            let response = next.run(request).await;
            conn.kill();
            response
        }
        Fault::Slow(delay) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Fault::MalformedJson => half_body(next.run(request).await).await,
        Fault::Truncated => truncated(next.run(request).await).await,
        Fault::ShortBody => short_body(next.run(request).await).await,
    }
}

async fn body_bytes(body: Body) -> Bytes {
    to_bytes(body, usize::MAX).await.unwrap_or_default()
}

/// The first half of the answer, sent as if it were all of it.
async fn half_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = body_bytes(body).await;
    let half = bytes.slice(..bytes.len() / 2);
    parts.status = StatusCode::OK;
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(half.len()));
    Response::from_parts(parts, Body::from(half))
}

/// The first half of the answer under its own status, with a `Content-Length` that matches.
async fn short_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = body_bytes(body).await;
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(half.len()));
    Response::from_parts(parts, Body::from(half))
}

/// The full `Content-Length`, half the bytes, then a dead socket.
async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = body_bytes(body).await;
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let stream = futures::stream::unfold(Some(Some(half)), |state| async move {
        match state? {
            Some(half) => Some((Ok(half), Some(None))),
            None => {
                // Give hyper a moment to flush the half before the error aborts the connection.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((Err(io::Error::other("truncated by a fault")), None))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
