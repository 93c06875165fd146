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
    let same_family = |a: &IpAddr| a.is_ipv4() == packet.dst.is_ipv4();
    let addr = host.interface(&oif).and_then(|i| {
        i.addrs
            .iter()
            .filter(|a| same_family(&a.addr) && !a.secondary)
            .find(|a| a.scope == Scope::Universe)
            .map(|a| a.addr)
    });
    SourceChoice {
        addr,
        oif: Some(oif),
        from_route: false,
    }
}
