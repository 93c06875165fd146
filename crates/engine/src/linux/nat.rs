//! Address and port translation: where a NAT rule sends the packet, and how conntrack's
//! binding rewrites later packets of the connection.
//!
//! Kernel references: `nf_nat_core.c` (`get_unique_tuple`, `find_best_ips_proto`,
//! `nf_nat_l4proto_unique_tuple`, `nf_nat_packet`), `nf_nat_masquerade.c`,
//! `nf_nat_redirect.c`, `xt_NETMAP.c`.
//!
//! Choices the kernel makes by hash or at random are shown with the first candidate and
//! flagged [`Translation::approximated`]:
//! - an address range with more than one address (`find_best_ips_proto` hashes the
//!   addresses of the connection); SNAT keeps the original source if it lies in the range;
//! - a port outside the given range: DNAT takes the first port of the range (offset 0), SNAT
//!   a random one; a port already inside the range is kept, for both.

use crate::linux::conntrack::Conn;
use crate::linux::prepared::Manip;
use crate::trace::{RouteDecision, RouteKind};
use model::expr::ct_status::{DST_NAT, SRC_NAT};
use model::expr::{Nat, NatKind};
use model::host::Scope;
use model::{Hook, Host, Packet, L4};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where a NAT rule sends the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub manip: Manip,
    pub addr: IpAddr,
    /// New port of the translated side (None: the protocol has no ports).
    pub port: Option<u16>,
    /// The kernel picks by hash or at random; the first candidate is shown.
    pub approximated: bool,
}

/// Why a NAT rule does not translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatProblem {
    /// `dnat ip to` on an IPv6 packet (inet tables): the statement breaks the rule
    /// (`nft_nat_inet_eval`: NFT_BREAK), the next rule is evaluated.
    FamilyMismatch,
    /// The kind cannot run on this hook (DNAT in postrouting, MASQUERADE outside it): the
    /// kernel refuses to load such a rule.
    WrongHook,
    /// REDIRECT/MASQUERADE found no address on the interface: the kernel drops the packet
    /// (`nf_nat_redirect_ipv4`, "ate my IP address").
    NoInterfaceAddress,
    /// The host's addresses were not given: the new address cannot be known.
    AddressesUnknown,
}

/// Whether `kind` may run where the NAT core does `manip` on `hook`.
fn kind_fits(kind: NatKind, manip: Manip, hook: Hook) -> bool {
    match kind {
        NatKind::Dnat | NatKind::Redirect => manip == Manip::Dst,
        NatKind::Snat => manip == Manip::Src,
        NatKind::Masquerade => hook == Hook::Postrouting,
        NatKind::Netmap => true,
    }
}

/// The port of the side `manip` rewrites.
pub fn port_of(packet: &Packet, manip: Manip) -> Option<u16> {
    packet.l4.ports().map(|(s, d)| match manip {
        Manip::Src => s,
        Manip::Dst => d,
    })
}

/// The address of the side `manip` rewrites.
pub fn addr_of(packet: &Packet, manip: Manip) -> IpAddr {
    match manip {
        Manip::Src => packet.src,
        Manip::Dst => packet.dst,
    }
}

/// Where `nat` sends `packet` on `hook`. `in_dev`/`out_dev` are the devices the hook
/// knows; `route` the routing decision already taken (for MASQUERADE).
pub fn translate(
    nat: &Nat,
    hook: Hook,
    packet: &Packet,
    host: &Host,
    route: Option<&RouteDecision>,
    in_dev: Option<&str>,
) -> Result<Translation, NatProblem> {
    let manip = Manip::of_hook(hook).ok_or(NatProblem::WrongHook)?;
    if !kind_fits(nat.kind, manip, hook) {
        return Err(NatProblem::WrongHook);
    }
    if let Some((lo, _)) = nat.addr {
        if lo.is_ipv6() != packet.is_ipv6() {
            return Err(NatProblem::FamilyMismatch);
        }
    }
    let original = addr_of(packet, manip);
    let (addr, addr_approx) = match nat.kind {
        NatKind::Dnat | NatKind::Snat => match nat.addr {
            None => (original, false),
            Some((lo, hi)) => pick_addr(nat.kind, original, lo, hi),
        },
        NatKind::Netmap => match nat.addr {
            None => (original, false),
            Some((lo, hi)) => (netmap(original, lo, hi), false),
        },
        NatKind::Redirect => (redirect_addr(host, hook, packet.is_ipv6(), in_dev)?, false),
        NatKind::Masquerade => (masquerade_source(host, route, packet)?, false),
    };
    let (port, port_approx) = pick_port(nat, manip, port_of(packet, manip));
    Ok(Translation {
        manip,
        addr,
        port,
        approximated: addr_approx || port_approx,
    })
}

/// `find_best_ips_proto`, with SNAT's "try the original tuple first" of
/// `get_unique_tuple`.
fn pick_addr(kind: NatKind, original: IpAddr, lo: IpAddr, hi: IpAddr) -> (IpAddr, bool) {
    let inside = original.is_ipv4() == lo.is_ipv4() && lo <= original && original <= hi;
    if kind == NatKind::Snat && inside {
        return (original, false);
    }
    (lo, lo != hi)
}

/// The new port: kept when inside the range (and no random flag), else the first port of
/// the range (DNAT: offset 0; SNAT: random, shown as the first).
fn pick_port(nat: &Nat, manip: Manip, original: Option<u16>) -> (Option<u16>, bool) {
    let Some(orig) = original else {
        return (None, false);
    };
    let random = nat.random || nat.fully_random;
    match nat.ports {
        None => (Some(orig), false),
        Some((lo, hi)) => {
            let (lo, hi) = if hi < lo { (hi, lo) } else { (lo, hi) };
            if !random && lo <= orig && orig <= hi {
                (Some(orig), false)
            } else {
                (Some(lo), lo != hi && (random || manip == Manip::Src))
            }
        }
    }
}

/// `xt_NETMAP`: keep the host part, replace the network part with the range's prefix.
fn netmap(original: IpAddr, lo: IpAddr, hi: IpAddr) -> IpAddr {
    match (original, lo, hi) {
        (IpAddr::V4(o), IpAddr::V4(l), IpAddr::V4(h)) => {
            let mask = !(u32::from(l) ^ u32::from(h));
            IpAddr::V4(Ipv4Addr::from(
                (u32::from(o) & !mask) | (u32::from(l) & mask),
            ))
        }
        (IpAddr::V6(o), IpAddr::V6(l), IpAddr::V6(h)) => {
            let mask = !(u128::from(l) ^ u128::from(h));
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(o) & !mask) | (u128::from(l) & mask),
            ))
        }
        _ => original,
    }
}

/// `nf_nat_redirect_ipv4/6`: the loopback address on output, else the first address of
/// the incoming interface (IPv6: the first of the widest scope).
fn redirect_addr(
    host: &Host,
    hook: Hook,
    v6: bool,
    in_dev: Option<&str>,
) -> Result<IpAddr, NatProblem> {
    if hook == Hook::Output {
        return Ok(if v6 {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        });
    }
    if !host.known.addresses {
        return Err(NatProblem::AddressesUnknown);
    }
    let iface = in_dev
        .and_then(|n| host.interface(n))
        .ok_or(NatProblem::NoInterfaceAddress)?;
    let mut same_family = iface.addrs.iter().filter(|a| a.addr.is_ipv6() == v6);
    let found = if v6 {
        let all: Vec<_> = same_family.collect();
        all.iter()
            .find(|a| a.scope == Scope::Universe)
            .or(all.first())
            .map(|a| a.addr)
    } else {
        same_family.next().map(|a| a.addr)
    };
    found.ok_or(NatProblem::NoInterfaceAddress)
}

/// `nf_nat_masquerade_ipv4` (`inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE)`): the
/// first primary global address of the outgoing interface in the next hop's subnet, else
/// its first primary global address. IPv6: the first global address of the interface.
pub fn masquerade_source(
    host: &Host,
    route: Option<&RouteDecision>,
    packet: &Packet,
) -> Result<IpAddr, NatProblem> {
    if !host.known.addresses {
        return Err(NatProblem::AddressesUnknown);
    }
    let v6 = packet.is_ipv6();
    let (oif, gateway) = match route.map(|r| &r.kind) {
        Some(RouteKind::Forward { oif, gateway })
        | Some(RouteKind::Output { oif, gateway, .. }) => (oif.as_str(), *gateway),
        // Out of `lo` (a locally generated packet to a local address, DNAT/REDIRECT to
        // one of ours).
        Some(RouteKind::Local) => ("lo", None),
        _ => return Err(NatProblem::NoInterfaceAddress),
    };
    let nexthop = gateway.unwrap_or(packet.dst);
    let global = |a: &&model::host::IfAddr| {
        a.addr.is_ipv6() == v6 && !a.secondary && a.scope == Scope::Universe && !a.temporary
    };
    let on_oif = host.interface(oif).and_then(|iface| {
        let mut candidates = iface.addrs.iter().filter(global);
        let first = candidates.clone().next();
        candidates
            .find(|a| a.network().contains(&nexthop))
            .or(first)
            .map(|a| a.addr)
    });
    if let Some(a) = on_oif {
        return Ok(a);
    }
    if v6 {
        // `ipv6_dev_get_saddr` picks by scope: to `::1` (a REDIRECT of a locally generated
        // packet, routed out of `lo`) it takes the host-scope `::1` itself.
        let loopback = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        let has_loopback = host
            .interfaces
            .iter()
            .any(|i| i.addrs.iter().any(|a| a.addr == loopback));
        if nexthop == loopback && has_loopback {
            return Ok(loopback);
        }
        return Err(NatProblem::NoInterfaceAddress);
    }
    // `inet_select_addr` without a global address on the device (`lo`): the first primary
    // global address of any device, loopback first, in device order.
    let mut devices: Vec<&model::host::Interface> = host.interfaces.iter().collect();
    devices.sort_by_key(|i| {
        (
            i.link != model::host::LinkType::Loopback && i.name != "lo",
            i.index,
        )
    });
    devices
        .iter()
        .flat_map(|i| i.addrs.iter())
        .find(global)
        .map(|a| a.addr)
        .ok_or(NatProblem::NoInterfaceAddress)
}

/// Rewrites the packet and the connection's reply tuple for a new binding.
pub fn apply(packet: &mut Packet, conn: Option<&mut Conn>, t: &Translation) {
    set_side(packet, t.manip, t.addr, t.port);
    if let Some(conn) = conn {
        let ports = packet.l4.ports().is_some();
        match t.manip {
            Manip::Dst => {
                conn.reply.src = t.addr;
                if let (true, Some(p)) = (ports, t.port) {
                    conn.reply.sport = p;
                }
                if conn.reply.src != conn.orig.dst || conn.reply.sport != conn.orig.dport {
                    conn.status |= DST_NAT;
                }
                conn.dst_nat_done = true;
            }
            Manip::Src => {
                conn.reply.dst = t.addr;
                if let (true, Some(p)) = (ports, t.port) {
                    conn.reply.dport = p;
                }
                if conn.reply.dst != conn.orig.src || conn.reply.dport != conn.orig.sport {
                    conn.status |= SRC_NAT;
                }
                conn.src_nat_done = true;
            }
        }
    }
}

/// Sets the address (and port) of one side of the packet.
pub fn set_side(packet: &mut Packet, manip: Manip, addr: IpAddr, port: Option<u16>) {
    match manip {
        Manip::Src => packet.src = addr,
        Manip::Dst => packet.dst = addr,
    }
    if let (Some((s, d)), Some(p)) = (packet.l4.ports(), port) {
        packet.l4 = match manip {
            Manip::Src => packet.l4.with_ports(p, d),
            Manip::Dst => packet.l4.with_ports(s, p),
        };
    }
}

/// What conntrack's binding does to a packet of an existing (or already bound)
/// connection at a hook doing `manip` (`nf_nat_packet`): the address and port the packet
/// gets, or `None` when this side is not translated.
pub fn binding(conn: &Conn, manip: Manip) -> Option<(IpAddr, Option<u16>)> {
    let mut bit = match manip {
        Manip::Src => SRC_NAT,
        Manip::Dst => DST_NAT,
    };
    if conn.reply_dir {
        bit ^= SRC_NAT | DST_NAT;
    }
    if conn.status & bit == 0 {
        return None;
    }
    // The target is the inverse of the other direction's tuple.
    let other = if conn.reply_dir {
        conn.orig
    } else {
        conn.reply
    };
    let ports = !matches!(
        conn.proto,
        model::packet::IpProto::Icmp | model::packet::IpProto::Icmpv6
    );
    Some(match manip {
        Manip::Src => (other.dst, ports.then_some(other.dport)),
        Manip::Dst => (other.src, ports.then_some(other.sport)),
    })
}

/// The kind a conntrack binding reads as: translation of the destination or the source.
pub fn binding_kind(manip: Manip) -> NatKind {
    match manip {
        Manip::Src => NatKind::Snat,
        Manip::Dst => NatKind::Dnat,
    }
}

/// The reply a peer sends to `packet` (addresses and ports swapped; a SYN answered by a
/// SYN-ACK, an echo request by an echo reply).
pub fn reply_to(packet: &Packet) -> Packet {
    use model::TcpFlags;
    let mut r = packet.clone();
    r.src = packet.dst;
    r.dst = packet.src;
    r.l4 = match packet.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => {
            let flags = if flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK) {
                TcpFlags::SYN.union(TcpFlags::ACK)
            } else {
                TcpFlags::ACK
            };
            L4::Tcp {
                sport: dport,
                dport: sport,
                flags,
            }
        }
        L4::Udp { sport, dport } => L4::Udp {
            sport: dport,
            dport: sport,
        },
        L4::Sctp { sport, dport } => L4::Sctp {
            sport: dport,
            dport: sport,
        },
        L4::Icmp {
            icmp_type: 8,
            code,
            id,
        } => L4::Icmp {
            icmp_type: 0,
            code,
            id,
        },
        L4::Icmpv6 {
            icmp_type: 128,
            code,
            id,
        } => L4::Icmpv6 {
            icmp_type: 129,
            code,
            id,
        },
        other => other,
    };
    r.iif = None;
    r.oif = None;
    r.ttl = 64;
    r.mark = 0;
    r.uid = None;
    r.gid = None;
    r.src_mac = None;
    r.dst_mac = None;
    r.len = r.minimal_len();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::conntrack;
    use model::host::{IfAddr, Interface, Known};
    use model::TcpFlags;

    fn syn() -> Packet {
        Packet::new(
            "198.51.100.7".parse().unwrap(),
            "192.0.2.10".parse().unwrap(),
            L4::Tcp {
                sport: 40000,
                dport: 22,
                flags: TcpFlags::SYN,
            },
        )
    }

    fn nat(kind: NatKind, addr: Option<(&str, &str)>, ports: Option<(u16, u16)>) -> Nat {
        Nat {
            kind,
            addr: addr.map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap())),
            ports,
            random: false,
            fully_random: false,
            persistent: false,
        }
    }

    fn host_with(iface: &str, addr: &str, prefix: u8) -> Host {
        Host {
            interfaces: vec![Interface {
                name: iface.into(),
                addrs: vec![IfAddr {
                    addr: addr.parse().unwrap(),
                    prefix_len: prefix,
                    scope: Scope::Universe,
                    broadcast: None,
                    temporary: false,
                    secondary: false,
                    deprecated: false,
                    dad: model::host::DadState::Done,
                }],
                ..Interface::default()
            }],
            known: Known {
                addresses: true,
                ..Known::default()
            },
            ..Host::default()
        }
    }

    /// Found by the differential tester (issue 3 part 8): MASQUERADE of a packet routed
    /// out of `lo` takes the first global address of another device, as
    /// `inet_select_addr` does, instead of failing.
    #[test]
    fn masquerade_out_of_lo_takes_another_devices_address() {
        let mut h = host_with("lan0", "10.1.1.1", 24);
        h.interfaces.insert(
            0,
            Interface {
                name: "lo".into(),
                link: model::host::LinkType::Loopback,
                addrs: vec![IfAddr {
                    addr: "127.0.0.1".parse().unwrap(),
                    prefix_len: 8,
                    scope: Scope::Host,
                    broadcast: None,
                    temporary: false,
                    secondary: false,
                    deprecated: false,
                    dad: model::host::DadState::Done,
                }],
                ..Interface::default()
            },
        );
        let route = RouteDecision {
            hook: Hook::Output,
            kind: RouteKind::Local,
            table: 255,
            rule_priority: None,
            route: None,
            assumed: false,
        };
        let mut p = syn();
        p.dst = "127.0.0.1".parse().unwrap();
        assert_eq!(
            masquerade_source(&h, Some(&route), &p).unwrap(),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
    }

    /// Found by the nft kernel-differential test: an IPv6 packet redirected to `::1` in
    /// output and masqueraded out of `lo` takes `::1` as its source (the kernel accepts it;
    /// it was dropped for want of a global address).
    #[test]
    fn ipv6_masquerade_to_loopback_takes_loopback() {
        let mut h = host_with("lan0", "10.1.1.1", 24);
        h.interfaces.insert(
            0,
            Interface {
                name: "lo".into(),
                link: model::host::LinkType::Loopback,
                addrs: vec![IfAddr {
                    addr: "::1".parse().unwrap(),
                    prefix_len: 128,
                    scope: Scope::Host,
                    broadcast: None,
                    temporary: false,
                    secondary: false,
                    deprecated: false,
                    dad: model::host::DadState::Done,
                }],
                ..Interface::default()
            },
        );
        let route = RouteDecision {
            hook: Hook::Output,
            kind: RouteKind::Local,
            table: 255,
            rule_priority: None,
            route: None,
            assumed: false,
        };
        let mut p = syn();
        p.src = "fd00::1".parse().unwrap();
        p.dst = "::1".parse().unwrap();
        assert_eq!(
            masquerade_source(&h, Some(&route), &p).unwrap(),
            "::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn port_only_dnat_keeps_the_address() {
        let n = nat(NatKind::Dnat, None, Some((2222, 2222)));
        let t = translate(
            &n,
            Hook::Prerouting,
            &syn(),
            &Host::default(),
            None,
            Some("eth0"),
        )
        .unwrap();
        assert_eq!(
            (t.addr, t.port),
            ("192.0.2.10".parse().unwrap(), Some(2222))
        );
    }

    #[test]
    fn dnat_port_inside_range_is_kept_outside_takes_first() {
        let n = nat(
            NatKind::Dnat,
            Some(("10.0.0.5", "10.0.0.5")),
            Some((20, 30)),
        );
        let t = translate(&n, Hook::Prerouting, &syn(), &Host::default(), None, None).unwrap();
        assert_eq!(t.port, Some(22));
        let n = nat(
            NatKind::Dnat,
            Some(("10.0.0.5", "10.0.0.5")),
            Some((8000, 8010)),
        );
        let t = translate(&n, Hook::Prerouting, &syn(), &Host::default(), None, None).unwrap();
        assert_eq!((t.port, t.approximated), (Some(8000), false));
    }

    #[test]
    fn snat_keeps_a_source_already_in_the_range() {
        let n = nat(
            NatKind::Snat,
            Some(("198.51.100.0", "198.51.100.255")),
            None,
        );
        let t = translate(&n, Hook::Postrouting, &syn(), &Host::default(), None, None).unwrap();
        assert_eq!(t.addr, "198.51.100.7".parse::<IpAddr>().unwrap());
        let n = nat(NatKind::Snat, Some(("203.0.113.1", "203.0.113.4")), None);
        let t = translate(&n, Hook::Postrouting, &syn(), &Host::default(), None, None).unwrap();
        assert_eq!(
            (t.addr, t.approximated),
            ("203.0.113.1".parse().unwrap(), true)
        );
    }

    #[test]
    fn dnat_in_postrouting_is_refused() {
        let n = nat(NatKind::Dnat, Some(("10.0.0.5", "10.0.0.5")), None);
        assert_eq!(
            translate(&n, Hook::Postrouting, &syn(), &Host::default(), None, None),
            Err(NatProblem::WrongHook)
        );
    }

    #[test]
    fn v4_nat_on_v6_packet_breaks_the_rule() {
        let mut p = syn();
        p.src = "2001:db8::1".parse().unwrap();
        p.dst = "2001:db8::2".parse().unwrap();
        let n = nat(NatKind::Dnat, Some(("10.0.0.5", "10.0.0.5")), None);
        assert_eq!(
            translate(&n, Hook::Prerouting, &p, &Host::default(), None, None),
            Err(NatProblem::FamilyMismatch)
        );
    }

    #[test]
    fn redirect_uses_incoming_interface_address_and_loopback_on_output() {
        let host = host_with("eth0", "192.0.2.1", 24);
        let n = nat(NatKind::Redirect, None, Some((3128, 3128)));
        let t = translate(&n, Hook::Prerouting, &syn(), &host, None, Some("eth0")).unwrap();
        assert_eq!((t.addr, t.port), ("192.0.2.1".parse().unwrap(), Some(3128)));
        let t = translate(&n, Hook::Output, &syn(), &host, None, None).unwrap();
        assert_eq!(t.addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(
            translate(
                &n,
                Hook::Prerouting,
                &syn(),
                &Host::default(),
                None,
                Some("eth0")
            ),
            Err(NatProblem::AddressesUnknown)
        );
    }

    #[test]
    fn masquerade_takes_the_oif_address_in_the_gateway_subnet() {
        let host = host_with("wan0", "203.0.113.2", 24);
        let route = RouteDecision {
            hook: Hook::Prerouting,
            kind: RouteKind::Forward {
                oif: "wan0".into(),
                gateway: Some("203.0.113.1".parse().unwrap()),
            },
            table: 254,
            rule_priority: None,
            route: None,
            assumed: false,
        };
        let n = nat(NatKind::Masquerade, None, None);
        let t = translate(&n, Hook::Postrouting, &syn(), &host, Some(&route), None).unwrap();
        assert_eq!(
            (t.addr, t.port),
            ("203.0.113.2".parse().unwrap(), Some(40000))
        );
    }

    #[test]
    fn netmap_keeps_the_host_part() {
        let n = nat(NatKind::Netmap, Some(("10.9.0.0", "10.9.0.255")), None);
        let t = translate(&n, Hook::Prerouting, &syn(), &Host::default(), None, None).unwrap();
        assert_eq!(t.addr, "10.9.0.10".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn binding_dnats_original_and_unsnats_reply() {
        let p = syn();
        let mut conn = conntrack::new_conn(&p, crate::trace::CtState::New, 0, None);
        let mut q = p.clone();
        let t = Translation {
            manip: Manip::Dst,
            addr: "10.0.0.5".parse().unwrap(),
            port: Some(22),
            approximated: false,
        };
        apply(&mut q, Some(&mut conn), &t);
        assert_eq!(conn.status & DST_NAT, DST_NAT);
        assert_eq!(
            binding(&conn, Manip::Dst),
            Some(("10.0.0.5".parse().unwrap(), Some(22)))
        );
        assert_eq!(binding(&conn, Manip::Src), None);
        conn.reply_dir = true;
        // The reply's source is un-DNATed in postrouting (a source manipulation).
        assert_eq!(
            binding(&conn, Manip::Src),
            Some(("192.0.2.10".parse().unwrap(), Some(22)))
        );
    }

    #[test]
    fn reply_of_a_syn_is_a_syn_ack_with_swapped_ends() {
        let r = reply_to(&syn());
        assert_eq!(
            r.to_string(),
            "tcp 192.0.2.10:22 -> 198.51.100.7:40000 [ACK SYN]"
        );
    }
}
