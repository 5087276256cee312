//! IP allow-lists: an entry is an address (`203.0.113.7`) or a CIDR range
//! (`203.0.113.0/24`, `2001:db8::/32`).

use std::net::IpAddr;

/// A parsed range: network address and prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// Parses an address or a CIDR range.
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
        None => {
            let a = text.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some(Cidr { addr, prefix })
}

impl Cidr {
    /// Whether `ip` is inside the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => masked(u32::from(n) as u128, u32::from(a) as u128, self.prefix, 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => masked(u128::from(n), u128::from(a), self.prefix, 128),
            _ => false,
        }
    }
}

fn masked(net: u128, addr: u128, prefix: u8, bits: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(bits - prefix);
    (net >> shift) == (addr >> shift)
}

/// Whether `ip` is allowed by `list` (an empty list allows everything).
pub fn allowed(list: &[String], ip: IpAddr) -> bool {
    list.is_empty() || list.iter().filter_map(|c| parse_cidr(c)).any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_their_addresses_only() {
        let c = parse_cidr("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.77".parse().unwrap()));
        assert!(!c.contains("203.0.114.1".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.5".parse().unwrap()));
        let one = parse_cidr("10.0.0.1").unwrap();
        assert!(one.contains("10.0.0.1".parse().unwrap()) && !one.contains("10.0.0.2".parse().unwrap()));
        assert!(parse_cidr("2001:db8::/32").unwrap().contains("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in ["", "10.0.0.0/33", "::/129", "example.com", "10.0.0/8"] {
            assert_eq!(parse_cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_empty_list_allows_everyone() {
        assert!(allowed(&[], "8.8.8.8".parse().unwrap()));
        assert!(!allowed(&["10.0.0.0/8".into()], "8.8.8.8".parse().unwrap()));
    }
}
