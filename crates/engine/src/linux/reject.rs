//! What goes back to the sender when a packet is refused: a REJECT's RST or ICMP error,
//! or the stack's own answer (closed port, no route, TTL exceeded), and from which address.
//!
//! Kernel sources followed: `nft_reject_inet_eval` / `nft_reject_icmp_code(v6)` (icmpx
//! mapping), `nf_send_reset` and `nf_send_unreach(6)` (net/ipv{4,6}/netfilter/nf_reject_*.c),
//! `__icmp_send` (net/ipv4/icmp.c), `icmp6_send` (net/ipv6/icmp.c), `ip_error` (routing
//! failures on input, IPv4), `ip6_pkt_discard` / `ip6_pkt_prohibit` (IPv6).
//!
//! Source addresses:
//! - a TCP RST made by a REJECT carries the destination the sender used: the RST is built
//!   from the (possibly DNATed) packet and conntrack undoes the NAT on the way out;
//! - an ICMP error about a packet addressed to this host comes from that destination
//!   (`__icmp_send`: `saddr = iph->daddr` when the route is `RTCF_LOCAL`), again as the
//!   sender addressed it;
//! - an ICMP error about a *forwarded* packet comes from this router's address on the
//!   route back to the sender (IPv4; with `icmp_errors_use_inbound_ifaddr=1` the inbound
//!   interface's) or chosen on the inbound interface (IPv6): [`crate::linux::route::icmp_error_source`].
//!   When the packet had been DNATed, the error carries the packet's conntrack
//!   (`icmp_glue_bits` calls `nf_ct_attach`) and NAT rewrites its outer source back to the
//!   original destination, so the sender sees the address it sent to (measured on kernel
//!   6.18: DNAT of 10.1.1.100:1222 to a server behind the router, REJECT in forward, the
//!   client got port unreachable from 10.1.1.100, not from the router's primary 10.1.1.1);
//! - an ICMP error about a packet this host generated goes to the host itself: the route
//!   back is local and source selection picks the packet's own source address (measured:
//!   an OUTPUT reject of 10.1.0.1 -> 10.1.0.2 came back as 10.1.0.1 -> 10.1.0.1).
//!
//! Verified in network namespaces on kernel 6.18 (router forwarding between two veths):
//! every row of KERNEL-FACTS' table, story 1's source (port unreachable from the router's
//! address facing the sender), and the routing failures listed in `routing_failed`. Note
//! the kernel rate-limits these errors per sender (`ip_error`: 1/s, burst 5; `icmp_send`:
//! `icmp_ratelimit`): in a burst of failures some errors are not sent.
//!
//! When the host's addresses are unknown and the error comes from "this router", `from` is
//! [`AnswerSource::RouteBack`]: this host's address on the route back to the sender, which
//! the input did not tell (never 0.0.0.0 or ::, which no answer carries).

use crate::linux::route;
use crate::trace::{
    AnswerSource, Fate, Listener, Response, ResponseKind, RouteDecision, RouteKind, RoutingFailure,
};
use model::expr::Reject;
use model::packet::{Fragment, PktType, TcpFlags, L4};
use model::{Hook, Host, Packet};
use std::net::IpAddr;

/// ICMP type numbers used here.
mod icmp {
    pub const DEST_UNREACH: u8 = 3;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const NET_UNREACH: u8 = 0;
    pub const HOST_UNREACH: u8 = 1;
    pub const PORT_UNREACH: u8 = 3;
    pub const FRAG_NEEDED: u8 = 4;
    pub const PKT_FILTERED: u8 = 13;
}

/// ICMPv6 type numbers used here.
mod icmp6 {
    pub const DEST_UNREACH: u8 = 1;
    pub const TIME_EXCEED: u8 = 3;
    pub const PKT_TOOBIG: u8 = 2;
    pub const NOROUTE: u8 = 0;
    pub const ADM_PROHIBITED: u8 = 1;
    pub const ADDR_UNREACH: u8 = 3;
    pub const PORT_UNREACH: u8 = 4;
}

/// The packet sent back for `fate` (a rejected packet, a closed local port, a routing
/// failure), or `None` when nothing is sent (drop, accept, open port).
/// `packet` is the packet as the deciding hook saw it; `original` as it was sent.
pub fn response(
    host: &Host,
    original: &Packet,
    packet: &Packet,
    fate: &Fate,
    hook: Option<Hook>,
    route: Option<&RouteDecision>,
) -> Option<Response> {
    match fate {
        Fate::Rejected { with } => rejected(host, original, packet, *with, hook, route),
        Fate::Delivered {
            listener: Listener::Closed,
        } => closed_port(original, packet),
        Fate::RoutingFailed { reason } => routing_failed(host, original, packet, reason, route),
        _ => None,
    }
}

/// The ICMP (type, code) an `icmpx` code stands for in `packet`'s family
/// (`nft_reject_icmp_code` / `nft_reject_icmpv6_code`).
pub fn icmpx_code(icmpx: u8, v6: bool) -> Option<u8> {
    Some(match (icmpx, v6) {
        (0, false) => icmp::NET_UNREACH,
        (1, false) => icmp::PORT_UNREACH,
        (2, false) => icmp::HOST_UNREACH,
        (3, false) => icmp::PKT_FILTERED,
        (0, true) => icmp6::NOROUTE,
        (1, true) => icmp6::PORT_UNREACH,
        (2, true) => icmp6::ADDR_UNREACH,
        (3, true) => icmp6::ADM_PROHIBITED,
        _ => return None,
    })
}

/// The packet a REJECT sends, per family. `Icmp(code)` / `Icmpv6(code)` send the code as
/// given in whichever family the packet is (as `nft_reject_inet_eval` does).
pub fn reject_kind(with: Reject, v6: bool) -> Option<ResponseKind> {
    let unreach = |code| {
        if v6 {
            ResponseKind::Icmpv6 {
                icmp_type: icmp6::DEST_UNREACH,
                code,
            }
        } else {
            ResponseKind::Icmp {
                icmp_type: icmp::DEST_UNREACH,
                code,
            }
        }
    };
    Some(match with {
        Reject::TcpReset => ResponseKind::TcpRst,
        Reject::Icmp(c) | Reject::Icmpv6(c) => unreach(c),
        Reject::Icmpx(x) => unreach(icmpx_code(x, v6)?),
    })
}

fn rejected(
    host: &Host,
    original: &Packet,
    packet: &Packet,
    with: Reject,
    hook: Option<Hook>,
    route: Option<&RouteDecision>,
) -> Option<Response> {
    let kind = reject_kind(with, packet.is_ipv6())?;
    if kind == ResponseKind::TcpRst {
        // nf_send_reset: TCP only, never for an RST, never for a later fragment or a
        // broadcast/multicast destination.
        let L4::Tcp { flags, .. } = packet.l4 else {
            return None;
        };
        if flags.contains(TcpFlags::RST) || !packet.has_transport_header() || !unicast_dst(packet) {
            return None;
        }
        return Some(Response {
            kind,
            from: AnswerSource::Addr(original.dst),
            to: original.src,
            by_stack: false,
        });
    }
    if !icmp_error_allowed(packet) {
        return None;
    }
    let from = icmp_source(host, original, packet, hook, route);
    Some(Response {
        kind,
        from,
        to: original.src,
        by_stack: false,
    })
}

/// No socket: TCP answers with an RST (`tcp_v4_send_reset`), UDP with ICMP port
/// unreachable (`__udp4_lib_rcv`), both from the address the sender used.
fn closed_port(original: &Packet, packet: &Packet) -> Option<Response> {
    let kind = match packet.l4 {
        L4::Tcp { flags, .. } => {
            if flags.contains(TcpFlags::RST) {
                return None;
            }
            ResponseKind::TcpRst
        }
        L4::Udp { .. } => {
            if !icmp_error_allowed(packet) {
                return None;
            }
            if packet.is_ipv6() {
                ResponseKind::Icmpv6 {
                    icmp_type: icmp6::DEST_UNREACH,
                    code: icmp6::PORT_UNREACH,
                }
            } else {
                ResponseKind::Icmp {
                    icmp_type: icmp::DEST_UNREACH,
                    code: icmp::PORT_UNREACH,
                }
            }
        }
        // SCTP answers with an ABORT chunk, which ResponseKind does not model; other
        // protocols have no port. Nothing claimed.
        _ => return None,
    };
    Some(Response {
        kind,
        from: AnswerSource::Addr(original.dst),
        to: original.src,
        by_stack: true,
    })
}

/// What the kernel sends when routing a received packet fails (IPv4 `ip_error`, which runs
/// only when the inbound device forwards; IPv6 the route's discard function and
/// `ip6_forward`). Locally generated packets get no packet: their socket call fails.
fn routing_failed(
    host: &Host,
    original: &Packet,
    packet: &Packet,
    reason: &RoutingFailure,
    route: Option<&RouteDecision>,
) -> Option<Response> {
    packet.iif.as_ref()?;
    let v6 = packet.is_ipv6();
    // Measured on kernel 6.18 through a forwarding router: no route (and an `ip rule ...
    // unreachable`, which route.rs reports as NoRoute) 3/0, unreachable route 3/1,
    // prohibit route or rule 3/13, blackhole nothing, TTL 1 11/0; IPv6 no route and
    // unreachable route 1/0 (also with forwarding off), prohibit 1/1, hop limit 3/0.
    let _ = route;
    let (t, code) = match (reason, v6) {
        (RoutingFailure::NoRoute, false) => (icmp::DEST_UNREACH, icmp::NET_UNREACH),
        (RoutingFailure::Unreachable, false) => (icmp::DEST_UNREACH, icmp::HOST_UNREACH),
        (RoutingFailure::Prohibit, false) => (icmp::DEST_UNREACH, icmp::PKT_FILTERED),
        (RoutingFailure::TtlExceeded, false) => (icmp::TIME_EXCEEDED, 0),
        (RoutingFailure::TooBig { .. }, false) => (icmp::DEST_UNREACH, icmp::FRAG_NEEDED),
        (RoutingFailure::TooBig { .. }, true) => (icmp6::PKT_TOOBIG, 0),
        // ip6_null_entry and unreachable routes: ip6_pkt_discard, ICMPV6_NOROUTE.
        (RoutingFailure::NoRoute | RoutingFailure::Unreachable, true) => {
            (icmp6::DEST_UNREACH, icmp6::NOROUTE)
        }
        (RoutingFailure::Prohibit, true) => (icmp6::DEST_UNREACH, icmp6::ADM_PROHIBITED),
        (RoutingFailure::TtlExceeded, true) => (icmp6::TIME_EXCEED, 0),
        // Blackhole: silent. Forwarding off: ip_error / ip6_forward drop silently.
        // rp_filter, martians and non-unicast frames: dropped without a word.
        _ => return None,
    };
    if !icmp_error_allowed(packet) {
        return None;
    }
    let kind = if v6 {
        ResponseKind::Icmpv6 { icmp_type: t, code }
    } else {
        ResponseKind::Icmp { icmp_type: t, code }
    };
    // icmp_glue_bits attaches the offending packet's conntrack to the error, so a DNATed
    // packet's error leaves with the original destination as its source.
    let from = if original.dst != packet.dst {
        AnswerSource::Addr(original.dst)
    } else {
        route::icmp_error_from(host, packet)
    };
    Some(Response {
        kind,
        from,
        to: original.src,
        by_stack: true,
    })
}

/// The source address of an ICMP error about `packet`.
fn icmp_source(
    host: &Host,
    original: &Packet,
    packet: &Packet,
    hook: Option<Hook>,
    route: Option<&RouteDecision>,
) -> AnswerSource {
    // Generated here: the error goes back to this host, from the packet's own source.
    if packet.iif.is_none() || matches!(hook, Some(Hook::Output)) {
        return AnswerSource::Addr(original.src);
    }
    let to_us = match hook {
        Some(Hook::Input) => true,
        Some(Hook::Forward) => false,
        _ => match route.map(|r| &r.kind) {
            Some(RouteKind::Local) => true,
            Some(RouteKind::Forward { .. }) => false,
            _ => host.owner_of(packet.dst).is_some() || packet.dst.is_loopback(),
        },
    };
    if to_us || original.dst != packet.dst {
        // Local: from the destination; DNATed: conntrack restores the original one.
        return AnswerSource::Addr(original.dst);
    }
    route::icmp_error_from(host, packet)
}

/// `icmp_send` / `icmp6_send` stay silent about ICMP errors, later fragments, and packets
/// to broadcast or multicast addresses or from non-unicast sources.
fn icmp_error_allowed(packet: &Packet) -> bool {
    let about_error = is_icmp_error(packet);
    let src_ok = match packet.src {
        IpAddr::V4(s) => !(s.is_unspecified() || s.is_multicast() || s.is_broadcast()),
        IpAddr::V6(s) => !(s.is_unspecified() || s.is_multicast()),
    };
    !about_error
        && !matches!(packet.fragment, Fragment::Later { .. })
        && packet.pkttype == PktType::Unicast
        && unicast_dst(packet)
        && src_ok
}

/// Whether `packet` is an ICMP or ICMPv6 error message: nothing ever answers one (neither
/// `icmp_send` nor a peer), it only reports on the flow it quotes.
pub fn is_icmp_error(packet: &Packet) -> bool {
    match packet.l4 {
        // Errors: unreachable, source quench, redirect, time exceeded, parameter problem.
        L4::Icmp { icmp_type, .. } => matches!(icmp_type, 3 | 4 | 5 | 11 | 12),
        // ICMPv6 error messages are types 0-127.
        L4::Icmpv6 { icmp_type, .. } => icmp_type < 128,
        _ => false,
    }
}

fn unicast_dst(packet: &Packet) -> bool {
    match packet.dst {
        IpAddr::V4(d) => !(d.is_broadcast() || d.is_multicast()),
        IpAddr::V6(d) => !d.is_multicast(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::hostkit::*;
    use crate::linux::route::route_received;
    use model::host::table_id;

    fn router() -> Host {
        host()
            .lo()
            .iface("tap0", &["10.1.1.1/24", "fd01::1/64"])
            .iface("eno1", &["10.1.0.1/24", "fd00::1/64"])
            .main("10.1.1.0/24", "tap0", None)
            .main("10.1.0.0/24", "eno1", None)
            .main("fd01::/64", "tap0", None)
            .main("fd00::/64", "eno1", None)
            .router()
            .build()
    }

    fn story1() -> Packet {
        tcp_syn("10.1.1.2", "10.1.0.2", 2175)
            .sport(1050)
            .iif("tap0")
            .build()
    }

    fn reject(with: Reject, p: &Packet, hook: Hook) -> Option<Response> {
        let h = router();
        let d = p.iif.as_ref().map(|_| route_received(&h, p));
        response(&h, p, p, &Fate::Rejected { with }, Some(hook), d.as_ref())
    }

    #[test]
    fn forwarded_reject_icmp_comes_from_the_routers_address_toward_the_sender() {
        // Story 1: 10.1.1.1 -> 10.1.1.2 ICMP Destination unreachable (Port unreachable).
        let r = reject(Reject::Icmp(3), &story1(), Hook::Forward).unwrap();
        assert_eq!(
            r,
            Response {
                kind: ResponseKind::Icmp {
                    icmp_type: 3,
                    code: 3
                },
                from: AnswerSource::Addr(ip("10.1.1.1")),
                to: ip("10.1.1.2"),
                by_stack: false
            }
        );
    }

    #[test]
    fn forwarded_reject_ipv6_comes_from_the_inbound_interface() {
        let p = tcp_syn("fd01::2", "fd00::2", 2175).iif("tap0").build();
        let r = reject(Reject::Icmpv6(4), &p, Hook::Forward).unwrap();
        assert_eq!(
            r.kind,
            ResponseKind::Icmpv6 {
                icmp_type: 1,
                code: 4
            }
        );
        assert_eq!(r.from.addr().unwrap(), ip("fd01::1"));
    }

    #[test]
    fn tcp_reset_carries_the_original_destination() {
        let r = reject(Reject::TcpReset, &story1(), Hook::Forward).unwrap();
        assert_eq!(
            (r.kind, r.from.addr().unwrap(), r.to),
            (ResponseKind::TcpRst, ip("10.1.0.2"), ip("10.1.1.2"))
        );
    }

    #[test]
    fn tcp_reset_after_dnat_carries_the_address_the_sender_used() {
        let h = router();
        let original = tcp_syn("10.1.1.2", "10.1.1.1", 1222).iif("tap0").build();
        let mut natted = original.clone();
        natted.dst = ip("10.1.0.2");
        let fate = Fate::Rejected {
            with: Reject::TcpReset,
        };
        let r = response(&h, &original, &natted, &fate, Some(Hook::Forward), None).unwrap();
        assert_eq!(r.from.addr().unwrap(), ip("10.1.1.1"));
    }

    #[test]
    fn icmp_after_dnat_comes_from_the_original_destination() {
        // Measured on kernel 6.18: DNAT 10.1.1.100:1222 -> 10.1.0.2:2175, REJECT in
        // forward: the client saw the error from 10.1.1.100, not from 10.1.1.1.
        let h = router();
        let original = tcp_syn("10.1.1.2", "10.1.1.100", 1222).iif("tap0").build();
        let mut natted = original.clone();
        natted.dst = ip("10.1.0.2");
        let fate = Fate::Rejected {
            with: Reject::Icmp(3),
        };
        let r = response(&h, &original, &natted, &fate, Some(Hook::Forward), None).unwrap();
        assert_eq!(r.from.addr().unwrap(), ip("10.1.1.100"));
    }

    #[test]
    fn input_reject_comes_from_the_destination() {
        let p = tcp_syn("10.1.0.7", "10.1.1.1", 22).iif("eno1").build();
        let r = reject(Reject::Icmp(3), &p, Hook::Input).unwrap();
        assert_eq!(r.from.addr().unwrap(), ip("10.1.1.1"));
    }

    #[test]
    fn output_reject_answers_the_local_socket_from_its_own_source() {
        // Measured: an OUTPUT reject of 10.1.0.1 -> 10.1.0.2 produced 10.1.0.1 -> 10.1.0.1.
        let p = tcp_syn("10.1.0.1", "10.1.0.2", 2175).build();
        let r = reject(Reject::Icmp(3), &p, Hook::Output).unwrap();
        assert_eq!(
            (r.from.addr().unwrap(), r.to),
            (ip("10.1.0.1"), ip("10.1.0.1"))
        );
        let r = reject(Reject::TcpReset, &p, Hook::Output).unwrap();
        assert_eq!(r.from.addr().unwrap(), ip("10.1.0.2"));
    }

    #[test]
    fn icmpx_codes_map_per_family() {
        let v4 = [(0, 0), (1, 3), (2, 1), (3, 13)];
        let v6 = [(0, 0), (1, 4), (2, 3), (3, 1)];
        for (x, c) in v4 {
            assert_eq!(icmpx_code(x, false), Some(c));
        }
        for (x, c) in v6 {
            assert_eq!(icmpx_code(x, true), Some(c));
        }
        let p = tcp_syn("fd01::2", "fd00::2", 2175).iif("tap0").build();
        let r = reject(Reject::Icmpx(3), &p, Hook::Forward).unwrap();
        assert_eq!(
            r.kind,
            ResponseKind::Icmpv6 {
                icmp_type: 1,
                code: 1
            }
        );
    }

    #[test]
    fn no_reset_for_reset_nor_for_udp() {
        let rst = Packet::new(
            ip("10.1.1.2"),
            ip("10.1.0.2"),
            L4::Tcp {
                sport: 1,
                dport: 2,
                flags: TcpFlags::RST,
            },
        );
        assert_eq!(reject(Reject::TcpReset, &rst, Hook::Forward), None);
        let u = udp("10.1.1.2", "10.1.0.2", 53).iif("tap0").build();
        assert_eq!(reject(Reject::TcpReset, &u, Hook::Forward), None);
    }

    #[test]
    fn no_icmp_error_about_an_icmp_error_or_a_broadcast() {
        let mut err = icmp_echo("10.1.1.2", "10.1.0.2").iif("tap0").build();
        err.l4 = L4::Icmp {
            icmp_type: 3,
            code: 3,
            id: 0,
        };
        assert_eq!(reject(Reject::Icmp(3), &err, Hook::Forward), None);
        let b = udp("10.1.1.2", "255.255.255.255", 67).iif("tap0").build();
        assert_eq!(reject(Reject::Icmp(3), &b, Hook::Input), None);
    }

    #[test]
    fn closed_tcp_port_answers_with_rst_from_the_stack() {
        let h = router();
        let p = tcp_syn("10.1.0.7", "10.1.0.1", 2175).iif("eno1").build();
        let fate = Fate::Delivered {
            listener: Listener::Closed,
        };
        let r = response(&h, &p, &p, &fate, Some(Hook::Input), None).unwrap();
        assert_eq!(
            (r.kind, r.from.addr().unwrap(), r.by_stack),
            (ResponseKind::TcpRst, ip("10.1.0.1"), true)
        );
    }

    #[test]
    fn closed_udp_port_answers_with_port_unreachable() {
        let h = router();
        let fate = Fate::Delivered {
            listener: Listener::Closed,
        };
        let p = udp("10.1.0.7", "10.1.0.1", 2175).iif("eno1").build();
        let r = response(&h, &p, &p, &fate, Some(Hook::Input), None).unwrap();
        assert_eq!(
            r.kind,
            ResponseKind::Icmp {
                icmp_type: 3,
                code: 3
            }
        );
        assert_eq!((r.from.addr().unwrap(), r.by_stack), (ip("10.1.0.1"), true));
        let p = udp("fd00::7", "fd00::1", 2175).iif("eno1").build();
        let r = response(&h, &p, &p, &fate, Some(Hook::Input), None).unwrap();
        assert_eq!(
            r.kind,
            ResponseKind::Icmpv6 {
                icmp_type: 1,
                code: 4
            }
        );
    }

    #[test]
    fn open_port_drop_and_accept_send_nothing() {
        let h = router();
        let p = story1();
        assert_eq!(
            response(&h, &p, &p, &Fate::Dropped, Some(Hook::Forward), None),
            None
        );
        let fwd = Fate::Forwarded {
            oif: "eno1".into(),
            gateway: None,
        };
        assert_eq!(response(&h, &p, &p, &fwd, Some(Hook::Forward), None), None);
    }

    fn routing(reason: RoutingFailure, p: &Packet) -> Option<Response> {
        let h = router();
        let fate = Fate::RoutingFailed { reason };
        response(&h, p, p, &fate, Some(Hook::Prerouting), None)
    }

    #[test]
    fn routing_failures_when_forwarding_v4() {
        let p = story1();
        let kind = |r: RoutingFailure| routing(r, &p).map(|r| (r.kind, r.from.addr().unwrap()));
        let from = ip("10.1.1.1");
        let icmp = |t, c| {
            Some((
                ResponseKind::Icmp {
                    icmp_type: t,
                    code: c,
                },
                from,
            ))
        };
        assert_eq!(kind(RoutingFailure::NoRoute), icmp(3, 0));
        assert_eq!(kind(RoutingFailure::Unreachable), icmp(3, 1));
        assert_eq!(kind(RoutingFailure::Prohibit), icmp(3, 13));
        assert_eq!(kind(RoutingFailure::TtlExceeded), icmp(11, 0));
        assert_eq!(kind(RoutingFailure::Blackhole), None);
        assert_eq!(kind(RoutingFailure::MartianSource), None);
        assert_eq!(kind(RoutingFailure::MartianDestination), None);
        let off = RoutingFailure::ForwardingDisabled {
            sysctl: "net.ipv4.conf.tap0.forwarding".into(),
        };
        assert_eq!(kind(off), None);
        let rpf = RoutingFailure::RpFilter {
            mode: 1,
            sysctl: "net.ipv4.conf.all.rp_filter".into(),
        };
        assert_eq!(kind(rpf), None);
    }

    #[test]
    fn routing_failures_when_forwarding_v6() {
        let p = tcp_syn("fd01::2", "fd00::2", 22).iif("tap0").build();
        let kind = |r: RoutingFailure| routing(r, &p).map(|r| r.kind);
        let icmp6 = |t, c| {
            Some(ResponseKind::Icmpv6 {
                icmp_type: t,
                code: c,
            })
        };
        assert_eq!(kind(RoutingFailure::NoRoute), icmp6(1, 0));
        assert_eq!(kind(RoutingFailure::Unreachable), icmp6(1, 0));
        assert_eq!(kind(RoutingFailure::Prohibit), icmp6(1, 1));
        assert_eq!(kind(RoutingFailure::TtlExceeded), icmp6(3, 0));
        let off = RoutingFailure::ForwardingDisabled {
            sysctl: "net.ipv6.conf.all.forwarding".into(),
        };
        assert_eq!(kind(off), None);
    }

    #[test]
    fn locally_generated_routing_failure_sends_no_packet() {
        let p = tcp_syn("10.1.0.1", "192.0.2.1", 22).build();
        assert_eq!(routing(RoutingFailure::NoRoute, &p), None);
    }

    #[test]
    fn unknown_router_address_is_the_route_back_never_unspecified() {
        let h = Host::default();
        let p = story1();
        let fate = Fate::RoutingFailed {
            reason: RoutingFailure::TtlExceeded,
        };
        let r = response(&h, &p, &p, &fate, None, None).unwrap();
        assert_eq!(
            r.from,
            AnswerSource::RouteBack {
                via: Some("tap0".into())
            }
        );
        // A REJECT in FORWARD on a host without state: the same.
        let fate = Fate::Rejected {
            with: Reject::Icmpx(3),
        };
        let r = response(&h, &p, &p, &fate, Some(Hook::Forward), None).unwrap();
        assert_eq!(r.from.addr(), None);
        let _ = table_id::MAIN;
    }
}
