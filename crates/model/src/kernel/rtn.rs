//! Route types (`RTN_*`), as `fib ... type`, `-m addrtype` and `ip route` name them.
//!
//! The numbers are what the model's `Key::FibAddrType` yields: the type of the route the
//! kernel finds for an address (`inet_addr_type`), which is how a rule asks "is this one of
//! my addresses" (`LOCAL`) or "a broadcast address" (`BROADCAST`). iptables' `-m addrtype`
//! tests a bit set of the same types (`1 << RTN_*`), lowered to these numbers.

/// `RTN_UNSPEC`: no type (nft's `unspec`).
pub const UNSPEC: u64 = 0;
/// `RTN_UNICAST`: an address reached through a gateway or on a link.
pub const UNICAST: u64 = 1;
/// `RTN_LOCAL`: one of this host's own addresses.
pub const LOCAL: u64 = 2;
/// `RTN_BROADCAST`: a broadcast address, delivered locally as broadcast.
pub const BROADCAST: u64 = 3;
/// `RTN_ANYCAST`: a local anycast address (IPv6).
pub const ANYCAST: u64 = 4;
/// `RTN_MULTICAST`: a multicast address.
pub const MULTICAST: u64 = 5;
/// `RTN_BLACKHOLE`: a route that drops silently.
pub const BLACKHOLE: u64 = 6;
/// `RTN_UNREACHABLE`: a route that drops with "host unreachable".
pub const UNREACHABLE: u64 = 7;
/// `RTN_PROHIBIT`: a route that drops with "administratively prohibited".
pub const PROHIBIT: u64 = 8;
/// `RTN_THROW`: a route that sends the lookup on to the next policy rule.
pub const THROW: u64 = 9;
/// `RTN_NAT`: the obsolete stateless NAT route.
pub const NAT: u64 = 10;
/// `RTN_XRESOLVE`: an address resolved by an external resolver (unused by modern kernels).
pub const XRESOLVE: u64 = 11;

/// Names as `-m addrtype` writes them (upper case); nft and `ip route` use lower case.
pub const NAMES: [(&str, u64); 12] = [
    ("UNSPEC", UNSPEC),
    ("UNICAST", UNICAST),
    ("LOCAL", LOCAL),
    ("BROADCAST", BROADCAST),
    ("ANYCAST", ANYCAST),
    ("MULTICAST", MULTICAST),
    ("BLACKHOLE", BLACKHOLE),
    ("UNREACHABLE", UNREACHABLE),
    ("PROHIBIT", PROHIBIT),
    ("THROW", THROW),
    ("NAT", NAT),
    ("XRESOLVE", XRESOLVE),
];

/// The number of a route type name in any case (`LOCAL`, `local`).
pub fn from_name(name: &str) -> Option<u64> {
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_in_any_case() {
        assert_eq!(super::from_name("local"), Some(super::LOCAL));
        assert_eq!(super::from_name("BLACKHOLE"), Some(super::BLACKHOLE));
        assert_eq!(super::from_name("nowhere"), None);
    }
}
