//! A stub: a system that is not Linux, known by its addresses and routes only. It takes
//! what is addressed to it, and forwards the rest by longest prefix (lowest metric among
//! equals) over its routes and the subnets of its own addresses, decrementing the TTL as
//! every router does. It has no firewall the walk knows of.

use crate::hop::{leave, Hop, HopKind, Next};
use crate::leg::Stop;
use crate::state::State;
use model::host::RouteType;
use model::topology::Topology;
use model::{Host, Packet};
use std::net::IpAddr;

pub(crate) fn cross(
    topology: &Topology,
    state: &mut State<'_>,
    node: usize,
    packet: &Packet,
) -> (Hop, Next) {
    let host = &state.hosts[node];
    let mut hop = Hop {
        node,
        arrived_on: packet.iif.clone(),
        packet: packet.clone(),
        kind: HopKind::Stub { route: None },
        egress: None,
        conntrack: Vec::new(),
    };
    if host.owner_of(packet.dst).is_some() {
        return (hop, Next::Arrived);
    }
    let Some((route, oif, gateway)) = lookup(host, packet.dst) else {
        return (hop, Next::Stopped(Stop::StubNoRoute));
    };
    hop.kind = HopKind::Stub { route };
    let mut out = packet.clone();
    if packet.iif.is_some() {
        if packet.ttl <= 1 {
            return (hop, Next::Stopped(Stop::StubTtl));
        }
        out.ttl -= 1;
    }
    let next = leave(topology, state, node, &oif, gateway, &out, &mut hop);
    (hop, next)
}

/// The stub's way to `dst`: the route (index), the interface and the gateway. A route
/// that is not unicast (blackhole, unreachable, prohibit) is no way.
fn lookup(host: &Host, dst: IpAddr) -> Option<(Option<usize>, String, Option<IpAddr>)> {
    let best = host
        .routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.dst.contains(&dst) && matches!(r.table, 254 | 0))
        .max_by_key(|(_, r)| (r.dst.prefix_len(), std::cmp::Reverse(r.metric)));
    if let Some((i, r)) = best {
        if r.route_type != RouteType::Unicast {
            return None;
        }
        let gateway = r
            .gateway
            .or_else(|| r.nexthops.first().and_then(|n| n.gateway));
        let dev = r
            .dev
            .clone()
            .or_else(|| on_link_iface(host, gateway.unwrap_or(dst)))?;
        return Some((Some(i), dev, gateway));
    }
    on_link_iface(host, dst).map(|dev| (None, dev, None))
}

/// The interface whose subnet holds `addr`.
fn on_link_iface(host: &Host, addr: IpAddr) -> Option<String> {
    host.interfaces
        .iter()
        .find(|i| i.addrs.iter().any(|a| a.network().contains(&addr)))
        .map(|i| i.name.clone())
}
