//! The answer of `whyblocked path`: a packet walked across several hosts, there and back
//! ([`network::walk`]); as text ([`text`]) and as JSON ([`json`]).
//!
//! What the walk found is read here once ([`Verdict`]: where the exchange ends, what the
//! sender observes, where a fix belongs) so that both renderers say the same thing.

pub mod json;
pub mod text;
mod words;

use analysis::remedy::Remedies;
use analysis::AnswerFacts;
use engine::{AnswerSource, Fate, Options, Response, ResponseKind, SenderView};
use model::topology::Topology;
use model::{Host, Packet, L4};
use network::{HopKind, Leg, LegEnd, LegRole, Outcome, PathWalk, Stop};
use std::net::IpAddr;

/// Everything a path answer is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct PathAnswer<'a> {
    /// The hosts and links walked across.
    pub topology: &'a Topology,
    /// The walk.
    pub walk: &'a PathWalk,
    /// What the caller computed about its hops ([`PathFacts::of`]).
    pub facts: &'a PathFacts,
    /// The IP length asked for (`--size`), if any.
    pub size: Option<u16>,
}

/// What is computed about a walk before it is rendered: each Linux hop's answer facts
/// (how its deciding rule was reached) and the remedies for the hop the exchange fails at.
#[derive(Debug, Clone, Default)]
pub struct PathFacts {
    /// Per leg, per hop: the facts of a Linux hop (`None` for a stub).
    pub hops: Vec<Vec<Option<AnswerFacts>>>,
    /// The remedies for the Linux hop the exchange fails at, when a firewall rule or
    /// policy stopped it there and a fix was searched for.
    pub remedies: Option<Remedies>,
}

impl PathFacts {
    /// The facts of every Linux hop of `walk`; with `fix`, the remedies for the hop where
    /// a rule or policy stops the exchange (searched with `options`).
    pub fn of(topology: &Topology, walk: &PathWalk, options: &Options, fix: bool) -> PathFacts {
        let hops = walk
            .legs
            .iter()
            .map(|leg| {
                leg.hops
                    .iter()
                    .map(|hop| match &hop.kind {
                        HopKind::Linux { outcome } => Some(AnswerFacts::of(
                            &topology.nodes[hop.node].ruleset,
                            outcome,
                        )),
                        HopKind::Stub { .. } => None,
                    })
                    .collect()
            })
            .collect();
        let remedies = match (fix, &walk.outcome) {
            (true, Outcome::Fails { leg, hop }) => {
                let hop = &walk.legs[*leg].hops[*hop];
                match (&hop.kind, &walk.legs[*leg].end) {
                    (HopKind::Linux { outcome }, LegEnd::Stopped(Stop::Kernel)) => {
                        let node = &topology.nodes[hop.node];
                        analysis::remedy::remedies(
                            &node.ruleset,
                            &walk.hosts[hop.node],
                            &hop.packet,
                            outcome,
                            options,
                            &node.tool_config,
                        )
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        PathFacts { hops, remedies }
    }
}

/// The exchange read once for both renderers.
#[derive(Debug, Clone)]
pub(crate) struct Verdict<'w> {
    /// The leg and hop the exchange fails at or cannot be decided at.
    pub at: Option<(usize, usize)>,
    /// What the sender observes.
    pub seen: Seen<'w>,
}

/// What the sender observes.
#[derive(Debug, Clone)]
pub(crate) enum Seen<'w> {
    /// The answer arrives (an echo reply, a SYN/ACK, a reply datagram); with `data`, a
    /// full-size data segment is acknowledged too.
    Answer { packet: &'w Packet, data: bool },
    /// The destination's refusal arrives (a reset, a port unreachable).
    Refusal { packet: &'w Packet },
    /// The destination takes the request and sends nothing back.
    Unanswered,
    /// Nothing comes back: the packet (or its answer) is lost without an error.
    Nothing,
    /// An error (ICMP, or a firewall's reset) from the hop that lost the packet arrives.
    Error {
        packet: &'w Packet,
        from: usize,
        mtu: Option<u32>,
    },
    /// The hop that lost the packet sends an error, which is lost on its way back.
    ErrorLost {
        packet: &'w Packet,
        from: usize,
        lost_at: usize,
        mtu: Option<u32>,
    },
    /// The sender's own kernel refuses the send: neighbour resolution fails, the packet
    /// does not fit and must not be fragmented, there is no source address.
    Local(&'w Stop),
    /// An answer arrives that no socket of the sender takes.
    Stray { expected: IpAddr, got: IpAddr },
    /// It cannot be said.
    Unknown,
}

impl Seen<'_> {
    /// A stable code for JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Seen::Answer { .. } => "answer",
            Seen::Refusal { .. } => "refusal",
            Seen::Unanswered => "unanswered",
            Seen::Nothing => "nothing",
            Seen::Error { .. } => "error",
            Seen::ErrorLost { .. } => "error_lost",
            Seen::Local(_) => "local_error",
            Seen::Stray { .. } => "stray_answer",
            Seen::Unknown => "unknown",
        }
    }
}

impl<'w> Verdict<'w> {
    /// Reads `walk`.
    pub fn of(walk: &'w PathWalk) -> Verdict<'w> {
        let at = match walk.outcome {
            Outcome::Fails { leg, hop } | Outcome::Undecided { leg, hop } => Some((leg, hop)),
            Outcome::Works | Outcome::Refused => None,
        };
        let seen = match (&walk.outcome, at) {
            (Outcome::Works, _) => match last_back(walk) {
                Some(leg) => Seen::Answer {
                    packet: received(leg),
                    data: leg.role == LegRole::DataAnswer,
                },
                None => Seen::Unknown,
            },
            (Outcome::Refused, _) => match last_back(walk) {
                Some(leg) => Seen::Refusal {
                    packet: received(leg),
                },
                None => Seen::Unanswered,
            },
            (Outcome::Undecided { .. }, _) => Seen::Unknown,
            (Outcome::Fails { .. }, Some((leg, hop))) => failed_seen(walk, leg, hop),
            (Outcome::Fails { .. }, None) => Seen::Unknown,
        };
        Verdict { at, seen }
    }
}

/// The last leg travelling back to the sender, when it arrived.
fn last_back(walk: &PathWalk) -> Option<&Leg> {
    walk.legs
        .iter()
        .rev()
        .find(|l| matches!(l.role, LegRole::Answer | LegRole::DataAnswer))
        .filter(|l| l.end == LegEnd::Arrived)
}

/// The packet as the last hop of `leg` received it (after its own NAT).
fn received(leg: &Leg) -> &Packet {
    let hop = leg.hops.last().expect("a leg that arrived has hops");
    match &hop.kind {
        HopKind::Linux { outcome } => &outcome.primary().final_packet,
        HopKind::Stub { .. } => &hop.packet,
    }
}

fn failed_seen(walk: &PathWalk, leg: usize, hop: usize) -> Seen<'_> {
    let failed = &walk.legs[leg];
    let stop = match &failed.end {
        LegEnd::Stopped(stop) => stop,
        _ => return Seen::Nothing,
    };
    match stop {
        Stop::NotForSender { expected, got } => {
            return Seen::Stray {
                expected: *expected,
                got: *got,
            }
        }
        Stop::ArrivedElsewhere => return Seen::Nothing,
        Stop::TooBigToSend { .. } | Stop::NoSourceAddress => return Seen::Local(stop),
        Stop::Neighbour { .. } if hop == 0 && failed.hops[0].arrived_on.is_none() => {
            return Seen::Local(stop)
        }
        _ => {}
    }
    let mtu = failed.hops.get(hop).and_then(too_big_mtu);
    let error = walk
        .legs
        .iter()
        .find(|l| l.role == LegRole::Error { about: leg });
    match error {
        None => Seen::Nothing,
        Some(e) => {
            let first = &e.hops[0];
            let last = e.hops.last().expect("an error leg has hops");
            match &e.end {
                LegEnd::Arrived => Seen::Error {
                    packet: received(e),
                    from: first.node,
                    mtu,
                },
                LegEnd::Stopped(_) | LegEnd::Looped => Seen::ErrorLost {
                    packet: &first.packet,
                    from: first.node,
                    lost_at: last.node,
                    mtu,
                },
                LegEnd::Left | LegEnd::Undecided => Seen::Unknown,
            }
        }
    }
}

/// The MTU a hop's "fragmentation needed" / "packet too big" announces.
fn too_big_mtu(hop: &network::Hop) -> Option<u32> {
    match &hop.kind {
        HopKind::Linux { outcome } => match &outcome.primary().cause {
            Some(engine::Cause::TooBig { mtu }) => Some(*mtu),
            _ => None,
        },
        HopKind::Stub { .. } => None,
    }
}

/// The sender's socket view of a packet that came back (`Some`) or of silence (`None`),
/// as the sender's kernel takes it.
pub(crate) fn sender_view(sender: &Host, request: &Packet, back: Option<&Packet>) -> SenderView {
    // Not locally generated here: the fate only matters for silence (a drop).
    let response = back.and_then(|p| response_of(p, request));
    engine::symptom::sender_view_at(sender, request, &Fate::Dropped, response.as_ref(), false, None)
}

/// `packet` as a [`Response`] to `request`: an ICMP error, or a reset.
fn response_of(packet: &Packet, request: &Packet) -> Option<Response> {
    let kind = match packet.l4 {
        L4::Icmp {
            icmp_type, code, ..
        } => ResponseKind::Icmp { icmp_type, code },
        L4::Icmpv6 {
            icmp_type, code, ..
        } => ResponseKind::Icmpv6 { icmp_type, code },
        L4::Tcp { flags, .. } if flags.contains(model::TcpFlags::RST) => ResponseKind::TcpRst,
        _ => return None,
    };
    Some(Response {
        kind,
        from: AnswerSource::Addr(packet.src),
        to: request.src,
        by_stack: false,
    })
}
