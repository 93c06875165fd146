//! What the sender observes and what its socket call returns (KERNEL-FACTS "What the
//! sender observes").
//!
//! The sender is modelled as Linux: a TCP `connect()` for a SYN, a connected UDP socket
//! for UDP, `ping` for an ICMP echo request. How an ICMP error becomes an errno follows
//! `icmp_err_convert` (net/ipv4/icmp.c) and `icmpv6_err_convert` (net/ipv6/icmp.c): a TCP
//! socket in SYN-SENT aborts on *any* of them (`tcp_v4_err` / `tcp_v6_err`), a connected
//! UDP socket reports only the "fatal" ones (`__udp4_lib_err`: port unreachable,
//! admin prohibited) and otherwise keeps waiting in `recv()`.
//!
//! Measured in network namespaces on kernel 6.18 (client -> router -> server over veth,
//! `tcp_syn_retries=1`; the whole table of KERNEL-FACTS reproduced):
//! - every ICMPv6 error (port/addr unreachable, admin prohibited, no route, hop limit
//!   exceeded), from a forwarding router or from this host's own OUTPUT REJECT, reached
//!   `connect()` only after ~1.0 s (the first error was not taken, the one answering the
//!   SYN retransmit was); IPv4 errors and RSTs were taken at once. Over veth and `lo` the
//!   error arrives while `connect()` still runs; on a link with real latency it may be
//!   taken at once: [`SenderView::errno_after_secs`] is `Some(1)` for these;
//! - ICMP time exceeded: TCP connect fails at once with EHOSTUNREACH (IPv4), after ~1 s
//!   (IPv6); a connected UDP socket ignores it;
//! - a locally generated TCP SYN dropped in OUTPUT or POSTROUTING: `connect()` does *not*
//!   return EPERM (`tcp_connect` ignores the transmit error): ETIMEDOUT after the SYN
//!   retries; UDP `send()` fails at once with EPERM, also when an OUTPUT REJECT refused
//!   it (the REJECT's ICMP arrives as well); a drop on the loopback leg (INPUT of a packet
//!   this host sent to itself) is a plain timeout.

use crate::trace::{
    AnswerSource, Errno, Fate, Listener, Response, ResponseKind, RoutingFailure, SenderView,
};
use model::packet::{TcpFlags, L4};
use model::{Hook, Host, Packet};

/// [`sender_view_at`] with a locally generated packet's drop or reject taken to have
/// happened on the output path (OUTPUT/POSTROUTING); for the tests.
#[cfg(test)]
pub fn sender_view(
    host: &Host,
    packet: &Packet,
    fate: &Fate,
    response: Option<&Response>,
    locally_generated: bool,
) -> SenderView {
    let at = locally_generated.then_some(Hook::Output);
    sender_view_at(host, packet, fate, response, locally_generated, at)
}

/// The sender's view of `fate`, given the `response` computed by [`crate::reject`] and
/// the hook where the fate was decided (`None`: unknown). `locally_generated`: the sender
/// is a process on this host (OUTPUT drops give EPERM). For a locally generated packet, a drop or reject in OUTPUT/POSTROUTING fails the send call
/// of a UDP (or ping) socket with EPERM; one on the loopback leg (PREROUTING/INPUT on
/// `lo`) does not.
pub fn sender_view_at(
    host: &Host,
    packet: &Packet,
    fate: &Fate,
    response: Option<&Response>,
    locally_generated: bool,
    at: Option<Hook>,
) -> SenderView {
    let sender = Sender::of(packet);
    let on_output = locally_generated && matches!(at, Some(Hook::Output | Hook::Postrouting));
    let refused_on_output = on_output && matches!(fate, Fate::Dropped | Fate::Rejected { .. });
    if refused_on_output && sender != Sender::TcpConnect {
        // NF_DROP (a REJECT drops too) becomes -EPERM in ip_local_out / ip6_local_out,
        // returned by the send call itself.
        let response = response.cloned();
        return SenderView {
            response,
            errno_on_send: true,
            ..at_once(Errno::Eperm)
        };
    }
    if let Some(r) = response {
        return answered(packet, sender, r);
    }
    if fate.passed() && crate::linux::reject::is_icmp_error(packet) {
        // Nothing answers an ICMP error: it only reports on the flow it quotes.
        return SenderView::default();
    }
    match fate {
        Fate::Delivered {
            listener: Listener::Open(_),
        } => accepted(packet, sender),
        Fate::Delivered {
            listener: Listener::Unknown,
        } => SenderView {
            depends_on_listener: true,
            ..SenderView::default()
        },
        Fate::RoutingFailed { reason } if locally_generated => SenderView {
            // TCP's connect() is the send; UDP's send (or connect) fails on the lookup.
            errno_on_send: sender != Sender::TcpConnect,
            ..local_route_error(reason)
        },
        Fate::Dropped
        | Fate::RoutingFailed { .. }
        | Fate::Rejected { .. }
        | Fate::Delivered { .. } => silence(host, sender),
        // Queued: what comes back depends on the program reading the queue; Forwarded and
        // Sent: on the next hop. Undetermined: nothing can be said.
        _ => SenderView::default(),
    }
}

/// How many seconds a TCP `connect()` waits for a SYN/ACK before ETIMEDOUT: the first SYN
/// plus `retries` retransmissions, the RTO starting at 1 s (`TCP_TIMEOUT_INIT`) and
/// doubling, each wait capped at 120 s (`TCP_RTO_MAX`): 6 retries give 1+2+...+64 = 127 s.
/// Measured: `tcp_syn_retries=1` gave ETIMEDOUT after 3.06 s.
pub fn syn_timeout_secs(retries: u32) -> u32 {
    (0..=retries)
        .map(|i| if i >= 7 { 120 } else { 1u32 << i })
        .sum()
}

/// The errno an ICMP destination-unreachable / time-exceeded message gives a socket, and
/// whether it is "fatal" (reported to a connected UDP socket): `icmp_err_convert`.
pub fn icmp_errno(icmp_type: u8, code: u8) -> (Option<Errno>, bool) {
    match (icmp_type, code) {
        (3, 0) | (3, 11) => (Some(Errno::Enetunreach), false),
        (3, 1) | (3, 12) => (Some(Errno::Ehostunreach), false),
        (3, 3) => (Some(Errno::Econnrefused), true),
        (3, 6) | (3, 9) => (Some(Errno::Enetunreach), true),
        (3, 10) | (3, 13) | (3, 14) | (3, 15) => (Some(Errno::Ehostunreach), true),
        (11, _) => (Some(Errno::Ehostunreach), false),
        // Protocol unreachable (ENOPROTOOPT), frag needed (EMSGSIZE), ...: not modelled.
        _ => (None, false),
    }
}

/// [`icmp_errno`] for ICMPv6 (`icmpv6_err_convert`).
pub fn icmpv6_errno(icmp_type: u8, code: u8) -> (Option<Errno>, bool) {
    match (icmp_type, code) {
        (1, 0) => (Some(Errno::Enetunreach), false),
        (1, 1) | (1, 5) | (1, 6) => (Some(Errno::Eacces), true),
        (1, 2) | (1, 3) => (Some(Errno::Ehostunreach), false),
        (1, 4) => (Some(Errno::Econnrefused), true),
        (3, _) => (Some(Errno::Ehostunreach), false),
        _ => (None, false),
    }
}

/// The kind of socket the sender uses, as far as the packet tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    /// A SYN: `connect()`.
    TcpConnect,
    /// Another TCP segment: an established connection (errno not modelled).
    TcpOther,
    /// A connected UDP socket.
    Udp,
    /// Anything else (ping, other protocols): no errno is modelled.
    Other,
}

impl Sender {
    fn of(packet: &Packet) -> Sender {
        match packet.l4 {
            L4::Tcp { flags, .. }
                if flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK) =>
            {
                Sender::TcpConnect
            }
            L4::Tcp { .. } => Sender::TcpOther,
            L4::Udp { .. } => Sender::Udp,
            _ => Sender::Other,
        }
    }
}

fn at_once(errno: Errno) -> SenderView {
    SenderView {
        errno: Some(errno),
        ..SenderView::default()
    }
}

/// Something came back.
fn answered(packet: &Packet, sender: Sender, r: &Response) -> SenderView {
    let base = SenderView {
        response: Some(r.clone()),
        ..SenderView::default()
    };
    let (errno, fatal) = match r.kind {
        ResponseKind::TcpRst => (Some(Errno::Econnrefused), true),
        ResponseKind::Icmp { icmp_type, code } => icmp_errno(icmp_type, code),
        ResponseKind::Icmpv6 { icmp_type, code } => icmpv6_errno(icmp_type, code),
        ResponseKind::SynAck => (None, false),
    };
    match sender {
        Sender::TcpConnect => {
            let icmpv6 = matches!(r.kind, ResponseKind::Icmpv6 { .. });
            SenderView {
                errno,
                // Measured: ICMPv6 errors reach connect() after one SYN retransmit.
                errno_after_secs: (packet.is_ipv6() && icmpv6 && errno.is_some()).then_some(1),
                ..base
            }
        }
        Sender::Udp if errno.is_some() && fatal => SenderView { errno, ..base },
        // Not a "hard" error: a connected UDP socket ignores it and keeps waiting.
        Sender::Udp if errno.is_some() => SenderView {
            recv_times_out: true,
            ..base
        },
        _ => base,
    }
}

/// Accepted by a socket.
fn accepted(packet: &Packet, sender: Sender) -> SenderView {
    let kind = match (sender, packet.l4) {
        (Sender::TcpConnect, _) => Some(ResponseKind::SynAck),
        (_, L4::Icmp { icmp_type: 8, .. }) => Some(ResponseKind::Icmp {
            icmp_type: 0,
            code: 0,
        }),
        (_, L4::Icmpv6 { icmp_type: 128, .. }) => Some(ResponseKind::Icmpv6 {
            icmp_type: 129,
            code: 0,
        }),
        _ => None,
    };
    let response = kind.map(|kind| Response {
        kind,
        from: AnswerSource::Addr(packet.dst),
        to: packet.src,
        by_stack: false,
    });
    SenderView {
        response,
        ..SenderView::default()
    }
}

/// Nothing comes back: TCP retries its SYN until ETIMEDOUT, UDP waits in `recv()`.
fn silence(host: &Host, sender: Sender) -> SenderView {
    match sender {
        Sender::TcpConnect => {
            let retries = host
                .sysctls
                .int_or("net.ipv4.tcp_syn_retries", 6)
                .clamp(1, 127) as u32;
            let secs = syn_timeout_secs(retries);
            SenderView {
                errno: Some(Errno::Etimedout),
                timeout_secs: Some(secs),
                errno_after_secs: Some(secs),
                ..SenderView::default()
            }
        }
        Sender::Udp | Sender::Other => SenderView {
            recv_times_out: true,
            ..SenderView::default()
        },
        Sender::TcpOther => SenderView::default(),
    }
}

/// The output route lookup failed: `connect()` / `sendmsg()` fails at once with the fib's
/// error (`fib_props[type].error`, or the rule action's). Measured on kernel 6.18: no
/// route ENETUNREACH, unreachable route EHOSTUNREACH, prohibit EACCES, blackhole EINVAL,
/// `ip rule ... unreachable` ENETUNREACH.
fn local_route_error(reason: &RoutingFailure) -> SenderView {
    match reason {
        RoutingFailure::NoRoute => at_once(Errno::Enetunreach),
        RoutingFailure::Unreachable => at_once(Errno::Ehostunreach),
        RoutingFailure::Prohibit => at_once(Errno::Eacces),
        RoutingFailure::Blackhole => at_once(Errno::Einval),
        _ => SenderView::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::hostkit::*;
    use model::host::Socket;
    use model::packet::IpProto;
    use std::net::IpAddr;

    fn tcp4() -> Packet {
        tcp_syn("10.1.1.2", "10.1.0.2", 2175).iif("tap0").build()
    }
    fn tcp6() -> Packet {
        tcp_syn("fd01::2", "fd00::2", 2175).iif("tap0").build()
    }
    fn udp4() -> Packet {
        udp("10.1.1.2", "10.1.0.2", 2175).iif("tap0").build()
    }
    fn resp(kind: ResponseKind, from: &str) -> Response {
        Response {
            kind,
            from: AnswerSource::Addr(ip(from)),
            to: ip("10.1.1.2"),
            by_stack: false,
        }
    }
    fn icmp(t: u8, c: u8) -> ResponseKind {
        ResponseKind::Icmp {
            icmp_type: t,
            code: c,
        }
    }
    fn icmp6(t: u8, c: u8) -> ResponseKind {
        ResponseKind::Icmpv6 {
            icmp_type: t,
            code: c,
        }
    }
    fn rejected() -> Fate {
        Fate::Rejected {
            with: model::Reject::Icmp(3),
        }
    }
    fn view(p: &Packet, r: Option<Response>) -> SenderView {
        sender_view(&Host::default(), p, &rejected(), r.as_ref(), false)
    }

    #[test]
    fn tcp_reset_is_econnrefused_at_once() {
        for p in [tcp4(), tcp6()] {
            let v = view(&p, Some(resp(ResponseKind::TcpRst, "10.1.0.2")));
            assert_eq!(
                (v.errno, v.errno_after_secs),
                (Some(Errno::Econnrefused), None)
            );
        }
    }

    #[test]
    fn port_unreachable_is_econnrefused() {
        let v = view(&tcp4(), Some(resp(icmp(3, 3), "10.1.1.1")));
        assert_eq!(
            (v.errno, v.errno_after_secs),
            (Some(Errno::Econnrefused), None)
        );
        let v = view(&udp4(), Some(resp(icmp(3, 3), "10.1.1.1")));
        assert_eq!(
            (v.errno, v.recv_times_out),
            (Some(Errno::Econnrefused), false)
        );
    }

    #[test]
    fn ipv6_tcp_port_unreachable_comes_after_one_retransmit() {
        let v = view(&tcp6(), Some(resp(icmp6(1, 4), "fd01::1")));
        assert_eq!(
            (v.errno, v.errno_after_secs),
            (Some(Errno::Econnrefused), Some(1))
        );
    }

    #[test]
    fn admin_prohibited_is_ehostunreach_v4_eacces_v6() {
        assert_eq!(
            view(&tcp4(), Some(resp(icmp(3, 13), "10.1.1.1"))).errno,
            Some(Errno::Ehostunreach)
        );
        assert_eq!(
            view(&tcp6(), Some(resp(icmp6(1, 1), "fd01::1"))).errno,
            Some(Errno::Eacces)
        );
        assert_eq!(
            view(&udp4(), Some(resp(icmp(3, 13), "10.1.1.1"))).errno,
            Some(Errno::Ehostunreach)
        );
        let u6 = udp("fd01::2", "fd00::2", 2175).iif("tap0").build();
        assert_eq!(
            view(&u6, Some(resp(icmp6(1, 1), "fd01::1"))).errno,
            Some(Errno::Eacces)
        );
    }

    #[test]
    fn host_unreachable_is_ehostunreach_for_tcp_and_a_timeout_for_udp() {
        assert_eq!(
            view(&tcp4(), Some(resp(icmp(3, 1), "10.1.1.1"))).errno,
            Some(Errno::Ehostunreach)
        );
        assert_eq!(
            view(&tcp6(), Some(resp(icmp6(1, 3), "fd01::1"))).errno,
            Some(Errno::Ehostunreach)
        );
        let v = view(&udp4(), Some(resp(icmp(3, 1), "10.1.1.1")));
        assert_eq!((v.errno, v.recv_times_out), (None, true));
    }

    #[test]
    fn no_route_is_enetunreach_for_tcp_and_a_timeout_for_udp() {
        assert_eq!(
            view(&tcp4(), Some(resp(icmp(3, 0), "10.1.1.1"))).errno,
            Some(Errno::Enetunreach)
        );
        assert_eq!(
            view(&tcp6(), Some(resp(icmp6(1, 0), "fd01::1"))).errno,
            Some(Errno::Enetunreach)
        );
        let v = view(&udp4(), Some(resp(icmp(3, 0), "10.1.1.1")));
        assert_eq!((v.errno, v.recv_times_out), (None, true));
    }

    #[test]
    fn time_exceeded_aborts_tcp_connect_with_ehostunreach() {
        assert_eq!(
            view(&tcp4(), Some(resp(icmp(11, 0), "10.1.1.1"))).errno,
            Some(Errno::Ehostunreach)
        );
        let v = view(&udp4(), Some(resp(icmp(11, 0), "10.1.1.1")));
        assert_eq!((v.errno, v.recv_times_out), (None, true));
    }

    #[test]
    fn drop_times_out_after_all_syn_retries() {
        let v = sender_view(&Host::default(), &tcp4(), &Fate::Dropped, None, false);
        assert_eq!(
            (v.errno, v.timeout_secs),
            (Some(Errno::Etimedout), Some(127))
        );
        let h = host().sysctl("net.ipv4.tcp_syn_retries", "1").build();
        assert_eq!(
            sender_view(&h, &tcp6(), &Fate::Dropped, None, false).timeout_secs,
            Some(3)
        );
        let v = sender_view(&Host::default(), &udp4(), &Fate::Dropped, None, false);
        assert_eq!((v.errno, v.recv_times_out), (None, true));
    }

    #[test]
    fn syn_retries_6_is_127_seconds() {
        assert_eq!(syn_timeout_secs(6), 127);
        assert_eq!(syn_timeout_secs(1), 3);
        assert_eq!(
            syn_timeout_secs(8),
            1 + 2 + 4 + 8 + 16 + 32 + 64 + 120 + 120
        );
    }

    #[test]
    fn accepted_with_nothing_listening_is_the_servers_rst() {
        let h = Host::default();
        let p = tcp_syn("10.1.1.2", "10.1.0.1", 2175).iif("tap0").build();
        let fate = Fate::Delivered {
            listener: Listener::Closed,
        };
        let r = crate::linux::reject::response(&h, &p, &p, &fate, Some(Hook::Input), None).unwrap();
        assert!(r.by_stack);
        let v = sender_view(&h, &p, &fate, Some(&r), false);
        assert_eq!(v.errno, Some(Errno::Econnrefused));
        let u = udp("10.1.1.2", "10.1.0.1", 2175).iif("tap0").build();
        let r = crate::linux::reject::response(&h, &u, &u, &fate, Some(Hook::Input), None).unwrap();
        assert_eq!(
            sender_view(&h, &u, &fate, Some(&r), false).errno,
            Some(Errno::Econnrefused)
        );
    }

    #[test]
    fn accepted_and_open_gets_a_syn_ack() {
        let sock = Socket {
            proto: IpProto::Tcp,
            addr: IpAddr::from([0, 0, 0, 0]),
            port: 2175,
            device: None,
            process: None,
            dual_stack: false,
        };
        let fate = Fate::Delivered {
            listener: Listener::Open(sock),
        };
        let v = sender_view(&Host::default(), &tcp4(), &fate, None, false);
        assert_eq!(v.errno, None);
        assert_eq!(v.response.map(|r| r.kind), Some(ResponseKind::SynAck));
    }

    #[test]
    fn unknown_listener_is_marked_not_guessed() {
        let fate = Fate::Delivered {
            listener: Listener::Unknown,
        };
        let v = sender_view(&Host::default(), &tcp4(), &fate, None, false);
        assert!(v.depends_on_listener);
        assert_eq!((v.errno, v.response), (None, None));
    }

    #[test]
    fn local_tcp_dropped_in_output_times_out_not_eperm() {
        // Measured on kernel 6.18: connect() through an OUTPUT (or POSTROUTING) drop gave
        // ETIMEDOUT after the SYN retries; tcp_connect ignores the -EPERM.
        let p = tcp_syn("10.1.0.1", "10.1.0.2", 2175).build();
        let v = sender_view(&Host::default(), &p, &Fate::Dropped, None, true);
        assert_eq!(v.errno, Some(Errno::Etimedout));
    }

    #[test]
    fn local_udp_dropped_or_rejected_in_output_is_eperm() {
        let p = udp("10.1.0.1", "10.1.0.2", 2175).build();
        let v = sender_view(&Host::default(), &p, &Fate::Dropped, None, true);
        assert_eq!(v.errno, Some(Errno::Eperm));
        // On the send, not on a later recv().
        assert!(v.errno_on_send);
        let r = resp(icmp(3, 3), "10.1.0.1");
        let v = sender_view(&Host::default(), &p, &rejected(), Some(&r), true);
        assert_eq!(v.errno, Some(Errno::Eperm));
        // Dropped on the loopback leg (INPUT): no EPERM, the reply never comes.
        let v = sender_view_at(
            &Host::default(),
            &p,
            &Fate::Dropped,
            None,
            true,
            Some(Hook::Input),
        );
        assert_eq!((v.errno, v.recv_times_out), (None, true));
    }

    #[test]
    fn local_tcp_rejected_on_loopback_is_refused_at_once() {
        // Story 7: REJECT on lo answers on Linux (measured: ECONNREFUSED, 0.0 s).
        let p = tcp_syn("127.0.0.1", "127.0.0.1", 2175).build();
        let r = resp(ResponseKind::TcpRst, "127.0.0.1");
        let fate = Fate::Rejected {
            with: model::Reject::TcpReset,
        };
        let v = sender_view(&Host::default(), &p, &fate, Some(&r), true);
        assert_eq!(
            (v.errno, v.errno_after_secs),
            (Some(Errno::Econnrefused), None)
        );
    }

    #[test]
    fn local_route_failures_fail_the_call_at_once() {
        let p = tcp_syn("10.1.0.1", "192.0.2.1", 22).build();
        let errno = |reason| {
            sender_view(
                &Host::default(),
                &p,
                &Fate::RoutingFailed { reason },
                None,
                true,
            )
            .errno
        };
        assert_eq!(errno(RoutingFailure::NoRoute), Some(Errno::Enetunreach));
        assert_eq!(
            errno(RoutingFailure::Unreachable),
            Some(Errno::Ehostunreach)
        );
        assert_eq!(errno(RoutingFailure::Prohibit), Some(Errno::Eacces));
        assert_eq!(errno(RoutingFailure::Blackhole), Some(Errno::Einval));
        // UDP: the send call fails; TCP: connect().
        let u = udp("10.1.0.1", "192.0.2.1", 53).build();
        let fate = Fate::RoutingFailed {
            reason: RoutingFailure::NoRoute,
        };
        let v = sender_view(&Host::default(), &u, &fate, None, true);
        assert_eq!((v.errno, v.errno_on_send), (Some(Errno::Enetunreach), true));
        let v = sender_view(&Host::default(), &p, &fate, None, true);
        assert!(!v.errno_on_send);
    }

    #[test]
    fn silent_routing_failure_when_forwarded_times_out() {
        let fate = Fate::RoutingFailed {
            reason: RoutingFailure::Blackhole,
        };
        let v = sender_view(&Host::default(), &tcp4(), &fate, None, false);
        assert_eq!(v.errno, Some(Errno::Etimedout));
    }
}
