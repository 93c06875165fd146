//! nft's names for values that the kernel vocabulary (`model::kernel`) does not cover:
//! TCP flags, DSCP, ethertypes, packet types, conntrack directions and status, TCP
//! options, and the set types (`ipv4_addr`, `inet_service`, ...) as value types.

use super::*;

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
    Flags(&'static [(&'static str, u64)]),
    /// Names for numbers (`icmp type`, `pkttype`, `fib type`, ...).
    Named(&'static [(&'static str, u64)]),
    /// An ethertype, lowered to `nfproto` numbers (2 for IPv4, 10 for IPv6).
    EtherType,
    Id,
}

pub(super) const CT_STATE: &[(&str, u64)] = &[
    ("invalid", ct_state::INVALID),
    ("established", ct_state::ESTABLISHED),
    ("related", ct_state::RELATED),
    ("new", ct_state::NEW),
    ("untracked", ct_state::UNTRACKED),
];

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

pub(super) const ICMP_TYPE: &[(&str, u64)] = &[
    ("echo-reply", 0),
    ("destination-unreachable", 3),
    ("source-quench", 4),
    ("redirect", 5),
    ("echo-request", 8),
    ("router-advertisement", 9),
    ("router-solicitation", 10),
    ("time-exceeded", 11),
    ("parameter-problem", 12),
    ("timestamp-request", 13),
    ("timestamp-reply", 14),
    ("info-request", 15),
    ("info-reply", 16),
    ("address-mask-request", 17),
    ("address-mask-reply", 18),
];

pub(super) const ICMPV6_TYPE: &[(&str, u64)] = &[
    ("destination-unreachable", 1),
    ("packet-too-big", 2),
    ("time-exceeded", 3),
    ("parameter-problem", 4),
    ("echo-request", 128),
    ("echo-reply", 129),
    ("mld-listener-query", 130),
    ("mld-listener-report", 131),
    ("mld-listener-done", 132),
    ("mld-listener-reduction", 132),
    ("nd-router-solicit", 133),
    ("nd-router-advert", 134),
    ("nd-neighbor-solicit", 135),
    ("nd-neighbor-advert", 136),
    ("nd-redirect", 137),
    ("router-renumbering", 138),
    ("ind-neighbor-solicit", 141),
    ("ind-neighbor-advert", 142),
    ("mld2-listener-report", 143),
];

pub(super) const ICMP_CODE: &[(&str, u64)] = &[
    ("net-unreachable", 0),
    ("host-unreachable", 1),
    ("prot-unreachable", 2),
    ("port-unreachable", 3),
    ("frag-needed", 4),
    ("net-prohibited", 9),
    ("host-prohibited", 10),
    ("admin-prohibited", 13),
];

pub(super) const ICMPV6_CODE: &[(&str, u64)] = &[
    ("no-route", 0),
    ("admin-prohibited", 1),
    ("addr-unreachable", 3),
    ("port-unreachable", 4),
    ("policy-fail", 5),
    ("reject-route", 6),
];

/// The number of an ICMP (`v6`: ICMPv6) type as nft names it (`echo-request`), or a number:
/// for readers of nft's own output (`nft monitor trace`).
pub fn icmp_type_number(name: &str, v6: bool) -> Option<u8> {
    named_number(if v6 { ICMPV6_TYPE } else { ICMP_TYPE }, name).and_then(|n| u8::try_from(n).ok())
}

/// The number of an ICMP (`v6`: ICMPv6) destination-unreachable code as nft names it
/// (`port-unreachable`), or a number.
pub fn icmp_code_number(name: &str, v6: bool) -> Option<u8> {
    named_number(if v6 { ICMPV6_CODE } else { ICMP_CODE }, name).and_then(|n| u8::try_from(n).ok())
}

pub(super) const ICMPX_CODE: &[(&str, u64)] = &[
    ("no-route", 0),
    ("port-unreachable", 1),
    ("host-unreachable", 2),
    ("admin-prohibited", 3),
];

pub(super) const FIB_TYPE: &[(&str, u64)] = &[
    ("unspec", rtn::UNSPEC),
    ("unicast", rtn::UNICAST),
    ("local", rtn::LOCAL),
    ("broadcast", rtn::BROADCAST),
    ("anycast", rtn::ANYCAST),
    ("multicast", rtn::MULTICAST),
    ("blackhole", rtn::BLACKHOLE),
    ("unreachable", rtn::UNREACHABLE),
    ("prohibit", rtn::PROHIBIT),
    ("throw", rtn::THROW),
    ("nat", rtn::NAT),
    ("xresolve", rtn::XRESOLVE),
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
        "ct_state" => Ty::Flags(CT_STATE),
        "ct_status" => Ty::Flags(CT_STATUS),
        "tcp_flag" => Ty::Flags(TCP_FLAGS),
        "ct_dir" => Ty::Named(CT_DIR),
        "nf_proto" => Ty::Named(NFPROTO),
        "pkt_type" => Ty::Named(PKTTYPE),
        "icmp_type" => Ty::Named(ICMP_TYPE),
        "icmpv6_type" => Ty::Named(ICMPV6_TYPE),
        "icmp_code" => Ty::Named(ICMP_CODE),
        "icmpv6_code" => Ty::Named(ICMPV6_CODE),
        "icmpx_code" => Ty::Named(ICMPX_CODE),
        "fib_addrtype" => Ty::Named(FIB_TYPE),
        "dscp" => Ty::Named(DSCP),
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

pub(super) fn named_number(table: &[(&str, u64)], s: &str) -> Option<u64> {
    table
        .iter()
        .find(|(n, _)| *n == s)
        .map(|&(_, v)| v)
        .or_else(|| parse_int(s).and_then(|n| u64::try_from(n).ok()))
}
