//! Routing decisions: policy rules, tables, longest prefix, route types, forwarding
//! sysctls, rp_filter, martian sources. Also the fib lookups rules can ask for
//! (`-m addrtype`, `-m rpfilter`, nft `fib`).
//!
//! Without host routes (`host.known.routes == false`) decisions come from the packet
//! spec (`in`/`out`) and are marked `assumed`.

use crate::trace::RouteDecision;
use model::{Host, Packet};

/// The routing decision for a packet received on `packet.iif` (after prerouting; uses the
/// packet's current destination and mark): local delivery, forward, or a failure.
pub fn route_received(host: &Host, packet: &Packet) -> RouteDecision {
    let _ = (host, packet);
    todo!("route_received")
}

/// The routing decision for a locally generated packet (output path, and re-routing after
/// OUTPUT changed the mark or destination).
pub fn route_local(host: &Host, packet: &Packet) -> RouteDecision {
    let _ = (host, packet);
    todo!("route_local")
}

/// `RTN_*` type of `addr` on this host (`-m addrtype`), optionally limited to the routes via
/// `iface` (`--limit-iface-in/out`).
pub fn addr_type(host: &Host, addr: std::net::IpAddr, iface: Option<&str>) -> u64 {
    let _ = (host, addr, iface);
    todo!("addr_type")
}

/// `-m rpfilter`: whether a route back to `packet.src` leaves by `packet.iif` (strict) or
/// exists at all (loose). `None` when routes are unknown.
pub fn rpfilter_passes(host: &Host, packet: &Packet, loose: bool, validmark: bool, accept_local: bool) -> Option<bool> {
    let _ = (host, packet, loose, validmark, accept_local);
    todo!("rpfilter_passes")
}
