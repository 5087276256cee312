//! The accept loop and each connection's life: HTTP/1.1 through hyper with a header-read
//! timeout, a minimum request-body rate, and a cap on connections held at once.
//!
//! - **Request head**: a connection has `server.header_read_timeout_secs` to deliver a whole
//!   request head from when the server starts waiting for one (a new connection, or a
//!   keep-alive one after its previous answer); then it is closed without an answer.
//! - **Request body**: [`body::RateBody`]; a body slower than `server.body_min_bytes_per_sec`
//!   (after `server.body_rate_grace_secs`) is answered 408 `request_timeout` and the connection
//!   closed.
//! - **Connections**: at most `server.max_connections` are served. At the cap a new connection
//!   takes the place of the connection that has waited longest for a request head (it is
//!   closed at once, unless it is still writing an answer); when every served connection is in a request, the new one is answered 503
//!   `server_busy` ([`busy`]). Up to `server.connection_reserve` connections over the cap are
//!   held at once for that; beyond it a new connection is closed at once.
//! - **File descriptors**: when `accept` finds none left (the process's open-file limit is
//!   below what the cap needs), the connection that has waited longest for a request head is
//!   closed, as at the cap, so the next one in the backlog can be accepted.
//!
//! Shutdown stops accepting, lets every connection finish its request in progress and closes
//! idle ones, as `axum::serve` did.

mod body;
mod busy;
mod io;
mod slots;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tower::ServiceExt;
use vidgate_domain::ErrorCode;
use vidgate_domain::config::ServerConfig;

use crate::error::HttpError;
use slots::{Registration, Slots};

/// How long a new connection waits for the place of an evicted one.
const EVICT_WAIT: Duration = Duration::from_secs(2);
/// Pause after a failed `accept` that is not about one connection.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Pause after `accept` found no file descriptor, while an evicted connection closes.
const DESCRIPTOR_BACKOFF: Duration = Duration::from_millis(10);

/// The connection limits, from `[server]`.
#[derive(Clone, Debug)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub body_min_bytes_per_sec: u64,
    pub body_rate_grace: Duration,
    pub max_connections: usize,
    pub connection_reserve: usize,
}

impl ConnLimits {
    /// The limits a server config sets.
    pub fn from_config(server: &ServerConfig) -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(server.header_read_timeout_secs),
            body_min_bytes_per_sec: server.body_min_bytes_per_sec,
            body_rate_grace: Duration::from_secs(server.body_rate_grace_secs),
            max_connections: server.max_connections,
            connection_reserve: server.connection_reserve,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Slots::new(limits.max_connections, limits.connection_reserve);
    let limits = Arc::new(limits);
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a receiver; all gone = all connections closed.
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) if is_out_of_descriptors(&e) => {
                    // As at the cap: the connection waiting longest for a head gives its
                    // descriptor to the one waiting in the backlog.
                    metrics::counter!("vidgate_accept_out_of_descriptors_total").increment(1);
                    if !slots.evict_longest_waiting() {
                        tracing::warn!(error = %e, "accept failed: out of file descriptors, every connection in a request");
                    }
                    tokio::time::sleep(DESCRIPTOR_BACKOFF).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let conn = Conn {
            router: router.clone(),
            limits: limits.clone(),
            peer,
            stop: stop_rx.clone(),
            _done: done_rx.clone(),
        };
        match slots.places.clone().try_acquire_owned() {
            Ok(place) => {
                let registration = slots.register(place);
                tokio::spawn(conn.run(stream, registration));
            }
            Err(_) => over_cap(&slots, conn, stream),
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

/// A connection that found every place taken: it waits for the place of an evicted
/// connection, or is answered 503, or (with the reserve used up) is closed at once.
fn over_cap(slots: &Arc<Slots>, conn: Conn, stream: TcpStream) {
    let Ok(reserved) = slots.reserve.clone().try_acquire_owned() else {
        tracing::debug!("connection closed: at the connection limit and its reserve");
        metrics::counter!("vidgate_connections_refused_total", "answer" => "closed").increment(1);
        return;
    };
    let slots = slots.clone();
    tokio::spawn(async move {
        let place: Option<OwnedSemaphorePermit> = if slots.evict_longest_waiting() {
            tokio::time::timeout(EVICT_WAIT, slots.places.clone().acquire_owned()).await.ok().and_then(Result::ok)
        } else {
            None
        };
        match place {
            Some(place) => {
                drop(reserved);
                let registration = slots.register(place);
                conn.run(stream, registration).await;
            }
            None => {
                metrics::counter!("vidgate_connections_refused_total", "answer" => "503").increment(1);
                busy::refuse(stream).await;
                drop(reserved);
            }
        }
    });
}

/// The process (or the system) has no file descriptor left for a new connection.
fn is_out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE and ENFILE (the same numbers on Linux and the BSDs).
    matches!(e.raw_os_error(), Some(24) | Some(23))
}

/// Accept errors that concern one connection only.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// One accepted connection and what it needs.
struct Conn {
    router: Router,
    limits: Arc<ConnLimits>,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
}

impl Conn {
    async fn run(self, stream: TcpStream, registration: Registration) {
        let Conn { router, limits, peer, mut stop, _done } = self;
        let state = registration.state.clone();
        let service = {
            let state = state.clone();
            let limits = limits.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let in_request = state.begin();
                let router = router.clone();
                let expired = Arc::new(AtomicBool::new(false));
                let (mut parts, incoming) = req.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                let body = body::RateBody::new(
                    incoming,
                    limits.body_min_bytes_per_sec,
                    limits.body_rate_grace,
                    expired.clone(),
                );
                let req = Request::from_parts(parts, Body::new(body));
                async move {
                    let response = router.oneshot(req).await.unwrap_or_else(|never| match never {});
                    let response = if expired.load(Ordering::Relaxed) { too_slow(response) } else { response };
                    Ok::<_, Infallible>(response.map(|inner| body::Tracked { inner, _in_request: in_request }))
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
        let io = io::Watched { stream, state: state.clone() };
        serve_until_done(builder.serve_connection(TokioIo::new(io), service), &state, &mut stop, peer).await;
        // The socket is closed (the connection dropped) before its place is given back.
        drop(registration);
    }
}

/// Drives one connection until it ends, shutting it down gracefully on `stop` and closing it
/// when asked to make room while it waits for a request head.
async fn serve_until_done<S>(
    conn: hyper::server::conn::http1::Connection<TokioIo<io::Watched>, S>,
    state: &slots::ConnState,
    stop: &mut watch::Receiver<bool>,
    peer: SocketAddr,
) where
    S: hyper::service::HttpService<Incoming, ResBody = body::Tracked>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conn = pin!(conn);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            // The connection future is not being polled here, so no request can start
            // between this check and the drop.
            _ = state.evict.notified() => {
                if state.busy() {
                    state.keep();
                } else {
                    tracing::debug!(peer = %peer, "connection closed to make room: it was waiting for a request head");
                    metrics::counter!("vidgate_connections_evicted_total").increment(1);
                    break;
                }
            }
        }
    }
}

/// The answer that replaces a handler's when the request body came too slowly: 408, with
/// the request id kept, and the connection closed after it.
fn too_slow(handled: Response) -> Response {
    let mut response = HttpError::new(
        ErrorCode::RequestTimeout,
        "the request body arrived too slowly; send it faster or in one piece",
    )
    .into_response();
    let headers = response.headers_mut();
    if let Some(id) = handled.headers().get("x-request-id") {
        headers.insert("x-request-id", id.clone());
    }
    headers.insert(axum::http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}
