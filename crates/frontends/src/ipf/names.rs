//! The names IPFilter's tools accept for numbers: protocols (`/etc/protocols`), services
//! (`/etc/services`), ICMP types and codes, IPv4 options, syslog levels. The protocol and
//! service tables are the IANA assignments every system's files carry; a name outside
//! them is an error, as it is for `ipf` on a host whose files lack it.

use model::ipf::filter::IpOption;
use model::ipf::IpFamily;

/// IP protocols by name, as `/etc/protocols` lists them (first name is the one printed).
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
    ("dccp", 33),
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
    ("icmp6", 58),
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
    ("manet", 138),
    ("hip", 139),
    ("shim6", 140),
    ("wesp", 141),
    ("rohc", 142),
];

/// The protocol called `name`.
pub(crate) fn protocol(name: &str) -> Option<u8> {
    PROTOCOLS.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}

/// The name `/etc/protocols` gives `number` first, if any.
pub(crate) fn protocol_name(number: u8) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .find(|(_, p)| *p == number)
        .map(|&(n, _)| n)
}

/// Well-known services by name (the IANA assignments `/etc/services` carries).
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
    ("nicname", 43),
    ("tacacs", 49),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("auth", 113),
    ("ident", 113),
    ("nntp", 119),
    ("ntp", 123),
    ("epmap", 135),
    ("netbios-ns", 137),
    ("netbios-dgm", 138),
    ("netbios-ssn", 139),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("snmptrap", 162),
    ("bgp", 179),
    ("irc", 194),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("isakmp", 500),
    ("exec", 512),
    ("biff", 512),
    ("login", 513),
    ("who", 513),
    ("shell", 514),
    ("syslog", 514),
    ("printer", 515),
    ("talk", 517),
    ("ntalk", 518),
    ("route", 520),
    ("uucp", 540),
    ("submission", 587),
    ("ldaps", 636),
    ("rsync", 873),
    ("ftps", 990),
    ("imaps", 993),
    ("pop3s", 995),
    ("socks", 1080),
    ("openvpn", 1194),
    ("ms-sql-s", 1433),
    ("pptp", 1723),
    ("radius", 1812),
    ("nfs", 2049),
    ("mysql", 3306),
    ("sip", 5060),
    ("x11", 6000),
];

/// The port of service `name`.
pub(crate) fn service(name: &str) -> Option<u16> {
    SERVICES.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}

/// ICMP types by name: `(name, ICMPv4 type, ICMPv6 type)`, IPFilter's `icmptypelist`.
const ICMP_TYPES: &[(&str, Option<u8>, Option<u8>)] = &[
    ("echo", Some(8), Some(128)),
    ("echorep", Some(0), Some(129)),
    ("fqdnquery", None, Some(139)),
    ("fqdnreply", None, Some(140)),
    ("infoqry", None, Some(139)),
    ("inforeq", Some(15), Some(139)),
    ("inforep", Some(16), Some(140)),
    ("listendone", None, Some(132)),
    ("listenqry", None, Some(130)),
    ("listenrep", None, Some(131)),
    ("maskrep", Some(18), None),
    ("maskreq", Some(17), None),
    ("memberqry", None, Some(130)),
    ("memberred", None, Some(132)),
    ("memberreply", None, Some(131)),
    ("neighadvert", None, Some(136)),
    ("neighborsol", None, Some(135)),
    ("neighborsolicit", None, Some(135)),
    ("paramprob", Some(12), Some(4)),
    ("redir", Some(5), Some(137)),
    ("renumber", None, Some(138)),
    ("routerad", Some(9), Some(134)),
    ("routeradvert", Some(9), Some(134)),
    ("routersol", Some(10), Some(133)),
    ("routersolcit", Some(10), Some(133)),
    ("squench", Some(4), None),
    ("timest", Some(13), None),
    ("timestrep", Some(14), None),
    ("timex", Some(11), Some(3)),
    ("toobig", None, Some(2)),
    ("unreach", Some(3), Some(1)),
    ("whorep", None, Some(140)),
    ("whoreq", None, Some(139)),
];

fn icmp_of(family: IpFamily, v4: Option<u8>, v6: Option<u8>) -> Option<u8> {
    match family {
        IpFamily::Inet => v4,
        IpFamily::Inet6 => v6,
    }
}

/// The ICMP (or ICMPv6) type called `name`.
pub(crate) fn icmp_type(family: IpFamily, name: &str) -> Option<u8> {
    ICMP_TYPES
        .iter()
        .find(|(n, _, _)| *n == name)
        .and_then(|&(_, v4, v6)| icmp_of(family, v4, v6))
}

/// The first name of ICMP type `number` in `family`.
pub(crate) fn icmp_type_name(family: IpFamily, number: u8) -> Option<&'static str> {
    ICMP_TYPES
        .iter()
        .find(|&&(_, v4, v6)| icmp_of(family, v4, v6) == Some(number))
        .map(|&(n, _, _)| n)
}

/// Destination-unreachable codes by their IPFilter names, in code order.
pub(crate) const UNREACH_CODES: &[&str] = &[
    "net-unr",
    "host-unr",
    "proto-unr",
    "port-unr",
    "needfrag",
    "srcfail",
    "net-unk",
    "host-unk",
    "isolate",
    "net-prohib",
    "host-prohib",
    "net-tos",
    "host-tos",
    "filter-prohib",
    "host-preced",
    "cutoff-preced",
];

/// The unreachable code called `name` (`cutoff-preced` reads; `ipf -v` prints code 15 as
/// `preced-cutoff`).
pub(crate) fn unreach_code(name: &str) -> Option<u8> {
    UNREACH_CODES
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// How `ipf -v` names unreachable code `code`.
pub(crate) fn unreach_code_name(code: u8) -> Option<&'static str> {
    match code {
        15 => Some("preced-cutoff"),
        c => UNREACH_CODES.get(usize::from(c)).copied(),
    }
}

/// IPv4 options by name, in `ipf -v`'s order.
pub(crate) const IP_OPTIONS: &[(&str, IpOption)] = &[
    ("nop", IpOption::Nop),
    ("rr", IpOption::Rr),
    ("zsu", IpOption::Zsu),
    ("mtup", IpOption::Mtup),
    ("mtur", IpOption::Mtur),
    ("encode", IpOption::Encode),
    ("ts", IpOption::Ts),
    ("tr", IpOption::Tr),
    ("sec", IpOption::Sec),
    ("lsrr", IpOption::Lsrr),
    ("e-sec", IpOption::ESec),
    ("cipso", IpOption::Cipso),
    ("satid", IpOption::Satid),
    ("ssrr", IpOption::Ssrr),
    ("addext", IpOption::Addext),
    ("visa", IpOption::Visa),
    ("imitd", IpOption::Imitd),
    ("eip", IpOption::Eip),
    ("finn", IpOption::Finn),
    ("dps", IpOption::Dps),
    ("sdb", IpOption::Sdb),
    ("nsapa", IpOption::Nsapa),
    ("rtralrt", IpOption::Rtralrt),
    ("ump", IpOption::Ump),
];

/// IPv6 extension headers by name.
pub(crate) const V6_HEADERS: &[(&str, u8)] = &[
    ("hopopts", 0),
    ("ipv6", 41),
    ("routing", 43),
    ("frag", 44),
    ("esp", 50),
    ("ah", 51),
    ("none", 59),
    ("dstopts", 60),
    ("mobility", 135),
];

/// RFC 1108 security classes, as IPFilter names them.
pub(crate) const SEC_CLASSES: &[&str] = &[
    "reserv-4",
    "topsecret",
    "secret",
    "reserv-3",
    "confid",
    "unclass",
    "reserv-2",
    "reserv-1",
];

/// Syslog facilities `log level` accepts.
pub(crate) const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "ftp",
    "authpriv", "audit", "logalert", "console", "security", "local0", "local1", "local2", "local3",
    "local4", "local5", "local6", "local7",
];

/// Syslog priorities `log level` accepts.
pub(crate) const PRIORITIES: &[&str] = &[
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
];
