//! nft's names for values that the kernel vocabulary (`model::kernel`) does not cover:
//! TCP flags, DSCP, ethertypes, packet types, conntrack directions and status, TCP
//! options, and the set types (`ipv4_addr`, `inet_service`, ...) as value types.

use crate::nft::parse::parse_int;
use model::expr::{ct_state, ct_status, rtn};
use model::kernel::icmp;

/// What a value means, decided by the key it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Addr,
    Port,
    Int,
    Proto,
    Iface,
    Mac,
    Str,
    /// A bit set with names (`ct state`, `ct status`, `tcp flags`).
    Flags(Names),
    /// Names for numbers (`icmp type`, `pkttype`, `fib type`, ...).
    Named(Names),
    /// An ethertype, lowered to `nfproto` numbers (2 for IPv4, 10 for IPv6).
    EtherType,
    Id,
}

/// Where the names of a named value are kept: the kernel's vocabulary (`model::kernel`)
/// for what the kernel names, a table of this file for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Names {
    Nft(&'static [(&'static str, u64)]),
    CtState,
    IcmpType,
    Icmpv6Type,
    IcmpCode,
    Icmpv6Code,
    IcmpxCode,
    RouteType,
}

impl Names {
    /// The number of `s`: a name, or a number as nft writes it (`8`, `0x08`).
    pub(super) fn number(self, s: &str) -> Option<u64> {
        let named = match self {
            Names::Nft(table) => table.iter().find(|(n, _)| *n == s).map(|&(_, v)| v),
            Names::CtState => ct_state::from_name(s),
            Names::IcmpType => icmp::nft_type_number(s, false).map(u64::from),
            Names::Icmpv6Type => icmp::nft_type_number(s, true).map(u64::from),
            Names::IcmpCode => icmp::nft_code_number(s, false).map(u64::from),
            Names::Icmpv6Code => icmp::nft_code_number(s, true).map(u64::from),
            Names::IcmpxCode => icmp::IcmpxCode::from_name(s).map(|c| u64::from(u8::from(c))),
            Names::RouteType => rtn::from_name(s),
        };
        named.or_else(|| parse_int(s).and_then(|n| u64::try_from(n).ok()))
    }

    /// Every name, for "not one of ..." messages (in the order of their numbers).
    pub(super) fn names(self) -> Vec<String> {
        let numbered = |name: fn(u8) -> Option<&'static str>| {
            (0..=u8::MAX).filter_map(name).map(str::to_string).collect()
        };
        let lower = |names: &[(&str, u64)]| names.iter().map(|(n, _)| n.to_lowercase()).collect();
        match self {
            Names::Nft(table) => table.iter().map(|(n, _)| n.to_string()).collect(),
            Names::CtState => lower(&ct_state::NAMES),
            Names::IcmpType => numbered(|n| icmp::IcmpType::from(n).name()),
            Names::Icmpv6Type => numbered(|n| icmp::Icmpv6Type::from(n).name()),
            Names::IcmpCode => numbered(|n| icmp::UnreachCode::from(n).name()),
            Names::Icmpv6Code => numbered(|n| icmp::Unreach6Code::from(n).name()),
            Names::IcmpxCode => numbered(|n| icmp::IcmpxCode::from(n).name()),
            Names::RouteType => lower(&rtn::NAMES),
        }
    }
}

pub(super) const CT_STATUS: &[(&str, u64)] = &[
    ("expected", ct_status::EXPECTED),
    ("seen-reply", ct_status::SEEN_REPLY),
    ("assured", ct_status::ASSURED),
    ("confirmed", ct_status::CONFIRMED),
    ("snat", ct_status::SRC_NAT),
    ("dnat", ct_status::DST_NAT),
    ("dying", 512),
];

pub(super) const TCP_FLAGS: &[(&str, u64)] = &[
    ("fin", 0x01),
    ("syn", 0x02),
    ("rst", 0x04),
    ("psh", 0x08),
    ("ack", 0x10),
    ("urg", 0x20),
    ("ecn", 0x40),
    ("cwr", 0x80),
];

pub(super) const CT_DIR: &[(&str, u64)] = &[("original", 0), ("reply", 1)];

pub(super) const NFPROTO: &[(&str, u64)] = &[("ipv4", 2), ("ipv6", 10)];

pub(super) const PKTTYPE: &[(&str, u64)] = &[
    ("host", 0),
    ("unicast", 0),
    ("broadcast", 1),
    ("multicast", 2),
    ("other", 3),
];

pub(super) const DSCP: &[(&str, u64)] = &[
    ("cs0", 0),
    ("cs1", 8),
    ("cs2", 16),
    ("cs3", 24),
    ("cs4", 32),
    ("cs5", 40),
    ("cs6", 48),
    ("cs7", 56),
    ("df", 0),
    ("be", 0),
    ("lephb", 1),
    ("af11", 10),
    ("af12", 12),
    ("af13", 14),
    ("af21", 18),
    ("af22", 20),
    ("af23", 22),
    ("af31", 26),
    ("af32", 28),
    ("af33", 30),
    ("af41", 34),
    ("af42", 36),
    ("af43", 38),
    ("va", 44),
    ("ef", 46),
];

pub(super) const ETHERTYPE: &[(&str, u64)] = &[
    ("ip", 0x0800),
    ("ip6", 0x86dd),
    ("arp", 0x0806),
    ("vlan", 0x8100),
    ("8021ad", 0x88a8),
    ("8021q", 0x8100),
];

/// A set type name (`ipv4_addr`) as a value type; None: not modelled.
pub(super) fn type_name(name: &str) -> Option<Ty> {
    Some(match name {
        "ipv4_addr" | "ipv6_addr" => Ty::Addr,
        "inet_service" => Ty::Port,
        "inet_proto" => Ty::Proto,
        "ifname" => Ty::Iface,
        "ether_addr" => Ty::Mac,
        "mark" | "integer" | "ct_zone" | "dccp_pkttype" | "ipsec_spi" | "realm" | "classid" => {
            Ty::Int
        }
        "ct_state" => Ty::Flags(Names::CtState),
        "ct_status" => Ty::Flags(Names::Nft(CT_STATUS)),
        "tcp_flag" => Ty::Flags(Names::Nft(TCP_FLAGS)),
        "ct_dir" => Ty::Named(Names::Nft(CT_DIR)),
        "nf_proto" => Ty::Named(Names::Nft(NFPROTO)),
        "pkt_type" => Ty::Named(Names::Nft(PKTTYPE)),
        "icmp_type" => Ty::Named(Names::IcmpType),
        "icmpv6_type" => Ty::Named(Names::Icmpv6Type),
        "icmp_code" => Ty::Named(Names::IcmpCode),
        "icmpv6_code" => Ty::Named(Names::Icmpv6Code),
        "icmpx_code" => Ty::Named(Names::IcmpxCode),
        "fib_addrtype" => Ty::Named(Names::RouteType),
        "dscp" => Ty::Named(Names::Nft(DSCP)),
        "ether_type" => Ty::EtherType,
        "uid" | "gid" => Ty::Id,
        "string" => Ty::Str,
        _ => return None,
    })
}

/// TCP option names as nft knows them, to their kind numbers.
pub(super) fn tcp_option_kind(name: &str) -> Option<u8> {
    Some(match name {
        "eol" => 0,
        "nop" | "noop" => 1,
        "maxseg" | "mss" => 2,
        "window" => 3,
        "sack-perm" | "sack-permitted" => 4,
        "sack" | "sack0" | "sack1" | "sack2" | "sack3" => 5,
        "timestamp" => 8,
        "md5sig" => 19,
        "mptcp" => 30,
        "fastopen" => 34,
        n => return n.parse().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_nft_tables_and_numbers() {
        assert_eq!(Names::IcmpType.number("echo-request"), Some(8));
        assert_eq!(
            Names::Icmpv6Type.number("mld-listener-reduction"),
            Some(132)
        );
        assert_eq!(Names::IcmpxCode.number("admin-prohibited"), Some(3));
        assert_eq!(
            Names::CtState.number("established"),
            Some(ct_state::ESTABLISHED)
        );
        assert_eq!(Names::RouteType.number("local"), Some(rtn::LOCAL));
        assert_eq!(Names::Nft(TCP_FLAGS).number("syn"), Some(0x02));
        assert_eq!(Names::Nft(TCP_FLAGS).number("0x12"), Some(0x12));
        assert_eq!(Names::Nft(PKTTYPE).number("nope"), None);
        assert_eq!(
            Names::IcmpCode.names()[..2],
            ["net-unreachable", "host-unreachable"]
        );
        assert_eq!(Names::CtState.names()[0], "invalid");
        assert_eq!(Names::RouteType.names()[1], "unicast");
    }
}
