//! Outbound requests to user-supplied URLs: source images and webhooks.
//!
//! Owns the SSRF guard (`guard`: which schemes, hosts and addresses may be reached,
//! enforced on the URL, on the DNS answer actually dialled, and on every redirect hop)
//! and the bounded download of a source image (`fetch`). Every request to a URL a
//! client gave us goes through [`outbound_client`]; the clients that call the video
//! providers' fixed endpoints do not, and must not be used for user URLs.
//!
//! Must not: use a proxy or a second DNS lookup, follow a redirect without re-checking
//! it, read a body without a byte cap, or put an internal address or error text in a
//! message meant for the client.

mod fetch;
mod guard;

pub use fetch::{FetchError, FetchedImage, fetch_image};
pub use guard::{
    Policy, PublicOnlyResolver, UrlRejected, check_url, install_crypto_provider, is_public_ip, outbound_client,
    outbound_client_without_redirects,
};
