//! A typed client for the vidgate HTTP API, used by the `vidgate` command line client.
//!
//! Layout: [`Client`] holds the gateway's URL, the credentials and the retry policy
//! ([`retry`]); [`api`] has one method per endpoint, [`upstreams`] those of the upstreams'
//! live control; [`stream`] follows a task's Server-Sent Events with resume; [`download`]
//! streams a file to disk. Errors carry what the gateway said ([`ApiError`]). This crate
//! only speaks HTTP: it never reads config files or the environment, and prints nothing.
//!
//! Retries: calls that are safe to repeat (reads, changes, cancel, delete, submits, which
//! always carry an idempotency key) are retried on a transport failure, 429 and 5xx, with
//! exponential backoff; creating accounts or keys and adding credits are sent once.
//!
//! ```no_run
//! # async fn demo() -> vidgate_client::Result<()> {
//! use vidgate_client::{Client, GenerateRequest, Options};
//!
//! let client = Client::new("http://127.0.0.1:8080", Some("sk-vg-test-…".into()), None, Options::default())?;
//! let request = GenerateRequest { model: "veo3.1".into(), prompt: "a paper boat".into(), ..Default::default() };
//! let task = client.submit(&request, None).await?;
//! let done = client.follow(&task.task_id, |t| println!("{} {}%", t.status.as_str(), t.progress)).await?;
//! if let Some(url) = &done.result_url {
//!     client.download(url, "boat.mp4".as_ref()).await?;
//! }
//! # Ok(())
//! # }
//! ```

pub mod api;
pub mod download;
mod error;
pub mod retry;
pub mod stream;
mod types;
pub mod upstreams;

use std::time::Duration;

pub use error::{ApiError, Error, Result};
pub use retry::RetryPolicy;
pub use types::*;
pub use upstreams::{Updated, Upstream, UpstreamChange};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response};

/// Timeouts and retries of a [`Client`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Time to open a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Longest silence while reading an answer (default 60 s; the event stream sends a
    /// heartbeat every 15 s by default, so a stream silent for this long is broken).
    pub read_timeout: Duration,
    /// How retryable calls are retried.
    pub retry: RetryPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Which credential a call sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The API key (`/v1/*`).
    Key,
    /// The admin token (`/admin/v1/*`).
    Admin,
    /// Nothing (signed file URLs, `/healthz`).
    None,
}

/// A connection to one gateway.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
    admin_token: Option<String>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    // Never the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the gateway at `base` (`http://127.0.0.1:8080`).
    pub fn new(base: &str, api_key: Option<String>, admin_token: Option<String>, options: Options) -> Result<Client> {
        let url = reqwest::Url::parse(base).map_err(|_| Error::Url(base.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Url(base.to_owned()));
        }
        // reqwest is built with `rustls-no-provider`: a client cannot be built until one
        // is installed. An Err means one is already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("vidgate-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Transport)?;
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            api_key: nonempty(api_key),
            admin_token: nonempty(admin_token),
            retry: options.retry,
        })
    }

    /// The gateway's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str, auth: Auth) -> Result<RequestBuilder> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let builder = self.http.request(method, url);
        Ok(match auth {
            Auth::Key => builder.bearer_auth(self.api_key.as_deref().ok_or(Error::MissingCredential("an API key"))?),
            Auth::Admin => {
                builder.bearer_auth(self.admin_token.as_deref().ok_or(Error::MissingCredential("the admin token"))?)
            }
            Auth::None => builder,
        })
    }

    /// Sends a request once; an error answer becomes [`Error::Api`].
    async fn send_once(&self, builder: RequestBuilder) -> Result<Response> {
        let response = builder.send().await.map_err(Error::Transport)?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(Error::Api(Box::new(api_error(response).await)))
    }

    /// Sends a request built by `build`, again (rebuilt) while the failure is retryable and
    /// `retry` allows it.
    async fn send(&self, retry: bool, build: impl Fn() -> Result<RequestBuilder>) -> Result<Response> {
        let policy = if retry { self.retry.clone() } else { RetryPolicy::none() };
        policy.run(|| async { self.send_once(build()?).await }).await
    }

    /// A JSON call: `body` (if any) as JSON, the answer decoded as `T`.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        body: Option<&serde_json::Value>,
        headers: HeaderMap,
        retry: bool,
    ) -> Result<T> {
        let response = self
            .send(retry, || {
                let mut b = self.request(method.clone(), path, auth)?.headers(headers.clone());
                if let Some(body) = body {
                    b = b.json(body);
                }
                Ok(b)
            })
            .await?;
        let bytes = response.bytes().await.map_err(Error::Transport)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Decode { context: format!("{method} {path}"), detail: e.to_string() })
    }
}

/// Reads an error answer into the contract's shape; an answer that is not in it (a proxy's
/// HTML page) keeps its status, with `code` `http_<status>`.
async fn api_error(response: Response) -> ApiError {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let header = |name: &str| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_owned);
    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
    let no_retry = header("x-should-retry").is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let request_id = header("x-request-id");
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let e = &body["error"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    ApiError {
        status,
        code: text(&e["code"]).unwrap_or_else(|| format!("http_{status}")),
        message: text(&e["message"]).unwrap_or_else(|| "the gateway answered without an error body".to_owned()),
        kind: text(&e["type"]).unwrap_or_default(),
        param: text(&e["param"]),
        request_id,
        retry_after,
        no_retry,
    }
}
