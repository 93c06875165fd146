//! `ipnat -nv`'s printing of a translation rule (IPFilter's `lib/printnat.c`).

use std::fmt::Write;
use std::net::IpAddr;

use model::ipf::nat::{
    BlockPorts, NatAddr, NatDir, NatKind, NatMatch, NatProto, NatRule, NatTarget, RedirectPort,
};
use model::ipf::{Addr, Endpoint, IpFamily, Masked};

use super::nat::is_tcp_udp;
use super::print::{mask, pool_ref, port, proto};

/// The line `ipnat -nv` prints for one rule (without its newline).
pub fn nat_rule(r: &NatRule) -> String {
    let v6 = r.family == Some(IpFamily::Inet6);
    let mut s = String::new();
    if r.no {
        s.push_str("no ");
    }
    s.push_str(match (r.kind, r.direction) {
        (NatKind::Map, _) => "map",
        (NatKind::Bimap, _) => "bimap",
        (NatKind::MapBlock, _) => "map-block",
        (NatKind::Rdr, _) => "rdr",
        (NatKind::Rewrite, Some(NatDir::Out)) => "rewrite out on",
        (NatKind::Rewrite, _) => "rewrite in on",
        (NatKind::Divert, Some(NatDir::Out)) => "divert out on",
        (NatKind::Divert, _) => "divert in on",
    });
    let _ = write!(s, " {}", r.interfaces.first().map_or("", String::as_str));
    if let Some(second) = r
        .interfaces
        .get(1)
        .filter(|n| Some(*n) != r.interfaces.first())
    {
        let _ = write!(s, ",{second}");
    }
    s.push(' ');
    if v6 {
        s.push_str("inet6 ");
    }
    let rewrite = matches!(r.kind, NatKind::Rewrite | NatKind::Divert);
    if rewrite {
        if let Some(p) = r.match_proto {
            let _ = write!(s, "proto {} ", proto(p));
        }
    }
    if let NatMatch::FromTo { from, to } = &r.matcher {
        if from.negated {
            s.push_str("! ");
        }
        s.push_str("from ");
        s.push_str(&endpoint(v6, from));
        if to.negated {
            s.push_str(" !");
        }
        s.push_str(" to ");
        s.push_str(&endpoint(v6, to));
    }
    if rewrite {
        if let NatTarget::Rewrite {
            src,
            src_port,
            dst,
            dst_port,
        } = &r.target
        {
            let tcp_udp = is_tcp_udp(r) || r.kind == NatKind::Divert;
            let _ = write!(s, " -> src {}", addr(v6, src));
            s.push_str(&rewrite_port(*src_port, tcp_udp));
            let _ = write!(s, " dst {}", addr(v6, dst));
            s.push_str(&rewrite_port(*dst_port, tcp_udp));
            if r.kind == NatKind::Divert {
                s.push_str(" udp");
            }
        }
        if r.purge {
            s.push_str(" purge");
        }
        s.push(';');
        return s;
    }
    if r.kind == NatKind::Rdr {
        rdr(r, v6, &mut s);
    } else {
        map(r, v6, &mut s);
    }
    s
}

/// `,P`, `,P-Q`, `,port = P` (only on TCP/UDP rules, as `printnat` prints them).
fn rewrite_port(port: Option<RedirectPort>, tcp_udp: bool) -> String {
    match port {
        Some(p) if tcp_udp && p.low != 0 => {
            if p.fixed {
                format!(",port = {}", p.low)
            } else if p.low != p.high {
                format!(",{}-{}", p.low, p.high)
            } else {
                format!(",{}", p.low)
            }
        }
        _ => String::new(),
    }
}

fn rdr(r: &NatRule, v6: bool, s: &mut String) {
    let tcp_udp = is_tcp_udp(r);
    if let NatMatch::Simple { addr: a, ports } = &r.matcher {
        s.push_str(&addr(v6, a));
        if let (true, Some((low, high))) = (tcp_udp, ports) {
            let _ = write!(s, " port {low}");
            if low != high {
                let _ = write!(s, "-{high}");
            }
        }
    }
    if r.no {
        let _ = write!(s, " {};", nat_proto(r));
        return;
    }
    s.push_str(" -> ");
    if let NatTarget::Redirect { addrs, port } = &r.target {
        if let [one, two] = addrs.as_slice() {
            let _ = write!(s, "{},{}", bare(v6, one), bare(v6, two));
        } else if let Some(one) = addrs.first() {
            s.push_str(&addr(v6, one));
        }
        if tcp_udp {
            match port {
                Some(p) if p.fixed => {
                    let _ = write!(s, " port = {}", p.low);
                }
                Some(p) => {
                    let _ = write!(s, " port {}", p.low);
                    if p.low != p.high {
                        let _ = write!(s, "-{}", p.high);
                    }
                }
                None => s.push_str(" port 0"),
            }
        }
    }
    let _ = write!(s, " {}", nat_proto(r));
    if r.round_robin {
        s.push_str(" round-robin");
    }
    if r.frag {
        s.push_str(" frag");
    }
    if let Some((a, b)) = r.age {
        let _ = write!(s, " age {a}/{b}");
    }
    if r.sticky {
        s.push_str(" sticky");
    }
    if let Some(m) = r.mssclamp {
        let _ = write!(s, " mssclamp {m}");
    }
    if let Some(p) = &r.proxy {
        let _ = write!(s, " proxy {}", p.name);
    }
    if let Some(t) = &r.tag {
        let _ = write!(s, " tag {t}");
    }
    if r.purge {
        s.push_str(" purge");
    }
}

fn map(r: &NatRule, v6: bool, s: &mut String) {
    if let NatMatch::Simple { addr: a, .. } = &r.matcher {
        s.push_str(&addr(v6, a));
    }
    if r.no {
        let _ = write!(s, " {};", nat_proto(r));
        return;
    }
    s.push_str(" -> ");
    match &r.target {
        NatTarget::Range { low, high } => {
            let _ = write!(s, "range {low}-{high}");
        }
        NatTarget::Net(a) => s.push_str(&addr(v6, a)),
        NatTarget::Redirect { .. } | NatTarget::Rewrite { .. } => {}
    }
    let mut proto_printed = false;
    if let Some(p) = &r.proxy {
        let _ = write!(
            s,
            " proxy port {} {}/{}",
            p.port.unwrap_or(0),
            p.name,
            p.proto.map_or("ip".to_string(), proto)
        );
        proto_printed = true;
    } else if r.kind == NatKind::MapBlock {
        match r.block_ports {
            Some(BlockPorts::Auto) => s.push_str(" ports auto"),
            Some(BlockPorts::Count(n)) => {
                let _ = write!(s, " ports {n}");
            }
            None => s.push_str(" ports 0"),
        }
    } else if let Some((_, low, high)) = r.icmpidmap {
        let _ = write!(s, " icmpidmap icmp {low}:{high}");
        proto_printed = true;
        if r.sequential {
            s.push_str(" sequential");
        }
    } else if let Some(pm) = r.portmap {
        let _ = write!(s, " portmap {}", proto(pm.proto));
        proto_printed = true;
        match pm.range {
            None => s.push_str(" auto"),
            Some((low, high)) => {
                let _ = write!(s, " {low}:{high}");
            }
        }
        if pm.sequential || r.sequential {
            s.push_str(" sequential");
        }
    }
    if r.frag {
        s.push_str(" frag");
    }
    if let Some((a, b)) = r.age {
        let _ = write!(s, " age {a}/{b}");
    }
    if let Some(m) = r.mssclamp {
        let _ = write!(s, " mssclamp {m}");
    }
    if let Some(t) = &r.tag {
        let _ = write!(s, " tag {t}");
    }
    if !proto_printed {
        if let Some(NatProto::Proto(p)) = r.proto {
            let _ = write!(s, " {}", proto(p));
        }
    }
    if r.purge {
        s.push_str(" purge");
    }
}

/// The protocol word of an `rdr` or `no` rule (`ip` when none).
fn nat_proto(r: &NatRule) -> String {
    match r.proto {
        Some(NatProto::Proto(p)) => proto(p),
        Some(NatProto::Ip) | None => "ip".to_string(),
    }
}

fn endpoint(v6: bool, e: &Endpoint) -> String {
    let mut s = match &e.addr {
        Addr::Any => addr(v6, &NatAddr::Any),
        Addr::Net(m) => addr(v6, &NatAddr::Net(*m)),
        Addr::Host { name, .. } => name.clone(),
        Addr::Pool { kind, name } => pool_ref(*kind, name),
        other => format!("{other:?}"),
    };
    if let Some(p) = e.port {
        s.push_str(&port(p));
    }
    s
}

/// An address as `printnataddr` prints it: `0/N` for a zero IPv4 address, `any` for an
/// IPv6 one whose first 32 bits and mask's are zero.
fn addr(v6: bool, a: &NatAddr) -> String {
    match a {
        NatAddr::Any if v6 => "any".to_string(),
        NatAddr::Any => "0/0".to_string(),
        NatAddr::Net(m) => masked(v6, m),
        NatAddr::Host(name) => name.clone(),
        NatAddr::Pool { kind, name } => pool_ref(*kind, name),
        NatAddr::Other(a) => format!("{a:?}"),
    }
}

fn masked(v6: bool, m: &Masked) -> String {
    match (v6, m.addr) {
        (false, IpAddr::V4(a)) if u32::from(a) == 0 => format!("0/{}", mask(m)),
        (false, _) => format!("{}/{}", m.addr, mask(m)),
        (true, IpAddr::V6(a)) => {
            let first_zero = |x: IpAddr| match x {
                IpAddr::V6(v) => (u128::from(v) >> 96) == 0,
                IpAddr::V4(v) => u32::from(v) == 0,
            };
            if first_zero(IpAddr::V6(a)) && first_zero(m.mask) {
                "any".to_string()
            } else {
                format!("{}/{}", m.addr, mask(m))
            }
        }
        (true, IpAddr::V4(_)) => format!("{}/{}", m.addr, mask(m)),
    }
}

/// An address of a split `rdr` target: no mask.
fn bare(v6: bool, a: &NatAddr) -> String {
    match a {
        NatAddr::Net(m) => m.addr.to_string(),
        other => addr(v6, other),
    }
}
