//! `netstat -rn` of FreeBSD, OpenBSD, NetBSD, Solaris and illumos into [`Route`]s.
//!
//! Sections start with `Internet:` / `Internet6:` (BSD, `netstat/route.c` `pr_family()`) or
//! `Routing Table: IPv4` / `Routing Table: IPv6` (Solaris). Each has a header line starting
//! with `Destination`; the interface column is the one the header calls `Netif` (FreeBSD),
//! `Iface` (OpenBSD), `Interface` (NetBSD, Solaris IPv4) or `If` (Solaris IPv6). Rows:
//!
//! - destination: `default`, `ADDR/LEN`, an address (a host route when the flags have `H`),
//!   BSD's shortened networks (`192.0.2/24`, `127/8`), IPv6 zones (`fe80::%em0/64`);
//! - gateway: an address when the flags have `G`; `link#1`, a MAC, an interface name or the
//!   host's own address (OpenBSD) mean on link;
//! - flags: `G` gateway, `H` host, `B` blackhole, `R` reject.
//!
//! Solaris's `netstat -rn` prints IPv4 networks without their mask. A direct route's
//! gateway column there is the host's own address on that network, so with the host's
//! interfaces ([`parse_with`]) the mask is that address's; any other such row is refused with
//! a clear error (the mask is in `netstat -rnv`, which this reader does not read).

use crate::lines::{lines, words};
use ipnet::IpNet;
use model::diag::ParseError;
use model::host::{table_id, Interface, Route, RouteType, Scope};
use model::{SourceFile, Span};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses `netstat -rn` output.
pub fn parse(source: &SourceFile) -> Result<Vec<Route>, ParseError> {
    parse_with(source, &[])
}

/// Parses `netstat -rn` output, taking the mask of a Solaris network row from the
/// address of `interfaces` its gateway column names.
pub fn parse_with(source: &SourceFile, interfaces: &[Interface]) -> Result<Vec<Route>, ParseError> {
    let mut out = Vec::new();
    let mut v6: Option<bool> = None;
    let mut interface_column: Option<usize> = None;
    for line in lines(&source.text) {
        let (start, text) = line.trimmed();
        if text.is_empty() || text.starts_with("---") || text.starts_with("Routing tables") {
            continue;
        }
        match text {
            "Internet:" | "Routing Table: IPv4" => {
                v6 = Some(false);
                interface_column = None;
                continue;
            }
            "Internet6:" | "Routing Table: IPv6" => {
                v6 = Some(true);
                interface_column = None;
                continue;
            }
            _ => {}
        }
        let w: Vec<(usize, &str)> = words(text)
            .into_iter()
            .map(|(at, word)| (start + at, word))
            .collect();
        if w[0].1.starts_with("Destination") {
            interface_column = w
                .iter()
                .position(|(_, h)| matches!(*h, "Netif" | "Iface" | "Interface" | "If"));
            continue;
        }
        let Some(v6) = v6 else {
            let (at, word) = w[0];
            return Err(ParseError::expected(
                source,
                Span::new(at, at + word.len()),
                "a section line (Internet:, Internet6:, Routing Table: IPv4)",
                word,
            ));
        };
        // Other families' sections (AppleTalk, ...) have no Destination column we read.
        out.push(row(source, &w, v6, interface_column, text, interfaces)?);
    }
    Ok(out)
}

fn row(
    source: &SourceFile,
    w: &[(usize, &str)],
    v6: bool,
    interface_column: Option<usize>,
    text: &str,
    interfaces: &[Interface],
) -> Result<Route, ParseError> {
    let end = w.last().map_or(0, |(at, word)| at + word.len());
    let (Some(&(dst_at, dst)), Some(&(_, gateway)), Some(&(_, flags))) =
        (w.first(), w.get(1), w.get(2))
    else {
        return Err(ParseError::expected(
            source,
            Span::new(end, end),
            "destination, gateway and flags",
            "",
        ));
    };
    let host = flags.contains('H');
    let dst_span = Span::new(dst_at, dst_at + dst.len());
    // A direct route's gateway column is the host's own address on the network.
    let own = (!flags.contains('G'))
        .then(|| gateway.parse::<IpAddr>().ok())
        .flatten()
        .and_then(|own| {
            interfaces.iter().find_map(|i| {
                let a = i.addrs.iter().find(|a| a.addr == own)?;
                Some((a.prefix_len, i.name.as_str()))
            })
        });
    let dst_net = destination(source, dst_span, dst, v6, host, own.map(|(len, _)| len))?;
    let gateway = if flags.contains('G') {
        gateway
            .split('%')
            .next()
            .and_then(|g| g.parse::<IpAddr>().ok())
    } else {
        None
    };
    let dev = interface_column
        .and_then(|i| w.get(i))
        .map(|(_, d)| d.to_string())
        .or_else(|| own.map(|(_, name)| name.to_string()));
    let route_type = if flags.contains('B') {
        RouteType::Blackhole
    } else if flags.contains('R') && !flags.contains('G') {
        RouteType::Unreachable
    } else {
        RouteType::Unicast
    };
    Ok(Route {
        table: table_id::MAIN,
        dst: dst_net,
        route_type,
        gateway,
        dev,
        prefsrc: None,
        metric: 0,
        scope: if gateway.is_some() {
            Scope::Universe
        } else {
            Scope::Link
        },
        protocol: None,
        nexthops: Vec::new(),
        text: text.to_string(),
    })
}

/// The destination column into a prefix.
fn destination(
    source: &SourceFile,
    span: Span,
    text: &str,
    v6: bool,
    host: bool,
    own_prefix: Option<u8>,
) -> Result<IpNet, ParseError> {
    let full = if v6 { 128 } else { 32 };
    if text == "default" {
        let any = if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        return Ok(IpNet::new(any, 0).expect("/0"));
    }
    let (addr_text, len) = super::ifconfig::split_len(text);
    let addr_text = addr_text.split('%').next().unwrap_or(addr_text);
    let expected = if v6 {
        "an IPv6 destination"
    } else {
        "an IPv4 destination"
    };
    let addr = if v6 {
        addr_text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        shortened_v4(addr_text).map(IpAddr::V4)
    }
    .ok_or_else(|| ParseError::expected(source, span, expected, text))?;
    let prefix_len = match len {
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= full)
            .ok_or_else(|| {
                ParseError::invalid_value(
                    source,
                    span,
                    "prefix length",
                    l,
                    &format!("a prefix length is 0 to {full}"),
                )
            })?,
        None if host || v6 => full,
        None if own_prefix.is_some() => own_prefix.unwrap_or(full),
        None if addr_text.split('.').count() == 4 => {
            return Err(ParseError::invalid_value(
                source,
                span,
                "destination",
                text,
                "a network without its mask (Solaris netstat -rn) and not one of the host's own networks; give ifconfig -a with it, or the mask as ADDR/LEN",
            ))
        }
        None => {
            return Err(ParseError::expected(source, span, "ADDR/LEN", text));
        }
    };
    Ok(IpNet::new(addr, prefix_len)
        .expect("length checked")
        .trunc())
}

/// `192.0.2`, `127` (BSD's shortened networks) or a whole dotted address.
fn shortened_v4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    for (octet, part) in octets.iter_mut().zip(&parts) {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets))
}
