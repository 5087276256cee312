//! HTTP plumbing shared by the real upstreams: sending a request and reading its answer
//! with a byte cap, turning transport failures and HTTP statuses into [`ProviderError`]s
//! (what was never sent, what may have been, what the upstream refused, what is
//! temporary), and downloading a result to disk. Every request sent here first takes a
//! slot from the step's upstream throttle (`throttle::request`: per request, not per step;
//! each redirect hop of a download is a request). Whether a failed submit's create request
//! left is said by the provider ([`super::SubmitError`]), from these errors' kinds.
//!
//! The one rule that matters for money (docs/api.md §7): a submit whose request may have left
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

use super::{ProviderError, throttle};

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
    // Held until the answer is read whole: the request is in progress until then.
    let _slot = throttle::request().await?;
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

/// Sends a create request and reads the job id its 2xx answer names (`id` of the body read
/// as `T`). Another status is `refused(answer)`; an accepted answer naming no id leaves the
/// job unknown (`OutcomeUnknown`), as does an unreadable one.
pub async fn create_job<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    refused: fn(&Answer, Call) -> ProviderError,
    id: fn(T) -> String,
) -> Result<String, ProviderError> {
    let answer = send(request, Call::Submit, MAX_API_BODY).await?;
    if !answer.status.is_success() {
        return Err(refused(&answer, Call::Submit));
    }
    let id = id(answer.json(Call::Submit)?);
    if id.is_empty() {
        return Err(ProviderError::OutcomeUnknown("the accepted create named no job id".into()));
    }
    Ok(id)
}

/// A transport failure: a failed connect never sent anything; anything later may have.
pub fn transport(e: reqwest::Error, call: Call) -> ProviderError {
    let e = e.without_url();
    let text = super::failure::short_cause(&e);
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
        // Each hop is a request; the last one holds its slot while the body streams.
        let _slot = throttle::request().await?;
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

/// Downloads a result from a pre-signed URL the upstream handed out, sending no credential
/// (the key is never sent to a storage host), within the upstream's size and time limits.
pub async fn download_signed(
    client: &reqwest::Client,
    settings: &crate::provider::settings::Settings,
    url: &str,
    dst: &Path,
) -> Result<(), ProviderError> {
    let url = url::Url::parse(url).map_err(|_| ProviderError::Result("the result URL does not parse".into()))?;
    download(client, url, None, dst, settings.max_result_bytes, settings.download_timeout).await.map(drop)
}

/// Whether a download error is a storage host refusing an expired signed URL (403 or 404):
/// the job is asked for a freshly signed one.
pub fn expired_signed_url(e: &ProviderError) -> bool {
    let gone = |m: &str| ["download answered 403", "download answered 404"].iter().any(|p| m.starts_with(p));
    matches!(e, ProviderError::Refused(m) if gone(m))
}

/// A result download that may meet an expired signed URL: `first` downloads from the URL at
/// hand; when it fails because that URL expired ([`expired_signed_url`]), `fresh` asks the
/// upstream again for a newly signed one and downloads it (a future does nothing until
/// awaited, so `fresh` costs nothing when `first` succeeds).
pub async fn download_or_refresh(
    first: impl Future<Output = Result<(), ProviderError>>,
    fresh: impl Future<Output = Result<(), ProviderError>>,
    upstream: &str,
    job: &str,
) -> Result<(), ProviderError> {
    match first.await {
        Err(e) if expired_signed_url(&e) => {
            tracing::info!(upstream, job, "result URL expired; asking the upstream for a fresh one");
            fresh.await
        }
        other => other,
    }
}

/// Writes bytes the upstream returned inline (base64 already decoded) to `dst`.
pub async fn write_inline(bytes: &[u8], dst: &Path, max_bytes: u64) -> Result<u64, ProviderError> {
    if bytes.len() as u64 > max_bytes {
        return Err(ProviderError::Refused(format!("the result is larger than {max_bytes} bytes")));
    }
    tokio::fs::write(dst, bytes).await.map_err(|e| ProviderError::Result(format!("writing the result: {e}")))?;
    Ok(bytes.len() as u64)
}

/// Decodes standard base64 the upstream returned inline straight into `dst`, a chunk at a
/// time (no decoded copy of the whole result is held).
pub async fn write_base64(b64: &str, dst: &Path, max_bytes: u64) -> Result<u64, ProviderError> {
    use base64::Engine as _;
    const CHUNK: usize = 4 * 16 * 1024;
    let b64 = b64.trim();
    if (b64.len() as u64 / 4).saturating_mul(3) > max_bytes.saturating_add(2) {
        return Err(ProviderError::Refused(format!("the result is larger than {max_bytes} bytes")));
    }
    let io = |e: std::io::Error| ProviderError::Result(format!("writing the result: {e}"));
    let mut file = tokio::fs::File::create(dst).await.map_err(io)?;
    let (mut written, mut buf) = (0u64, Vec::with_capacity(CHUNK / 4 * 3));
    for chunk in b64.as_bytes().chunks(CHUNK) {
        buf.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(chunk, &mut buf)
            .map_err(|e| ProviderError::Refused(format!("inline video is not base64: {e}")))?;
        written += buf.len() as u64;
        file.write_all(&buf).await.map_err(io)?;
    }
    if written > max_bytes {
        return Err(ProviderError::Refused(format!("the result is larger than {max_bytes} bytes")));
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok(written)
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

    #[tokio::test]
    async fn inline_base64_is_decoded_to_the_file_chunk_by_chunk_and_capped() {
        use base64::Engine as _;
        let dir = scratch();
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let dst = dir.join("raw.mp4");
        assert_eq!(write_base64(&b64, &dst, 200_000).await.unwrap(), 200_000);
        assert_eq!(std::fs::read(&dst).unwrap(), bytes);
        let e = write_base64(&b64, &dst, 199_999).await.unwrap_err();
        assert!(matches!(e, ProviderError::Refused(_)), "{e:?}");
        let e = write_base64("AA!A", &dst, 10).await.unwrap_err();
        assert!(matches!(e, ProviderError::Refused(ref m) if m.starts_with("inline video is not base64")), "{e:?}");
    }

    fn scratch() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("vidgate-http-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn every_request_of_a_step_takes_a_throttle_token_and_one_refused_is_not_sent() {
        // A refused connect is still a request the throttle counted; a 0.5/s bucket with
        // one token lets the first go and refuses the second without sending it.
        let throttle = throttle::Throttle::new(0.5, 4);
        let client = api_client(Duration::from_millis(500)).unwrap();
        let dst = scratch().join("d");
        let url = Url::parse("http://127.0.0.1:9/x").unwrap();
        let timeout = Duration::from_secs(1);
        let (first, second) = throttle::scope(Some(&throttle), async {
            let first = download(&client, url.clone(), None, &dst, 10, timeout).await;
            let second = send(client.post(url.clone()), Call::Submit, 10).await;
            (first, second)
        })
        .await;
        assert!(matches!(first, Err(ProviderError::Result(_))), "{first:?}");
        assert!(matches!(second, Err(ProviderError::Throttled { retry_after_ms: 1900..=2000 })), "{second:?}");
        let second = crate::provider::SubmitError::after_send(second.unwrap_err());
        assert!(!second.sent, "a submit refused by the throttle never left");
        let third = send(client.post(url), Call::Submit, 10).await;
        assert!(matches!(third, Err(ProviderError::Unreachable(_))), "unthrottled outside a scope: {third:?}");
        assert!(!crate::provider::SubmitError::after_send(third.unwrap_err()).sent, "a refused connect never left");
        let answered = status_error(StatusCode::TOO_MANY_REQUESTS, None, "slow down", Call::Submit);
        assert!(crate::provider::SubmitError::after_send(answered).sent, "an answered submit left");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
