//! Legs: one packet's way from the host that sends it to where it ends, and the exchange
//! of legs a connection is made of.

use crate::answer::{self, Answer};
use crate::hop::{self, Hop, Next};
use crate::state::State;
use crate::{Bind, Outcome, PathWalk, Query, MAX_HOPS};
use model::topology::Topology;
use model::{Packet, TcpFlags, L4};
use std::net::IpAddr;

/// Which packet of the exchange a leg carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegRole {
    /// The request: a SYN, an echo request, a datagram.
    Request,
    /// The destination's answer: a SYN/ACK, an echo reply, a reply datagram, or its
    /// refusal (a reset, a port unreachable).
    Answer,
    /// A full-size data segment on the established connection (`--size`).
    Data,
    /// The acknowledgement of the data segment.
    DataAnswer,
    /// An ICMP error (or a firewall's reset) a hop sends about a packet lost there,
    /// on its way back to that packet's sender.
    Error {
        /// The leg whose packet was lost.
        about: usize,
    },
}

/// One packet's way.
#[derive(Debug, Clone)]
pub struct Leg {
    /// Which packet.
    pub role: LegRole,
    /// The hosts it crossed, the sender first.
    pub hops: Vec<Hop>,
    /// How it ended, at the last hop.
    pub end: LegEnd,
}

/// How a leg ended (at its last hop).
#[derive(Debug, Clone, PartialEq)]
pub enum LegEnd {
    /// Delivered to the last hop's host.
    Arrived,
    /// Lost at the last hop.
    Stopped(Stop),
    /// It left the hosts given (a neighbour not in the topology, an interface on no link).
    Left,
    /// The last hop's verdict depends on what the input does not tell.
    Undecided,
    /// More than [`MAX_HOPS`] hops: a routing loop.
    Looped,
}

/// Why a packet was lost at a hop.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The host's kernel path lost it: the hop's trace says why (a rule, routing, the MTU
    /// of the way out, conntrack, the stack).
    Kernel,
    /// Nobody answered neighbour resolution for the next hop.
    Neighbour {
        /// The address resolved.
        next_hop: IpAddr,
    },
    /// The frame is larger than the receiving interface's MTU: the receiver drops it.
    FrameTooBig {
        /// The receiving node.
        node: usize,
        /// Its interface.
        iface: String,
        /// That interface's MTU.
        mtu: u32,
    },
    /// The sender's own packet does not fit its way out and must not be fragmented
    /// (`ping -M do`): the send fails with `EMSGSIZE`.
    TooBigToSend {
        /// The MTU of the way out.
        mtu: u32,
    },
    /// A stub has no route for the destination.
    StubNoRoute,
    /// A stub would forward with a TTL that runs out.
    StubTtl,
    /// The sender has no address to send from.
    NoSourceAddress,
    /// The answer reached the sender from another address or port than the one it asked
    /// (a hairpin NAT without SNAT, an asymmetric NAT): no socket takes it, and the
    /// sender's stack answers a TCP segment with a reset.
    NotForSender {
        /// The address the sender asked.
        expected: IpAddr,
        /// The address the answer came from.
        got: IpAddr,
    },
    /// The answer was delivered to another host than the sender.
    ArrivedElsewhere,
}

/// The exchange `query` starts: legs there and back.
pub(crate) fn exchange(topology: &Topology, query: &Query) -> PathWalk {
    let mut state = State::new(topology, query.dont_fragment);
    let mut packet = query.packet.clone();
    packet.iif = None;
    let source = engine::source::select_source(&state.hosts[query.from], packet.dst, &query.bind);
    if let Bind::Device(dev) = &query.bind {
        packet.bound_dev = Some(dev.clone());
    }
    match source.addr {
        Some(addr) => packet.src = addr,
        None => {
            let leg = Leg {
                role: LegRole::Request,
                hops: Vec::new(),
                end: LegEnd::Stopped(Stop::NoSourceAddress),
            };
            return PathWalk {
                source,
                legs: vec![leg],
                path_mtu: None,
                outcome: Outcome::Fails { leg: 0, hop: 0 },
            };
        }
    }
    let mut ex = Exchange {
        topology,
        query,
        state: &mut state,
        legs: Vec::new(),
        path_mtu: None,
    };
    let outcome = ex.run(packet);
    PathWalk {
        source,
        legs: ex.legs,
        path_mtu: ex.path_mtu,
        outcome,
    }
}

/// Rounds of path-MTU discovery followed before giving up.
const MAX_PMTU_ROUNDS: usize = 4;

struct Exchange<'a, 't> {
    topology: &'t Topology,
    query: &'a Query,
    state: &'a mut State<'t>,
    legs: Vec<Leg>,
    /// The path MTU the sender learned from a "too big" error.
    path_mtu: Option<u32>,
}

impl Exchange<'_, '_> {
    fn run(&mut self, request: Packet) -> Outcome {
        let carries_payload = !matches!(request.l4, L4::Tcp { .. });
        let request = sized(request, self.query.size, carries_payload);
        let outcome = self.discovering_path_mtu(request.clone(), LegRole::Request);
        if outcome != Outcome::Works {
            return outcome;
        }
        let (Some(size), L4::Tcp { .. }) = (self.query.size, request.l4) else {
            return outcome;
        };
        // The handshake is done: a full-size segment, as large as both ends' MSS allow.
        self.state.established();
        let mut data = request.clone();
        if let L4::Tcp { flags, .. } = &mut data.l4 {
            *flags = TcpFlags::ACK;
        }
        let (Some(asked), Some(answered)) = (
            self.legs.iter().rev().find(|l| l.role == LegRole::Request),
            self.legs.iter().rev().find(|l| l.role == LegRole::Answer),
        ) else {
            return outcome;
        };
        data.len = crate::mss::segment_len(self.topology, asked, answered, size);
        self.discovering_path_mtu(data, LegRole::Data)
    }

    /// [`Self::there_and_back`], sent again the way the sender's kernel does once a
    /// "fragmentation needed" / "packet too big" reached it: the route's path MTU is
    /// lowered (TCP sends smaller segments; a datagram or echo request of that size is
    /// fragmented by the sender). At most [`MAX_PMTU_ROUNDS`] rounds, one per smaller link.
    fn discovering_path_mtu(&mut self, packet: Packet, role: LegRole) -> Outcome {
        let mut packet = packet;
        let mut round = 0;
        loop {
            let result = self.there_and_back(packet.clone(), role);
            let Some(mtu) = self.learned_path_mtu(&result) else {
                return result;
            };
            round += 1;
            if round > MAX_PMTU_ROUNDS || u32::from(packet.len) <= mtu {
                return result;
            }
            self.path_mtu = Some(mtu);
            if self.query.dont_fragment && !matches!(packet.l4, L4::Tcp { .. }) {
                // `ping -M do`: the error is the answer; the next one fails to send.
                return result;
            }
            let mtu = u16::try_from(mtu).unwrap_or(u16::MAX);
            match packet.l4 {
                L4::Tcp { .. } => packet.len = mtu,
                // IPv4 without DF is fragmented by the routers; IPv6 only by the sender.
                _ if !packet.is_ipv6() => packet.dont_fragment = false,
                _ => packet.len = mtu,
            }
        }
    }

    /// The MTU a "too big" error that reached the sender tells, when the exchange failed
    /// on it.
    fn learned_path_mtu(&self, outcome: &Outcome) -> Option<u32> {
        let Outcome::Fails { leg, hop } = *outcome else {
            return None;
        };
        let error = self.legs.last()?;
        let error_arrived = error.role == (LegRole::Error { about: leg })
            && error.end == LegEnd::Arrived
            && error.hops.last().is_some_and(|h| h.node == self.query.from);
        if !error_arrived {
            return None;
        }
        match &self.legs[leg].hops.get(hop)?.kind {
            crate::hop::HopKind::Linux { outcome } => match outcome.primary().cause {
                Some(engine::Cause::TooBig { mtu }) => Some(mtu),
                _ => None,
            },
            crate::hop::HopKind::Stub { .. } => None,
        }
    }

    /// One packet from the sender and what comes back for it.
    fn there_and_back(&mut self, packet: Packet, role: LegRole) -> Outcome {
        let from = self.query.from;
        let there = self.leg(from, packet.clone(), role);
        let there_at = self.legs.len() - 1;
        let last = there.hops.len().saturating_sub(1);
        match &there.end {
            LegEnd::Arrived => {}
            LegEnd::Stopped(stop) => {
                let hop = &there.hops[last];
                if let Some(error) = answer::error_from(self.state, hop, stop) {
                    let reset_of = answer::reset_of(hop, &error);
                    let role = LegRole::Error { about: there_at };
                    self.leg_from(hop.node, error, role, reset_of);
                }
                return Outcome::Fails {
                    leg: there_at,
                    hop: last,
                };
            }
            LegEnd::Looped => {
                return Outcome::Fails {
                    leg: there_at,
                    hop: last,
                }
            }
            LegEnd::Left | LegEnd::Undecided => {
                return Outcome::Undecided {
                    leg: there_at,
                    hop: last,
                }
            }
        }
        let destination = there.hops[last].node;
        let back_role = if role == LegRole::Data {
            LegRole::DataAnswer
        } else {
            LegRole::Answer
        };
        let (back_packet, refused) = if role == LegRole::Data {
            (answer::acknowledgement(&there.hops[last]), false)
        } else {
            match answer::of_destination(self.topology, self.state, &there.hops[last]) {
                Answer::Reply(p) => (p, false),
                Answer::Refusal(p) => (p, true),
                Answer::Silent => return Outcome::Refused,
            }
        };
        let mut back = self.leg(destination, back_packet, back_role);
        let back_at = self.legs.len() - 1;
        let back_last = back.hops.len().saturating_sub(1);
        let outcome = match &back.end {
            LegEnd::Arrived if back.hops[back_last].node != from => {
                back.end = LegEnd::Stopped(Stop::ArrivedElsewhere);
                Outcome::Fails {
                    leg: back_at,
                    hop: back_last,
                }
            }
            LegEnd::Arrived => {
                let hop = &back.hops[back_last];
                let received = arrived_as(hop);
                if answer::answers_socket(&packet, &received) {
                    if refused {
                        Outcome::Refused
                    } else {
                        Outcome::Works
                    }
                } else {
                    back.end = LegEnd::Stopped(Stop::NotForSender {
                        expected: packet.dst,
                        got: received.src,
                    });
                    Outcome::Fails {
                        leg: back_at,
                        hop: back_last,
                    }
                }
            }
            LegEnd::Stopped(_) | LegEnd::Looped => Outcome::Fails {
                leg: back_at,
                hop: back_last,
            },
            LegEnd::Left | LegEnd::Undecided => Outcome::Undecided {
                leg: back_at,
                hop: back_last,
            },
        };
        let error = match &back.end {
            LegEnd::Stopped(stop)
                if !matches!(stop, Stop::NotForSender { .. } | Stop::ArrivedElsewhere) =>
            {
                let hop = &back.hops[back_last];
                answer::error_from(self.state, hop, stop)
                    .map(|e| (hop.node, answer::reset_of(hop, &e), e))
            }
            _ => None,
        };
        self.legs[back_at] = back;
        if let Some((node, reset_of, error)) = error {
            self.leg_from(node, error, LegRole::Error { about: back_at }, reset_of);
            return outcome;
        }
        outcome
    }

    /// Walks `packet` from `node` (which generates it) until it ends; the leg is kept.
    fn leg(&mut self, node: usize, packet: Packet, role: LegRole) -> Leg {
        self.leg_from(node, packet, role, None)
    }

    /// [`Self::leg`] of a TCP reset a REJECT at `node` sent about `reset_of`.
    fn leg_from(
        &mut self,
        node: usize,
        packet: Packet,
        role: LegRole,
        reset_of: Option<Packet>,
    ) -> Leg {
        let mut hops = Vec::new();
        let (mut node, mut packet) = (node, packet);
        let end = loop {
            if hops.len() >= MAX_HOPS {
                break LegEnd::Looped;
            }
            // Only the rejecting host itself sends the reset attached.
            let attached = reset_of.as_ref().filter(|_| hops.is_empty());
            let (hop, next) = hop::cross(
                self.topology,
                self.state,
                node,
                &packet,
                &self.query.options,
                attached,
            );
            hops.push(hop);
            match next {
                Next::To { node: n, packet: p } => {
                    node = n;
                    packet = p;
                }
                Next::Arrived => break LegEnd::Arrived,
                Next::Stopped(stop) => break LegEnd::Stopped(stop),
                Next::Left => break LegEnd::Left,
                Next::Undecided => break LegEnd::Undecided,
            }
        };
        let leg = Leg { role, hops, end };
        self.legs.push(leg.clone());
        leg
    }
}

/// The packet as the last hop's host received it (after its own NAT): what its socket
/// sees.
fn arrived_as(hop: &Hop) -> Packet {
    match &hop.kind {
        crate::hop::HopKind::Linux { outcome } => outcome.primary().final_packet.clone(),
        crate::hop::HopKind::Stub { .. } => hop.packet.clone(),
    }
}

/// The request with its size: `size` bytes when given, for a packet that carries its
/// payload itself (an echo request, a datagram); a TCP request stays a bare SYN.
fn sized(mut packet: Packet, size: Option<u16>, carries_payload: bool) -> Packet {
    if let (Some(size), true) = (size, carries_payload) {
        packet.len = size.max(packet.len);
    }
    packet
}
