//! `ifconfig -a` of FreeBSD, OpenBSD, NetBSD, Solaris and illumos into [`Interface`]s.
//!
//! An interface starts at an unindented line `NAME: flags=HEX<WORDS> ... mtu N ...`
//! (`flags=8843` on FreeBSD/OpenBSD, `flags=0x8843` on NetBSD, `flags=1000843` on Solaris);
//! its details follow on indented lines. The ones read:
//!
//! - `inet ADDR netmask 0xffffff00 [broadcast B]` (FreeBSD, OpenBSD, NetBSD before 8;
//!   `in_status()` in `sbin/ifconfig/af_inet.c`), `inet ADDR netmask ffffff00` (Solaris,
//!   hex without `0x`), `inet ADDR/24 broadcast B flags 0x0` (NetBSD 8 and later), and the
//!   point-to-point `inet A --> B netmask ...`;
//! - `inet6 ADDR[%zone] prefixlen N ...` (FreeBSD, OpenBSD, older NetBSD; `af_inet6.c`)
//!   and `inet6 ADDR[%zone]/N ...` (Solaris, NetBSD 8 and later);
//! - `ether MAC` (FreeBSD, Solaris), `lladdr MAC` (OpenBSD), `address: MAC` (NetBSD).
//!
//! Solaris lists an interface once per family (`lo0` for IPv4, again for IPv6) and each
//! logical interface apart (`e1000g0:1`); all are merged into the physical interface,
//! whose name the filters match. Other detail lines (`options=`, `media:`, `status:`,
//! `nd6`, `groups:`) are skipped.

use crate::lines::{lines, words};
use model::diag::ParseError;
use model::host::{IfAddr, Interface, LinkType, Scope};
use model::packet::Mac;
use model::{SourceFile, Span};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses `ifconfig -a` output.
pub fn parse(source: &SourceFile) -> Result<Vec<Interface>, ParseError> {
    let mut out: Vec<Interface> = Vec::new();
    let mut current: Option<usize> = None;
    for line in lines(&source.text) {
        if line.is_blank_or_comment() {
            continue;
        }
        let indented = line.text.starts_with([' ', '\t']);
        let w: Vec<(usize, &str)> = words(line.text)
            .into_iter()
            .map(|(at, word)| (line.start + at, word))
            .collect();
        if !indented {
            current = Some(header(source, &w, &mut out)?);
            continue;
        }
        let Some(index) = current else {
            let (at, first) = w[0];
            return Err(ParseError::expected(
                source,
                Span::new(at, at + first.len()),
                "an interface line (NAME: flags=...)",
                first,
            ));
        };
        detail(source, &w, &mut out[index])?;
    }
    Ok(out)
}

/// An interface's first line: its name, flags and MTU. Returns the index of the
/// interface in `out` (an existing one for Solaris's second family or logical interfaces).
fn header(
    source: &SourceFile,
    w: &[(usize, &str)],
    out: &mut Vec<Interface>,
) -> Result<usize, ParseError> {
    let (at, first) = w[0];
    let Some(name) = first.strip_suffix(':').filter(|n| !n.is_empty()) else {
        return Err(ParseError::expected(
            source,
            Span::new(at, at + first.len()),
            "an interface name and a colon (em0:)",
            first,
        ));
    };
    let Some(&(flags_at, flags)) = w.get(1).filter(|(_, f)| f.starts_with("flags=")) else {
        let found = w.get(1).map_or("", |&(_, f)| f);
        let span = w
            .get(1)
            .map_or(Span::new(at + first.len(), at + first.len()), |&(a, f)| {
                Span::new(a, a + f.len())
            });
        return Err(ParseError::expected(source, span, "flags=HEX<...>", found));
    };
    let flag_words = flags
        .split_once('<')
        .map(|(_, rest)| rest.trim_end_matches('>'))
        .unwrap_or("");
    let hex = flags["flags=".len()..].split('<').next().unwrap_or("");
    let hex = hex.trim_start_matches("0x");
    if u64::from_str_radix(hex, 16).is_err() {
        return Err(ParseError::invalid_value(
            source,
            Span::new(flags_at, flags_at + flags.len()),
            "interface flags",
            flags,
            "the flags are a hexadecimal number",
        ));
    }
    let has = |flag: &str| flag_words.split(',').any(|f| f == flag);
    let mut mtu = None;
    let mut index = 0;
    for pair in w[2..].windows(2) {
        let (key, (value_at, value)) = (pair[0].1, pair[1]);
        let number = || {
            value.parse::<u32>().map_err(|_| {
                ParseError::invalid_value(
                    source,
                    Span::new(value_at, value_at + value.len()),
                    key,
                    value,
                    "not a number",
                )
            })
        };
        match key {
            "mtu" => mtu = Some(number()?),
            "index" => index = number()?,
            _ => {}
        }
    }
    // Solaris logical interfaces (`e1000g0:1`) belong to the physical one.
    let physical = name.split(':').next().unwrap_or(name);
    if let Some(existing) = out.iter().position(|i| i.name == physical) {
        return Ok(existing);
    }
    out.push(Interface {
        name: physical.to_string(),
        index,
        link: if has("LOOPBACK") {
            LinkType::Loopback
        } else if has("POINTOPOINT") {
            LinkType::None
        } else {
            LinkType::Ether
        },
        up: has("UP"),
        mtu,
        lower_up: has("RUNNING").then_some(true),
        ..Interface::default()
    });
    Ok(out.len() - 1)
}

/// One indented line: an address or a link-layer address; anything else is skipped.
fn detail(
    source: &SourceFile,
    w: &[(usize, &str)],
    interface: &mut Interface,
) -> Result<(), ParseError> {
    let (_, key) = w[0];
    let value = w.get(1).copied();
    match (key, value) {
        ("inet", Some(v)) => interface.addrs.push(inet(source, w, v)?),
        ("inet6", Some(v)) => interface.addrs.push(inet6(source, w, v)?),
        ("ether" | "lladdr" | "address:", Some((at, mac))) => {
            // Solaris prints bytes without leading zeros (`8:0:27:aa:bb:cc`).
            interface.mac = Some(Mac::parse(mac).ok_or_else(|| {
                ParseError::expected(source, Span::new(at, at + mac.len()), "a MAC address", mac)
            })?);
        }
        ("inet" | "inet6", None) => {
            let (at, word) = w[0];
            return Err(ParseError::expected(
                source,
                Span::new(at + word.len(), at + word.len()),
                "an address",
                "",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn inet(
    source: &SourceFile,
    w: &[(usize, &str)],
    (at, text): (usize, &str),
) -> Result<IfAddr, ParseError> {
    let span = Span::new(at, at + text.len());
    let (addr_text, cidr) = split_len(text);
    let addr: Ipv4Addr = addr_text
        .parse()
        .map_err(|_| ParseError::expected(source, span, "an IPv4 address", text))?;
    let prefix_len = match cidr {
        Some(len) => prefix(source, span, len, 32)?,
        None => match after(w, "netmask") {
            Some((mask_at, mask)) => {
                netmask(source, Span::new(mask_at, mask_at + mask.len()), mask)?
            }
            None => 32,
        },
    };
    let broadcast = after(w, "broadcast").and_then(|(_, b)| b.parse::<IpAddr>().ok());
    Ok(if_addr(IpAddr::V4(addr), prefix_len, broadcast))
}

fn inet6(
    source: &SourceFile,
    w: &[(usize, &str)],
    (at, text): (usize, &str),
) -> Result<IfAddr, ParseError> {
    let span = Span::new(at, at + text.len());
    let (addr_part, cidr) = split_len(text);
    // A zone (`fe80::1%em0`) names the interface the address is on; the address is the rest.
    let addr_text = addr_part.split('%').next().unwrap_or(addr_part);
    let addr: Ipv6Addr = addr_text
        .parse()
        .map_err(|_| ParseError::expected(source, span, "an IPv6 address", text))?;
    let prefix_len = match cidr {
        Some(len) => prefix(source, span, len, 128)?,
        None => match after(w, "prefixlen") {
            Some((len_at, len)) => prefix(source, Span::new(len_at, len_at + len.len()), len, 128)?,
            None => 128,
        },
    };
    let mut a = if_addr(IpAddr::V6(addr), prefix_len, None);
    if addr.segments()[0] & 0xffc0 == 0xfe80 {
        a.scope = Scope::Link;
    } else if addr.is_loopback() {
        a.scope = Scope::Host;
    }
    a.temporary = w.iter().any(|(_, word)| *word == "temporary");
    a.deprecated = w.iter().any(|(_, word)| *word == "deprecated");
    Ok(a)
}

/// `ADDR/LEN` into its address and length; a bare address has no length.
pub(super) fn split_len(text: &str) -> (&str, Option<&str>) {
    text.split_once('/')
        .map_or((text, None), |(addr, len)| (addr, Some(len)))
}

/// The word after `key` on the line.
fn after<'a>(w: &[(usize, &'a str)], key: &str) -> Option<(usize, &'a str)> {
    w.windows(2).find(|p| p[0].1 == key).map(|p| p[1])
}

fn prefix(source: &SourceFile, span: Span, text: &str, max: u8) -> Result<u8, ParseError> {
    text.parse::<u8>()
        .ok()
        .filter(|len| *len <= max)
        .ok_or_else(|| {
            ParseError::invalid_value(
                source,
                span,
                "prefix length",
                text,
                &format!("a prefix length is 0 to {max}"),
            )
        })
}

/// A netmask as `0xffffff00` (BSD), `ffffff00` (Solaris) or `255.255.255.0`, into a
/// prefix length; a mask with holes is refused.
fn netmask(source: &SourceFile, span: Span, text: &str) -> Result<u8, ParseError> {
    let bits = if let Ok(dotted) = text.parse::<Ipv4Addr>() {
        Some(u32::from(dotted))
    } else {
        u32::from_str_radix(text.trim_start_matches("0x"), 16).ok()
    };
    let Some(bits) = bits else {
        return Err(ParseError::expected(
            source,
            span,
            "a netmask (0xffffff00)",
            text,
        ));
    };
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        return Err(ParseError::invalid_value(
            source,
            span,
            "netmask",
            text,
            "its one bits are not contiguous",
        ));
    }
    Ok(bits.leading_ones() as u8)
}

fn if_addr(addr: IpAddr, prefix_len: u8, broadcast: Option<IpAddr>) -> IfAddr {
    IfAddr {
        addr,
        prefix_len,
        scope: if addr.is_loopback() {
            Scope::Host
        } else {
            Scope::Universe
        },
        broadcast,
        temporary: false,
        secondary: false,
        deprecated: false,
        dad: Default::default(),
    }
}
