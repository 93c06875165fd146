//! The sender: the source address its kernel picks when none is given.

use engine::RouteKind;
use model::host::Scope;
use model::{Host, Packet};
use std::net::IpAddr;

/// How the sender's source address was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceChoice {
    /// The address, `None` when the host has none to offer (the send fails).
    pub addr: Option<IpAddr>,
    /// The interface the route leaves by.
    pub oif: Option<String>,
    /// The route's preferred source decided (`src` in `ip route`); otherwise the first
    /// usable address of the way out.
    pub from_route: bool,
}

/// The sender's choice for `packet` leaving `host`.
pub fn choose(host: &Host, packet: &Packet) -> SourceChoice {
    let decision = engine::route::route_local(host, packet);
    let prefsrc = decision
        .route
        .and_then(|i| host.routes.get(i))
        .and_then(|r| r.prefsrc);
    // An address of its own: out `lo` and back in, from that address itself (the local
    // table's route to it has it as its source).
    if matches!(&decision.kind, RouteKind::Local)
        || matches!(&decision.kind, RouteKind::Output { oif, .. } if oif == "lo")
    {
        return SourceChoice {
            addr: Some(packet.dst),
            oif: Some("lo".to_string()),
            from_route: false,
        };
    }
    let RouteKind::Output { oif, .. } = decision.kind else {
        return SourceChoice {
            addr: None,
            oif: None,
            from_route: false,
        };
    };
    if prefsrc.is_some() {
        return SourceChoice {
            addr: prefsrc,
            oif: Some(oif),
            from_route: true,
        };
    }
    let usable = |i: &model::host::Interface| -> Vec<IpAddr> {
        i.addrs
            .iter()
            .filter(|a| a.addr.is_ipv4() == packet.dst.is_ipv4() && !a.secondary)
            .filter(|a| a.scope == Scope::Universe)
            .map(|a| a.addr)
            .collect()
    };
    // The way out's own address first; without one, an address of another interface:
    // IPv4 the first in device order (`inet_select_addr`), IPv6 the longest match with
    // the destination (`ipv6_dev_get_saddr`, RFC 6724 rule 8), measured with a transit
    // link that has link-local addresses only.
    let addr = host
        .interface(&oif)
        .and_then(|i| usable(i).first().copied())
        .or_else(|| {
            let all = host.interfaces.iter().flat_map(usable);
            if packet.dst.is_ipv4() {
                all.into_iter().next()
            } else {
                all.max_by_key(|a| common_prefix(*a, packet.dst))
            }
        });
    SourceChoice {
        addr,
        oif: Some(oif),
        from_route: false,
    }
}

/// The number of leading bits `a` and `b` share.
fn common_prefix(a: IpAddr, b: IpAddr) -> u32 {
    match (a, b) {
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a) ^ u128::from(b)).leading_zeros(),
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) ^ u32::from(b)).leading_zeros(),
        _ => 0,
    }
}
