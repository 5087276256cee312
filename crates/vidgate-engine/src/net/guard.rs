//! The SSRF guard: which URLs and addresses an outbound request may reach, and the
//! `reqwest::Client` that enforces it at every layer (URL, DNS answer, redirect hop).
//!
//! It owns the address policy only; it does not fetch anything (see `fetch.rs`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Most redirect hops a guarded request follows; the next 3xx is handed back as is.
const MAX_REDIRECTS: usize = 3;

/// Which targets an outbound request may reach.
///
/// The default is the production policy: `https` only, public addresses only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Also allow `http` and private, loopback and link-local targets (tests, private
    /// networks: `fetch.allow_private_targets`, `webhooks.allow_private_targets`).
    pub allow_private: bool,
}

/// Why a URL may not be requested. The messages are safe to show a client: they never
/// name the address a host resolved to (that would turn the guard into a DNS oracle
/// for the internal network); the address is kept in the variant for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRejected {
    /// Not an absolute URL.
    #[error("the URL is not valid")]
    Parse,
    /// Neither `https`, nor `http` where the policy allows it.
    #[error("the URL must use https")]
    Scheme,
    /// A user name or password in the URL.
    #[error("the URL must not contain a user name or password")]
    Credentials,
    /// No host to connect to.
    #[error("the URL has no host")]
    NoHost,
    /// The host is, or resolves to, an address that is not publicly routable.
    #[error("the URL host resolves to a non-public address")]
    NonPublic(IpAddr),
}

/// Parses `raw` and checks it against `policy`.
///
/// An IP-literal host is checked here because the connector never asks the resolver
/// about one; a domain is checked later, by [`PublicOnlyResolver`], on the addresses
/// that are actually dialled.
pub fn check_url(raw: &str, policy: Policy) -> Result<Url, UrlRejected> {
    // `url` follows WHATWG host parsing, so 2130706433, 0x7f.1 and 0177.0.0.1 all come
    // back as Host::Ipv4(127.0.0.1) and are checked below.
    let url = Url::parse(raw).map_err(|_| UrlRejected::Parse)?;
    check_parsed(&url, policy)?;
    Ok(url)
}

fn check_parsed(url: &Url, policy: Policy) -> Result<(), UrlRejected> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_private => {}
        _ => return Err(UrlRejected::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRejected::Credentials);
    }
    let ip: IpAddr = match url.host().ok_or(UrlRejected::NoHost)? {
        Host::Domain(_) => return Ok(()),
        Host::Ipv4(ip) => ip.into(),
        Host::Ipv6(ip) => ip.into(),
    };
    if policy.allow_private || is_public_ip(ip) { Ok(()) } else { Err(UrlRejected::NonPublic(ip)) }
}

/// Whether `ip` is publicly routable. `std`'s `is_global` is nightly-only, so the
/// blocked ranges are listed here.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = ip.is_private()            // 10/8, 172.16/12, 192.168/16
        || ip.is_loopback()                  // 127/8
        || ip.is_link_local()                // 169.254/16, incl. 169.254.169.254 metadata
        || ip.is_documentation()             // 192.0.2/24, 198.51.100/24, 203.0.113/24
        || ip.is_multicast()                 // 224/4
        || a == 0                            // 0/8 "this network", incl. 0.0.0.0
        || (a == 100 && b & 0xc0 == 64)      // 100.64/10 CGNAT, incl. 100.100.100.200 metadata
        || (a == 192 && b == 0 && c == 0)    // 192.0.0/24 IETF protocol assignments
        || (a == 198 && b & 0xfe == 18)      // 198.18/15 benchmarking
        || a >= 240; // 240/4 reserved, incl. 255.255.255.255 broadcast
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Forms that carry an IPv4 address a gateway would dial: judge the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4); // ::ffff:0:0/96
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = s;
        return is_public_v4(Ipv4Addr::from(u32::from(hi) << 16 | u32::from(lo))); // 64:ff9b::/96
    }
    let blocked = ip.is_loopback()           // ::1
        || ip.is_unspecified()               // ::
        || ip.is_unique_local()              // fc00::/7, incl. fd00:ec2::254 metadata
        || ip.is_unicast_link_local()        // fe80::/10
        || s[0] & 0xffc0 == 0xfec0           // fec0::/10 site-local
        || ip.is_multicast()                 // ff00::/8
        || (s[0] == 0x2001 && s[1] == 0x0db8) // 2001:db8::/32 documentation
        || s[..4] == [0x100, 0, 0, 0]        // 100::/64 discard
        || s[0] == 0x2002                    // 2002::/16 6to4, tunnels to an embedded IPv4
        || (s[0] == 0x2001 && s[1] == 0)     // 2001::/32 Teredo, ditto
        || s[..6] == [0; 6]; // ::/96 IPv4-compatible (deprecated)
    // Anything else outside 2000::/3 (global unicast) is reserved and not routed on the
    // internet (e.g. 64:ff9b:1::/48 local-use NAT64); refuse it rather than list it.
    !blocked && s[0] & 0xe000 == 0x2000
}

/// A resolver that refuses a name if any of its addresses is not public.
///
/// reqwest dials exactly the addresses returned here, so there is no second lookup an
/// attacker's DNS could answer differently (rebinding). One bad address in a mixed
/// answer refuses the whole name: mixed answers are themselves a rebinding trick.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(screen(addrs)?.into_iter()) as Addrs)
        })
    }
}

/// The resolver's verdict on one answer; the error is a `UrlRejected` when an address
/// is not public, so `fetch.rs` can find it in the error chain.
fn screen(addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    if addrs.is_empty() {
        return Err("the name has no addresses".into());
    }
    match addrs.iter().find(|a| !is_public_ip(a.ip())) {
        Some(bad) => Err(UrlRejected::NonPublic(bad.ip()).into()),
        None => Ok(addrs),
    }
}

/// What to do with one redirect.
#[derive(Debug, PartialEq, Eq)]
enum Hop {
    Follow,
    /// Hand the 3xx response back to the caller.
    Stop,
    Refuse(UrlRejected),
}

/// `visited` counts the URLs requested so far, the original one included, as
/// `reqwest::redirect::Attempt::previous` does.
fn redirect_hop(policy: Policy, next: &Url, visited: usize) -> Hop {
    if let Err(rejected) = check_parsed(next, policy) {
        Hop::Refuse(rejected)
    } else if visited > MAX_REDIRECTS {
        Hop::Stop
    } else {
        Hop::Follow
    }
}

/// Installs ring as the process-wide rustls crypto provider, unless one is installed
/// already. reqwest's `rustls-no-provider` build panics when building a client without
/// one, and reqwest 0.13 has no builder method that takes a provider (short of
/// `tls_backend_preconfigured` with a whole `rustls::ClientConfig`, roots included).
pub fn install_crypto_provider() {
    // An Err means a provider is already installed, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for user-supplied URLs, guarded by `policy`: [`PublicOnlyResolver`] (unless
/// `allow_private`), no proxy (a proxy would resolve names itself), [`check_url`] on every
/// redirect hop with at most three hops, no `Referer`, and the given timeouts; the
/// total timeout covers reading the body too.
///
/// The client cannot check the first URL's IP literal itself: pass only URLs that
/// [`check_url`] accepted under the same policy.
pub fn outbound_client(
    policy: Policy,
    connect_timeout: Duration,
    total_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        match redirect_hop(policy, attempt.url(), attempt.previous().len()) {
            Hop::Follow => attempt.follow(),
            Hop::Stop => attempt.stop(),
            Hop::Refuse(rejected) => attempt.error(rejected),
        }
    });
    guarded_client(policy, redirects, connect_timeout, total_timeout)
}

/// [`outbound_client`] that follows no redirect: a 3xx is handed back as is. For webhooks,
/// where a redirect is a failed delivery (Standard Webhooks) and following one would send
/// the signed body to a host the client never named.
pub fn outbound_client_without_redirects(
    policy: Policy,
    connect_timeout: Duration,
    total_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    guarded_client(policy, reqwest::redirect::Policy::none(), connect_timeout, total_timeout)
}

fn guarded_client(
    policy: Policy,
    redirects: reqwest::redirect::Policy,
    connect_timeout: Duration,
    total_timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    let builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(redirects)
        .referer(false)
        .https_only(!policy.allow_private)
        .connect_timeout(connect_timeout)
        .timeout(total_timeout)
        .user_agent(concat!("vidgate/", env!("CARGO_PKG_VERSION")));
    let builder = if policy.allow_private { builder } else { builder.dns_resolver(Arc::new(PublicOnlyResolver)) };
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC_ONLY: Policy = Policy { allow_private: false };
    const PRIVATE_OK: Policy = Policy { allow_private: true };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rejected(raw: &str) -> UrlRejected {
        check_url(raw, PUBLIC_ONLY).expect_err(raw)
    }

    #[test]
    fn loopback_literals_in_every_spelling_are_non_public() {
        let v4 = UrlRejected::NonPublic(ip("127.0.0.1"));
        assert_eq!(rejected("https://127.0.0.1/x.png"), v4);
        assert_eq!(rejected("https://2130706433/"), v4); // decimal
        assert_eq!(rejected("https://0x7f.1/"), v4); // hex, short form
        assert_eq!(rejected("https://0177.0.0.1/"), v4); // octal
        assert_eq!(rejected("https://127.0.0.1.:8443/"), v4); // trailing dot
        assert_eq!(rejected("https://[::1]/"), UrlRejected::NonPublic(ip("::1")));
        assert_eq!(rejected("https://[::ffff:127.0.0.1]/"), UrlRejected::NonPublic(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn metadata_and_unspecified_literals_are_non_public() {
        for (raw, addr) in [
            ("https://169.254.169.254/latest/meta-data/", "169.254.169.254"),
            ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
            ("https://100.100.100.200/", "100.100.100.200"),
            ("https://0.0.0.0:8080/", "0.0.0.0"),
            ("https://[::]/", "::"),
        ] {
            assert_eq!(rejected(raw), UrlRejected::NonPublic(ip(addr)), "{raw}");
        }
    }

    #[test]
    fn only_https_is_allowed_unless_private_targets_are() {
        assert_eq!(rejected("file:///etc/passwd"), UrlRejected::Scheme);
        assert_eq!(rejected("gopher://example.com:70/_GET"), UrlRejected::Scheme);
        assert_eq!(rejected("ftp://example.com/a.png"), UrlRejected::Scheme);
        assert_eq!(rejected("http://example.com/a.png"), UrlRejected::Scheme);
        assert_eq!(rejected("http://127.0.0.1/a.png"), UrlRejected::Scheme);
        assert!(check_url("http://example.com/a.png", PRIVATE_OK).is_ok());
        assert_eq!(check_url("file:///etc/passwd", PRIVATE_OK), Err(UrlRejected::Scheme));
    }

    #[test]
    fn userinfo_is_refused_even_with_private_targets_allowed() {
        assert_eq!(rejected("https://user:pw@example.com/"), UrlRejected::Credentials);
        assert_eq!(rejected("https://user@example.com/"), UrlRejected::Credentials);
        assert_eq!(check_url("http://user:pw@localhost/", PRIVATE_OK), Err(UrlRejected::Credentials));
    }

    #[test]
    fn unparsable_input_is_a_parse_error() {
        assert_eq!(rejected("not a url"), UrlRejected::Parse);
        assert_eq!(rejected("https://"), UrlRejected::Parse);
        assert_eq!(rejected("/relative/path.png"), UrlRejected::Parse);
    }

    #[test]
    fn public_literals_and_names_pass_and_come_back_parsed() {
        let url = check_url("https://8.8.8.8/a.png", PUBLIC_ONLY).unwrap();
        assert_eq!(url.as_str(), "https://8.8.8.8/a.png");
        assert!(check_url("https://[2606:4700:4700::1111]/", PUBLIC_ONLY).is_ok());
        // Names are judged by the resolver, on the addresses actually dialled.
        assert!(check_url("https://localhost/", PUBLIC_ONLY).is_ok());
        assert!(check_url("https://images.example.com/cat.webp?sig=1", PUBLIC_ONLY).is_ok());
    }

    #[test]
    fn private_literals_pass_when_private_targets_are_allowed() {
        let url = check_url("http://127.0.0.1:8080/x.png", PRIVATE_OK).unwrap();
        assert_eq!(url.port(), Some(8080));
        assert!(check_url("https://[fd00:ec2::254]/", PRIVATE_OK).is_ok());
    }

    #[test]
    fn public_addresses_are_public() {
        for addr in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public_ip(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn private_and_reserved_v4_ranges_are_not_public() {
        for addr in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public_ip(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn v4_range_edges_are_exact() {
        // The neighbours of each explicit range stay public.
        for addr in [
            "1.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "192.0.1.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(is_public_ip(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn private_and_reserved_v6_ranges_are_not_public() {
        for addr in [
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:808:808::1",
            "2001::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b:1::808:808",
            "4000::1",
        ] {
            assert!(!is_public_ip(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn an_answer_with_any_non_public_address_is_refused() {
        let addrs = |list: &[&str]| list.iter().map(|a| SocketAddr::new(ip(a), 0)).collect::<Vec<_>>();
        let err = screen(addrs(&["8.8.8.8", "10.0.0.7", "1.1.1.1"])).unwrap_err();
        assert_eq!(err.downcast_ref::<UrlRejected>(), Some(&UrlRejected::NonPublic(ip("10.0.0.7"))));
        assert_eq!(
            screen(addrs(&["8.8.8.8", "2606:4700:4700::1111"])).unwrap(),
            addrs(&["8.8.8.8", "2606:4700:4700::1111"])
        );
        let empty = screen(Vec::new()).unwrap_err();
        assert!(empty.downcast_ref::<UrlRejected>().is_none());
    }

    #[tokio::test]
    async fn the_resolver_refuses_localhost() {
        let err = match PublicOnlyResolver.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        match err.downcast_ref::<UrlRejected>() {
            Some(UrlRejected::NonPublic(addr)) => assert!(addr.is_loopback(), "{addr}"),
            other => panic!("expected NonPublic, got {other:?} ({err})"),
        }
    }

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn a_redirect_to_loopback_is_refused_without_private_targets() {
        let hop = |raw| redirect_hop(PUBLIC_ONLY, &url(raw), 1);
        assert_eq!(hop("http://127.0.0.1/admin"), Hop::Refuse(UrlRejected::Scheme));
        assert_eq!(hop("https://127.0.0.1/admin"), Hop::Refuse(UrlRejected::NonPublic(ip("127.0.0.1"))));
        assert_eq!(
            hop("https://[::ffff:169.254.169.254]/latest"),
            Hop::Refuse(UrlRejected::NonPublic(ip("::ffff:169.254.169.254")))
        );
        assert_eq!(hop("https://user:pw@example.com/"), Hop::Refuse(UrlRejected::Credentials));
        assert_eq!(hop("https://cdn.example.com/a.png"), Hop::Follow);
    }

    #[test]
    fn a_fourth_redirect_is_not_followed() {
        let next = url("https://cdn.example.com/a.png");
        assert_eq!(redirect_hop(PUBLIC_ONLY, &next, 1), Hop::Follow);
        assert_eq!(redirect_hop(PUBLIC_ONLY, &next, 3), Hop::Follow);
        assert_eq!(redirect_hop(PUBLIC_ONLY, &next, 4), Hop::Stop);
        // A refusal wins over the limit: the log should say why, not "too many".
        assert_eq!(
            redirect_hop(PUBLIC_ONLY, &url("https://10.0.0.1/"), 4),
            Hop::Refuse(UrlRejected::NonPublic(ip("10.0.0.1")))
        );
    }

    #[test]
    fn a_redirect_to_loopback_is_followed_with_private_targets() {
        assert_eq!(redirect_hop(PRIVATE_OK, &url("http://127.0.0.1:9/x"), 2), Hop::Follow);
    }

    #[test]
    fn clients_build_under_both_policies() {
        for policy in [PUBLIC_ONLY, PRIVATE_OK] {
            outbound_client(policy, Duration::from_secs(5), Duration::from_secs(30)).unwrap();
        }
    }
}
