//! Local delivery: which socket, if any, takes a packet accepted for this host.
//!
//! Follows the kernel's socket lookup (`__inet_lookup_listener`, `__udp4_lib_lookup` and
//! their IPv6 twins, scored by `compute_score`): a socket bound to the exact destination
//! address beats a wildcard one, a device-bound socket beats an unbound one, and a
//! device-bound socket only takes packets that arrived on its device. TCP and SCTP need a
//! listening socket, UDP a bound one. An IPv6 wildcard socket without `IPV6_V6ONLY`
//! (`dual_stack`) also takes IPv4, and a socket bound to `::ffff:a.b.c.d` takes IPv4 to
//! a.b.c.d.
//!
//! ICMP echo requests are answered by the kernel itself (unless
//! `net.ipv4.icmp_echo_ignore_all` / `net.ipv6.icmp.echo_ignore_all` is set): they get
//! [`Listener::Open`] with a pseudo socket whose `process` is `kernel`.

use crate::trace::Listener;
use model::host::Socket;
use model::packet::{IpProto, L4};
use model::{Host, Packet};
use std::net::IpAddr;

/// The listener for `packet` (after NAT) on `host`.
pub fn listener(host: &Host, packet: &Packet) -> Listener {
    if let Some(l) = kernel_responder(host, packet) {
        return l;
    }
    let Some((_, dport)) = packet.l4.ports() else {
        // Other protocols (GRE, ESP, ICMP errors and replies, ...) are taken by kernel
        // modules or raw sockets that `ss -ltnu` does not list.
        return Listener::Unknown;
    };
    if !host.known.sockets {
        return Listener::Unknown;
    }
    let proto = packet.proto();
    host.sockets
        .iter()
        .filter(|s| s.proto == proto && s.port == dport)
        .filter_map(|s| score(s, packet).map(|sc| (sc, s)))
        // The first socket listed wins a tie (reuseport groups pick by hash: any of them
        // answers the same way).
        .fold(None::<(u8, &Socket)>, |best, (sc, s)| match best {
            Some((b, _)) if b >= sc => best,
            _ => Some((sc, s)),
        })
        .map(|(_, s)| Listener::Open(s.clone()))
        .unwrap_or(Listener::Closed)
}

/// How well `socket` matches (higher wins), or `None` if it cannot take the packet.
fn score(socket: &Socket, packet: &Packet) -> Option<u8> {
    let mut score = match addr_match(socket, packet.dst)? {
        AddrMatch::Exact => 4,
        AddrMatch::Wildcard => 2,
    };
    if let Some(dev) = &socket.device {
        // SO_BINDTODEVICE: only packets that came in on that device (or its VRF).
        if packet.iif.as_deref() != Some(dev.as_str()) {
            return None;
        }
        score += 1;
    }
    Some(score)
}

enum AddrMatch {
    Exact,
    Wildcard,
}

fn addr_match(socket: &Socket, dst: IpAddr) -> Option<AddrMatch> {
    match (socket.addr, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            if s == d {
                Some(AddrMatch::Exact)
            } else if s.is_unspecified() {
                Some(AddrMatch::Wildcard)
            } else {
                None
            }
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            if s == d {
                Some(AddrMatch::Exact)
            } else if s.is_unspecified() {
                Some(AddrMatch::Wildcard)
            } else {
                None
            }
        }
        (IpAddr::V6(s), IpAddr::V4(d)) => {
            if s.to_ipv4_mapped() == Some(d) {
                Some(AddrMatch::Exact)
            } else if s.is_unspecified() && socket.dual_stack {
                // A dual-stack wildcard scores below an IPv4 wildcard in the kernel.
                Some(AddrMatch::Wildcard)
            } else {
                None
            }
        }
        (IpAddr::V4(_), IpAddr::V6(_)) => None,
    }
}

/// The sysctl that makes this host ignore `packet`, an echo request (`None`: answered, or
/// not an echo request).
pub fn echo_ignored_by(host: &Host, packet: &Packet) -> Option<&'static str> {
    let (_, key) = echo_request(packet)?;
    (host.sysctls.int_or(key, 0) != 0).then_some(key)
}

/// An echo request's protocol and the sysctl that ignores it.
fn echo_request(packet: &Packet) -> Option<(IpProto, &'static str)> {
    match packet.l4 {
        L4::Icmp { icmp_type: 8, .. } => Some((IpProto::Icmp, "net.ipv4.icmp_echo_ignore_all")),
        L4::Icmpv6 { icmp_type: 128, .. } => {
            Some((IpProto::Icmpv6, "net.ipv6.icmp.echo_ignore_all"))
        }
        _ => None,
    }
}

/// The kernel answers ICMP echo requests itself.
fn kernel_responder(host: &Host, packet: &Packet) -> Option<Listener> {
    let (proto, _) = echo_request(packet)?;
    if echo_ignored_by(host, packet).is_some() {
        // Ignored: nothing answers, nothing is sent back.
        return Some(Listener::Closed);
    }
    Some(Listener::Open(Socket {
        proto,
        addr: packet.dst,
        port: 0,
        device: None,
        process: Some("kernel".to_string()),
        dual_stack: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::hostkit::*;

    fn sock(proto: IpProto, addr: &str, port: u16) -> Socket {
        Socket {
            proto,
            addr: ip(addr),
            port,
            device: None,
            process: None,
            dual_stack: false,
        }
    }

    fn host_with(sockets: Vec<Socket>) -> Host {
        let mut h = Host {
            sockets,
            ..Host::default()
        };
        h.known.sockets = true;
        h
    }

    #[test]
    fn sockets_not_given_is_unknown() {
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build();
        assert_eq!(listener(&Host::default(), &p), Listener::Unknown);
    }

    #[test]
    fn wildcard_tcp_listener_takes_the_packet() {
        let h = host_with(vec![sock(IpProto::Tcp, "0.0.0.0", 22)]);
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build();
        assert!(matches!(listener(&h, &p), Listener::Open(s) if s.port == 22));
    }

    #[test]
    fn no_socket_on_the_port_is_closed() {
        let h = host_with(vec![
            sock(IpProto::Tcp, "0.0.0.0", 22),
            sock(IpProto::Udp, "0.0.0.0", 80),
        ]);
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 80).iif("eth0").build();
        assert_eq!(listener(&h, &p), Listener::Closed);
    }

    #[test]
    fn socket_on_another_address_does_not_take_it() {
        let h = host_with(vec![sock(IpProto::Tcp, "127.0.0.1", 22)]);
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build();
        assert_eq!(listener(&h, &p), Listener::Closed);
    }

    #[test]
    fn exact_address_beats_wildcard() {
        let mut exact = sock(IpProto::Tcp, "10.0.0.1", 22);
        exact.process = Some("exact".into());
        let h = host_with(vec![sock(IpProto::Tcp, "0.0.0.0", 22), exact]);
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build();
        assert!(
            matches!(listener(&h, &p), Listener::Open(s) if s.process.as_deref() == Some("exact"))
        );
    }

    #[test]
    fn dual_stack_v6_wildcard_takes_ipv4() {
        let mut s = sock(IpProto::Tcp, "::", 22);
        s.dual_stack = true;
        let h = host_with(vec![s]);
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build();
        assert!(matches!(listener(&h, &p), Listener::Open(_)));
    }

    #[test]
    fn v6only_wildcard_does_not_take_ipv4() {
        let h = host_with(vec![sock(IpProto::Tcp, "::", 22)]);
        let p = tcp_syn("10.0.0.2", "10.0.0.1", 22).iif("eth0").build();
        assert_eq!(listener(&h, &p), Listener::Closed);
    }

    #[test]
    fn device_bound_socket_only_takes_its_device() {
        let mut s = sock(IpProto::Udp, "0.0.0.0", 53);
        s.device = Some("eth1".into());
        let h = host_with(vec![s]);
        let on_eth0 = udp("10.0.0.2", "10.0.0.1", 53).iif("eth0").build();
        let on_eth1 = udp("10.0.0.2", "10.0.0.1", 53).iif("eth1").build();
        assert_eq!(listener(&h, &on_eth0), Listener::Closed);
        assert!(matches!(listener(&h, &on_eth1), Listener::Open(_)));
    }

    #[test]
    fn kernel_answers_echo_requests() {
        let p = icmp_echo("10.0.0.2", "10.0.0.1").iif("eth0").build();
        assert!(
            matches!(listener(&Host::default(), &p), Listener::Open(s) if s.process.as_deref() == Some("kernel"))
        );
    }
}
