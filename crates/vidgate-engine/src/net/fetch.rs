//! Downloading a user-supplied source image through a guarded client, with a byte cap.
//!
//! It owns the size limit and the mapping of transport failures onto errors a client
//! may read; it does not judge URLs (that is `guard.rs`) or image formats (the caller
//! sniffs and validates the bytes it gets back).

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use url::Url;

use super::guard::UrlRejected;

/// A downloaded source image, not yet validated as an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedImage {
    /// The body, at most the `max_bytes` it was fetched with.
    pub bytes: Vec<u8>,
    /// The `Content-Type` the server sent, if any and if readable; a claim, not a fact.
    pub content_type: Option<String>,
}

/// Why a source image could not be fetched. Every message is fit to return to the
/// client; the underlying transport error is logged, never carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The guard refused the URL, a redirect hop, or the addresses the host resolved to.
    #[error("{}", refused_message(.0))]
    Refused(#[from] UrlRejected),
    /// No connection, a DNS failure, or the connection broke mid-answer.
    #[error("the source image URL could not be reached")]
    Unreachable,
    /// A non-2xx answer, including a 3xx past the redirect limit.
    #[error("the source image URL answered {0}")]
    Status(u16),
    /// The body (announced or received) is over the limit.
    #[error("the source image is larger than {limit} bytes")]
    TooLarge {
        /// The `max_bytes` the fetch was made with.
        limit: usize,
    },
    /// The client's connect or total timeout ran out.
    #[error("the source image URL did not answer in time")]
    Timeout,
}

fn refused_message(rejected: &UrlRejected) -> &'static str {
    match rejected {
        UrlRejected::Parse => "the source image URL is not valid",
        UrlRejected::Scheme => "the source image URL must use https",
        UrlRejected::Credentials => "the source image URL must not contain a user name or password",
        UrlRejected::NoHost => "the source image URL has no host",
        UrlRejected::NonPublic(_) => "the source image host resolves to a non-public address",
    }
}

/// GETs `url` with `client` (from `outbound_client`) and returns the body, giving up
/// as soon as it is known to exceed `max_bytes`: on `Content-Length`, or mid-stream.
/// The client's total timeout bounds the whole exchange, body included.
///
/// `url` must have passed `check_url` under the client's policy: the client checks
/// names and redirect hops itself, but not an IP literal in the first URL.
pub async fn fetch_image(client: &reqwest::Client, url: &Url, max_bytes: usize) -> Result<FetchedImage, FetchError> {
    let fail = |err: reqwest::Error| {
        let err = err.without_url(); // the query string may hold the user's tokens
        let mapped = classify(&err);
        tracing::info!(host = url.host_str(), error = ?err, %mapped, "source image fetch failed");
        mapped
    };
    let mut response =
        client.get(url.clone()).header(ACCEPT, "image/png, image/jpeg, image/webp").send().await.map_err(fail)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    let too_large = FetchError::TooLarge { limit: max_bytes };
    let announced = response.content_length();
    if announced.is_some_and(|len| len > max_bytes as u64) {
        return Err(too_large);
    }
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
    // `announced` is at most `max_bytes` here, so this reserves no more than the cap.
    let mut bytes = Vec::with_capacity(announced.unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await.map_err(fail)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(too_large);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(FetchedImage { bytes, content_type })
}

fn classify(err: &reqwest::Error) -> FetchError {
    // The resolver and the redirect policy both fail with a `UrlRejected`; reqwest
    // keeps it as the source of a source (DNS: reqwest -> hyper -> connect -> dns).
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(inner) = source {
        if let Some(rejected) = inner.downcast_ref::<UrlRejected>() {
            return FetchError::Refused(*rejected);
        }
        source = inner.source();
    }
    if err.is_timeout() {
        FetchError::Timeout
    } else if err.is_builder() {
        // With a parsed `Url` and fixed headers, the only builder failure left is the
        // client's `https_only` refusing an `http` URL that skipped `check_url`.
        FetchError::Refused(UrlRejected::Scheme)
    } else {
        FetchError::Unreachable
    }
}
