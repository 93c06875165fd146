//! Values typed by what they are compared with: addresses and prefixes, ports, ranges,
//! interface names, MACs, named numbers and flag sets, as model patterns.

use super::names::{Names, Ty, ETHERTYPE};
use super::{bad, int, Bad};
use crate::iptables_save::values;
use crate::nft::ast::{BinOp, Expr};
use crate::nft::parse::parse_int;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use model::expr::{Pattern, Value};
use model::packet::Mac;
use std::net::IpAddr;

pub(super) fn const_u64(e: &Expr) -> Option<u64> {
    match e {
        Expr::Num(n) => u64::try_from(*n).ok(),
        Expr::Value(v) => parse_int(v).and_then(|n| u64::try_from(n).ok()),
        _ => None,
    }
}

pub(super) fn is_flag_list(e: &Expr) -> bool {
    matches!(e, Expr::List(_) | Expr::Binop { op: BinOp::Or, .. })
}

/// A flag value, list or `|` combination as one bit set.
pub(super) fn bits(ty: Ty, e: &Expr) -> Result<u64, Bad> {
    match e {
        Expr::List(items) => items.iter().try_fold(0, |acc, i| Ok(acc | bits(ty, i)?)),
        Expr::Binop {
            op: BinOp::Or,
            left,
            right,
        } => Ok(bits(ty, left)? | bits(ty, right)?),
        Expr::Set(elems) => elems
            .iter()
            .try_fold(0, |acc, i| Ok(acc | bits(ty, &i.key)?)),
        other => scalar_bits(ty, other),
    }
}

pub(super) fn scalar_bits(ty: Ty, e: &Expr) -> Result<u64, Bad> {
    match pattern(ty, e)? {
        Pattern::Value(Value::Int(n)) => Ok(n),
        Pattern::Value(Value::Addr(IpAddr::V4(a))) => Ok(u64::from(u32::from(a))),
        Pattern::AnyBit(n) => Ok(n),
        _ => Err(bad("mask", &format!("{e:?}"), "expected a number")),
    }
}

/// The key of one set element, a pattern per component.
pub(super) fn element_key(tys: &[Ty], key: &Expr) -> Result<Vec<Pattern>, Bad> {
    match (key, tys.len()) {
        (Expr::Concat(parts), n) if parts.len() == n => {
            parts.iter().zip(tys).map(|(p, t)| pattern(*t, p)).collect()
        }
        (k, 1) => Ok(vec![pattern(tys[0], k)?]),
        (k, _) => Err(bad(
            "set element",
            &format!("{k:?}"),
            format!("expected {} components", tys.len()),
        )),
    }
}

/// A value (or set, range, prefix) typed by `ty`.
pub(super) fn pattern(ty: Ty, e: &Expr) -> Result<Pattern, Bad> {
    match e {
        Expr::Num(n) => {
            let n = u64::try_from(*n).map_err(|_| bad("value", &n.to_string(), "negative"))?;
            Ok(int(convert_ether(ty, n)))
        }
        Expr::Value(s) => scalar(ty, s),
        Expr::Range(a, b) => Ok(Pattern::Range(value_of(ty, a)?, value_of(ty, b)?)),
        Expr::Prefix(a, len) => {
            let addr = match value_of(ty, a)? {
                Value::Addr(a) => a,
                v => return Err(bad("prefix", &format!("{v:?}"), "not an address")),
            };
            Ok(Pattern::Prefix(prefix(addr, *len)?))
        }
        Expr::Set(elems) => Ok(Pattern::OneOf(
            elems
                .iter()
                .filter(|e| e.key != Expr::Catchall)
                .map(|e| pattern(ty, &e.key))
                .collect::<Result<_, _>>()?,
        )),
        Expr::List(items) => match ty {
            Ty::Flags(_) => Ok(Pattern::AnyBit(bits(ty, e)?)),
            _ => Ok(Pattern::OneOf(
                items
                    .iter()
                    .map(|i| pattern(ty, i))
                    .collect::<Result<_, _>>()?,
            )),
        },
        Expr::Binop { op: BinOp::Or, .. } => Ok(int(bits(ty, e)?)),
        Expr::Bool(b) => Ok(int(u64::from(*b))),
        other => Err(bad("value", &format!("{other:?}"), "not a value")),
    }
}

pub(super) fn value_of(ty: Ty, e: &Expr) -> Result<Value, Bad> {
    match pattern(ty, e)? {
        Pattern::Value(v) => Ok(v),
        Pattern::Iface(s) => Ok(Value::Str(s)),
        p => Err(bad("value", &format!("{p:?}"), "expected a single value")),
    }
}

pub(super) fn convert_ether(ty: Ty, n: u64) -> u64 {
    if ty != Ty::EtherType {
        return n;
    }
    // nfproto numbers for the IP ethertypes; others never equal them.
    match n {
        0x0800 => 2,
        0x86dd => 10,
        other => other,
    }
}

pub(super) fn prefix(addr: IpAddr, len: u32) -> Result<IpNet, Bad> {
    let len8 =
        u8::try_from(len).map_err(|_| bad("prefix length", &len.to_string(), "too large"))?;
    Ok(match addr {
        IpAddr::V4(a) => IpNet::V4(
            Ipv4Net::new(a, len8)
                .map_err(|_| bad("prefix length", &len.to_string(), "larger than 32"))?
                .trunc(),
        ),
        IpAddr::V6(a) => IpNet::V6(
            Ipv6Net::new(a, len8)
                .map_err(|_| bad("prefix length", &len.to_string(), "larger than 128"))?
                .trunc(),
        ),
    })
}

/// One word typed by `ty`: ranges `a-b` and prefixes `a/n` included.
pub(super) fn scalar(ty: Ty, s: &str) -> Result<Pattern, Bad> {
    if let Ok(v) = single(ty, s) {
        return Ok(v);
    }
    if ty == Ty::Addr {
        if let Some((a, l)) = s.split_once('/') {
            let addr = addr(a)?;
            let len = l
                .parse()
                .map_err(|_| bad("prefix length", l, "not a number"))?;
            return Ok(Pattern::Prefix(prefix(addr, len)?));
        }
    }
    if let Some((a, b)) = split_range(s) {
        let lo = single(ty, a)?;
        let hi = single(ty, b)?;
        if let (Pattern::Value(lo), Pattern::Value(hi)) = (lo, hi) {
            return Ok(Pattern::Range(lo, hi));
        }
    }
    single(ty, s)
}

/// `a-b` split at the `-` that separates two values (names may contain `-`).
pub(super) fn split_range(s: &str) -> Option<(&str, &str)> {
    s.match_indices('-')
        .map(|(i, _)| (&s[..i], &s[i + 1..]))
        .find(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_hexdigit() || c == b':')
                && b.bytes()
                    .next()
                    .is_some_and(|c| c.is_ascii_hexdigit() || c == b':')
        })
}

pub(super) fn addr(s: &str) -> Result<IpAddr, Bad> {
    s.parse::<IpAddr>().map_err(|_| {
        if s.chars()
            .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit())
        {
            bad(
                "address",
                s,
                "host names are not resolved offline; use an address",
            )
        } else {
            bad("address", s, "not an IPv4 or IPv6 address")
        }
    })
}

pub(super) fn single(ty: Ty, s: &str) -> Result<Pattern, Bad> {
    let num = |what: &str| {
        parse_int(s)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad(what, s, "not a number"))
    };
    Ok(match ty {
        Ty::Addr => Pattern::Value(Value::Addr(addr(s)?)),
        Ty::Port => match parse_int(s) {
            Some(n) if (0..=65535).contains(&n) => int(n as u64),
            _ => int(u64::from(
                values::port(s).map_err(|b| bad("port", s, b.reason))?,
            )),
        },
        Ty::Proto => int(u64::from(
            values::protocol(s).map_err(|b| bad("protocol", s, b.reason))?,
        )),
        Ty::Int => int(num("number")?),
        // nft's wildcard `eth*` is iptables' `eth+`; an escaped `\*` at the end is a literal
        // star (`iptables-translate -i '*'` gives `iifname "\*"`). A literal name ending in
        // `+` is kept as an exact string value: as `Iface` it would read as a wildcard.
        Ty::Iface => {
            let exact = |name: String| {
                if name.ends_with('+') {
                    Pattern::Value(Value::Str(name))
                } else {
                    Pattern::Iface(name)
                }
            };
            if let Some(p) = s.strip_suffix("\\*") {
                exact(format!("{p}*"))
            } else if let Some(p) = s.strip_suffix('*') {
                Pattern::Iface(format!("{p}+"))
            } else {
                exact(s.to_string())
            }
        }
        Ty::Mac => Pattern::Value(Value::Mac(
            Mac::parse(s).ok_or_else(|| bad("MAC address", s, "expected aa:bb:cc:dd:ee:ff"))?,
        )),
        Ty::Str => Pattern::Value(Value::Str(s.to_string())),
        Ty::Flags(names) | Ty::Named(names) => int(names.number(s).ok_or_else(|| {
            bad(
                "value",
                s,
                format!("not one of {}", names.names().join(", ")),
            )
        })?),
        Ty::EtherType => int(convert_ether(
            ty,
            Names::Nft(ETHERTYPE)
                .number(s)
                .ok_or_else(|| bad("ethertype", s, "expected ip, ip6, arp, vlan or a number"))?,
        )),
        Ty::Id => match s {
            "root" => int(0),
            _ => int(num(
                "user or group id (names other than root are not resolved offline)",
            )?),
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn tcp_flags_forms() {
        let syn = cmp(
            Key::TcpFlags,
            Pattern::Masked {
                mask: 0x12,
                value: 0x02,
            },
        );
        assert_eq!(body("ip", "tcp flags & (syn | ack) == syn")[1], syn);
        assert_eq!(body("ip", "tcp flags syn / syn,ack")[1], syn);
        assert_eq!(
            body("ip", "tcp flags syn")[1],
            cmp(Key::TcpFlags, Pattern::AnyBit(0x02))
        );
    }

    fn ifname_pattern(rule: &str) -> Pattern {
        let text = format!("table ip t {{\n chain c {{\n  {rule}\n }}\n}}\n");
        let rs = crate::nft::parse_text(&SourceFile::new("t.nft", text)).unwrap();
        match &rs.tables[0].chains[0].rules[0].body[0] {
            Step::Match(m) => match &m.test {
                Test::Cmp {
                    key: Key::IifName,
                    pattern,
                } => pattern.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    /// Found by the txlate cross-check (`iptables-translate -A FORWARD -i *` gives
    /// `iifname "\*"`): an escaped trailing star is the literal name `*`, not a wildcard;
    /// a literal name ending in `+` must not turn into iptables' `+` wildcard.
    #[test]
    fn escaped_star_and_plus_are_literal_interface_names() {
        assert_eq!(
            ifname_pattern(r#"iifname "\*""#),
            Pattern::Iface("*".into())
        );
        assert_eq!(
            ifname_pattern(r#"iifname "eth*""#),
            Pattern::Iface("eth+".into())
        );
        assert_eq!(
            ifname_pattern(r#"iifname "eth*foo**""#),
            Pattern::Iface("eth*foo*+".into())
        );
        assert_eq!(
            ifname_pattern(r#"iifname "eth+""#),
            Pattern::Value(Value::Str("eth+".into()))
        );
    }
}
