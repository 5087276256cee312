//! A webhook receiver for the tests: an axum server on 127.0.0.1 that answers from a
//! script, records every delivery, and checks each signature with its own Standard
//! Webhooks verifier (written here from the spec, independent of the gateway's signing
//! code) against every secret it was told about.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde_json::Value;
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, &'static str),
    /// A 307 to another path of this receiver.
    Redirect(&'static str),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The index (in the order they were added) of the secret the signature verified with.
    pub verified_with: Option<usize>,
    pub answered: u16,
}

impl Delivery {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
}

#[derive(Default)]
struct Inner {
    secrets: Mutex<Vec<String>>,
    script: Mutex<VecDeque<Reply>>,
    deliveries: Mutex<Vec<Delivery>>,
    arrived: Notify,
}

/// A running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A port on 127.0.0.1 that nothing listens on (until a receiver is started on it).
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

impl Receiver {
    /// A receiver on a free port that answers `script` in order, then 200.
    pub async fn start(script: Vec<Reply>) -> Receiver {
        Receiver::start_on(0, script).await
    }

    /// A receiver on `port` (0: any).
    pub async fn start_on(port: u16, script: Vec<Reply>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let inner = Arc::new(Inner { script: Mutex::new(script.into()), ..Default::default() });
        let app = axum::Router::new().fallback(receive).with_state(inner.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, inner, server }
    }

    /// Adds a secret signatures may verify with (the account's current one, after a rotation).
    pub fn trust(&self, secret: &str) {
        self.inner.secrets.lock().unwrap().push(secret.to_owned());
    }

    /// Everything received so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.deliveries.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived, at most `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.inner.arrived.notified();
            let got = self.deliveries();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::timeout_at(deadline, arrived).await.is_ok(),
                "{} of {n} deliveries within {limit:?}",
                got.len()
            );
        }
    }
}

async fn receive(State(inner): State<Arc<Inner>>, req: axum::extract::Request) -> Response {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap().to_vec();
    let verified_with = inner.secrets.lock().unwrap().iter().position(|s| verify(s, &headers, &body));
    let reply = inner.script.lock().unwrap().pop_front().unwrap_or(Reply::Status(200));
    let response = match &reply {
        Reply::Status(code) => StatusCode::from_u16(*code).unwrap().into_response(),
        Reply::RetryAfter(code, after) => {
            (StatusCode::from_u16(*code).unwrap(), [("retry-after", *after)]).into_response()
        }
        Reply::Redirect(to) => (StatusCode::TEMPORARY_REDIRECT, [("location", *to)]).into_response(),
    };
    let answered = response.status().as_u16();
    inner.deliveries.lock().unwrap().push(Delivery { path, headers, body, verified_with, answered });
    inner.arrived.notify_waiters();
    response
}

/// Standard Webhooks 1.0 verification, from the spec: the key is the base64 after
/// `whsec_`; the signed content is `id.timestamp.body`; the header is a space-separated
/// list of `v1,<base64 HMAC-SHA256>`; the timestamp must be within 5 minutes of now.
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (text("webhook-id"), text("webhook-timestamp"), text("webhook-signature"))
    else {
        return false;
    };
    let Ok(ts_secs) = ts.parse::<i64>() else { return false };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - ts_secs).abs() > 300 {
        return false;
    }
    let Some(key) = secret.strip_prefix("whsec_").and_then(|k| STANDARD.decode(k).ok()) else { return false };
    let mut signed = format!("{id}.{ts}.").into_bytes();
    signed.extend_from_slice(body);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(&signed);
    let expected = mac.finalize().into_bytes();
    sigs.split(' ').filter_map(|s| s.strip_prefix("v1,")).filter_map(|s| STANDARD.decode(s).ok()).any(|given| {
        // constant time, as a receiver should
        given.len() == expected.len() && given.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    })
}
