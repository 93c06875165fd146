//! The names pfctl looks up while it reads a ruleset: protocols (`/etc/protocols`),
//! services (`/etc/services`), ICMP and ICMPv6 types and codes (pfctl's own tables),
//! and the TCP flag letters.
//!
//! Protocols and services are OpenBSD's files (the regress suite's environment; other
//! systems agree on every name listed here). A name not listed is an error, as it is
//! for pfctl on a system without it.

/// Protocol numbers and the names pfctl prints for them (`getprotobynumber`).
const PROTOCOLS: &[(&str, u8)] = &[
    ("ip", 0),
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ipencap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("igp", 9),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("skip", 57),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("eigrp", 88),
    ("ospf", 89),
    ("ax.25", 93),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("ipcomp", 108),
    ("vrrp", 112),
    ("l2tp", 115),
    ("isis", 124),
    ("sctp", 132),
    ("fc", 133),
    ("mobility-header", 135),
    ("udplite", 136),
    ("mpls-in-ip", 137),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
    ("pfsync", 240),
];

/// Aliases `/etc/protocols` lists besides the names above.
const PROTOCOL_ALIASES: &[(&str, u8)] = &[("icmp6", 58), ("carp", 112), ("ipv4", 4)];

/// A protocol by name or number.
pub fn protocol(name: &str) -> Option<u8> {
    if let Ok(n) = name.parse::<u8>() {
        return Some(n);
    }
    PROTOCOLS
        .iter()
        .chain(PROTOCOL_ALIASES)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, p)| p)
}

/// The name pfctl prints for a protocol number, if it has one.
pub fn protocol_name(number: u8) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .find(|(_, p)| *p == number)
        .map(|(n, _)| *n)
}

/// Service names of OpenBSD's `/etc/services` that pf.conf files use.
const SERVICES: &[(&str, u16)] = &[
    ("tcpmux", 1),
    ("echo", 7),
    ("discard", 9),
    ("systat", 11),
    ("daytime", 13),
    ("netstat", 15),
    ("qotd", 17),
    ("chargen", 19),
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("time", 37),
    ("whois", 43),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("gopher", 70),
    ("finger", 79),
    ("www", 80),
    ("http", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("auth", 113),
    ("ident", 113),
    ("nntp", 119),
    ("ntp", 123),
    ("netbios-ns", 137),
    ("netbios-dgm", 138),
    ("netbios-ssn", 139),
    ("imap", 143),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("bgp", 179),
    ("irc", 194),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("isakmp", 500),
    ("syslog", 514),
    ("printer", 515),
    ("submission", 587),
    ("ldaps", 636),
    ("rsync", 873),
    ("imaps", 993),
    ("pop3s", 995),
    ("socks", 1080),
    ("openvpn", 1194),
    ("nfsd", 2049),
    ("mysql", 3306),
    ("ipsec-nat-t", 4500),
    ("spamd", 8025),
    ("spamd-cfg", 8026),
    ("postgresql", 5432),
    ("x11", 6000),
];

/// A port number or service name (`0x10` and other C number forms included).
pub fn port(word: &str) -> Option<u32> {
    number(word).or_else(|| {
        SERVICES
            .iter()
            .find(|(n, _)| *n == word)
            .map(|&(_, p)| u32::from(p))
    })
}

/// A number as `strtol(…, 0)` reads it: decimal, `0x` hexadecimal, `0` octal.
pub fn number(word: &str) -> Option<u32> {
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok();
    }
    if word.len() > 1 && word.starts_with('0') {
        return u32::from_str_radix(&word[1..], 8).ok();
    }
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok();
    }
    None
}

/// ICMP type names (pfctl's `icmp_type` table).
const ICMP_TYPES: &[(&str, u8)] = &[
    ("echoreq", 8),
    ("echorep", 0),
    ("unreach", 3),
    ("squench", 4),
    ("redir", 5),
    ("althost", 6),
    ("routeradv", 9),
    ("routersol", 10),
    ("timex", 11),
    ("paramprob", 12),
    ("timereq", 13),
    ("timerep", 14),
    ("inforeq", 15),
    ("inforep", 16),
    ("maskreq", 17),
    ("maskrep", 18),
    ("trace", 30),
    ("dataconv", 31),
    ("mobredir", 32),
    ("ipv6-where", 33),
    ("ipv6-here", 34),
    ("mobregreq", 35),
    ("mobregrep", 36),
    ("skip", 39),
    ("photuris", 40),
];

/// ICMPv6 type names (pfctl's `icmp6_type` table).
const ICMP6_TYPES: &[(&str, u8)] = &[
    ("unreach", 1),
    ("toobig", 2),
    ("timex", 3),
    ("paramprob", 4),
    ("echoreq", 128),
    ("echorep", 129),
    ("groupqry", 130),
    ("listqry", 130),
    ("grouprep", 131),
    ("listenrep", 131),
    ("groupterm", 132),
    ("listendone", 132),
    ("routersol", 133),
    ("routeradv", 134),
    ("neighbrsol", 135),
    ("neighbradv", 136),
    ("redir", 137),
    ("routrrenum", 138),
    ("wrureq", 139),
    ("wrurep", 140),
    ("fqdnreq", 139),
    ("fqdnrep", 140),
    ("niqry", 139),
    ("nirep", 140),
    ("mtraceresp", 200),
    ("mtrace", 201),
    ("listenrepv2", 143),
];

/// ICMP codes by type (pfctl's `icmp_code` table).
const ICMP_CODES: &[(&str, u8, u8)] = &[
    ("net-unr", 3, 0),
    ("host-unr", 3, 1),
    ("proto-unr", 3, 2),
    ("port-unr", 3, 3),
    ("needfrag", 3, 4),
    ("srcfail", 3, 5),
    ("net-unk", 3, 6),
    ("host-unk", 3, 7),
    ("isolate", 3, 8),
    ("net-prohib", 3, 9),
    ("host-prohib", 3, 10),
    ("net-tos", 3, 11),
    ("host-tos", 3, 12),
    ("filter-prohib", 3, 13),
    ("host-preced", 3, 14),
    ("cutoff-preced", 3, 15),
    ("redir-net", 5, 0),
    ("redir-host", 5, 1),
    ("redir-tos-net", 5, 2),
    ("redir-tos-host", 5, 3),
    ("normal-adv", 9, 0),
    ("common-adv", 9, 16),
    ("transit", 11, 0),
    ("reassemb", 11, 1),
    ("badhead", 12, 0),
    ("optmiss", 12, 1),
    ("badlen", 12, 2),
    ("unknown-ind", 40, 1),
    ("auth-fail", 40, 2),
    ("decrypt-fail", 40, 3),
];

/// ICMPv6 codes by type (pfctl's `icmp6_code` table).
const ICMP6_CODES: &[(&str, u8, u8)] = &[
    ("admin-unr", 1, 1),
    ("noroute-unr", 1, 0),
    ("beyond-unr", 1, 2),
    ("addr-unr", 1, 3),
    ("port-unr", 1, 4),
    ("transit", 3, 0),
    ("reassemb", 3, 1),
    ("badhead", 4, 0),
    ("nxthdr", 4, 1),
    ("redironlink", 137, 0),
    ("redirrouter", 137, 1),
];

/// An ICMP (or ICMPv6) type by name or number.
pub fn icmp_type(word: &str, v6: bool) -> Option<u8> {
    if let Some(n) = number(word) {
        return u8::try_from(n).ok();
    }
    let table = if v6 { ICMP6_TYPES } else { ICMP_TYPES };
    table.iter().find(|(n, _)| *n == word).map(|&(_, t)| t)
}

/// The name pfctl prints for an ICMP (or ICMPv6) type.
pub fn icmp_type_name(t: u8, v6: bool) -> Option<&'static str> {
    let table = if v6 { ICMP6_TYPES } else { ICMP_TYPES };
    table.iter().find(|(_, n)| *n == t).map(|(name, _)| *name)
}

/// An ICMP (or ICMPv6) code of type `t` by name or number.
pub fn icmp_code(t: u8, word: &str, v6: bool) -> Option<u8> {
    if let Some(n) = number(word) {
        return u8::try_from(n).ok();
    }
    let table = if v6 { ICMP6_CODES } else { ICMP_CODES };
    table
        .iter()
        .find(|(n, ty, _)| *ty == t && *n == word)
        .map(|&(_, _, c)| c)
}

/// The name pfctl prints for code `c` of type `t`.
pub fn icmp_code_name(t: u8, c: u8, v6: bool) -> Option<&'static str> {
    let table = if v6 { ICMP6_CODES } else { ICMP_CODES };
    table
        .iter()
        .find(|(_, ty, code)| *ty == t && *code == c)
        .map(|(n, _, _)| *n)
}

/// TCP flag letters in pf's bit order.
pub const TCP_FLAGS: &[u8; 8] = b"FSRPAUEW";

/// `FSRPAUEW` letters to bits; `None` for another letter.
pub fn tcp_flags(word: &str) -> Option<u8> {
    word.bytes().try_fold(0u8, |acc, b| {
        TCP_FLAGS
            .iter()
            .position(|&f| f == b)
            .map(|i| acc | (1 << i))
    })
}

/// Bits to letters.
pub fn tcp_flags_text(bits: u8) -> String {
    TCP_FLAGS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, &f)| f as char)
        .collect()
}

/// The type-of-service keywords pfctl accepts for `tos` and `set tos`.
pub fn tos(word: &str) -> Option<u32> {
    match word {
        "lowdelay" => Some(0x10),
        "throughput" => Some(0x08),
        "reliability" => Some(0x04),
        _ => number(word),
    }
}

/// pf's timeouts (`pf_timeouts`), in the order `print_rule` lists them (`PFTM_*`).
pub const TIMEOUTS: &[&str] = &[
    "tcp.first",
    "tcp.opening",
    "tcp.established",
    "tcp.closing",
    "tcp.finwait",
    "tcp.closed",
    "tcp.tsdiff",
    "udp.first",
    "udp.single",
    "udp.multiple",
    "icmp.first",
    "icmp.error",
    "other.first",
    "other.single",
    "other.multiple",
    "frag",
    "interval",
    "adaptive.start",
    "adaptive.end",
    "src.track",
];
