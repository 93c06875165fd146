//! Route types (`RTN_*`), as `fib ... type`, `-m addrtype` and `ip route` name them.

/// Route type numbers, as the model's `Key::FibAddrType` yields them.
pub const UNSPEC: u64 = 0;
pub const UNICAST: u64 = 1;
pub const LOCAL: u64 = 2;
pub const BROADCAST: u64 = 3;
pub const ANYCAST: u64 = 4;
pub const MULTICAST: u64 = 5;
pub const BLACKHOLE: u64 = 6;
pub const UNREACHABLE: u64 = 7;
pub const PROHIBIT: u64 = 8;
pub const THROW: u64 = 9;
pub const NAT: u64 = 10;
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
