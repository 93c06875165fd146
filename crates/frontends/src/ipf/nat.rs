//! `ipnat.conf`: translation rules, read the way `ipnat -f` reads them (IPFilter's
//! `tools/ipnat_y.y`).
//!
//! What `ipnat` does to a rule as it loads it is done here too, so the rule is the one
//! the kernel has: ports on a rule that is not TCP/UDP are dropped, `sticky` without
//! `round-robin` or two targets is dropped (with `ipnat`'s warning, which has no place
//! here), a `proxy` sets the rule's port and protocol.

use std::net::IpAddr;

use model::ipf::nat::{
    BlockPorts, NatAddr, NatDir, NatKind, NatMatch, NatProto, NatRule, NatRules, NatTarget,
    Portmap, ProxyRef, RedirectPort,
};
use model::ipf::{family_of, Addr, Endpoint, IpFamily, Masked, PoolKind, PortMatch, Proto};
use model::Origin;

use super::cursor::{host_mask, ip_value, parse_number, port_value, Cursor, Res};
use super::lexer::Kind;

/// Tags and interface names are cut as the kernel keeps them.
const TAG_LEN: usize = 16;
const IFNAME_LEN: usize = 15;

pub(crate) fn rules(cx: &mut Cursor) -> Res<NatRules> {
    let mut rules = Vec::new();
    while !cx.done() {
        if cx.eat_punct(";") {
            continue;
        }
        rules.push(rule(cx)?);
    }
    Ok(NatRules { rules })
}

fn new_rule(kind: NatKind) -> NatRule {
    NatRule {
        origin: Origin::default(),
        kind,
        direction: None,
        no: false,
        interfaces: Vec::new(),
        family: None,
        match_proto: None,
        matcher: NatMatch::Simple {
            addr: NatAddr::Any,
            ports: None,
        },
        target: NatTarget::Net(NatAddr::Any),
        portmap: None,
        icmpidmap: None,
        block_ports: None,
        proxy: None,
        proto: None,
        round_robin: false,
        frag: false,
        age: None,
        sticky: false,
        mssclamp: None,
        tag: None,
        sequential: false,
        purge: false,
    }
}

fn rule(cx: &mut Cursor) -> Res<NatRule> {
    let first = cx.pos;
    let no = cx.eat("no");
    let t = cx.word("`map`, `rdr`, `bimap`, `map-block`, `rewrite` or `divert`")?;
    let kind = match t.keyword().as_str() {
        "map" => NatKind::Map,
        "bimap" => NatKind::Bimap,
        "map-block" => NatKind::MapBlock,
        "rdr" => NatKind::Rdr,
        "rewrite" => NatKind::Rewrite,
        "divert" => NatKind::Divert,
        "encap" => return Err(cx.unsupported(t.span, "`encap` rules")),
        _ => {
            return Err(model::diag::ParseError::expected(
                cx.src,
                t.span,
                "`map`, `rdr`, `bimap`, `map-block`, `rewrite` or `divert`",
                &t.text,
            ))
        }
    };
    let mut r = new_rule(kind);
    r.no = no;
    if matches!(kind, NatKind::Rewrite | NatKind::Divert) {
        r.direction = Some(if cx.eat("in") {
            NatDir::In
        } else if cx.eat("out") {
            NatDir::Out
        } else {
            return Err(cx.expected("`in` or `out`"));
        });
        cx.expect("on")?;
    }
    r.interfaces = interfaces(cx)?;
    if cx.eat("inet") {
        r.family = Some(IpFamily::Inet);
    } else if cx.eat("inet6") {
        r.family = Some(IpFamily::Inet6);
    } else {
        r.family = cx.opts.family;
    }
    match kind {
        NatKind::Rewrite | NatKind::Divert => rewrite(cx, &mut r)?,
        NatKind::Rdr => rdr(cx, &mut r)?,
        _ => map(cx, &mut r)?,
    }
    cx.eat_punct(";");
    r.origin = cx.origin(first);
    finish(&mut r);
    Ok(r)
}

/// `IF` or `IF,IF2`.
fn interfaces(cx: &mut Cursor) -> Res<Vec<String>> {
    let mut names = vec![interface(cx)?];
    if cx.eat_punct(",") {
        names.push(interface(cx)?);
    }
    Ok(names)
}

fn interface(cx: &mut Cursor) -> Res<String> {
    let t = cx.word("an interface name")?;
    Ok(t.text.chars().take(IFNAME_LEN).collect())
}

/// The rule's family from its addresses, when `inet`/`inet6` was not written.
fn note_family(r: &mut NatRule, addr: &NatAddr) {
    if let (None, NatAddr::Net(m)) = (r.family, addr) {
        if !m.addr.is_unspecified() || m.family() == IpFamily::Inet6 {
            r.family = Some(m.family());
        }
    }
}

/// `map`, `bimap`, `map-block`: `SRC -> DST …` or `from … to … -> DST …`.
fn map(cx: &mut Cursor, r: &mut NatRule) -> Res<()> {
    if cx.at("from") {
        r.matcher = from_to(cx, r)?;
    } else {
        let addr = nat_addr(cx, r)?;
        note_family(r, &addr);
        r.matcher = NatMatch::Simple { addr, ports: None };
    }
    if r.no {
        r.proto = trailing_proto(cx)?;
        return Ok(());
    }
    cx.expect_punct("->")?;
    r.target = map_target(cx, r)?;
    if r.kind == NatKind::MapBlock {
        if cx.eat("ports") {
            r.block_ports = Some(if cx.eat("auto") {
                BlockPorts::Auto
            } else {
                BlockPorts::Count(cx.number("a number of ports")?)
            });
        } else {
            r.block_ports = Some(BlockPorts::Count(0));
        }
    }
    options(cx, r)
}

/// `ADDR`, `range A-B`, `A-B`.
fn map_target(cx: &mut Cursor, r: &mut NatRule) -> Res<NatTarget> {
    let range = cx.eat("range");
    let t = cx
        .peek()
        .cloned()
        .ok_or_else(|| cx.expected("an address"))?;
    if let Some((low, high)) = t.text.split_once('-') {
        if let (Some(low), Some(high)) = (ip_value(low), ip_value(high)) {
            cx.bump();
            if family_of(low) != family_of(high) {
                return Err(cx.invalid(t.span, "address range", &t.text, "mixes address families"));
            }
            if r.family.is_none() {
                r.family = Some(family_of(low));
            }
            return Ok(NatTarget::Range { low, high });
        }
    }
    if range {
        return Err(cx.expected("an address range `A-B`"));
    }
    let addr = nat_addr(cx, r)?;
    note_family(r, &addr);
    Ok(NatTarget::Net(addr))
}

/// `rdr IF (ADDR [port P[-Q]] | [!] from … to …) -> A[,B] [port P[-Q] | port = P] [PROTO] …`.
fn rdr(cx: &mut Cursor, r: &mut NatRule) -> Res<()> {
    if cx.at("from") || (cx.at_punct("!") && cx.peek_at(1).is_some_and(|t| t.is("from"))) {
        r.matcher = from_to(cx, r)?;
    } else {
        let addr = nat_addr(cx, r)?;
        note_family(r, &addr);
        let ports = if cx.eat("port") {
            Some(port_pair(cx)?)
        } else {
            None
        };
        r.matcher = NatMatch::Simple { addr, ports };
    }
    if r.no {
        r.proto = trailing_proto(cx)?;
        return Ok(());
    }
    cx.expect_punct("->")?;
    let mut addrs = vec![nat_addr(cx, r)?];
    if cx.eat_punct(",") {
        addrs.push(nat_addr(cx, r)?);
    }
    for a in &addrs {
        note_family(r, a);
    }
    let port = if cx.eat("port") {
        if cx.eat_punct("=") {
            let p = cx.port()?;
            Some(RedirectPort {
                low: p,
                high: p,
                fixed: true,
            })
        } else {
            let (low, high) = port_pair(cx)?;
            Some(RedirectPort {
                low,
                high,
                fixed: false,
            })
        }
    } else {
        None
    };
    r.target = NatTarget::Redirect { addrs, port };
    options(cx, r)
}

/// `P`, `P-Q`, `P:Q`.
fn port_pair(cx: &mut Cursor) -> Res<(u16, u16)> {
    let t = cx.word("a port or port range")?;
    let split = t.text.split_once('-').or_else(|| t.text.split_once(':'));
    let pair = match split {
        Some((a, b)) => port_value(a).zip(port_value(b)),
        None => port_value(&t.text).map(|p| (p, p)),
    };
    pair.ok_or_else(|| cx.invalid(t.span, "port", &t.text, "not a port or port range"))
}

/// `[!] from [!] SRC [port …] [!] to [!] DST [port …]`.
fn from_to(cx: &mut Cursor, r: &mut NatRule) -> Res<NatMatch> {
    let mut from_neg = cx.eat_punct("!");
    cx.expect("from")?;
    from_neg |= cx.eat_punct("!");
    let (from_addr, from_port) = endpoint(cx, r)?;
    let mut to_neg = cx.eat_punct("!");
    cx.expect("to")?;
    to_neg |= cx.eat_punct("!");
    let (to_addr, to_port) = endpoint(cx, r)?;
    Ok(NatMatch::FromTo {
        from: Endpoint {
            negated: from_neg,
            addr: from_addr,
            port: from_port,
        },
        to: Endpoint {
            negated: to_neg,
            addr: to_addr,
            port: to_port,
        },
    })
}

fn endpoint(cx: &mut Cursor, r: &mut NatRule) -> Res<(Addr, Option<PortMatch>)> {
    let addr = match nat_addr(cx, r)? {
        NatAddr::Any => Addr::Any,
        NatAddr::Net(m) => {
            note_family(r, &NatAddr::Net(m));
            Addr::Net(m)
        }
        NatAddr::Host(name) => Addr::Host { name, prefix: None },
        NatAddr::Pool { kind, name } => Addr::Pool { kind, name },
        NatAddr::Other(a) => a,
    };
    if !cx.eat("port") {
        return Ok((addr, None));
    }
    Ok((addr, Some(cx.port_match()?)))
}

/// An address: `any`, `ADDR[/LEN|/MASK|/0xHEX]`, `ADDR mask MASK`, `pool/N`, `hash/N`,
/// `dstlist/N`, or a host name.
fn nat_addr(cx: &mut Cursor, r: &NatRule) -> Res<NatAddr> {
    if cx.eat("any") {
        return Ok(NatAddr::Any);
    }
    let kinds = [
        ("pool", PoolKind::Tree),
        ("hash", PoolKind::Hash),
        ("dstlist", PoolKind::DstList),
    ];
    if let Some((kind, name)) = cx.pool_ref(&kinds)? {
        return Ok(NatAddr::Pool { kind, name });
    }
    let t = cx.word("an address")?;
    let addr = match ip_value(&t.text) {
        Some(a) => Some(a),
        None => cx.host_value_in(&t.text, r.family).ok(),
    };
    let Some(mut addr) = addr else {
        return Ok(NatAddr::Host(t.text));
    };
    if r.family == Some(IpFamily::Inet6) && parse_number(&t.text) == Some(0) {
        // A bare `0` has no family: in an `inet6` rule it is `::`.
        addr = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
    }
    let family = family_of(addr);
    let has_mask = cx.eat_punct("/") || cx.eat("mask");
    if has_mask && r.family == Some(IpFamily::Inet6) && family == IpFamily::Inet {
        // An IPv4 address (a bare number is one) in an `inet6` rule: `ipnat` cannot
        // make an IPv4 mask of the length and leaves it zero, so the rule matches every
        // address (`ntomask`, `ipnat_y.y` `addr: hostname slash YY_NUMBER`).
        cx.word("a mask")?;
        let zero = IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
        return Ok(NatAddr::Net(Masked {
            addr: zero,
            mask: zero,
        }));
    }
    let mask = if has_mask {
        cx.mask(family)?
    } else {
        host_mask(addr)
    };
    let m = Masked::new(addr, mask)
        .ok_or_else(|| cx.invalid(t.span, "address", &t.text, "mask of another family"))?;
    Ok(NatAddr::Net(m))
}

/// The options after the target, in any order.
fn options(cx: &mut Cursor, r: &mut NatRule) -> Res<()> {
    loop {
        if cx.eat("portmap") {
            portmap(cx, r)?;
        } else if cx.eat("icmpidmap") {
            let t = cx.word("`icmp` or `ipv6-icmp`")?;
            let proto = match t.text.as_str() {
                "icmp" => Proto::ICMP,
                "ipv6-icmp" => Proto::ICMPV6,
                _ => return Err(cx.invalid(t.span, "protocol", &t.text, "not `icmp`")),
            };
            let (low, high) = port_pair(cx)?;
            r.icmpidmap = Some((proto, low, high));
            r.sequential |= cx.eat("sequential");
        } else if cx.eat("proxy") {
            proxy(cx, r)?;
        } else if cx.eat("round-robin") {
            r.round_robin = true;
        } else if cx.eat("frag") {
            r.frag = true;
        } else if cx.eat("age") {
            let a = cx.number("seconds")?;
            let b = if cx.eat_punct("/") {
                cx.number("seconds")?
            } else {
                a
            };
            r.age = Some((a, b));
        } else if cx.eat("sticky") {
            r.sticky = true;
        } else if cx.eat("mssclamp") {
            r.mssclamp = Some(cx.number("an MSS")?);
        } else if cx.eat("tag") {
            let t = cx.word("a tag")?;
            r.tag = Some(t.text.chars().take(TAG_LEN).collect());
        } else if cx.eat("sequential") {
            r.sequential = true;
        } else if cx.eat("purge") {
            r.purge = true;
        } else if let Some(p) = proto_word(cx)? {
            r.proto = Some(p);
        } else {
            return Ok(());
        }
    }
}

/// The `no` rules' optional protocol.
fn trailing_proto(cx: &mut Cursor) -> Res<Option<NatProto>> {
    proto_word(cx)
}

/// `tcp`, `udp`, `tcp/udp`, `tcpudp`, `ip`, a protocol name or number — when the next
/// token is one.
fn proto_word(cx: &mut Cursor) -> Res<Option<NatProto>> {
    let Some(t) = cx.peek() else { return Ok(None) };
    if t.kind != Kind::Word {
        return Ok(None);
    }
    if t.is("ip") {
        cx.bump();
        return Ok(Some(NatProto::Ip));
    }
    let known = t.is("tcpudp") || t.is("tcp-udp") || super::cursor::proto_value(&t.text).is_some();
    if !known {
        return Ok(None);
    }
    Ok(Some(NatProto::Proto(cx.proto()?)))
}

/// `portmap PROTO LOW:HIGH|auto [sequential]` or `portmap LOW:HIGH PROTO`.
fn portmap(cx: &mut Cursor, r: &mut NatRule) -> Res<()> {
    let (proto, range) = if cx.peek().is_some_and(|t| t.text.contains(':')) {
        let range = port_pair(cx)?;
        (cx.proto()?, Some(range))
    } else {
        let proto = cx.proto()?;
        if cx.eat("auto") {
            (proto, None)
        } else {
            (proto, Some(port_pair(cx)?))
        }
    };
    if !matches!(proto, Proto::TcpUdp | Proto::TCP | Proto::UDP) {
        return Err(cx.expected("`tcp`, `udp` or `tcp/udp` for portmap"));
    }
    let sequential = cx.eat("sequential");
    r.portmap = Some(Portmap {
        proto,
        range,
        sequential,
    });
    Ok(())
}

/// `proxy port P NAME/PROTO` (map and rdr) or `proxy NAME` (rdr).
fn proxy(cx: &mut Cursor, r: &mut NatRule) -> Res<()> {
    if !cx.eat("port") {
        let name = cx.word("a proxy name")?.text;
        r.proxy = Some(ProxyRef {
            port: None,
            name,
            proto: None,
        });
        return Ok(());
    }
    let port = cx.port()?;
    let name = cx.word("a proxy name")?.text;
    cx.expect_punct("/")?;
    let proto = cx.proto()?;
    r.proxy = Some(ProxyRef {
        port: Some(port),
        name,
        proto: Some(proto),
    });
    r.proto = Some(NatProto::Proto(proto));
    Ok(())
}

/// `rewrite|divert in|out on IF [proto P] from … to … -> src A[,P] dst B[,Q] [udp]`.
fn rewrite(cx: &mut Cursor, r: &mut NatRule) -> Res<()> {
    if cx.eat("proto") {
        r.match_proto = Some(cx.proto()?);
    }
    r.matcher = from_to(cx, r)?;
    cx.expect_punct("->")?;
    cx.expect("src")?;
    let src = nat_addr(cx, r)?;
    let src_port = rewrite_port(cx)?;
    cx.expect("dst")?;
    let dst = nat_addr(cx, r)?;
    let dst_port = rewrite_port(cx)?;
    if r.kind == NatKind::Divert {
        cx.expect("udp")?;
        divert_in_proto(r, dst_port);
    }
    r.purge = cx.eat("purge");
    r.target = NatTarget::Rewrite {
        src,
        src_port,
        dst,
        dst_port,
    };
    Ok(())
}

/// `setrdrifnames` (`ipnat_y.y`): a `divert in` rule with a destination port and no
/// `proto` is made a TCP rule (`setnatproto(IPPROTO_TCP)`) before the `divert` action
/// makes its other side UDP, so it matches only TCP packets and prints `proto tcp`.
fn divert_in_proto(r: &mut NatRule, dst_port: Option<RedirectPort>) {
    if r.direction == Some(NatDir::In)
        && r.match_proto.is_none()
        && dst_port.is_some_and(|p| p.low != 0 || p.high != 0)
    {
        r.match_proto = Some(Proto::TCP);
    }
}

/// `,P`, `,P-Q`, `,P:Q` or ` port = P` after a rewrite's address.
fn rewrite_port(cx: &mut Cursor) -> Res<Option<RedirectPort>> {
    if cx.eat("port") {
        cx.expect_punct("=")?;
        let p = cx.port()?;
        return Ok(Some(RedirectPort {
            low: p,
            high: p,
            fixed: true,
        }));
    }
    if !cx.eat_punct(",") {
        return Ok(None);
    }
    let (low, high) = port_pair(cx)?;
    Ok(Some(RedirectPort {
        low,
        high,
        fixed: false,
    }))
}

/// What `ipnat` does to a rule before loading it.
fn finish(r: &mut NatRule) {
    r.family.get_or_insert(IpFamily::Inet);
    if let (Some(p), NatKind::Rdr) = (&r.proxy, r.kind) {
        if let Some(port) = p.port {
            if let NatMatch::Simple { ports, .. } = &mut r.matcher {
                *ports = Some((port, port));
            }
            if let NatTarget::Redirect { port: target, .. } = &mut r.target {
                *target = Some(RedirectPort {
                    low: port,
                    high: port,
                    fixed: false,
                });
            }
        }
    }
    if !is_tcp_udp(r) {
        if let NatMatch::Simple { ports, .. } = &mut r.matcher {
            *ports = None;
        }
        if let NatTarget::Redirect { port, .. } = &mut r.target {
            *port = None;
        }
        if let NatMatch::FromTo { from, to } = &mut r.matcher {
            if r.kind == NatKind::Rdr {
                from.port = None;
                to.port = None;
            }
        }
    }
    let split = matches!(&r.target, NatTarget::Redirect { addrs, .. } if addrs.len() > 1);
    if r.sticky && !r.round_robin && !split {
        r.sticky = false;
    }
}

/// Whether the rule is for TCP, UDP or both.
pub(crate) fn is_tcp_udp(r: &NatRule) -> bool {
    let proto = r.proto.or(r.portmap.map(|p| NatProto::Proto(p.proto)));
    matches!(
        proto,
        Some(NatProto::Proto(Proto::TcpUdp | Proto::TCP | Proto::UDP))
    ) || matches!(r.match_proto, Some(Proto::TcpUdp | Proto::TCP | Proto::UDP))
}
