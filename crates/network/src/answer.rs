//! What comes back: the destination's answer to a request that arrived, and the error a
//! hop sends about a packet it lost.

use crate::hop::{Hop, HopKind};
use crate::leg::Stop;
use crate::state::State;
use engine::{Fate, Listener, Response, ResponseKind};
use model::packet::IpProto;
use model::topology::{NodeKind, StubAnswers, Topology};
use model::{Packet, TcpFlags, L4};

/// The destination's answer to a request delivered to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The service answers: a SYN/ACK, an echo reply, a reply datagram.
    Reply(Packet),
    /// The stack refuses: a TCP reset, an ICMP port unreachable.
    Refusal(Packet),
    /// Nothing comes back (echo requests ignored, an ICMP error or reply delivered).
    Silent,
}

/// The answer of the host of `hop` (the last hop of a request that arrived).
pub(crate) fn of_destination(topology: &Topology, state: &State<'_>, hop: &Hop) -> Answer {
    match (&topology.nodes[hop.node].kind, &hop.kind) {
        (NodeKind::Stub(answers), _) => of_stub(answers, &hop.packet),
        (NodeKind::Linux, HopKind::Linux { outcome }) => {
            let trace = outcome.primary();
            if !analysis::remedy::exchange::starts_a_connection(&hop.packet) {
                return Answer::Silent;
            }
            match &trace.fate {
                Fate::Delivered {
                    listener: Listener::Closed,
                } => match trace.sender_sees.response.as_ref() {
                    Some(r) => response_packet(r, &trace.final_packet)
                        .map_or(Answer::Silent, Answer::Refusal),
                    None => Answer::Silent,
                },
                _ => {
                    let host = &state.hosts[hop.node];
                    let entry = trace
                        .conntrack
                        .entry
                        .and_then(|i| host.conntrack.get(i).cloned())
                        .or_else(|| analysis::remedy::exchange::entry_after(host, trace));
                    let mut reply = analysis::remedy::exchange::reply_packet(
                        &hop.packet,
                        trace,
                        entry.as_ref(),
                    );
                    reply.iif = None;
                    reply.oif = None;
                    if matches!(reply.l4, L4::Icmp { .. } | L4::Icmpv6 { .. }) {
                        // An echo reply carries the request's data back, without DF (the
                        // kernel's ICMP socket does no path-MTU discovery): too large for
                        // a link, it leaves in fragments.
                        reply.len = hop.packet.len;
                        reply.dont_fragment = false;
                    }
                    if let Some(src) = udp_wildcard_source(host, &trace.fate, &reply) {
                        reply.src = src;
                    }
                    Answer::Reply(reply)
                }
            }
        }
        (NodeKind::Linux, HopKind::Stub { .. }) => Answer::Silent,
    }
}

/// The source a UDP service bound to the wildcard address answers from: a plain socket's
/// `sendto()` leaves it to source selection on the route back, which need not be the
/// address the request was sent to (a service using `IP_PKTINFO` answers from that one;
/// the answer states the assumption). `None`: the reply's source stays the address asked.
fn udp_wildcard_source(
    host: &model::Host,
    fate: &Fate,
    reply: &Packet,
) -> Option<std::net::IpAddr> {
    let Fate::Delivered {
        listener: Listener::Open(socket),
    } = fate
    else {
        return None;
    };
    if !matches!(reply.l4, L4::Udp { .. }) || !socket.addr.is_unspecified() {
        return None;
    }
    engine::source::select_source(host, reply.dst, &engine::source::Bind::None)
        .addr
        .filter(|chosen| *chosen != reply.src)
}

/// Whether the answer at `hop` comes from a UDP service bound to the wildcard address
/// (whose source the kernel's source selection picks).
pub fn udp_from_wildcard(hop: &Hop) -> bool {
    let HopKind::Linux { outcome } = &hop.kind else {
        return false;
    };
    matches!(
        &outcome.primary().fate,
        Fate::Delivered { listener: Listener::Open(s) }
            if s.addr.is_unspecified() && s.proto == model::packet::IpProto::Udp
    )
}

/// The acknowledgement of a data segment delivered at `hop`: from where it arrived (after
/// that host's NAT), back to its sender.
pub(crate) fn acknowledgement(hop: &Hop) -> Packet {
    let arrived = match &hop.kind {
        HopKind::Linux { outcome } => &outcome.primary().final_packet,
        HopKind::Stub { .. } => &hop.packet,
    };
    let (sport, dport) = arrived.l4.ports().unwrap_or((0, 0));
    Packet::new(
        arrived.dst,
        arrived.src,
        L4::Tcp {
            sport: dport,
            dport: sport,
            flags: TcpFlags::ACK,
        },
    )
}

/// A stub answers as its description says; what it does not say, it is assumed to accept.
fn of_stub(answers: &StubAnswers, request: &Packet) -> Answer {
    let refused =
        |open: &Option<Vec<u16>>, port: u16| open.as_ref().is_some_and(|o| !o.contains(&port));
    let mirrored = |l4: L4| {
        let mut p = Packet::new(request.dst, request.src, l4);
        p.ttl = 64;
        p
    };
    // An echo reply carries the request's payload back.
    let echoed = |l4: L4| Packet {
        len: request.len,
        dont_fragment: false,
        ..mirrored(l4)
    };
    match request.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } if flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK) => {
            if refused(&answers.tcp, dport) {
                Answer::Refusal(mirrored(L4::Tcp {
                    sport: dport,
                    dport: sport,
                    flags: TcpFlags::RST.union(TcpFlags::ACK),
                }))
            } else {
                Answer::Reply(mirrored(L4::Tcp {
                    sport: dport,
                    dport: sport,
                    flags: TcpFlags::SYN.union(TcpFlags::ACK),
                }))
            }
        }
        L4::Udp { sport, dport } => {
            if refused(&answers.udp, dport) {
                let l4 = if request.is_ipv6() {
                    L4::Icmpv6 {
                        icmp_type: 1,
                        code: 4,
                        id: 0,
                    }
                } else {
                    L4::Icmp {
                        icmp_type: 3,
                        code: 3,
                        id: 0,
                    }
                };
                Answer::Refusal(mirrored(l4))
            } else {
                Answer::Reply(mirrored(L4::Udp {
                    sport: dport,
                    dport: sport,
                }))
            }
        }
        L4::Icmp {
            icmp_type: 8, id, ..
        } if answers.ping => Answer::Reply(echoed(L4::Icmp {
            icmp_type: 0,
            code: 0,
            id,
        })),
        L4::Icmpv6 {
            icmp_type: 128, id, ..
        } if answers.ping => Answer::Reply(echoed(L4::Icmpv6 {
            icmp_type: 129,
            code: 0,
            id,
        })),
        _ => Answer::Silent,
    }
}

/// The error the host of `hop` sends back about the packet it lost there, as a packet
/// that host generates (`None`: it sends nothing, or its own path refused a packet it
/// sent, whose socket learns the error without a packet). A neighbour the sender itself
/// cannot resolve is reported by an ICMP error it sends to itself, through its own
/// OUTPUT and INPUT.
pub(crate) fn error_from(state: &State<'_>, hop: &Hop, stop: &Stop) -> Option<Packet> {
    let packet = match (stop, &hop.kind) {
        (Stop::Kernel, HopKind::Linux { outcome }) => {
            hop.arrived_on.as_ref()?;
            let trace = outcome.primary();
            response_packet(trace.sender_sees.response.as_ref()?, &trace.packet)?
        }
        (Stop::Neighbour { .. }, HopKind::Linux { .. }) => {
            // `ipv4_link_failure` / `ip6_link_failure`: host unreachable / address
            // unreachable, from the address source selection gives the error. Resolution
            // fails after POSTROUTING: the error is about the packet as it left, addressed
            // to its (translated) source, and conntrack gives it back to the sender; a
            // packet masqueraded to an address of this host gets its error from that address.
            let host = &state.hosts[hop.node];
            let left = hop.egress.as_ref().map_or(&hop.packet, |e| &e.packet);
            let from = if host.owner_of(left.src).is_some() {
                left.src
            } else {
                let mut about = left.clone();
                about.iif.clone_from(&hop.packet.iif);
                engine::route::icmp_error_source(host, &about)?
            };
            let l4 = if hop.packet.is_ipv6() {
                L4::Icmpv6 {
                    icmp_type: 1,
                    code: 3,
                    id: 0,
                }
            } else {
                L4::Icmp {
                    icmp_type: 3,
                    code: 1,
                    id: 0,
                }
            };
            Packet::new(from, hop.packet.src, l4)
        }
        _ => return None,
    };
    // icmp_send: DF never set; an error quotes as much of the packet as fits 576 bytes
    // (IPv4) or the minimum MTU of 1280 (IPv6).
    let (header, limit) = if packet.is_ipv6() {
        (48, 1280)
    } else {
        (28, 576)
    };
    let quoted = hop.packet.len.saturating_add(header).min(limit);
    Some(Packet {
        dont_fragment: false,
        len: if matches!(packet.l4, L4::Tcp { .. }) {
            packet.len
        } else {
            quoted
        },
        ..packet
    })
}

/// The packet a REJECT at `hop` refused, when `error` is the TCP reset it sent about it:
/// the kernel attaches the reset to that packet's connection (`nf_ct_attach`), RELATED
/// (measured), where a packet the host sent on its own would be looked up.
pub(crate) fn reset_of(hop: &Hop, error: &Packet) -> Option<Packet> {
    let HopKind::Linux { outcome } = &hop.kind else {
        return None;
    };
    let rejected = matches!(outcome.primary().fate, Fate::Rejected { .. });
    let reset = matches!(error.l4, L4::Tcp { flags, .. } if flags.contains(TcpFlags::RST));
    (rejected && reset).then(|| hop.packet.clone())
}

/// The packet `response` is, sent back about `about` (the packet as the answering hook
/// saw it).
fn response_packet(response: &Response, about: &Packet) -> Option<Packet> {
    let from = response.from.addr()?;
    let (sport, dport) = about.l4.ports().unwrap_or((0, 0));
    let l4 = match response.kind {
        ResponseKind::TcpRst => L4::Tcp {
            sport: dport,
            dport: sport,
            flags: TcpFlags::RST.union(TcpFlags::ACK),
        },
        ResponseKind::SynAck => L4::Tcp {
            sport: dport,
            dport: sport,
            flags: TcpFlags::SYN.union(TcpFlags::ACK),
        },
        ResponseKind::Icmp { icmp_type, code } => L4::Icmp {
            icmp_type,
            code,
            id: 0,
        },
        ResponseKind::Icmpv6 { icmp_type, code } => L4::Icmpv6 {
            icmp_type,
            code,
            id: 0,
        },
    };
    Some(Packet::new(from, response.to, l4))
}

/// Whether `answer` (as it reaches the sender) belongs to the socket that sent `request`:
/// from the address and port it asked, to its own. An ICMP error is taken by the quoted
/// packet, whatever its source.
pub(crate) fn answers_socket(request: &Packet, answer: &Packet) -> bool {
    if engine::reject::is_icmp_error(answer) {
        return true;
    }
    let ports = |p: &Packet| match p.l4 {
        L4::Icmp { id, .. } | L4::Icmpv6 { id, .. } => (id, id),
        _ => p.l4.ports().unwrap_or((0, 0)),
    };
    let (rs, rd) = ports(request);
    let (as_, ad) = ports(answer);
    let echo = matches!(request.proto(), IpProto::Icmp | IpProto::Icmpv6);
    answer.src == request.dst
        && answer.dst == request.src
        && if echo {
            as_ == rs
        } else {
            as_ == rd && ad == rs
        }
}
