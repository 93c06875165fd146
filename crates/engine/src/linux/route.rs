//! Routing decisions: policy rules, tables, longest prefix, route types, forwarding
//! sysctls, rp_filter, martian sources. Also the fib lookups rules can ask for
//! (`-m addrtype`, `-m rpfilter`, nft `fib`).
//!
//! Without host routes (`host.known.routes == false`) decisions come from the packet
//! spec (`in`/`out`) and are marked `assumed`.
//!
//! The order of checks follows the kernel:
//! - IPv4 (`ip_route_input_slow`): martian source/destination, then the fib lookup (policy
//!   rules, tables), then `IN_DEV_FORWARD(in_dev)` for anything not local, then the source
//!   check (`fib_validate_source`: rp_filter, own address as source); `ip_forward` then
//!   checks the TTL before the FORWARD hook.
//! - IPv6: loopback and multicast sources are dropped by `ipv6_rcv` (before PREROUTING, see
//!   [`dropped_before_prerouting`]); `ip6_route_input` looks up the route (no route: the
//!   null entry, ICMPv6 no-route even when forwarding is off); `ip6_forward` checks
//!   forwarding, then the hop limit.
//!
//! When the routes file has no local table (table 255) for a family, the kernel's implicit
//! local routes are synthesized from the host's addresses (`fib_add_ifaddr`,
//! `addrconf`): the decision then has `route: None` and
//! [`Assumption::LocalRoutesFromAddresses`] says so (see [`route_received_explained`]).

use crate::trace::{
    AnswerSource, FibStep, FibStepResult, ReverseLookup, RouteDecision, RouteKind, RouteSeen,
    RoutingFailure, RpfMiss,
};
use crate::warning::Assumption;
use ipnet::IpNet;
use model::expr::rtn;
use model::host::{table_id, LinkType, PolicyRule, Route, RouteType, RuleAction, Scope};
use model::packet::PktType;
use model::{Hook, Host, Packet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A routing decision and what had to be assumed to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    pub decision: RouteDecision,
    /// Sysctl defaults used, synthesized local routes: each to be stated in the output.
    pub assumptions: Vec<Assumption>,
}

/// The routing decision for a packet received on `packet.iif` (after prerouting; uses the
/// packet's current destination and mark): local delivery, forward, or a failure.
pub fn route_received(host: &Host, packet: &Packet) -> RouteDecision {
    route_received_explained(host, packet).decision
}

/// The routing decision for a locally generated packet (output path, and re-routing after
/// OUTPUT changed the mark or destination).
///
/// A destination on this host routes to `Output { oif: "lo" }` (the kernel sends it over
/// the loopback device; it comes back through PREROUTING on `lo`): see
/// [`output_is_local`].
pub fn route_local(host: &Host, packet: &Packet) -> RouteDecision {
    route_local_explained(host, packet).decision
}

/// Whether an output decision delivers to this host (the packet loops back over `lo`).
pub fn output_is_local(decision: &RouteDecision) -> bool {
    matches!(&decision.kind, RouteKind::Output { oif, .. } if oif == "lo")
}

/// `RTN_*` type of `addr` on this host (`-m addrtype`), optionally limited to the routes via
/// `iface` (`--limit-iface-in/out`).
///
/// When neither addresses nor routes of the host are known, only literals can be typed
/// (multicast, limited broadcast, 0.0.0.0); anything else yields `rtn::UNSPEC` (0) so
/// that no type test matches positively. Use [`addr_type_known`] to tell that case apart
/// and report Unknown instead.
pub fn addr_type(host: &Host, addr: IpAddr, iface: Option<&str>) -> u64 {
    addr_type_known(host, addr, iface).unwrap_or(rtn::UNSPEC)
}

/// [`addr_type`], or `None` when the answer depends on host state that was not given.
///
/// IPv4 follows `__inet_dev_addr_type`: 0.0.0.0 and 255.255.255.255 are BROADCAST,
/// 224.0.0.0/4 MULTICAST, otherwise the longest match in the local table (255) decides
/// (LOCAL for the host's addresses and 127/8, BROADCAST for subnet broadcasts), and no match
/// is UNICAST. With `iface`, a match whose device is another interface is UNICAST.
/// IPv6 (`xt_addrtype` `match_type6`): :: is UNSPEC, ff00::/8 MULTICAST, the host's
/// addresses and ::1 LOCAL, otherwise UNICAST.
pub fn addr_type_known(host: &Host, addr: IpAddr, iface: Option<&str>) -> Option<u64> {
    match addr {
        IpAddr::V4(a) => {
            if a.is_unspecified() || a.is_broadcast() {
                return Some(rtn::BROADCAST);
            }
            if a.is_multicast() {
                return Some(rtn::MULTICAST);
            }
        }
        IpAddr::V6(a) => {
            if a.is_unspecified() {
                return Some(rtn::UNSPEC);
            }
            if a.is_multicast() {
                return Some(rtn::MULTICAST);
            }
        }
    }
    if !host.known.routes && !host.known.addresses {
        return None;
    }
    let fib = Fib::new(host, addr.is_ipv6());
    let hit = fib.best_in_table(table_id::LOCAL, addr, None);
    Some(match hit {
        Some(r) => {
            let dev_ok = iface.is_none_or(|want| r.route.dev_name() == Some(want));
            if !dev_ok {
                rtn::UNICAST
            } else {
                match r.route.route_type {
                    RouteType::Local => rtn::LOCAL,
                    RouteType::Broadcast => rtn::BROADCAST,
                    RouteType::Anycast => rtn::ANYCAST,
                    RouteType::Multicast => rtn::MULTICAST,
                    // A failed lookup (blackhole/unreachable/prohibit/throw in the local
                    // table) leaves the kernel's answer at UNICAST.
                    _ => rtn::UNICAST,
                }
            }
        }
        None => rtn::UNICAST,
    })
}

/// `-m rpfilter`: whether a route back to `packet.src` leaves by `packet.iif` (strict) or
/// exists at all (loose). `None` when routes are unknown.
///
/// As `rpfilter_mt` / `rpfilter_lookup_reverse` (net/ipv4/netfilter/ipt_rpfilter.c): packets
/// on loopback pass; 0.0.0.0 to broadcast or link-local multicast passes; the reverse
/// lookup has iif `lo`, daddr = source, saddr = destination (0 for multicast/broadcast
/// destinations), the packet's mark only with `--validmark`; a LOCAL result passes only
/// with `--accept-local`, anything but UNICAST fails.
pub fn rpfilter_passes(
    host: &Host,
    packet: &Packet,
    loose: bool,
    validmark: bool,
    accept_local: bool,
) -> Option<bool> {
    if packet.iif.as_deref().is_some_and(|i| is_loopback(host, i)) {
        return Some(true);
    }
    if let (IpAddr::V4(s), IpAddr::V4(d)) = (packet.src, packet.dst) {
        if s.is_unspecified() && (d.is_broadcast() || is_local_multicast_v4(d)) {
            return Some(true);
        }
    }
    if !host.known.routes {
        return None;
    }
    let iif = packet.iif.as_deref()?;
    let fib = Fib::new(host, packet.is_ipv6());
    let lookup = fib.lookup(&reverse_flow(packet, validmark));
    Some(rpf_miss(&lookup, iif, loose, accept_local).is_none())
}

/// The flow of a reverse-path lookup: the packet's source as the destination, its
/// destination as the source (none for a broadcast or multicast destination), from `lo`,
/// with the packet's mark only when `use_mark`.
fn reverse_flow(packet: &Packet, use_mark: bool) -> Flow<'static> {
    let saddr = match packet.dst {
        IpAddr::V4(d) if d.is_multicast() || d.is_broadcast() || d.is_unspecified() => None,
        d => Some(d),
    };
    Flow {
        dst: packet.src,
        src: saddr,
        iif: None,
        oif: None,
        mark: if use_mark { packet.mark } else { 0 },
        tos: packet.tos,
        proto: None,
        ports: None,
        uid: 0,
    }
}

/// Why a reverse lookup's result does not lead back out of `iif` (`None`: it does, or
/// `loose` and any unicast route will do).
fn rpf_miss(lookup: &Lookup, iif: &str, loose: bool, accept_local: bool) -> Option<RpfMiss> {
    match lookup {
        Lookup::Route(hit) => {
            let unicast = match hit.route.route_type {
                RouteType::Unicast => true,
                RouteType::Local => accept_local,
                _ => false,
            };
            if !unicast {
                Some(RpfMiss::NotUnicast)
            } else if loose || hit.route.uses_dev(iif) {
                None
            } else {
                Some(RpfMiss::OtherInterface {
                    via: hit.route.dev_name().map(str::to_string),
                })
            }
        }
        Lookup::RuleAction { .. } => Some(RpfMiss::NotUnicast),
        Lookup::NoRoute => Some(RpfMiss::NoRoute),
    }
}

/// The reverse lookup of a failed reverse-path check, step by step: the packet's source
/// looked up as a destination from `lo`, with the packet's destination as the source and
/// its mark only when `use_mark` (`src_valid_mark`, `--validmark`), as
/// `__fib_validate_source` and `rpfilter_lookup_reverse` do; and why the answer does not
/// lead back out of the arrival interface (`loose`: any unicast route would have done).
/// `None` when the routes are unknown, the packet did not arrive on an interface, or the
/// check passes.
pub fn reverse_lookup(
    host: &Host,
    packet: &Packet,
    use_mark: bool,
    loose: bool,
    accept_local: bool,
) -> Option<ReverseLookup> {
    if !host.known.routes {
        return None;
    }
    let iif = packet.iif.clone()?;
    let fib = Fib::new(host, packet.is_ipv6());
    let flow = reverse_flow(packet, use_mark);
    let mut steps = Vec::new();
    let lookup = fib.lookup_recorded(&flow, Some(&mut steps));
    let miss = rpf_miss(&lookup, &iif, loose, accept_local)?;
    Some(ReverseLookup {
        iif,
        addr: packet.src,
        mark: flow.mark,
        steps,
        miss,
    })
}

/// [`reverse_lookup`] as the `rp_filter` sysctl makes it (`mode` 1 strict, 2 loose; 0 for
/// the source check a hairpin packet gets), with the inbound interface's `src_valid_mark`
/// and `accept_local`.
pub fn rp_filter_lookup(host: &Host, packet: &Packet, mode: u8) -> Option<ReverseLookup> {
    let iif = packet.iif.as_deref()?;
    let or_conf = |name: &str| {
        let a = host.sysctls.int_or(&conf_key(false, "all", name), 0);
        let d = host.sysctls.int_or(&conf_key(false, iif, name), 0);
        a.max(d) != 0
    };
    reverse_lookup(
        host,
        packet,
        or_conf("src_valid_mark"),
        mode == 2,
        or_conf("accept_local"),
    )
}

/// The reverse lookup that made an IPv4 source martian, when one did: a source that is
/// not special by itself (loopback, multicast, broadcast, 0.0.0.0) nor one of this host's
/// addresses, whose route back is not unicast (`__fib_validate_source`: `e_inval`).
pub fn martian_source_lookup(host: &Host, packet: &Packet) -> Option<ReverseLookup> {
    let IpAddr::V4(s) = packet.src else {
        return None;
    };
    if s.is_loopback() || s.is_multicast() || s.is_broadcast() || s.is_unspecified() {
        return None;
    }
    if host.owner_of(packet.src).is_some() {
        return None;
    }
    rp_filter_lookup(host, packet, 2).filter(|l| l.miss == RpfMiss::NotUnicast)
}

/// The output device's MTU when `packet` is too big to be forwarded out of `oif`
/// unfragmented (`ip_exceeds_mtu` / `ip6_pkt_too_big`): longer than the MTU and IPv4 with
/// DF set, or IPv6 (routers never fragment IPv6). `None` when it fits, may be fragmented,
/// or the device's MTU is not known.
pub fn too_big_to_forward(host: &Host, packet: &Packet, oif: &str) -> Option<u32> {
    let mtu = host.interface(oif)?.mtu?;
    let fragmentable = !packet.is_ipv6() && !packet.dont_fragment;
    (u32::from(packet.len) > mtu && !fragmentable).then_some(mtu)
}

/// A drop the kernel makes before PREROUTING runs, so no rule sees the packet.
///
/// IPv6 (`ip6_rcv_core`): a multicast source, or a loopback source or destination on a
/// non-loopback device. IPv4 checks its martians later, in routing (after PREROUTING).
pub fn dropped_before_prerouting(host: &Host, packet: &Packet) -> Option<RoutingFailure> {
    let (IpAddr::V6(src), IpAddr::V6(dst)) = (packet.src, packet.dst) else {
        return None;
    };
    let on_lo = packet.iif.as_deref().is_some_and(|i| is_loopback(host, i));
    if src.is_multicast() {
        return Some(RoutingFailure::MartianSource);
    }
    if on_lo || packet.iif.is_none() {
        return None;
    }
    if src.is_loopback() {
        return Some(RoutingFailure::MartianSource);
    }
    dst.is_loopback()
        .then_some(RoutingFailure::MartianDestination)
}

/// [`route_received`] with the assumptions it made.
pub fn route_received_explained(host: &Host, packet: &Packet) -> Routed {
    let mut cx = Cx {
        host,
        assumptions: Vec::new(),
    };
    let decision = cx.received(packet);
    Routed {
        decision,
        assumptions: cx.assumptions,
    }
}

/// [`route_local`] with the assumptions it made.
pub fn route_local_explained(host: &Host, packet: &Packet) -> Routed {
    let mut cx = Cx {
        host,
        assumptions: Vec::new(),
    };
    let decision = cx.local(packet);
    Routed {
        decision,
        assumptions: cx.assumptions,
    }
}

/// The address this host sends an ICMP error from, to `to` (the sender of `packet`),
/// for a packet that was *not* addressed to this host (forwarded), per `__icmp_send`
/// (IPv4) and `icmp6_send` (IPv6). `None` when the host's addresses are unknown.
///
/// IPv4: source selection on the route back to the sender (`ip_route_output` with
/// saddr 0: the route's `prefsrc`, else `inet_select_addr` on its device), or with
/// `net.ipv4.icmp_errors_use_inbound_ifaddr=1` the inbound interface's address.
/// IPv6: the route back's `prefsrc`, else source selection on the *inbound* interface
/// (`ipv6_dev_get_saddr(in_netdev)`).
pub fn icmp_error_source(host: &Host, packet: &Packet) -> Option<IpAddr> {
    let to = packet.src;
    let iif = packet.iif.as_deref();
    let back = route_back(host, to);
    if to.is_ipv4() {
        let inbound = host
            .sysctls
            .int_or("net.ipv4.icmp_errors_use_inbound_ifaddr", 0)
            != 0;
        if inbound {
            if let Some(a) = iif.and_then(|i| select_addr(host, i, to)) {
                return Some(a);
            }
        }
        if let Some(r) = &back {
            if let Some(p) = r.prefsrc {
                return Some(p);
            }
            let target = r.gateway.unwrap_or(to);
            if let Some(a) = r.dev_name().and_then(|d| select_addr(host, d, target)) {
                return Some(a);
            }
        }
        // No route back known: the inbound interface's address is the best evidence.
        iif.and_then(|i| select_addr(host, i, to))
            .or_else(|| any_global_addr(host, false))
    } else {
        if let Some(p) = back.as_ref().and_then(|r| r.prefsrc) {
            return Some(p);
        }
        iif.and_then(|i| select_addr(host, i, to))
            .or_else(|| {
                back.as_ref()
                    .and_then(|r| r.dev_name())
                    .and_then(|d| select_addr(host, d, to))
            })
            .or_else(|| any_global_addr(host, true))
    }
}

/// Where an ICMP error about a forwarded `packet` comes from: [`icmp_error_source`], or
/// when the host's addresses are unknown, this host's address on the route back, which
/// leaves by the route back's device when the routes are known, else (taken) by the
/// interface the packet came in on.
pub fn icmp_error_from(host: &Host, packet: &Packet) -> AnswerSource {
    if let Some(a) = icmp_error_source(host, packet) {
        return AnswerSource::Addr(a);
    }
    let routed_back = host
        .known
        .routes
        .then(|| route_back(host, packet.src).and_then(|r| r.dev_name().map(str::to_string)));
    AnswerSource::RouteBack {
        via: routed_back.unwrap_or_else(|| packet.iif.clone()),
    }
}

/// What a socket's output lookup found (see [`output_lookup`]).
pub(crate) struct OutputLookup {
    /// The route, or why there is none.
    pub(crate) result: Result<Hit, RoutingFailure>,
    /// The local table was built from the host's addresses (the input had none).
    pub(crate) synthesized_local: bool,
}

/// The output lookup a socket makes (`ip_route_output_key_hash`, `ip6_route_output`):
/// to `dst`, from `src` when the socket is bound to an address, by `oif` only when it is
/// bound to a device (`SO_BINDTODEVICE`). Policy rules see mark 0 and uid 0.
pub(crate) fn output_lookup(
    host: &Host,
    dst: IpAddr,
    src: Option<IpAddr>,
    oif: Option<&str>,
) -> OutputLookup {
    let fib = Fib::new(host, dst.is_ipv6());
    let flow = Flow {
        dst,
        src,
        iif: None,
        oif,
        mark: 0,
        tos: 0,
        proto: None,
        ports: None,
        uid: 0,
    };
    let result = match fib.lookup(&flow) {
        Lookup::Route(hit) if hit.route.route_type == RouteType::Unicast => Ok(hit),
        Lookup::Route(hit) if hit.route.is_local_delivery() => Ok(hit),
        other => Err(other.failure()),
    };
    OutputLookup {
        result,
        synthesized_local: fib.synthesized_local,
    }
}

/// The route this host would send to `to` by (an output lookup with no source or mark).
fn route_back(host: &Host, to: IpAddr) -> Option<Route> {
    let flow = Flow {
        dst: to,
        src: None,
        iif: None,
        oif: None,
        mark: 0,
        tos: 0,
        proto: None,
        ports: None,
        uid: 0,
    };
    match Fib::new(host, to.is_ipv6()).lookup(&flow) {
        Lookup::Route(hit) => Some(hit.route),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The decision procedure.

struct Cx<'h> {
    host: &'h Host,
    assumptions: Vec<Assumption>,
}

/// `ip6_forward` ("this check is security critical"): a packet leaving by another device
/// than it came in by is dropped when its source is unspecified, multicast, loopback or
/// link-local (the last with an ICMPv6 "beyond scope" to the sender).
fn forwardable_v6_source(src: IpAddr) -> bool {
    match src {
        IpAddr::V6(a) => {
            let link_local = (a.segments()[0] & 0xffc0) == 0xfe80;
            !(a.is_unspecified() || a.is_multicast() || a.is_loopback() || link_local)
        }
        IpAddr::V4(_) => true,
    }
}

impl Cx<'_> {
    fn received(&mut self, packet: &Packet) -> RouteDecision {
        let host = self.host;
        let v6 = packet.is_ipv6();
        let iif = packet.iif.clone().unwrap_or_default();
        if let Some(f) = dropped_before_prerouting(host, packet) {
            return failed(Hook::Prerouting, f, None);
        }
        if !v6 {
            if let Some(f) = self.martian_v4(packet, &iif) {
                return failed(Hook::Prerouting, f, None);
            }
        }
        if !host.known.routes {
            return self.received_without_routes(packet);
        }
        let fib = Fib::new(host, v6);
        if fib.synthesized_local {
            self.assumptions
                .push(Assumption::LocalRoutesFromAddresses { v6 });
        }
        // Limited broadcast and (v4) multicast are taken in locally (`brd_input`,
        // `ip_route_input_mc`); whether a socket wants them is the listener's question.
        if is_broadcast_or_multicast(packet.dst) {
            return RouteDecision {
                hook: Hook::Prerouting,
                kind: RouteKind::Local,
                table: table_id::LOCAL,
                rule_priority: None,
                route: None,
                assumed: false,
            };
        }
        let flow = Flow::of_received(packet);
        let lookup = fib.lookup(&flow);
        let (table, prio, index) = lookup.position();
        let mk = |kind: RouteKind| RouteDecision {
            hook: Hook::Prerouting,
            kind,
            table,
            rule_priority: prio,
            route: index,
            assumed: false,
        };
        match &lookup {
            Lookup::Route(hit) if hit.route.is_local_delivery() => {
                if !v6 {
                    if let Some(f) = self.source_check(&fib, packet, &iif, None) {
                        return mk(RouteKind::Failed(f));
                    }
                }
                return mk(RouteKind::Local);
            }
            _ => {}
        }
        // Not for this host.
        if v6 {
            // ip6_pkt_discard/prohibit/blackhole run as the route's input function, before
            // ip6_forward looks at the forwarding sysctl.
            match &lookup {
                Lookup::Route(hit) if hit.route.route_type == RouteType::Unicast => {}
                other => return mk(RouteKind::Failed(other.failure())),
            }
            if let Some(f) = self.forwarding_v6(&iif) {
                return mk(RouteKind::Failed(f));
            }
        } else {
            // IN_DEV_FORWARD(in_dev) is checked before the route type: with forwarding
            // off, every non-local destination ends in ip_error, which sends nothing.
            if let Some(f) = self.forwarding_v4(&iif) {
                return mk(RouteKind::Failed(f));
            }
            match &lookup {
                Lookup::Route(hit) if hit.route.route_type == RouteType::Unicast => {}
                other => return mk(RouteKind::Failed(other.failure())),
            }
            let out_dev = match &lookup {
                Lookup::Route(hit) => hit.route.dev_name().map(str::to_string),
                _ => None,
            };
            if let Some(f) = self.source_check(&fib, packet, &iif, out_dev.as_deref()) {
                return mk(RouteKind::Failed(f));
            }
        }
        if packet.pkttype != PktType::Unicast {
            return mk(RouteKind::Failed(RoutingFailure::NotUnicastFrame {
                pkttype: packet.pkttype,
            }));
        }
        if packet.ttl <= 1 {
            return mk(RouteKind::Failed(RoutingFailure::TtlExceeded));
        }
        if v6 {
            if let Lookup::Route(hit) = &lookup {
                if hit.route.dev_name() != Some(iif.as_str()) && !forwardable_v6_source(packet.src)
                {
                    return mk(RouteKind::Failed(RoutingFailure::MartianSource));
                }
            }
        }
        match lookup {
            Lookup::Route(hit) => mk(RouteKind::Forward {
                oif: hit.route.dev_name().unwrap_or_default().to_string(),
                gateway: hit.route.first_gateway(),
            }),
            other => mk(RouteKind::Failed(other.failure())),
        }
    }

    /// No routes given: the packet spec says where it goes (stated as assumed).
    fn received_without_routes(&mut self, packet: &Packet) -> RouteDecision {
        let host = self.host;
        let assumed = |kind| RouteDecision {
            hook: Hook::Prerouting,
            kind,
            table: table_id::MAIN,
            rule_priority: None,
            route: None,
            assumed: true,
        };
        let ours = host.known.addresses
            && (host.owner_of(packet.dst).is_some() || is_loopback_addr(packet.dst));
        if ours || is_broadcast_or_multicast(packet.dst) {
            return RouteDecision {
                table: table_id::LOCAL,
                ..assumed(RouteKind::Local)
            };
        }
        let oif = packet.oif.clone().or_else(|| {
            // Addresses known, destination not ours: a connected subnet tells the device.
            host.known
                .addresses
                .then(|| connected_dev(host, packet.dst))
                .flatten()
        });
        match oif {
            Some(oif) => {
                let iif = packet.iif.clone().unwrap_or_default();
                let forwarding = if packet.is_ipv6() {
                    self.forwarding_v6(&iif)
                } else {
                    self.forwarding_v4(&iif)
                };
                if let Some(f) = forwarding {
                    return assumed(RouteKind::Failed(f));
                }
                if packet.pkttype != PktType::Unicast {
                    let pkttype = packet.pkttype;
                    return assumed(RouteKind::Failed(RoutingFailure::NotUnicastFrame {
                        pkttype,
                    }));
                }
                if packet.ttl <= 1 {
                    return assumed(RouteKind::Failed(RoutingFailure::TtlExceeded));
                }
                assumed(RouteKind::Forward { oif, gateway: None })
            }
            None if host.known.addresses => {
                // Not ours and no device known: forwarded, to an interface nobody told us.
                // The empty name means "unknown interface".
                assumed(RouteKind::Forward {
                    oif: String::new(),
                    gateway: None,
                })
            }
            None => RouteDecision {
                table: table_id::LOCAL,
                ..assumed(RouteKind::Local)
            },
        }
    }

    fn local(&mut self, packet: &Packet) -> RouteDecision {
        let host = self.host;
        let v6 = packet.is_ipv6();
        if !host.known.routes {
            let ours = host.known.addresses && host.owner_of(packet.dst).is_some()
                || is_loopback_addr(packet.dst);
            let oif = if ours {
                Some(loopback_name(host))
            } else {
                packet
                    .oif
                    .clone()
                    .or_else(|| connected_dev(host, packet.dst))
            };
            return RouteDecision {
                hook: Hook::Output,
                kind: RouteKind::Output {
                    oif: oif.unwrap_or_default(),
                    gateway: None,
                    src: if ours { Some(packet.dst) } else { None },
                },
                table: if ours {
                    table_id::LOCAL
                } else {
                    table_id::MAIN
                },
                rule_priority: None,
                route: None,
                assumed: true,
            };
        }
        let fib = Fib::new(host, v6);
        if fib.synthesized_local {
            self.assumptions
                .push(Assumption::LocalRoutesFromAddresses { v6 });
        }
        let flow = Flow::of_local(packet);
        let lookup = fib.lookup(&flow);
        let (table, prio, index) = lookup.position();
        let kind = match &lookup {
            Lookup::Route(hit) if hit.route.is_local_delivery() => RouteKind::Output {
                oif: loopback_name(host),
                gateway: None,
                src: Some(hit.route.prefsrc.unwrap_or(packet.dst)),
            },
            Lookup::Route(hit) if hit.route.route_type == RouteType::Unicast => {
                let dev = hit.route.dev_name().unwrap_or_default().to_string();
                let gateway = hit.route.first_gateway();
                let src = hit
                    .route
                    .prefsrc
                    .or_else(|| select_addr(host, &dev, gateway.unwrap_or(packet.dst)));
                RouteKind::Output {
                    oif: dev,
                    gateway,
                    src,
                }
            }
            other => RouteKind::Failed(other.failure()),
        };
        RouteDecision {
            hook: Hook::Output,
            kind,
            table,
            rule_priority: prio,
            route: index,
            assumed: false,
        }
    }

    /// IPv4 martians of `ip_route_input_slow`, before the fib lookup.
    fn martian_v4(&mut self, packet: &Packet, iif: &str) -> Option<RoutingFailure> {
        let (IpAddr::V4(s), IpAddr::V4(d)) = (packet.src, packet.dst) else {
            return None;
        };
        if s.is_multicast() || s.is_broadcast() {
            return Some(RoutingFailure::MartianSource);
        }
        // 0.0.0.0 -> 255.255.255.255 (DHCP) is taken as broadcast input.
        if d.is_broadcast() || (s.is_unspecified() && d.is_unspecified()) {
            return None;
        }
        if s.is_unspecified() {
            return Some(RoutingFailure::MartianSource);
        }
        if d.is_unspecified() {
            return Some(RoutingFailure::MartianDestination);
        }
        if is_loopback(self.host, iif) {
            return None;
        }
        // A loopback destination is checked first: with both, the destination is named.
        if (d.is_loopback() || s.is_loopback()) && self.or_conf_v4(iif, "route_localnet") == 0 {
            return Some(if d.is_loopback() {
                RoutingFailure::MartianDestination
            } else {
                RoutingFailure::MartianSource
            });
        }
        None
    }

    /// `fib_validate_source`: rp_filter (max of all and iif), and a source that is one of
    /// this host's own addresses (martian unless `accept_local`).
    ///
    /// With rp_filter off the kernel's fast path asks only "is the source one of ours?",
    /// except for a packet forwarded back out of the device it came in by while that device
    /// sends redirects (`send_redirects`, on by default): then the full check runs, and a
    /// source whose own route is not unicast (a subnet broadcast address, say) is martian.
    fn source_check(
        &mut self,
        fib: &Fib,
        packet: &Packet,
        iif: &str,
        oif: Option<&str>,
    ) -> Option<RoutingFailure> {
        let host = self.host;
        if is_loopback(host, iif) {
            return None;
        }
        let (all_key, dev_key) = (
            conf_key(false, "all", "rp_filter"),
            conf_key(false, iif, "rp_filter"),
        );
        let all = self.sysctl(&all_key, 0);
        let dev = self.sysctl(&dev_key, 0);
        let rpf = all.max(dev);
        let accept_local = self.or_conf_v4(iif, "accept_local") != 0;
        let sysctl = if dev >= all { dev_key } else { all_key };
        let valid_mark = self.or_conf_v4(iif, "src_valid_mark") != 0;
        let own_source = host.owner_of(packet.src).is_some();
        if rpf == 0 {
            let hairpin = oif == Some(iif) && {
                let a = self.sysctl(&conf_key(false, "all", "send_redirects"), 1);
                let d = self.sysctl(&conf_key(false, iif, "send_redirects"), 1);
                a.max(d) != 0
            };
            if !hairpin || accept_local {
                // The kernel's fast path: only "is the source one of ours?".
                return (own_source && !accept_local).then_some(RoutingFailure::MartianSource);
            }
            // `__fib_validate_source` with rp_filter 0: the source's route must be unicast
            // (or local with accept_local); no route at all is fine.
            let flow = Flow {
                dst: packet.src,
                src: Some(packet.dst),
                iif: None,
                oif: None,
                mark: if valid_mark { packet.mark } else { 0 },
                tos: packet.tos,
                proto: None,
                ports: None,
                uid: 0,
            };
            return match fib.lookup(&flow) {
                Lookup::Route(hit) if hit.route.route_type != RouteType::Unicast => {
                    Some(RoutingFailure::MartianSource)
                }
                _ => None,
            };
        }
        let flow = Flow {
            dst: packet.src,
            src: Some(packet.dst),
            iif: None,
            oif: None,
            mark: if valid_mark { packet.mark } else { 0 },
            tos: packet.tos,
            proto: None,
            ports: None,
            uid: 0,
        };
        let fail = Some(RoutingFailure::RpFilter {
            mode: rpf.clamp(0, 2) as u8,
            sysctl,
        });
        match fib.lookup(&flow) {
            Lookup::Route(hit) => match hit.route.route_type {
                RouteType::Unicast => {
                    if hit.route.uses_dev(iif) || rpf == 2 {
                        None
                    } else {
                        fail
                    }
                }
                RouteType::Local if accept_local => {
                    if hit.route.uses_dev(iif) || rpf == 2 {
                        None
                    } else {
                        fail
                    }
                }
                _ => Some(RoutingFailure::MartianSource),
            },
            _ => fail,
        }
    }

    /// IPv4 forwarding: `IN_DEV_FORWARD(in_dev)` reads only `conf.<iif>.forwarding`
    /// (writing `ip_forward` copies itself into every device's value). A dump without the
    /// device's key falls back to `conf.all.forwarding`, then `ip_forward`.
    fn forwarding_v4(&mut self, iif: &str) -> Option<RoutingFailure> {
        let host = self.host;
        let keys = [
            conf_key(false, iif, "forwarding"),
            conf_key(false, "all", "forwarding"),
            "net.ipv4.ip_forward".to_string(),
        ];
        let (key, value) = self.first_sysctl(&keys);
        let on = match value {
            Some(v) => v != 0,
            None if !host.known.sysctls => {
                // A forwarded packet on a host whose sysctls were not given: take the host
                // for a router (the question implies it), and say so.
                self.assumptions.push(Assumption::SysctlAssumed {
                    key: key.clone(),
                    value: "1".into(),
                });
                true
            }
            None => {
                self.assumptions.push(Assumption::SysctlDefault {
                    key: key.clone(),
                    value: "0".into(),
                });
                false
            }
        };
        (!on).then_some(RoutingFailure::ForwardingDisabled { sysctl: key })
    }

    /// IPv6 forwarding (`ip6_forward`): `conf.all.forwarding`, or since 6.17 the inbound
    /// device's `force_forwarding`. The per-device `forwarding` only switches host/router
    /// behaviour (RA, ND), it does not let packets through.
    fn forwarding_v6(&mut self, iif: &str) -> Option<RoutingFailure> {
        let host = self.host;
        let all_key = conf_key(true, "all", "forwarding");
        let force_key = conf_key(true, iif, "force_forwarding");
        let all = host
            .sysctls
            .get(&all_key)
            .and_then(|v| v.trim().parse::<i64>().ok());
        let force = host.sysctls.int_or(&force_key, 0) != 0;
        let on = match all {
            Some(v) => v != 0 || force,
            None if !host.known.sysctls => {
                self.assumptions.push(Assumption::SysctlAssumed {
                    key: all_key.clone(),
                    value: "1".into(),
                });
                true
            }
            None => {
                self.assumptions.push(Assumption::SysctlDefault {
                    key: all_key.clone(),
                    value: "0".into(),
                });
                force
            }
        };
        (!on).then_some(RoutingFailure::ForwardingDisabled { sysctl: all_key })
    }

    /// `IN_DEV_ORCONF`: a per-device boolean that is on when either `all` or the device has it.
    fn or_conf_v4(&mut self, iif: &str, name: &str) -> i64 {
        let a = self.sysctl(&conf_key(false, "all", name), 0);
        let d = self.sysctl(&conf_key(false, iif, name), 0);
        a.max(d)
    }

    /// An integer sysctl; a missing one takes the kernel default, recorded as assumed
    /// when it could matter (only non-zero values or given dumps are worth a line).
    fn sysctl(&mut self, key: &str, default: i64) -> i64 {
        match self
            .host
            .sysctls
            .get(key)
            .and_then(|v| v.trim().parse().ok())
        {
            Some(v) => v,
            None => {
                let a = Assumption::SysctlDefault {
                    key: key.to_string(),
                    value: default.to_string(),
                };
                if !self.assumptions.contains(&a) {
                    self.assumptions.push(a);
                }
                default
            }
        }
    }

    fn first_sysctl(&self, keys: &[String]) -> (String, Option<i64>) {
        for k in keys {
            if let Some(v) = self.host.sysctls.get(k).and_then(|v| v.trim().parse().ok()) {
                return (k.clone(), Some(v));
            }
        }
        (keys[0].clone(), None)
    }
}

fn failed(hook: Hook, f: RoutingFailure, table: Option<u32>) -> RouteDecision {
    RouteDecision {
        hook,
        kind: RouteKind::Failed(f),
        table: table.unwrap_or(table_id::MAIN),
        rule_priority: None,
        route: None,
        assumed: false,
    }
}

/// `net.ipv4.conf.eth0/100.rp_filter`: sysctl keys spell a dot in a device name as `/`.
fn conf_key(v6: bool, dev: &str, name: &str) -> String {
    format!(
        "net.{}.conf.{}.{}",
        if v6 { "ipv6" } else { "ipv4" },
        dev.replace('.', "/"),
        name
    )
}

// ---------------------------------------------------------------------------------------
// The fib: routes of one family, policy rules, lookups.

/// What a lookup asks (`struct flowi4` / `flowi6`).
#[derive(Debug, Clone)]
struct Flow<'a> {
    dst: IpAddr,
    src: Option<IpAddr>,
    /// None: `lo` (output lookups and reverse lookups use LOOPBACK_IFINDEX).
    iif: Option<&'a str>,
    /// The device a socket is bound to (`SO_BINDTODEVICE`): rules with `oif` match it and
    /// only routes leaving by it are found.
    oif: Option<&'a str>,
    mark: u32,
    tos: u8,
    proto: Option<model::packet::IpProto>,
    ports: Option<(u16, u16)>,
    uid: u32,
}

impl<'a> Flow<'a> {
    fn of_received(p: &'a Packet) -> Flow<'a> {
        Flow {
            dst: p.dst,
            src: Some(p.src),
            iif: p.iif.as_deref(),
            oif: None,
            mark: p.mark,
            tos: p.tos,
            proto: Some(p.proto()),
            ports: p.l4.ports(),
            // sock_net_uid(net, NULL): root of the namespace.
            uid: 0,
        }
    }
    fn of_local(p: &'a Packet) -> Flow<'a> {
        Flow {
            dst: p.dst,
            src: (!p.src.is_unspecified()).then_some(p.src),
            iif: None,
            oif: p.bound_dev.as_deref(),
            mark: p.mark,
            tos: p.tos,
            proto: Some(p.proto()),
            ports: p.l4.ports(),
            uid: p.uid.unwrap_or(0),
        }
    }
}

/// One route the fib knows: from `host.routes` (with its index) or synthesized.
#[derive(Debug, Clone)]
struct FibRoute {
    index: Option<usize>,
    route: Route,
}

impl FibRoute {
    /// The route as a recorded lookup shows it.
    fn seen(&self) -> RouteSeen {
        RouteSeen {
            index: self.index,
            dst: self.route.dst,
            route_type: self.route.route_type,
            dev: self.route.dev_name().map(str::to_string),
            gateway: self.route.first_gateway(),
        }
    }
}

/// A route a lookup found, and where: its table, the policy rule that led there, its
/// index in `host.routes` (`None` for a route the kernel makes implicitly).
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) table: u32,
    pub(crate) rule_priority: Option<u32>,
    pub(crate) index: Option<usize>,
    pub(crate) route: Route,
}

#[derive(Debug, Clone)]
enum Lookup {
    Route(Hit),
    /// A policy rule's own action (blackhole/unreachable/prohibit).
    RuleAction {
        priority: u32,
        action: RuleAction,
    },
    /// Nothing matched (ENETUNREACH).
    NoRoute,
}

impl Lookup {
    fn position(&self) -> (u32, Option<u32>, Option<usize>) {
        match self {
            Lookup::Route(h) => (h.table, h.rule_priority, h.index),
            Lookup::RuleAction { priority, .. } => (table_id::MAIN, Some(*priority), None),
            Lookup::NoRoute => (table_id::MAIN, None, None),
        }
    }
    /// The failure a non-unicast result stands for. A rule's `unreachable` returns
    /// -ENETUNREACH in the kernel, exactly what "no route" returns (measured: ICMP 3/0 when
    /// forwarding, ENETUNREACH for a local connect), unlike an unreachable *route*
    /// (-EHOSTUNREACH): it is reported as [`RoutingFailure::NoRoute`] with the rule's
    /// priority in the decision (`rule_priority: Some`, `route: None`).
    fn failure(&self) -> RoutingFailure {
        match self {
            Lookup::Route(h) => match h.route.route_type {
                RouteType::Blackhole => RoutingFailure::Blackhole,
                RouteType::Unreachable => RoutingFailure::Unreachable,
                RouteType::Prohibit => RoutingFailure::Prohibit,
                _ => RoutingFailure::NoRoute,
            },
            Lookup::RuleAction {
                action: RuleAction::Blackhole,
                ..
            } => RoutingFailure::Blackhole,
            Lookup::RuleAction {
                action: RuleAction::Prohibit,
                ..
            } => RoutingFailure::Prohibit,
            Lookup::RuleAction { .. } | Lookup::NoRoute => RoutingFailure::NoRoute,
        }
    }
}

struct Fib<'h> {
    routes: Vec<FibRoute>,
    rules: Vec<PolicyRule>,
    v6: bool,
    host: &'h Host,
    synthesized_local: bool,
}

impl<'h> Fib<'h> {
    fn new(host: &'h Host, v6: bool) -> Fib<'h> {
        let mut routes: Vec<FibRoute> = host
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.dst.addr().is_ipv6() == v6)
            .map(|(i, r)| FibRoute {
                index: Some(i),
                route: r.clone(),
            })
            .collect();
        let has_local = routes.iter().any(|r| r.route.table == table_id::LOCAL);
        let mut synthesized_local = false;
        if !has_local && host.known.addresses {
            synthesized_local = true;
            routes.extend(
                implicit_local_routes(host, v6)
                    .into_iter()
                    .map(|route| FibRoute { index: None, route }),
            );
        }
        if !host.known.routes && host.known.addresses {
            routes.extend(
                implicit_prefix_routes(host, v6)
                    .into_iter()
                    .map(|route| FibRoute { index: None, route }),
            );
        }
        let mut rules: Vec<PolicyRule> = if host.known.policy_rules {
            host.rules.iter().filter(|r| r.v6 == v6).cloned().collect()
        } else {
            Vec::new()
        };
        if rules.is_empty() {
            rules = default_rules(v6);
        }
        rules.sort_by_key(|r| r.priority);
        Fib {
            routes,
            rules,
            v6,
            host,
            synthesized_local,
        }
    }

    /// `fib_rules_lookup`: rules by priority; a lookup that finds nothing (or a throw
    /// route) goes on with the next rule; `goto` jumps to the rule with that priority.
    fn lookup(&self, flow: &Flow) -> Lookup {
        self.lookup_recorded(flow, None)
    }

    /// [`Fib::lookup`], recording what each matching rule gave into `steps`.
    fn lookup_recorded(&self, flow: &Flow, mut steps: Option<&mut Vec<FibStep>>) -> Lookup {
        let mut record = |rule: &PolicyRule, result: FibStepResult| {
            if let Some(steps) = steps.as_deref_mut() {
                steps.push(FibStep {
                    priority: rule.priority,
                    rule: rule.text.clone(),
                    result,
                });
            }
        };
        let mut i = 0;
        while i < self.rules.len() {
            let rule = &self.rules[i];
            i += 1;
            if !self.rule_matches(rule, flow) {
                continue;
            }
            let table = match rule.action {
                RuleAction::Lookup(t) => t,
                RuleAction::Nop => continue,
                RuleAction::Goto(target) => {
                    match self.rules.iter().position(|r| r.priority == target) {
                        Some(j) if j >= i => i = j,
                        _ => {}
                    }
                    continue;
                }
                ref a => {
                    record(rule, FibStepResult::Action(a.clone()));
                    return Lookup::RuleAction {
                        priority: rule.priority,
                        action: a.clone(),
                    };
                }
            };
            let Some(hit) = self.best_in_table(table, flow.dst, flow.oif) else {
                record(rule, FibStepResult::NothingInTable { table });
                continue;
            };
            if hit.route.route_type == RouteType::Throw {
                record(rule, FibStepResult::Throw { table });
                continue;
            }
            if let Some(sup) = rule.suppress_prefixlen {
                if hit.route.dst.prefix_len() <= sup {
                    let route = hit.seen();
                    record(rule, FibStepResult::Suppressed { table, route });
                    continue;
                }
            }
            record(
                rule,
                FibStepResult::Found {
                    table,
                    route: hit.seen(),
                },
            );
            return Lookup::Route(Hit {
                table,
                rule_priority: Some(rule.priority),
                index: hit.index,
                route: hit.route.clone(),
            });
        }
        Lookup::NoRoute
    }

    /// `fib_rule_match` + `fib4_rule_match` / `fib6_rule_match`.
    fn rule_matches(&self, rule: &PolicyRule, flow: &Flow) -> bool {
        let lo = loopback_name(self.host);
        let iif = flow.iif.unwrap_or(&lo);
        let m = rule.iif.as_deref().is_none_or(|want| want == iif)
            && rule
                .oif
                .as_deref()
                .is_none_or(|want| flow.oif == Some(want))
            && rule
                .fwmark
                .is_none_or(|(v, mask)| (v ^ flow.mark) & mask == 0)
            && rule
                .uid
                .is_none_or(|(lo, hi)| (lo..=hi).contains(&flow.uid))
            && rule
                .src
                .is_none_or(|n| flow.src.is_some_and(|s| n.contains(&s)) || n.prefix_len() == 0)
            && rule.dst.is_none_or(|n| n.contains(&flow.dst))
            && rule.tos.is_none_or(|t| {
                if self.v6 {
                    // fib6: the traffic class's DSCP bits against the rule's tos.
                    flow.tos & 0xfc == t & 0xfc
                } else {
                    flow.tos & 0xfc == t
                }
            })
            && rule.ipproto.is_none_or(|p| flow.proto == Some(p))
            && rule
                .sport
                .is_none_or(|(a, b)| flow.ports.is_some_and(|(s, _)| (a..=b).contains(&s)))
            && rule
                .dport
                .is_none_or(|(a, b)| flow.ports.is_some_and(|(_, d)| (a..=b).contains(&d)));
        m != rule.not
    }

    /// Longest prefix, then the lowest metric (and for IPv4 the first-listed among equal).
    /// Source-specific IPv6 routes (`from`) are not modelled: the model has none.
    ///
    /// With `oif` (a socket bound to a device) a route leaving by another device is passed
    /// over and the search goes on with shorter prefixes: IPv4 `fib_lookup_good_nhc`,
    /// IPv6 `rt6_check_dev` under `RT6_LOOKUP_F_IFACE`. An IPv4 route that only fails
    /// (unreachable, blackhole, prohibit, throw) returns its error before next hops are
    /// looked at, so it is found whatever the device; an IPv6 one is a route via `lo` and
    /// is passed over like any other.
    fn best_in_table(&self, table: u32, dst: IpAddr, oif: Option<&str>) -> Option<&FibRoute> {
        let leaves_by = |r: &Route| {
            oif.is_none_or(|dev| {
                r.uses_dev(dev)
                    || (!self.v6
                        && matches!(
                            r.route_type,
                            RouteType::Unreachable
                                | RouteType::Blackhole
                                | RouteType::Prohibit
                                | RouteType::Throw
                        ))
            })
        };
        self.routes
            .iter()
            .filter(|r| r.route.table == table && r.route.dst.contains(&dst))
            .filter(|r| leaves_by(&r.route))
            .max_by(|a, b| {
                a.route
                    .dst
                    .prefix_len()
                    .cmp(&b.route.dst.prefix_len())
                    .then(b.route.metric.cmp(&a.route.metric))
                    // Stable: the earlier of two equal routes wins.
                    .then(b.index.cmp(&a.index))
            })
    }
}

/// The kernel's rules when none were given: `0 local`, `32766 main`, `32767 default`
/// (IPv6 has no `default` rule).
fn default_rules(v6: bool) -> Vec<PolicyRule> {
    let rule = |priority, table| PolicyRule {
        priority,
        v6,
        not: false,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        fwmark: None,
        tos: None,
        ipproto: None,
        sport: None,
        dport: None,
        uid: None,
        action: RuleAction::Lookup(table),
        suppress_prefixlen: None,
        text: format!("{priority}: from all lookup {}", table_name(table)),
    };
    let mut rules = vec![rule(0, table_id::LOCAL), rule(32766, table_id::MAIN)];
    if !v6 {
        rules.push(rule(32767, table_id::DEFAULT));
    }
    rules
}

fn table_name(t: u32) -> String {
    match t {
        table_id::LOCAL => "local".into(),
        table_id::MAIN => "main".into(),
        table_id::DEFAULT => "default".into(),
        t => t.to_string(),
    }
}

/// The local-table routes the kernel adds for each address (`fib_add_ifaddr`,
/// `addrconf`): `local ADDR`, for IPv4 `broadcast` for the subnet's broadcast and
/// network addresses, and the loopback prefix (`local 127.0.0.0/8 dev lo`). An IPv4
/// secondary address's routes carry its subnet's primary address as `src`.
fn implicit_local_routes(host: &Host, v6: bool) -> Vec<Route> {
    let mut out = Vec::new();
    for iface in &host.interfaces {
        for a in iface.addrs.iter().filter(|a| a.addr.is_ipv6() == v6) {
            let host_len = if v6 { 128 } else { 32 };
            let Ok(dst) = IpNet::new(a.addr, host_len) else {
                continue;
            };
            // IPv6 local routes carry no `src` (`ip -6 route show table local`).
            let src = if v6 {
                None
            } else if a.secondary {
                iface
                    .addrs
                    .iter()
                    .find(|p| !p.secondary && p.network() == a.network())
                    .map_or(Some(a.addr), |p| Some(p.addr))
            } else {
                Some(a.addr)
            };
            out.push(synth(
                table_id::LOCAL,
                dst,
                RouteType::Local,
                &iface.name,
                src,
                Scope::Host,
            ));
            if iface.link == LinkType::Loopback && a.prefix_len < host_len {
                out.push(synth(
                    table_id::LOCAL,
                    a.network(),
                    RouteType::Local,
                    &iface.name,
                    Some(a.addr),
                    Scope::Host,
                ));
            }
            if !v6 && a.prefix_len < 31 {
                let net = a.network();
                let bcast = a.broadcast.unwrap_or_else(|| net.broadcast());
                for b in [bcast, net.network()] {
                    if let Ok(dst) = IpNet::new(b, 32) {
                        out.push(synth(
                            table_id::LOCAL,
                            dst,
                            RouteType::Broadcast,
                            &iface.name,
                            src,
                            Scope::Link,
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The main-table prefix routes of each address (`proto kernel scope link`): used only
/// when the host's routes were not given at all, to know which device faces a subnet.
fn implicit_prefix_routes(host: &Host, v6: bool) -> Vec<Route> {
    let mut out = Vec::new();
    for iface in host
        .interfaces
        .iter()
        .filter(|i| i.link != LinkType::Loopback)
    {
        for a in iface
            .addrs
            .iter()
            .filter(|a| a.addr.is_ipv6() == v6 && !a.secondary)
        {
            out.push(synth(
                table_id::MAIN,
                a.network(),
                RouteType::Unicast,
                &iface.name,
                Some(a.addr),
                Scope::Link,
            ));
        }
    }
    out
}

fn synth(
    table: u32,
    dst: IpNet,
    route_type: RouteType,
    dev: &str,
    prefsrc: Option<IpAddr>,
    scope: Scope,
) -> Route {
    Route {
        table,
        dst,
        route_type,
        gateway: None,
        dev: Some(dev.to_string()),
        prefsrc,
        metric: 0,
        scope,
        protocol: Some("kernel".into()),
        nexthops: Vec::new(),
        // No source line: an implied route is not one of the host's (its decision carries
        // no route index), so nothing shows it.
        text: String::new(),
    }
}

pub(crate) trait RouteExt {
    fn dev_name(&self) -> Option<&str>;
    fn first_gateway(&self) -> Option<IpAddr>;
    fn uses_dev(&self, dev: &str) -> bool;
    fn is_local_delivery(&self) -> bool;
}

impl RouteExt for Route {
    fn dev_name(&self) -> Option<&str> {
        self.dev
            .as_deref()
            .or_else(|| self.nexthops.iter().find_map(|n| n.dev.as_deref()))
    }
    fn first_gateway(&self) -> Option<IpAddr> {
        self.gateway
            .or_else(|| self.nexthops.first().and_then(|n| n.gateway))
    }
    /// `fib_info_nh_uses_dev`: any next hop leaves by `dev`.
    fn uses_dev(&self, dev: &str) -> bool {
        self.dev.as_deref() == Some(dev)
            || self.nexthops.iter().any(|n| n.dev.as_deref() == Some(dev))
    }
    /// Local, broadcast, anycast and multicast routes deliver to this host on input.
    fn is_local_delivery(&self) -> bool {
        matches!(
            self.route_type,
            RouteType::Local | RouteType::Broadcast | RouteType::Anycast | RouteType::Multicast
        )
    }
}

// ---------------------------------------------------------------------------------------
// Addresses and interfaces.

fn is_loopback(host: &Host, iface: &str) -> bool {
    match host.interface(iface) {
        Some(i) => i.link == LinkType::Loopback,
        None => iface == "lo",
    }
}

fn loopback_name(host: &Host) -> String {
    host.interfaces
        .iter()
        .find(|i| i.link == LinkType::Loopback)
        .map(|i| i.name.clone())
        .unwrap_or_else(|| "lo".to_string())
}

fn is_loopback_addr(a: IpAddr) -> bool {
    a.is_loopback()
}

fn is_broadcast_or_multicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.is_broadcast() || a.is_multicast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}

fn is_local_multicast_v4(a: Ipv4Addr) -> bool {
    a.octets()[..3] == [224, 0, 0]
}

/// The interface whose connected subnet holds `dst` (longest prefix).
fn connected_dev(host: &Host, dst: IpAddr) -> Option<String> {
    host.interfaces
        .iter()
        .filter(|i| i.link != LinkType::Loopback)
        .flat_map(|i| i.addrs.iter().map(move |a| (i, a)))
        .filter(|(_, a)| a.addr.is_ipv6() == dst.is_ipv6() && a.network().contains(&dst))
        .max_by_key(|(_, a)| a.prefix_len)
        .map(|(i, _)| i.name.clone())
}

/// Source address selection on `dev` toward `target`: IPv4 `inet_select_addr` (a primary
/// address whose subnet holds the target, else the first primary address with a scope
/// wide enough); IPv6 a simplified `ipv6_dev_get_saddr` (same scope as the target, then
/// the longest common prefix, non-temporary first).
fn select_addr(host: &Host, dev: &str, target: IpAddr) -> Option<IpAddr> {
    let iface = host.interface(dev)?;
    let addrs: Vec<_> = iface
        .addrs
        .iter()
        .filter(|a| a.addr.is_ipv6() == target.is_ipv6())
        .collect();
    if target.is_ipv4() {
        let primary = || {
            addrs
                .iter()
                .filter(|a| !a.secondary && a.scope < Scope::Host)
        };
        primary()
            .find(|a| a.network().contains(&target))
            .or_else(|| primary().next())
            .or_else(|| addrs.iter().find(|a| a.network().contains(&target)))
            .map(|a| a.addr)
    } else {
        let want_link = match target {
            IpAddr::V6(t) => is_v6_link_local(t),
            _ => false,
        };
        addrs
            .iter()
            .filter(|a| matches!(a.addr, IpAddr::V6(x) if is_v6_link_local(x) == want_link && !x.is_loopback()))
            .max_by_key(|a| (common_prefix(a.addr, target), !a.temporary))
            .or_else(|| addrs.first())
            .map(|a| a.addr)
    }
}

fn any_global_addr(host: &Host, v6: bool) -> Option<IpAddr> {
    host.interfaces
        .iter()
        .filter(|i| i.link != LinkType::Loopback)
        .flat_map(|i| i.addrs.iter())
        .find(|a| a.addr.is_ipv6() == v6 && a.scope == Scope::Universe && !a.addr.is_loopback())
        .map(|a| a.addr)
}

fn is_v6_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

fn common_prefix(a: IpAddr, b: IpAddr) -> u32 {
    match (a, b) {
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a) ^ u128::from(b)).leading_zeros(),
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) ^ u32::from(b)).leading_zeros(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::hostkit::*;
    use model::host::RouteType;

    /// Story 1's router: tap0 faces 10.1.1.0/24 (z/OS), eno1 faces 10.1.0.0/24 (laptop).
    fn router() -> HostBuilder {
        host()
            .lo()
            .iface("tap0", &["10.1.1.1/24", "fd01::1/64"])
            .iface("eno1", &["10.1.0.1/24", "fd00::1/64"])
            .main("10.1.1.0/24", "tap0", None)
            .main("10.1.0.0/24", "eno1", None)
            .main("0.0.0.0/0", "eno1", Some("10.1.0.254"))
            .main("fd01::/64", "tap0", None)
            .main("fd00::/64", "eno1", None)
            .router()
    }

    fn syn_in(src: &str, dst: &str, iif: &str) -> Packet {
        tcp_syn(src, dst, 2175).iif(iif).build()
    }

    fn fwd(oif: &str, gw: Option<&str>) -> RouteKind {
        RouteKind::Forward {
            oif: oif.into(),
            gateway: gw.map(ip),
        }
    }

    #[test]
    fn forwards_by_connected_route() {
        let d = route_received(&router().build(), &syn_in("10.1.1.2", "10.1.0.2", "tap0"));
        assert_eq!(d.kind, fwd("eno1", None));
        assert_eq!(
            (d.table, d.rule_priority, d.assumed),
            (table_id::MAIN, Some(32766), false)
        );
    }

    #[test]
    fn longest_prefix_wins_over_default() {
        let h = router()
            .main("192.0.2.0/24", "tap0", Some("10.1.1.9"))
            .build();
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.2", "192.0.2.7", "eno1")).kind,
            fwd("tap0", Some("10.1.1.9"))
        );
        assert_eq!(
            route_received(&h, &syn_in("10.1.1.2", "198.51.100.1", "tap0")).kind,
            fwd("eno1", Some("10.1.0.254"))
        );
    }

    #[test]
    fn equal_prefix_lowest_metric_wins() {
        let h = router()
            .route(
                table_id::MAIN,
                "192.0.2.0/24",
                "eno1",
                Some("10.1.0.9"),
                200,
            )
            .route(
                table_id::MAIN,
                "192.0.2.0/24",
                "tap0",
                Some("10.1.1.9"),
                100,
            )
            .build();
        let d = route_received(&h, &syn_in("10.1.0.2", "192.0.2.7", "eno1"));
        assert_eq!(d.kind, fwd("tap0", Some("10.1.1.9")));
        assert_eq!(d.route, Some(h.routes.len() - 1));
    }

    #[test]
    fn fwmark_rule_selects_another_table() {
        let h = router()
            .default_rules()
            .rule(100, false, Some((0x1, 0xff)), RuleAction::Lookup(100))
            .route(100, "0.0.0.0/0", "tap0", Some("10.1.1.254"), 0)
            .build();
        let plain = syn_in("10.1.0.2", "198.51.100.1", "eno1");
        let marked = tcp_syn("10.1.0.2", "198.51.100.1", 2175)
            .iif("eno1")
            .mark(0x101)
            .build();
        assert_eq!(
            route_received(&h, &plain).kind,
            fwd("eno1", Some("10.1.0.254"))
        );
        let d = route_received(&h, &marked);
        assert_eq!(d.kind, fwd("tap0", Some("10.1.1.254")));
        assert_eq!((d.table, d.rule_priority), (100, Some(100)));
    }

    #[test]
    fn lookup_without_result_continues_with_next_rule() {
        // Table 100 only knows 192.0.2.0/24: other destinations fall through to main.
        let h = router()
            .default_rules()
            .rule(100, false, None, RuleAction::Lookup(100))
            .route(100, "192.0.2.0/24", "tap0", None, 0)
            .build();
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.2", "192.0.2.1", "eno1")).rule_priority,
            Some(100)
        );
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.2", "198.51.100.1", "eno1")).rule_priority,
            Some(32766)
        );
    }

    #[test]
    fn throw_route_continues_with_next_rule() {
        let h = router()
            .default_rules()
            .rule(100, false, None, RuleAction::Lookup(100))
            .typed_route(100, "0.0.0.0/0", RouteType::Throw, None, None, 0)
            .build();
        let d = route_received(&h, &syn_in("10.1.0.2", "198.51.100.1", "eno1"));
        assert_eq!(
            (d.kind, d.table),
            (fwd("eno1", Some("10.1.0.254")), table_id::MAIN)
        );
    }

    #[test]
    fn suppress_prefixlength_ignores_the_default_route() {
        let mut h = router().default_rules().build();
        // `ip rule add table main suppress_prefixlength 0` at 90, then a VPN table at 91.
        h.rules.push(PolicyRule {
            suppress_prefixlen: Some(0),
            ..default_rules(false)[1].clone()
        });
        h.rules.last_mut().unwrap().priority = 90;
        let h =
            HostBuilderExt(h)
                .rule(91, RuleAction::Lookup(51820))
                .route(51820, "0.0.0.0/0", "tap0");
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.2", "198.51.100.1", "eno1")).kind,
            fwd("tap0", None)
        );
        assert_eq!(
            route_received(&h, &syn_in("10.1.1.2", "10.1.0.2", "tap0")).kind,
            fwd("eno1", None)
        );
    }

    /// Appends to an already built host.
    struct HostBuilderExt(Host);
    impl HostBuilderExt {
        fn rule(mut self, priority: u32, action: RuleAction) -> Self {
            let mut r = default_rules(false)[0].clone();
            r.priority = priority;
            r.action = action;
            self.0.rules.push(r);
            self
        }
        fn route(mut self, table: u32, dst: &str, dev: &str) -> Host {
            let mut r = self.0.routes[0].clone();
            r.table = table;
            r.dst = net(dst);
            r.dev = Some(dev.into());
            r.gateway = None;
            self.0.routes.push(r);
            self.0
        }
    }

    #[test]
    fn goto_skips_to_the_target_rule() {
        let h = router()
            .default_rules()
            .rule(10, false, Some((0x2, 0x2)), RuleAction::Goto(30))
            .rule(20, false, None, RuleAction::Blackhole)
            .rule(30, false, None, RuleAction::Lookup(table_id::MAIN))
            .build();
        let marked = tcp_syn("10.1.0.2", "198.51.100.1", 2175)
            .iif("eno1")
            .mark(2)
            .build();
        assert_eq!(route_received(&h, &marked).rule_priority, Some(30));
        let plain = syn_in("10.1.0.2", "198.51.100.1", "eno1");
        assert_eq!(
            route_received(&h, &plain).kind,
            RouteKind::Failed(RoutingFailure::Blackhole)
        );
    }

    #[test]
    fn blackhole_prohibit_unreachable_routes_fail() {
        let h = router()
            .typed_route(
                table_id::MAIN,
                "192.0.2.0/26",
                RouteType::Blackhole,
                None,
                None,
                0,
            )
            .typed_route(
                table_id::MAIN,
                "192.0.2.64/26",
                RouteType::Prohibit,
                None,
                None,
                0,
            )
            .typed_route(
                table_id::MAIN,
                "192.0.2.128/26",
                RouteType::Unreachable,
                None,
                None,
                0,
            )
            .build();
        let kind = |dst| route_received(&h, &syn_in("10.1.1.2", dst, "tap0")).kind;
        assert_eq!(
            kind("192.0.2.1"),
            RouteKind::Failed(RoutingFailure::Blackhole)
        );
        assert_eq!(
            kind("192.0.2.65"),
            RouteKind::Failed(RoutingFailure::Prohibit)
        );
        assert_eq!(
            kind("192.0.2.129"),
            RouteKind::Failed(RoutingFailure::Unreachable)
        );
    }

    #[test]
    fn no_matching_route_is_no_route() {
        let h = host()
            .iface("eth0", &["10.0.0.1/24"])
            .main("10.0.0.0/24", "eth0", None)
            .router()
            .build();
        let d = route_received(&h, &syn_in("10.0.0.2", "192.0.2.1", "eth0"));
        assert_eq!(d.kind, RouteKind::Failed(RoutingFailure::NoRoute));
    }

    #[test]
    fn addressed_to_the_host_is_local_via_implied_local_table() {
        let r =
            route_received_explained(&router().build(), &syn_in("10.1.1.2", "10.1.0.1", "tap0"));
        assert_eq!(r.decision.kind, RouteKind::Local);
        assert_eq!(
            (r.decision.table, r.decision.route),
            (table_id::LOCAL, None)
        );
        assert!(r
            .assumptions
            .contains(&Assumption::LocalRoutesFromAddresses { v6: false }));
    }

    #[test]
    fn given_local_table_route_is_used() {
        let h = router()
            .typed_route(
                table_id::LOCAL,
                "10.1.1.1/32",
                RouteType::Local,
                Some("tap0"),
                None,
                0,
            )
            .build();
        let r = route_received_explained(&h, &syn_in("10.1.1.2", "10.1.1.1", "tap0"));
        assert_eq!(
            (r.decision.kind, r.decision.route),
            (RouteKind::Local, Some(h.routes.len() - 1))
        );
        assert!(r
            .assumptions
            .iter()
            .all(|a| !matches!(a, Assumption::LocalRoutesFromAddresses { .. })));
    }

    #[test]
    fn forwarding_off_v4_reads_the_inbound_device() {
        let h = router()
            .sysctl("net.ipv4.conf.tap0.forwarding", "0")
            .build();
        let d = route_received(&h, &syn_in("10.1.1.2", "10.1.0.2", "tap0"));
        assert_eq!(
            d.kind,
            RouteKind::Failed(RoutingFailure::ForwardingDisabled {
                sysctl: "net.ipv4.conf.tap0.forwarding".into()
            })
        );
        // Local delivery does not need forwarding.
        assert_eq!(
            route_received(&h, &syn_in("10.1.1.2", "10.1.1.1", "tap0")).kind,
            RouteKind::Local
        );
    }

    #[test]
    fn forwarding_on_for_the_inbound_device_wins_over_ip_forward() {
        // Measured in a netns on kernel 6.18: ip_forward=0 with conf.lan0.forwarding=1
        // still forwards packets received on lan0 (IN_DEV_FORWARD reads the device).
        let h = router()
            .sysctl("net.ipv4.ip_forward", "0")
            .sysctl("net.ipv4.conf.all.forwarding", "0")
            .sysctl("net.ipv4.conf.tap0.forwarding", "1")
            .build();
        assert_eq!(
            route_received(&h, &syn_in("10.1.1.2", "10.1.0.2", "tap0")).kind,
            fwd("eno1", None)
        );
    }

    #[test]
    fn forwarding_off_v4_hides_route_failures() {
        // With forwarding off, ip_error sends nothing: the decision says "forwarding off",
        // not "unreachable".
        let h = router()
            .typed_route(
                table_id::MAIN,
                "192.0.2.0/24",
                RouteType::Unreachable,
                None,
                None,
                0,
            )
            .sysctl("net.ipv4.conf.tap0.forwarding", "0")
            .build();
        let d = route_received(&h, &syn_in("10.1.1.2", "192.0.2.1", "tap0"));
        assert!(matches!(
            d.kind,
            RouteKind::Failed(RoutingFailure::ForwardingDisabled { .. })
        ));
    }

    #[test]
    fn forwarding_off_v6() {
        let h = router().sysctl("net.ipv6.conf.all.forwarding", "0").build();
        let d = route_received(&h, &syn_in("fd01::2", "fd00::2", "tap0"));
        assert_eq!(
            d.kind,
            RouteKind::Failed(RoutingFailure::ForwardingDisabled {
                sysctl: "net.ipv6.conf.all.forwarding".into()
            })
        );
    }

    #[test]
    fn forwarding_v6_ignores_per_device_forwarding_but_honours_force_forwarding() {
        let h = router()
            .sysctl("net.ipv6.conf.tap0.forwarding", "0")
            .build();
        assert_eq!(
            route_received(&h, &syn_in("fd01::2", "fd00::2", "tap0")).kind,
            fwd("eno1", None)
        );
        let h = router()
            .sysctl("net.ipv6.conf.all.forwarding", "0")
            .sysctl("net.ipv6.conf.tap0.force_forwarding", "1")
            .build();
        assert_eq!(
            route_received(&h, &syn_in("fd01::2", "fd00::2", "tap0")).kind,
            fwd("eno1", None)
        );
    }

    #[test]
    fn v6_without_route_is_no_route_even_when_forwarding_is_off() {
        let h = router().sysctl("net.ipv6.conf.all.forwarding", "0").build();
        let d = route_received(&h, &syn_in("fd01::2", "2001:db8::1", "tap0"));
        assert_eq!(d.kind, RouteKind::Failed(RoutingFailure::NoRoute));
    }

    #[test]
    fn rp_filter_strict_drops_a_source_routed_elsewhere() {
        // 10.1.0.50 is routed out of eno1, but arrives on tap0.
        let h = router().sysctl("net.ipv4.conf.all.rp_filter", "1").build();
        let d = route_received(&h, &syn_in("10.1.0.50", "10.1.0.2", "tap0"));
        assert_eq!(
            d.kind,
            RouteKind::Failed(RoutingFailure::RpFilter {
                mode: 1,
                sysctl: "net.ipv4.conf.all.rp_filter".into()
            })
        );
        assert_eq!(
            route_received(&h, &syn_in("10.1.1.2", "10.1.0.2", "tap0")).kind,
            fwd("eno1", None)
        );
    }

    #[test]
    fn rp_filter_loose_needs_only_some_route_back() {
        let h = router().sysctl("net.ipv4.conf.tap0.rp_filter", "2").build();
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.50", "10.1.0.2", "tap0")).kind,
            fwd("eno1", None)
        );
        // No default route: a source nobody routes fails even loose mode.
        let h = host()
            .iface("tap0", &["10.1.1.1/24"])
            .iface("eno1", &["10.1.0.1/24"])
            .main("10.1.1.0/24", "tap0", None)
            .main("10.1.0.0/24", "eno1", None)
            .router()
            .sysctl("net.ipv4.conf.tap0.rp_filter", "2")
            .build();
        let d = route_received(&h, &syn_in("192.0.2.1", "10.1.0.2", "tap0"));
        assert!(matches!(
            d.kind,
            RouteKind::Failed(RoutingFailure::RpFilter { mode: 2, .. })
        ));
    }

    #[test]
    fn rp_filter_uses_the_max_of_all_and_device() {
        let h = router()
            .sysctl("net.ipv4.conf.all.rp_filter", "2")
            .sysctl("net.ipv4.conf.tap0.rp_filter", "1")
            .build();
        let d = route_received(&h, &syn_in("10.1.0.50", "10.1.0.2", "tap0"));
        assert!(matches!(
            d.kind,
            RouteKind::Failed(RoutingFailure::RpFilter { mode: 2, .. })
        )
        .not());
        let d = route_received(&h, &syn_in("192.0.2.1", "10.1.0.2", "eno1"));
        assert!(matches!(d.kind, RouteKind::Failed(RoutingFailure::RpFilter { .. })).not());
    }

    trait Not {
        fn not(self) -> bool;
    }
    impl Not for bool {
        fn not(self) -> bool {
            !self
        }
    }

    #[test]
    fn martian_loopback_source_from_eth() {
        let h = router().build();
        let d = route_received(&h, &syn_in("127.0.0.1", "10.1.0.2", "tap0"));
        assert_eq!(d.kind, RouteKind::Failed(RoutingFailure::MartianSource));
        // route_localnet lets 127/8 through routing; 127.0.0.1 itself is still one of lo's
        // addresses, which fib_validate_source refuses as a source.
        let h = router()
            .sysctl("net.ipv4.conf.tap0.route_localnet", "1")
            .build();
        assert_eq!(
            route_received(&h, &syn_in("127.0.0.2", "10.1.0.2", "tap0")).kind,
            fwd("eno1", None)
        );
        assert_eq!(
            route_received(&h, &syn_in("127.0.0.1", "10.1.0.2", "tap0")).kind,
            RouteKind::Failed(RoutingFailure::MartianSource)
        );
    }

    /// Found by the differential tester (issue 3 part 8): a subnet broadcast source is
    /// martian when the packet would leave by the device it came in by (the full source
    /// check runs for a would-be redirect), and fine otherwise.
    #[test]
    fn broadcast_source_hairpin_is_martian() {
        let h = router().build();
        let d = route_received(&h, &syn_in("10.1.1.255", "10.1.1.41", "tap0"));
        assert_eq!(d.kind, RouteKind::Failed(RoutingFailure::MartianSource));
        let d = route_received(&h, &syn_in("10.1.1.255", "10.1.0.2", "tap0"));
        assert_eq!(d.kind, fwd("eno1", None));
        let h = router()
            .sysctl("net.ipv4.conf.all.send_redirects", "0")
            .sysctl("net.ipv4.conf.tap0.send_redirects", "0")
            .build();
        let d = route_received(&h, &syn_in("10.1.1.255", "10.1.1.41", "tap0"));
        assert_eq!(d.kind, fwd("tap0", None));
    }

    /// Found by the corpus agreement run (issue 3 part 9): `ip6_forward` drops packets
    /// with an unspecified, multicast, loopback or link-local source.
    #[test]
    fn ipv6_forwarding_refuses_scoped_sources() {
        let h = router().build();
        for src in ["::", "fe80::5c", "ff02::1", "::1"] {
            let d = route_received(&h, &syn_in(src, "fd00::2", "tap0"));
            assert_eq!(
                d.kind,
                RouteKind::Failed(RoutingFailure::MartianSource),
                "{src}"
            );
        }
        let d = route_received(&h, &syn_in("fd01::2", "fd00::2", "tap0"));
        assert_eq!(d.kind, fwd("eno1", None));
    }

    #[test]
    fn martian_multicast_and_zero_sources() {
        let h = router().build();
        for src in ["224.0.0.5", "255.255.255.255", "0.0.0.0"] {
            let d = route_received(&h, &syn_in(src, "10.1.0.2", "tap0"));
            assert_eq!(
                d.kind,
                RouteKind::Failed(RoutingFailure::MartianSource),
                "{src}"
            );
        }
    }

    /// `ip_route_input_slow`: a zero or (without route_localnet) loopback destination is a
    /// martian destination, named as such; with both sides loopback the destination is.
    #[test]
    fn martian_destination_is_told_from_martian_source() {
        let h = router().build();
        for (src, dst, want) in [
            ("10.1.1.2", "0.0.0.0", RoutingFailure::MartianDestination),
            ("10.1.1.2", "127.0.0.1", RoutingFailure::MartianDestination),
            ("127.0.0.1", "127.0.0.1", RoutingFailure::MartianDestination),
            ("0.0.0.0", "10.1.0.2", RoutingFailure::MartianSource),
            ("fd01::2", "::1", RoutingFailure::MartianDestination),
        ] {
            let d = route_received(&h, &syn_in(src, dst, "tap0"));
            assert_eq!(d.kind, RouteKind::Failed(want), "{src} -> {dst}");
        }
    }

    /// A source whose route back is a blackhole is martian (`e_inval`), and the reverse
    /// lookup that found the blackhole is told; a strict miss names the other interface.
    #[test]
    fn reverse_lookups_say_why() {
        let h = router()
            .typed_route(
                table_id::MAIN,
                "192.0.2.0/24",
                RouteType::Blackhole,
                None,
                None,
                0,
            )
            .sysctl("net.ipv4.conf.tap0.send_redirects", "0")
            .build();
        let p = syn_in("192.0.2.7", "10.1.0.2", "tap0");
        let l = martian_source_lookup(&h, &p).expect("a lookup");
        assert_eq!(l.miss, RpfMiss::NotUnicast);
        assert!(matches!(
            l.steps.last().map(|s| &s.result),
            Some(FibStepResult::Found { route, .. }) if route.route_type == RouteType::Blackhole
        ));
        let l = reverse_lookup(
            &h,
            &syn_in("10.1.0.50", "10.1.0.2", "tap0"),
            false,
            false,
            false,
        )
        .expect("strict miss");
        assert_eq!(
            l.miss,
            RpfMiss::OtherInterface {
                via: Some("eno1".into())
            }
        );
        assert_eq!(l.steps.len(), 2, "local, then main: {:?}", l.steps);
        // Loose: eno1 is a route back, the check passes, nothing to explain.
        assert_eq!(
            reverse_lookup(
                &h,
                &syn_in("10.1.0.50", "10.1.0.2", "tap0"),
                false,
                true,
                false
            ),
            None
        );
    }

    #[test]
    fn own_address_as_source_is_martian_unless_accept_local() {
        let h = router().build();
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.1", "10.1.1.1", "tap0")).kind,
            RouteKind::Failed(RoutingFailure::MartianSource)
        );
        let h = router()
            .sysctl("net.ipv4.conf.tap0.accept_local", "1")
            .build();
        assert_eq!(
            route_received(&h, &syn_in("10.1.0.1", "10.1.1.1", "tap0")).kind,
            RouteKind::Local
        );
    }

    #[test]
    fn v6_loopback_source_is_dropped_before_prerouting() {
        let h = router().build();
        let p = syn_in("::1", "fd00::2", "tap0");
        assert_eq!(
            dropped_before_prerouting(&h, &p),
            Some(RoutingFailure::MartianSource)
        );
        assert_eq!(
            route_received(&h, &p).kind,
            RouteKind::Failed(RoutingFailure::MartianSource)
        );
        assert_eq!(
            dropped_before_prerouting(&h, &syn_in("fd01::2", "fd00::2", "tap0")),
            None
        );
    }

    #[test]
    fn link_layer_broadcast_is_never_forwarded_but_may_be_local() {
        let h = router().build();
        let mut p = tcp_syn("10.1.1.2", "10.1.0.2", 22).iif("tap0").build();
        p.pkttype = PktType::Broadcast;
        assert_eq!(
            route_received(&h, &p).kind,
            RouteKind::Failed(RoutingFailure::NotUnicastFrame {
                pkttype: PktType::Broadcast
            })
        );
        let mut p = tcp_syn("10.1.1.2", "10.1.1.1", 22).iif("tap0").build();
        p.pkttype = PktType::Multicast;
        assert_eq!(route_received(&h, &p).kind, RouteKind::Local);
    }

    #[test]
    fn ttl_1_fails_when_forwarding_not_when_local() {
        let h = router().build();
        let p = tcp_syn("10.1.1.2", "10.1.0.2", 22)
            .iif("tap0")
            .ttl(1)
            .build();
        assert_eq!(
            route_received(&h, &p).kind,
            RouteKind::Failed(RoutingFailure::TtlExceeded)
        );
        let p = tcp_syn("10.1.1.2", "10.1.1.1", 22)
            .iif("tap0")
            .ttl(1)
            .build();
        assert_eq!(route_received(&h, &p).kind, RouteKind::Local);
        let p = tcp_syn("fd01::2", "fd00::2", 22).iif("tap0").ttl(1).build();
        assert_eq!(
            route_received(&h, &p).kind,
            RouteKind::Failed(RoutingFailure::TtlExceeded)
        );
    }

    #[test]
    fn no_host_state_follows_the_packet_spec_as_assumed() {
        let h = Host::default();
        let p = tcp_syn("10.1.1.2", "10.1.0.2", 22)
            .iif("tap0")
            .oif("eno1")
            .build();
        let r = route_received_explained(&h, &p);
        assert_eq!(r.decision.kind, fwd("eno1", None));
        assert!(r.decision.assumed);
        assert!(r.assumptions.contains(&Assumption::SysctlAssumed {
            key: "net.ipv4.conf.tap0.forwarding".into(),
            value: "1".into()
        }));
        let d = route_received(&h, &tcp_syn("10.1.1.2", "10.1.0.2", 22).iif("tap0").build());
        assert_eq!(d.kind, RouteKind::Local);
        assert!(d.assumed);
    }

    #[test]
    fn addresses_without_routes_know_local_destinations() {
        let h = host()
            .iface("eth0", &["10.0.0.1/24"])
            .iface("eth1", &["10.9.0.1/24"])
            .build();
        let d = route_received(&h, &tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build());
        assert_eq!((d.kind, d.assumed), (RouteKind::Local, true));
        // Not ours: forwarded, to the device of its connected subnet.
        let d = route_received(&h, &tcp_syn("10.0.0.2", "10.9.0.7", 22).iif("eth0").build());
        assert_eq!((d.kind, d.assumed), (fwd("eth1", None), true));
    }

    #[test]
    fn output_to_own_address_goes_over_lo() {
        let h = router().build();
        let p = tcp_syn("10.1.1.1", "10.1.0.1", 22).build();
        let d = route_local(&h, &p);
        assert!(output_is_local(&d));
        assert_eq!(
            d.kind,
            RouteKind::Output {
                oif: "lo".into(),
                gateway: None,
                src: Some(ip("10.1.0.1"))
            }
        );
    }

    #[test]
    fn output_unicast_picks_device_gateway_and_source() {
        let h = router().build();
        let d = route_local(&h, &tcp_syn("0.0.0.0", "198.51.100.1", 443).build());
        assert_eq!(
            d.kind,
            RouteKind::Output {
                oif: "eno1".into(),
                gateway: Some(ip("10.1.0.254")),
                src: Some(ip("10.1.0.1"))
            }
        );
        let d = route_local(&h, &tcp_syn("0.0.0.0", "10.1.1.7", 443).build());
        assert_eq!(
            d.kind,
            RouteKind::Output {
                oif: "tap0".into(),
                gateway: None,
                src: Some(ip("10.1.1.1"))
            }
        );
    }

    #[test]
    fn output_route_failures() {
        let h = host()
            .lo()
            .iface("eth0", &["10.0.0.1/24"])
            .main("10.0.0.0/24", "eth0", None)
            .typed_route(
                table_id::MAIN,
                "192.0.2.0/24",
                RouteType::Blackhole,
                None,
                None,
                0,
            )
            .build();
        let kind = |dst| route_local(&h, &tcp_syn("10.0.0.1", dst, 22).build()).kind;
        assert_eq!(
            kind("198.51.100.1"),
            RouteKind::Failed(RoutingFailure::NoRoute)
        );
        assert_eq!(
            kind("192.0.2.1"),
            RouteKind::Failed(RoutingFailure::Blackhole)
        );
    }

    #[test]
    fn addr_type_local_broadcast_multicast_unicast() {
        let h = router().build();
        assert_eq!(addr_type(&h, ip("10.1.1.1"), None), rtn::LOCAL);
        assert_eq!(addr_type(&h, ip("127.0.0.53"), None), rtn::LOCAL);
        assert_eq!(addr_type(&h, ip("10.1.1.255"), None), rtn::BROADCAST);
        assert_eq!(addr_type(&h, ip("255.255.255.255"), None), rtn::BROADCAST);
        assert_eq!(addr_type(&h, ip("224.0.0.251"), None), rtn::MULTICAST);
        assert_eq!(addr_type(&h, ip("10.1.1.2"), None), rtn::UNICAST);
        assert_eq!(addr_type(&h, ip("fd00::1"), None), rtn::LOCAL);
        assert_eq!(addr_type(&h, ip("ff02::1"), None), rtn::MULTICAST);
        // --limit-iface-in: eno1's address seen from tap0 is not local there.
        assert_eq!(addr_type(&h, ip("10.1.0.1"), Some("tap0")), rtn::UNICAST);
        assert_eq!(addr_type(&h, ip("10.1.0.1"), Some("eno1")), rtn::LOCAL);
    }

    #[test]
    fn addr_type_unknown_without_addresses_or_routes() {
        let h = Host::default();
        assert_eq!(addr_type_known(&h, ip("10.1.1.1"), None), None);
        assert_eq!(addr_type(&h, ip("10.1.1.1"), None), rtn::UNSPEC);
        assert_eq!(
            addr_type_known(&h, ip("224.0.0.1"), None),
            Some(rtn::MULTICAST)
        );
    }

    #[test]
    fn rpfilter_match_strict_and_loose() {
        let h = router().build();
        let good = syn_in("10.1.1.2", "10.1.0.2", "tap0");
        let asym = syn_in("10.1.0.50", "10.1.0.2", "tap0");
        assert_eq!(rpfilter_passes(&h, &good, false, false, false), Some(true));
        assert_eq!(rpfilter_passes(&h, &asym, false, false, false), Some(false));
        assert_eq!(rpfilter_passes(&h, &asym, true, false, false), Some(true));
        assert_eq!(
            rpfilter_passes(&Host::default(), &good, false, false, false),
            None
        );
    }

    #[test]
    fn icmp_error_source_is_the_routers_address_toward_the_sender() {
        // Story 1: 10.1.1.1 -> 10.1.1.2 ICMP port unreachable.
        let h = router().build();
        assert_eq!(
            icmp_error_source(&h, &syn_in("10.1.1.2", "10.1.0.2", "tap0")),
            Some(ip("10.1.1.1"))
        );
        // A sender behind the default route: the address on eno1.
        assert_eq!(
            icmp_error_source(&h, &syn_in("198.51.100.9", "10.1.1.2", "eno1")),
            Some(ip("10.1.0.1"))
        );
    }

    #[test]
    fn icmp_error_source_inbound_ifaddr_sysctl() {
        // Sender 198.51.100.9 arrives on tap0 but its route back leaves by eno1.
        let p = syn_in("198.51.100.9", "10.1.0.2", "tap0");
        assert_eq!(
            icmp_error_source(&router().build(), &p),
            Some(ip("10.1.0.1"))
        );
        let h = router()
            .sysctl("net.ipv4.icmp_errors_use_inbound_ifaddr", "1")
            .build();
        assert_eq!(icmp_error_source(&h, &p), Some(ip("10.1.1.1")));
    }
}
