//! Neighbour resolution on the link a packet leaves by: which host answers ARP (IPv4) or
//! neighbour solicitation (IPv6) for the next hop.
//!
//! - IPv4: a Linux host answers ARP for any of its own addresses on whichever interface
//!   the request arrives, `lo`'s included (`arp_ignore` 0, the default); with `arp_ignore` 1 or more only
//!   for an address of the receiving interface; and only when the request routes in from
//!   its sender's address (`rp_filter` applies).
//! - IPv6: neighbour discovery answers only for an address of the receiving interface
//!   (`ndisc_recv_ns` looks the target up on that device).
//!
//! Nobody on the link owns the next hop: on a link whose every host is given (a topology
//! file's link) resolution fails; on an inferred link other machines may share it, so the
//! sender's own neighbour table decides (`FAILED`/`INCOMPLETE`: fails; resolved: a host
//! not given answers), and without an entry the walk cannot say.

use engine::{Prepared, RouteKind};
use model::host::Neighbour;
use model::packet::IpProto;
use model::topology::{NodeKind, Topology};
use model::{Host, Packet, L4};
use std::net::IpAddr;

/// How the next hop resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// A host of the topology answers: the packet goes to it.
    Node {
        /// The node.
        node: usize,
        /// Its interface on the link.
        iface: String,
    },
    /// The sender's neighbour table resolves it to a machine that is not one of the hosts
    /// given: the packet leaves the topology.
    Outside {
        /// The sender's entry.
        entry: Neighbour,
    },
    /// Resolution fails: the sender gets no answer to its ARP / neighbour solicitations
    /// (after about 3 s, the router sends ICMP host unreachable / ICMPv6 address
    /// unreachable; a local sender gets `EHOSTUNREACH`).
    Failed {
        /// The sender's entry saying so, when its table was given.
        entry: Option<Neighbour>,
    },
    /// A host of the topology owns the next hop, but a firewall drops the neighbour
    /// discovery between them (IPv6: ICMPv6 135/136, which conntrack leaves untracked, so
    /// `ct state established,related` does not accept them): resolution fails as if nobody
    /// were there.
    Filtered {
        /// The node that owns the next hop.
        node: usize,
        /// Its interface on the link.
        iface: String,
        /// The node whose firewall drops it.
        by: usize,
        /// The packet dropped: a solicitation (135) or an advertisement (136).
        packet: Box<Packet>,
    },
    /// Nobody given owns the next hop on a link that may hold others, and the sender's
    /// neighbour table does not tell.
    Unknown,
    /// The interface is on no link of the topology.
    NoLink,
}

/// Who answers for `next_hop` when `node` sends a packet from `src` out of `oif`, with
/// `hosts` the nodes' current state.
pub fn resolve(
    topology: &Topology,
    hosts: &[Host],
    prepared: &[Prepared<'_>],
    node: usize,
    oif: &str,
    next_hop: IpAddr,
    src: IpAddr,
) -> Resolution {
    let entry = hosts[node]
        .neighbours
        .iter()
        .find(|n| n.addr == next_hop && n.dev == oif)
        .cloned();
    let Some(link) = topology.link_of(node, oif) else {
        return Resolution::NoLink;
    };
    let link = &topology.links[link];
    let asker = arp_sender(&hosts[node], oif, next_hop, src);
    let answering = link.ends.iter().find(|end| {
        !(end.node == node && end.iface == oif)
            && answers_for(topology, hosts, end.node, &end.iface, next_hop, asker)
    });
    if let Some(end) = answering {
        if let Some((by, packet)) = discovery_dropped(
            topology,
            hosts,
            prepared,
            (node, oif),
            (end.node, &end.iface),
            next_hop,
        ) {
            return Resolution::Filtered {
                node: end.node,
                iface: end.iface.clone(),
                by,
                packet: Box::new(packet),
            };
        }
        return Resolution::Node {
            node: end.node,
            iface: end.iface.clone(),
        };
    }
    match entry {
        Some(e) if e.failed() => Resolution::Failed { entry: Some(e) },
        _ if link.complete => Resolution::Failed { entry: None },
        Some(e) if e.resolved() => Resolution::Outside { entry: e },
        _ => Resolution::Unknown,
    }
}

/// IPv6 neighbour discovery through the firewalls of both Linux hosts: the solicitation
/// out of the asker (OUTPUT) and into the owner (INPUT), the advertisement back the same
/// way. The node whose firewall drops one, and that packet; `None` when both pass (or a
/// stub is involved, or IPv4: ARP is not an IP packet, no iptables/nft IP chain sees it).
fn discovery_dropped(
    topology: &Topology,
    hosts: &[Host],
    prepared: &[Prepared<'_>],
    (asker, oif): (usize, &str),
    (owner, iface): (usize, &str),
    target: IpAddr,
) -> Option<(usize, Packet)> {
    let IpAddr::V6(t) = target else {
        return None;
    };
    let linux = |n: usize| topology.nodes[n].kind == NodeKind::Linux;
    if !linux(asker) || !linux(owner) {
        return None;
    }
    // The solicitation comes from the asker's link-local address on the link, to the
    // target's solicited-node multicast group; the advertisement answers it by unicast.
    let from = hosts[asker]
        .interface(oif)?
        .addrs
        .iter()
        .find(|a| a.addr.is_ipv6() && a.scope == model::host::Scope::Link)
        .map(|a| a.addr)?;
    let o = t.octets();
    let group = std::net::Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    );
    let nd = |src: IpAddr, dst: IpAddr, icmp_type: u8| {
        let mut p = Packet::new(
            src,
            dst,
            L4::Icmpv6 {
                icmp_type,
                code: 0,
                id: 0,
            },
        );
        p.ttl = 255;
        p
    };
    let solicitation = nd(from, IpAddr::V6(group), 135);
    let advertisement = nd(target, from, 136);
    let steps = [
        (asker, None, solicitation.clone(), oif),
        (owner, Some(iface), solicitation, iface),
        (owner, None, advertisement.clone(), iface),
        (asker, Some(oif), advertisement, oif),
    ];
    steps.into_iter().find_map(|(n, arrives_on, mut p, dev)| {
        match arrives_on {
            Some(i) => {
                p.iif = Some(i.to_string());
                if p.dst.is_multicast() {
                    p.pkttype = model::packet::PktType::Multicast;
                }
            }
            None => p.bound_dev = Some(dev.to_string()),
        }
        let outcome =
            engine::simulate_prepared(&prepared[n], &hosts[n], &p, &engine::Options::default());
        let stopped = matches!(
            outcome.decided_fate(),
            Some(engine::Fate::Dropped | engine::Fate::Rejected { .. })
        ) && !matches!(outcome.primary().decider, engine::Decider::Routing);
        stopped.then_some((n, p))
    })
}

/// The sender address of an ARP request `host` sends out of `oif` for `target`
/// (`arp_solicit` with `arp_announce` 0): the packet's source when it is the host's own,
/// else the host's address on `oif` (one of the target's subnet first).
fn arp_sender(host: &Host, oif: &str, target: IpAddr, src: IpAddr) -> Option<IpAddr> {
    if !target.is_ipv4() {
        return None;
    }
    if host.owner_of(src).is_some() {
        return Some(src);
    }
    let addrs: Vec<&model::host::IfAddr> = host
        .interface(oif)?
        .addrs
        .iter()
        .filter(|a| a.addr.is_ipv4())
        .collect();
    addrs
        .iter()
        .find(|a| a.network().contains(&target))
        .or(addrs.first())
        .map(|a| a.addr)
}

/// Whether `node` answers ARP / neighbour solicitation for `addr` arriving on `iface`
/// (for ARP, from `asker`).
fn answers_for(
    topology: &Topology,
    hosts: &[Host],
    node: usize,
    iface: &str,
    addr: IpAddr,
    asker: Option<IpAddr>,
) -> bool {
    let host = &hosts[node];
    if let Some(sip) = asker.filter(|_| host.known.routes) {
        // `arp_process` answers only when the request routes in (`ip_route_input` of
        // the target from the sender's address): a sender `rp_filter` refuses gets no
        // answer (measured: the packet never arrives, its sender reports host
        // unreachable).
        let mut request = Packet::new(sip, addr, L4::Other(IpProto::from_number(0)));
        request.iif = Some(iface.to_string());
        if matches!(
            engine::route::route_received(host, &request).kind,
            RouteKind::Failed(_)
        ) {
            return false;
        }
    }
    let on = |name: &str| {
        host.interface(name)
            .is_some_and(|i| i.addrs.iter().any(|a| a.addr == addr))
    };
    if on(iface) {
        return true;
    }
    if addr.is_ipv6() || matches!(topology.nodes[node].kind, NodeKind::Stub(_)) {
        return false;
    }
    let arp_ignore = |key: &str| {
        host.sysctls
            .int_or(&format!("net.ipv4.conf.{key}.arp_ignore"), 0)
    };
    let ignore = arp_ignore("all").max(arp_ignore(iface));
    ignore == 0 && host.owner_of(addr).is_some()
}
