//! Value syntax shared by the generic options, matches and targets: numbers as
//! `xtables_strtoui` reads them, `value/mask`, addresses and prefixes, ports and ranges,
//! protocol names. Errors are plain reasons; the caller attaches the token's span.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use model::ruleset::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A value that did not parse: what was expected (the caller adds the span and text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub what: &'static str,
    pub reason: String,
}

pub fn bad(what: &'static str, reason: impl Into<String>) -> Bad {
    Bad {
        what,
        reason: reason.into(),
    }
}

/// An unsigned number in C `strtoul(.., 0)` form (`0x1f`, `017`, `42`), at most `max`.
pub fn number(s: &str, max: u64, what: &'static str) -> Result<u64, Bad> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad(what, "not a number"));
    }
    let n = u64::from_str_radix(digits, radix).map_err(|_| bad(what, "number too large"))?;
    if n > max {
        return Err(bad(what, format!("larger than {max}")));
    }
    Ok(n)
}

/// `value[/mask]`; the mask defaults to `default_mask` (all ones for marks).
pub fn value_mask(
    s: &str,
    max: u64,
    default_mask: u64,
    what: &'static str,
) -> Result<(u64, u64), Bad> {
    match s.split_once('/') {
        Some((v, m)) => Ok((number(v, max, what)?, number(m, max, what)?)),
        None => Ok((number(s, max, what)?, default_mask)),
    }
}

/// Whether `s` is an address of the family (IPv4 for `Ip`, IPv6 for `Ip6`).
pub fn address(s: &str, family: Family) -> Result<IpAddr, Bad> {
    match family {
        Family::Ip6 => s
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| not_address(s, family)),
        _ => s
            .parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| not_address(s, family)),
    }
}

fn not_address(s: &str, family: Family) -> Bad {
    let v6 = matches!(family, Family::Ip6);
    if s.chars().any(|c| c.is_ascii_alphabetic()) && !s.contains(':') && !v6 {
        return bad(
            "address",
            "host names are not resolved offline; use an address",
        );
    }
    if !v6 && s.parse::<Ipv6Addr>().is_ok() {
        return bad("address", "an IPv6 address in an IPv4 (iptables) ruleset");
    }
    if v6 && s.parse::<Ipv4Addr>().is_ok() {
        return bad("address", "an IPv4 address in an IPv6 (ip6tables) ruleset");
    }
    if v6
        && s.chars()
            .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit())
    {
        return bad(
            "address",
            "host names are not resolved offline; use an address",
        );
    }
    bad(
        "address",
        if v6 {
            "not an IPv6 address"
        } else {
            "not an IPv4 address"
        },
    )
}

/// What an address with a mask denotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Masked {
    Prefix(IpNet),
    /// A dotted mask with holes (`255.0.255.0`): valid for iptables, not a prefix.
    NonContiguous,
}

/// `addr[/len]` or `addr/dotted-mask`, host bits cleared as iptables does.
pub fn prefix(s: &str, family: Family) -> Result<Masked, Bad> {
    let (a, m) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let addr = address(a, family)?;
    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match m {
        None => max,
        Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u8 = m.parse().map_err(|_| bad("prefix length", "too large"))?;
            if n > max {
                return Err(bad("prefix length", format!("larger than {max}")));
            }
            n
        }
        Some(m) => {
            let mask =
                address(m, family).map_err(|_| bad("netmask", "not a prefix length or netmask"))?;
            match contiguous(mask) {
                Some(n) => n,
                None => return Ok(Masked::NonContiguous),
            }
        }
    };
    let net = match addr {
        IpAddr::V4(a) => IpNet::V4(
            Ipv4Net::new(a, len)
                .map_err(|_| bad("prefix", "bad length"))?
                .trunc(),
        ),
        IpAddr::V6(a) => IpNet::V6(
            Ipv6Net::new(a, len)
                .map_err(|_| bad("prefix", "bad length"))?
                .trunc(),
        ),
    };
    Ok(Masked::Prefix(net))
}

/// The prefix length of a contiguous netmask.
fn contiguous(mask: IpAddr) -> Option<u8> {
    let (bits, width) = match mask {
        IpAddr::V4(m) => (u128::from(u32::from(m)) << 96, 32),
        IpAddr::V6(m) => (u128::from(m), 128),
    };
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0 && ones <= width).then_some(ones as u8)
}

/// `a-b` address range (`-m iprange`).
pub fn address_range(s: &str, family: Family) -> Result<(IpAddr, IpAddr), Bad> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    Ok((address(a, family)?, address(b, family)?))
}

/// A port number or a service name (`/etc/services`, the common ones).
pub fn port(s: &str) -> Result<u16, Bad> {
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return number(s, 65535, "port").map(|n| n as u16);
    }
    service(s).ok_or_else(|| bad("port", "not a port number or a known service name"))
}

/// `p`, `a:b`, `:b` (from 0), `a:` (to 65535). `min > max` is kept as written: older
/// iptables accepted it and the kernel then holds a range that matches no port (real
/// dumps contain `--dport 60000:29`).
pub fn port_range(s: &str, sep: char) -> Result<(u16, u16), Bad> {
    match s.split_once(sep) {
        None => {
            let p = port(s)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { port(a)? };
            let hi = if b.is_empty() { 65535 } else { port(b)? };
            Ok((lo, hi))
        }
    }
}

/// Common service names iptables resolves through `/etc/services` (TCP view).
fn service(name: &str) -> Option<u16> {
    const SERVICES: [(&str, u16); 40] = [
        ("ftp-data", 20),
        ("ftp", 21),
        ("ssh", 22),
        ("telnet", 23),
        ("smtp", 25),
        ("domain", 53),
        ("bootps", 67),
        ("bootpc", 68),
        ("tftp", 69),
        ("http", 80),
        ("www", 80),
        ("kerberos", 88),
        ("pop3", 110),
        ("sunrpc", 111),
        ("auth", 113),
        ("ntp", 123),
        ("netbios-ns", 137),
        ("netbios-dgm", 138),
        ("netbios-ssn", 139),
        ("imap", 143),
        ("imap2", 143),
        ("snmp", 161),
        ("snmp-trap", 162),
        ("ldap", 389),
        ("https", 443),
        ("microsoft-ds", 445),
        ("isakmp", 500),
        ("syslog", 514),
        ("submission", 587),
        ("ldaps", 636),
        ("imaps", 993),
        ("pop3s", 995),
        ("openvpn", 1194),
        ("ms-sql-s", 1433),
        ("nfs", 2049),
        ("mysql", 3306),
        ("rdp", 3389),
        ("ms-wbt-server", 3389),
        ("postgresql", 5432),
        ("ipsec-nat-t", 4500),
    ];
    SERVICES.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}

/// A protocol name as iptables accepts it (`xtables_parse_protocol`) or a number; `all`
/// is 0.
pub fn protocol(s: &str) -> Result<u8, Bad> {
    let lower = s.to_ascii_lowercase();
    const NAMES: [(&str, u8); 26] = [
        ("all", 0),
        ("hopopt", 0),
        ("icmp", 1),
        ("igmp", 2),
        ("ipencap", 4),
        ("ipip", 4),
        ("tcp", 6),
        ("egp", 8),
        ("udp", 17),
        ("ipv6", 41),
        ("ipv6-route", 43),
        ("ipv6-frag", 44),
        ("rsvp", 46),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("icmpv6", 58),
        ("ipv6-icmp", 58),
        ("icmp6", 58),
        ("ipv6-nonxt", 59),
        ("ipv6-opts", 60),
        ("ospf", 89),
        ("pim", 103),
        ("vrrp", 112),
        ("sctp", 132),
        ("udplite", 136),
    ];
    if let Some(&(_, n)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok(n);
    }
    match lower.as_str() {
        "l2tp" => return Ok(115),
        "dccp" => return Ok(33),
        "mh" | "ipv6-mh" => return Ok(135),
        "ipcomp" => return Ok(108),
        "mpls-in-ip" => return Ok(137),
        _ => {}
    }
    number(s, 255, "protocol")
        .map(|n| n as u8)
        .map_err(|_| bad("protocol", "not a protocol name or number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_c_bases() {
        assert_eq!(number("0x1f", 255, "n"), Ok(31));
        assert_eq!(number("017", 255, "n"), Ok(15));
        assert_eq!(number("42", 255, "n"), Ok(42));
        assert!(number("256", 255, "n").is_err());
        assert!(number("", 255, "n").is_err());
        assert!(number("0x", 255, "n").is_err());
    }

    #[test]
    fn value_mask_defaults() {
        assert_eq!(
            value_mask("0x1/0xff", u32::MAX as u64, 7, "m"),
            Ok((1, 0xff))
        );
        assert_eq!(value_mask("5", u32::MAX as u64, 7, "m"), Ok((5, 7)));
    }

    #[test]
    fn prefixes_with_lengths_and_masks() {
        let p = prefix("10.1.2.3/255.255.0.0", Family::Ip).unwrap();
        assert_eq!(p, Masked::Prefix("10.1.0.0/16".parse().unwrap()));
        assert_eq!(
            prefix("10.0.0.1", Family::Ip).unwrap(),
            Masked::Prefix("10.0.0.1/32".parse().unwrap())
        );
        assert_eq!(
            prefix("10.0.0.0/255.0.255.0", Family::Ip).unwrap(),
            Masked::NonContiguous
        );
        assert_eq!(
            prefix("2001:db8::1/32", Family::Ip6).unwrap(),
            Masked::Prefix("2001:db8::/32".parse().unwrap())
        );
        assert!(prefix("10.0.0.0/33", Family::Ip).is_err());
        assert!(prefix("2001:db8::/64", Family::Ip).is_err());
    }

    #[test]
    fn host_names_are_an_error() {
        let e = address("example.com", Family::Ip).unwrap_err();
        assert!(e.reason.contains("host names"));
    }

    #[test]
    fn port_ranges_with_open_ends() {
        assert_eq!(port_range(":1024", ':'), Ok((0, 1024)));
        assert_eq!(port_range("1024:", ':'), Ok((1024, 65535)));
        assert_eq!(port_range("ssh", ':'), Ok((22, 22)));
        assert_eq!(port_range("60000:29", ':'), Ok((60000, 29)));
        assert!(port_range("70000", ':').is_err());
    }

    #[test]
    fn protocols_by_name_and_number() {
        assert_eq!(protocol("TCP"), Ok(6));
        assert_eq!(protocol("ipv6-icmp"), Ok(58));
        assert_eq!(protocol("all"), Ok(0));
        assert_eq!(protocol("47"), Ok(47));
        assert!(protocol("bogus").is_err());
    }
}
