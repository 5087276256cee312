//! HTTP plumbing shared by the real upstreams: sending a request and reading its answer
//! with a byte cap, turning transport failures and HTTP statuses into [`ProviderError`]s
//! (what was never sent, what may have been, what the upstream refused, what is
//! temporary), and downloading a result to disk.
//!
//! The one rule that matters for money (API.md §7): a submit whose request may have left
//! (a timeout or a reset after connecting, a gateway timeout) is `OutcomeUnknown`, never
//! `Unreachable`; only a failure to connect is safe to send again.
//!
//! Must not: put a credential, a query string or a response body of a download in an
//! error; send a credential to another origin than the one it belongs to.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::ProviderError;

/// Redirect hops a download follows.
pub const MAX_REDIRECTS: usize = 5;
/// Largest API answer read (Vertex inline results are larger; they pass their own cap).
pub const MAX_API_BODY: usize = 4 * 1024 * 1024;
/// Longest `Retry-After` honoured, ms.
pub const MAX_RETRY_AFTER_MS: u64 = 600_000;

/// Whether a request creates something upstream (so an unknown outcome is not resendable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Submit,
    Read,
}

/// An answer that was read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as JSON of type `T`; an unreadable body on a submit means the job may
    /// exist without our knowing its id.
    pub fn json<T: serde::de::DeserializeOwned>(&self, call: Call) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let msg = format!("unreadable answer ({}): {e}", self.status);
            if call == Call::Submit {
                ProviderError::OutcomeUnknown(msg)
            } else {
                ProviderError::Busy { message: msg, retry_after_ms: None }
            }
        })
    }

    /// The `Retry-After` (seconds) or `retry-after-ms` wait, if any.
    pub fn retry_after_ms(&self) -> Option<u64> {
        retry_after_ms(&self.headers)
    }
}

/// A client for one upstream's API: no automatic redirects (downloads follow them
/// themselves, keeping credentials on their origin), a connect timeout; request timeouts
/// are set per request.
pub fn api_client(connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    crate::net::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .user_agent(concat!("vidgate/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends `request` and reads the whole answer (at most `max_body` bytes).
pub async fn send(request: reqwest::RequestBuilder, call: Call, max_body: usize) -> Result<Answer, ProviderError> {
    let mut response = request.send().await.map_err(|e| transport(e, call))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(e, call))? {
        if body.len() + chunk.len() > max_body {
            let msg = format!("answer larger than {max_body} bytes");
            return Err(if call == Call::Submit {
                ProviderError::OutcomeUnknown(msg)
            } else {
                ProviderError::Result(msg)
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, headers, body: body.into() })
}

/// A transport failure: a failed connect never sent anything; anything later may have.
pub fn transport(e: reqwest::Error, call: Call) -> ProviderError {
    let e = e.without_url();
    let text = format!("{e:?}");
    if e.is_connect() {
        return ProviderError::Unreachable(text);
    }
    match call {
        Call::Submit => ProviderError::OutcomeUnknown(text),
        Call::Read => ProviderError::Busy { message: text, retry_after_ms: None },
    }
}

/// An HTTP error status as a provider error. `detail` is the upstream's message (logged,
/// never shown to clients).
pub fn status_error(status: StatusCode, retry_after_ms: Option<u64>, detail: &str, call: Call) -> ProviderError {
    let message = format!("{status}: {}", truncate(detail, 500));
    match status.as_u16() {
        // A gateway in front of the upstream gave up waiting: the job may exist.
        504 if call == Call::Submit => ProviderError::OutcomeUnknown(message),
        408 | 429 | 500..=599 => ProviderError::Busy { message, retry_after_ms },
        _ => ProviderError::Refused(message),
    }
}

/// `retry-after-ms`, else `Retry-After` in seconds (an HTTP date is not honoured), capped.
pub fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    let read = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    let ms = read("retry-after-ms").or_else(|| read(RETRY_AFTER.as_str()).map(|s| s.saturating_mul(1000)))?;
    Some(ms.min(MAX_RETRY_AFTER_MS))
}

/// At most `max` characters of `text`.
pub fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// A header a download sends, only to `origin`.
pub struct Credential {
    pub origin: url::Origin,
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl Credential {
    /// A credential header for the origin of `url`, marked sensitive so it never prints.
    pub fn for_url(url: &Url, name: HeaderName, value: &str) -> Result<Credential, ProviderError> {
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| ProviderError::Refused("the credential is not a valid header".into()))?;
        value.set_sensitive(true);
        Ok(Credential { origin: url.origin(), name, value })
    }
}

/// Streams `url` into `dst` (at most `max_bytes`), following up to [`MAX_REDIRECTS`]
/// redirects itself so `credential` goes only to its own origin. Errors are retryable
/// [`ProviderError::Result`]s except a 4xx other than 408/429 (gone for good).
pub async fn download(
    client: &reqwest::Client,
    url: Url,
    credential: Option<&Credential>,
    dst: &Path,
    max_bytes: u64,
    timeout: Duration,
) -> Result<u64, ProviderError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut url = url;
    for _ in 0..=MAX_REDIRECTS {
        let mut request = client.request(Method::GET, url.clone()).timeout(timeout);
        if let Some(c) = credential.filter(|c| c.origin == url.origin()) {
            request = request.header(c.name.clone(), c.value.clone());
        }
        let response = tokio::time::timeout_at(deadline, request.send())
            .await
            .map_err(|_| ProviderError::Result("download timed out".into()))?
            .map_err(|e| ProviderError::Result(format!("download: {:?}", e.without_url())))?;
        let status = response.status();
        if status.is_redirection() {
            let next = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).and_then(|l| url.join(l).ok());
            url = next.ok_or_else(|| ProviderError::Result(format!("download: {status} without a usable Location")))?;
            continue;
        }
        if !status.is_success() {
            let gone = status.is_client_error() && !matches!(status.as_u16(), 408 | 429);
            let msg = format!("download answered {status}");
            return Err(if gone { ProviderError::Refused(msg) } else { ProviderError::Result(msg) });
        }
        return tokio::time::timeout_at(deadline, stream_to(response, dst, max_bytes))
            .await
            .map_err(|_| ProviderError::Result("download timed out".into()))?;
    }
    Err(ProviderError::Result(format!("download: more than {MAX_REDIRECTS} redirects")))
}

async fn stream_to(mut response: reqwest::Response, dst: &Path, max_bytes: u64) -> Result<u64, ProviderError> {
    let too_large = || ProviderError::Refused(format!("the result is larger than {max_bytes} bytes"));
    if response.content_length().is_some_and(|n| n > max_bytes) {
        return Err(too_large());
    }
    let io = |e: std::io::Error| ProviderError::Result(format!("writing the download: {e}"));
    let mut file = tokio::fs::File::create(dst).await.map_err(io)?;
    let mut written = 0u64;
    while let Some(chunk) =
        response.chunk().await.map_err(|e| ProviderError::Result(format!("download: {:?}", e.without_url())))?
    {
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(written)
}

/// Writes bytes the upstream returned inline (base64 already decoded) to `dst`.
pub async fn write_inline(bytes: &[u8], dst: &Path, max_bytes: u64) -> Result<u64, ProviderError> {
    if bytes.len() as u64 > max_bytes {
        return Err(ProviderError::Refused(format!("the result is larger than {max_bytes} bytes")));
    }
    tokio::fs::write(dst, bytes).await.map_err(|e| ProviderError::Result(format!("writing the result: {e}")))?;
    Ok(bytes.len() as u64)
}

/// A `data:` URL of an image, for upstreams that take images as URLs.
pub fn data_url(mime: &str, bytes: &[u8]) -> String {
    use base64::Engine as _;
    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_timeout_on_a_submit_is_an_unknown_outcome_but_a_503_is_busy() {
        let e = status_error(StatusCode::GATEWAY_TIMEOUT, None, "", Call::Submit);
        assert!(matches!(e, ProviderError::OutcomeUnknown(_)), "{e:?}");
        let e = status_error(StatusCode::SERVICE_UNAVAILABLE, Some(3000), "", Call::Submit);
        assert!(matches!(e, ProviderError::Busy { retry_after_ms: Some(3000), .. }), "{e:?}");
        let e = status_error(StatusCode::GATEWAY_TIMEOUT, None, "", Call::Read);
        assert!(matches!(e, ProviderError::Busy { .. }), "{e:?}");
        let e = status_error(StatusCode::BAD_REQUEST, None, "bad", Call::Submit);
        assert!(matches!(e, ProviderError::Refused(ref m) if m == "400 Bad Request: bad"), "{e:?}");
    }

    #[test]
    fn retry_after_reads_milliseconds_first_then_seconds_and_is_capped() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after_ms(&h), Some(7000));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after_ms(&h), Some(250));
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(retry_after_ms(&h), Some(MAX_RETRY_AFTER_MS));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after_ms(&h), None);
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
