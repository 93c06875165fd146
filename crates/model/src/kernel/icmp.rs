//! ICMP and ICMPv6 types and codes, with the names nft and iptables give them.
//!
//! nft and iptables name the same numbers differently (nft `net-unreachable`, iptables
//! `network-unreachable`; iptables also names type/code pairs such as `port-unreachable`
//! and accepts unique prefixes): both vocabularies live here, side by side.

enum_with_unknown! {
    /// ICMP (IPv4) message types, as nft names them.
    pub enum IcmpType(u8) {
        EchoReply = 0 => "echo-reply",
        DestinationUnreachable = 3 => "destination-unreachable",
        SourceQuench = 4 => "source-quench",
        Redirect = 5 => "redirect",
        EchoRequest = 8 => "echo-request",
        RouterAdvertisement = 9 => "router-advertisement",
        RouterSolicitation = 10 => "router-solicitation",
        TimeExceeded = 11 => "time-exceeded",
        ParameterProblem = 12 => "parameter-problem",
        TimestampRequest = 13 => "timestamp-request",
        TimestampReply = 14 => "timestamp-reply",
        InfoRequest = 15 => "info-request",
        InfoReply = 16 => "info-reply",
        AddressMaskRequest = 17 => "address-mask-request",
        AddressMaskReply = 18 => "address-mask-reply",
    }
}

enum_with_unknown! {
    /// ICMPv6 message types, as nft names them.
    pub enum Icmpv6Type(u8) {
        DestinationUnreachable = 1 => "destination-unreachable",
        PacketTooBig = 2 => "packet-too-big",
        TimeExceeded = 3 => "time-exceeded",
        ParameterProblem = 4 => "parameter-problem",
        EchoRequest = 128 => "echo-request",
        EchoReply = 129 => "echo-reply",
        MldListenerQuery = 130 => "mld-listener-query",
        MldListenerReport = 131 => "mld-listener-report",
        MldListenerDone = 132 => "mld-listener-done",
        NdRouterSolicit = 133 => "nd-router-solicit",
        NdRouterAdvert = 134 => "nd-router-advert",
        NdNeighborSolicit = 135 => "nd-neighbor-solicit",
        NdNeighborAdvert = 136 => "nd-neighbor-advert",
        NdRedirect = 137 => "nd-redirect",
        RouterRenumbering = 138 => "router-renumbering",
        IndNeighborSolicit = 141 => "ind-neighbor-solicit",
        IndNeighborAdvert = 142 => "ind-neighbor-advert",
        Mld2ListenerReport = 143 => "mld2-listener-report",
    }
}

enum_with_unknown! {
    /// ICMP destination-unreachable codes (type 3), as nft names them.
    pub enum UnreachCode(u8) {
        NetUnreachable = 0 => "net-unreachable",
        HostUnreachable = 1 => "host-unreachable",
        ProtUnreachable = 2 => "prot-unreachable",
        PortUnreachable = 3 => "port-unreachable",
        FragNeeded = 4 => "frag-needed",
        NetProhibited = 9 => "net-prohibited",
        HostProhibited = 10 => "host-prohibited",
        AdminProhibited = 13 => "admin-prohibited",
    }
}

enum_with_unknown! {
    /// ICMPv6 destination-unreachable codes (type 1), as nft names them.
    pub enum Unreach6Code(u8) {
        NoRoute = 0 => "no-route",
        AdminProhibited = 1 => "admin-prohibited",
        BeyondScope = 2 => "beyond-scope",
        AddrUnreachable = 3 => "addr-unreachable",
        PortUnreachable = 4 => "port-unreachable",
        PolicyFail = 5 => "policy-fail",
        RejectRoute = 6 => "reject-route",
    }
}

enum_with_unknown! {
    /// nft `icmpx` reject codes: family-independent, turned into the ICMP or ICMPv6 code.
    pub enum IcmpxCode(u8) {
        NoRoute = 0 => "no-route",
        PortUnreachable = 1 => "port-unreachable",
        HostUnreachable = 2 => "host-unreachable",
        AdminProhibited = 3 => "admin-prohibited",
    }
}

/// The number of an ICMP (`v6`: ICMPv6) type as nft names it (`echo-request`), or a number.
pub fn nft_type_number(name: &str, v6: bool) -> Option<u8> {
    if v6 && name == "mld-listener-reduction" {
        // nft's older name for type 132, still accepted.
        return Some(132);
    }
    if v6 {
        Icmpv6Type::from_name(name).map(u8::from)
    } else {
        IcmpType::from_name(name).map(u8::from)
    }
}

/// The number of a destination-unreachable code as nft names it (`port-unreachable`), or
/// a number.
pub fn nft_code_number(name: &str, v6: bool) -> Option<u8> {
    if v6 {
        Unreach6Code::from_name(name).map(u8::from)
    } else {
        UnreachCode::from_name(name).map(u8::from)
    }
}

/// nft's name of a destination-unreachable code, or `code N`.
pub fn unreach_code_name(code: u8, v6: bool) -> String {
    let name = if v6 {
        Unreach6Code::from(code).name()
    } else {
        UnreachCode::from(code).name()
    };
    name.map_or_else(|| format!("code {code}"), str::to_string)
}

/// One name `iptables -p icmp -h` (libxt_icmp.h) or `ip6tables -p icmpv6 -h` lists: the
/// type and the range of codes it stands for (`0..=0xFF` for the whole type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IptablesName {
    /// The name `--icmp-type` / `--icmpv6-type` accepts (`port-unreachable`, `ping`).
    pub name: &'static str,
    /// The ICMP or ICMPv6 type; 0xFF with the whole code range is iptables' `any`.
    pub icmp_type: u8,
    /// The lowest code the name covers.
    pub code_min: u8,
    /// The highest code the name covers (0xFF: every code of the type).
    pub code_max: u8,
}

const fn n(name: &'static str, icmp_type: u8, code_min: u8, code_max: u8) -> IptablesName {
    IptablesName {
        name,
        icmp_type,
        code_min,
        code_max,
    }
}

/// ICMP names as `iptables -p icmp -h` lists them (libxt_icmp.h), in its order.
pub const IPTABLES_V4: &[IptablesName] = &[
    n("any", 0xFF, 0, 0xFF),
    n("echo-reply", 0, 0, 0xFF),
    n("pong", 0, 0, 0xFF),
    n("destination-unreachable", 3, 0, 0xFF),
    n("network-unreachable", 3, 0, 0),
    n("host-unreachable", 3, 1, 1),
    n("protocol-unreachable", 3, 2, 2),
    n("port-unreachable", 3, 3, 3),
    n("fragmentation-needed", 3, 4, 4),
    n("source-route-failed", 3, 5, 5),
    n("network-unknown", 3, 6, 6),
    n("host-unknown", 3, 7, 7),
    n("network-prohibited", 3, 9, 9),
    n("host-prohibited", 3, 10, 10),
    n("TOS-network-unreachable", 3, 11, 11),
    n("TOS-host-unreachable", 3, 12, 12),
    n("communication-prohibited", 3, 13, 13),
    n("host-precedence-violation", 3, 14, 14),
    n("precedence-cutoff", 3, 15, 15),
    n("source-quench", 4, 0, 0xFF),
    n("redirect", 5, 0, 0xFF),
    n("network-redirect", 5, 0, 0),
    n("host-redirect", 5, 1, 1),
    n("TOS-network-redirect", 5, 2, 2),
    n("TOS-host-redirect", 5, 3, 3),
    n("echo-request", 8, 0, 0xFF),
    n("ping", 8, 0, 0xFF),
    n("router-advertisement", 9, 0, 0xFF),
    n("router-solicitation", 10, 0, 0xFF),
    n("time-exceeded", 11, 0, 0xFF),
    n("ttl-exceeded", 11, 0, 0xFF),
    n("ttl-zero-during-transit", 11, 0, 0),
    n("ttl-zero-during-reassembly", 11, 1, 1),
    n("parameter-problem", 12, 0, 0xFF),
    n("ip-header-bad", 12, 0, 0),
    n("required-option-missing", 12, 1, 1),
    n("timestamp-request", 13, 0, 0xFF),
    n("timestamp-reply", 14, 0, 0xFF),
    n("address-mask-request", 17, 0, 0xFF),
    n("address-mask-reply", 18, 0, 0xFF),
];

/// ICMPv6 names as `ip6tables -p icmpv6 -h` lists them (libip6t_icmp6.c), in its order.
pub const IPTABLES_V6: &[IptablesName] = &[
    n("destination-unreachable", 1, 0, 0xFF),
    n("no-route", 1, 0, 0),
    n("communication-prohibited", 1, 1, 1),
    n("beyond-scope", 1, 2, 2),
    n("address-unreachable", 1, 3, 3),
    n("port-unreachable", 1, 4, 4),
    n("failed-policy", 1, 5, 5),
    n("reject-route", 1, 6, 6),
    n("packet-too-big", 2, 0, 0xFF),
    n("time-exceeded", 3, 0, 0xFF),
    n("ttl-exceeded", 3, 0, 0xFF),
    n("ttl-zero-during-transit", 3, 0, 0),
    n("ttl-zero-during-reassembly", 3, 1, 1),
    n("parameter-problem", 4, 0, 0xFF),
    n("bad-header", 4, 0, 0),
    n("unknown-header-type", 4, 1, 1),
    n("unknown-option", 4, 2, 2),
    n("echo-request", 128, 0, 0xFF),
    n("ping", 128, 0, 0xFF),
    n("echo-reply", 129, 0, 0xFF),
    n("pong", 129, 0, 0xFF),
    n("router-solicitation", 133, 0, 0xFF),
    n("router-advertisement", 134, 0, 0xFF),
    n("neighbour-solicitation", 135, 0, 0xFF),
    n("neighbor-solicitation", 135, 0, 0xFF),
    n("neighbour-advertisement", 136, 0, 0xFF),
    n("neighbor-advertisement", 136, 0, 0xFF),
    n("redirect", 137, 0, 0xFF),
];

/// The iptables name table of a family.
pub fn iptables_names(v6: bool) -> &'static [IptablesName] {
    if v6 {
        IPTABLES_V6
    } else {
        IPTABLES_V4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_names_and_numbers() {
        assert_eq!(nft_type_number("echo-request", false), Some(8));
        assert_eq!(nft_type_number("echo-request", true), Some(128));
        assert_eq!(nft_type_number("42", false), Some(42));
        assert_eq!(nft_type_number("ping", false), None);
        assert_eq!(nft_code_number("port-unreachable", false), Some(3));
        assert_eq!(nft_code_number("port-unreachable", true), Some(4));
    }

    #[test]
    fn unknown_numbers_survive() {
        assert_eq!(IcmpType::from(42), IcmpType::Unknown(42));
        assert_eq!(u8::from(IcmpType::Unknown(42)), 42);
        assert_eq!(IcmpType::Unknown(42).to_string(), "42");
        assert_eq!(unreach_code_name(3, false), "port-unreachable");
        assert_eq!(unreach_code_name(7, false), "code 7");
        assert_eq!(unreach_code_name(3, true), "addr-unreachable");
    }

    #[test]
    fn iptables_names_cover_codes() {
        let port = IPTABLES_V4.iter().find(|e| e.name == "port-unreachable");
        assert_eq!(
            port.map(|e| (e.icmp_type, e.code_min, e.code_max)),
            Some((3, 3, 3))
        );
        assert!(iptables_names(true)
            .iter()
            .any(|e| e.name == "neighbour-solicitation"));
    }
}
