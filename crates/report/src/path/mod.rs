//! The answer of `whyblocked path`: a packet walked across several hosts, there and back
//! ([`network::walk`]); as text ([`text`]) and as JSON ([`json`]).
//!
//! What the walk found is read here once ([`Verdict`]: where the exchange ends, what the
//! sender observes, where a fix belongs) so that both renderers say the same thing.

pub mod json;
pub mod text;
mod words;

use crate::Answer;
use analysis::AnswerFacts;
use engine::{AnswerSource, Fate, Response, ResponseKind, SenderView};
use model::topology::Topology;
use model::{Host, Packet, L4};
use network::fix::PathFix;
use network::sees::SenderSees;
use network::{HopKind, Leg, LegEnd, LegRole, Outcome, PathWalk, Stop};
use std::net::IpAddr;

/// Everything a path answer is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct PathAnswer<'a> {
    /// The hosts and links walked across.
    pub topology: &'a Topology,
    /// The walk.
    pub walk: &'a PathWalk,
    /// The node that sends ([`network::Query::from`]).
    pub sender: usize,
    /// What the caller computed about it ([`PathFacts::of`]).
    pub facts: &'a PathFacts,
    /// The IP length asked for (`--size`), if any.
    pub size: Option<u16>,
}

/// What is computed about a walk before it is rendered: each Linux hop's host as the
/// packet met it and its answer facts (how its deciding rule was reached), and the fix.
#[derive(Debug, Clone, Default)]
pub struct PathFacts {
    /// Per leg, per hop: a Linux hop's facts (`None` for a stub).
    pub hops: Vec<Vec<Option<HopFacts>>>,
    /// The change that makes the exchange work ([`network::fix::fix`]), when searched for
    /// and found.
    pub fix: Option<PathFix>,
}

/// A Linux hop, computed once for its one-host renderings.
#[derive(Debug, Clone)]
pub struct HopFacts {
    /// The host as the packet met it (the conntrack entries the walk created before it
    /// included: the hop's trace refers to them by index).
    pub host: Host,
    /// Its answer facts.
    pub facts: AnswerFacts,
}

impl PathFacts {
    /// The facts of every Linux hop of `walk`, and `fix` (computed by the caller).
    pub fn of(topology: &Topology, walk: &PathWalk, fix: Option<PathFix>) -> PathFacts {
        let hops = walk
            .legs
            .iter()
            .map(|leg| {
                leg.hops
                    .iter()
                    .map(|hop| match &hop.kind {
                        HopKind::Linux { outcome } => {
                            let node = &topology.nodes[hop.node];
                            let mut host = node.host.clone();
                            host.conntrack = hop.conntrack.clone();
                            host.known.conntrack |= !hop.conntrack.is_empty();
                            Some(HopFacts {
                                host,
                                facts: AnswerFacts::of(&node.ruleset, outcome),
                            })
                        }
                        HopKind::Stub { .. } => None,
                    })
                    .collect()
            })
            .collect();
        PathFacts { hops, fix }
    }
}

impl<'a> PathAnswer<'a> {
    /// The one-host answer of hop `hop` of leg `leg`, when it is a Linux hop (for the
    /// one-host renderers: its path table, its deciding rule, its JSON).
    pub(crate) fn hop_answer(&self, leg: usize, hop: usize) -> Option<Answer<'a>> {
        let h = self.walk.legs.get(leg)?.hops.get(hop)?;
        let HopKind::Linux { outcome } = &h.kind else {
            return None;
        };
        let facts = self.facts.hops.get(leg)?.get(hop)?.as_ref()?;
        let node = &self.topology.nodes[h.node];
        Some(Answer {
            ruleset: &node.ruleset,
            host: &facts.host,
            outcome,
            facts: &facts.facts,
            remedies: None,
            rule_reasons: None,
            ping: None,
            input_notes: &node.notes,
        })
    }
}

/// The exchange read once for both renderers.
#[derive(Debug, Clone)]
pub(crate) struct Verdict<'w> {
    /// The leg and hop the exchange fails at or cannot be decided at.
    pub at: Option<(usize, usize)>,
    /// What the sender observes ([`network::sees::sender_sees`]).
    pub sees: SenderSees,
    /// An error a hop sent about a lost packet, dropped on its way back (with a "too big",
    /// the path-MTU black hole).
    pub lost: Option<LostError<'w>>,
    /// A "too big" error that reached the sender before the packet was sent again smaller
    /// (`PathWalk::path_mtu`): the error as received and the hop that sent it.
    pub learned: Option<(&'w Packet, usize)>,
    /// The answer arrived from another address than the one asked (expected, got).
    pub stray: Option<(IpAddr, IpAddr)>,
}

/// An error lost on its way back.
#[derive(Debug, Clone)]
pub(crate) struct LostError<'w> {
    /// The error as sent.
    pub packet: &'w Packet,
    /// The hop that sent it.
    pub from: usize,
    /// The hop that dropped it.
    pub lost_at: usize,
    /// The MTU it announces, for a "too big".
    pub mtu: Option<u32>,
}

impl<'w> Verdict<'w> {
    /// Reads `walk`.
    pub fn of(walk: &'w PathWalk) -> Verdict<'w> {
        let at = match walk.outcome {
            Outcome::Fails { leg, hop } | Outcome::Undecided { leg, hop } => Some((leg, hop)),
            Outcome::Works | Outcome::Refused => None,
        };
        let errors = |arrived: bool| {
            walk.legs.iter().filter_map(move |l| match l.role {
                LegRole::Error { about } if (l.end == LegEnd::Arrived) == arrived => {
                    Some((l, about))
                }
                _ => None,
            })
        };
        let lost = at.and_then(|(leg, _)| {
            let (e, about) = errors(false).find(|(_, about)| *about == leg)?;
            let failed = &walk.legs[about];
            Some(LostError {
                packet: &e.hops.first()?.packet,
                from: e.hops.first()?.node,
                lost_at: e.hops.last()?.node,
                mtu: failed.hops.last().and_then(too_big_mtu),
            })
        });
        let learned = walk.path_mtu.and_then(|_| {
            errors(true).find_map(|(e, about)| {
                walk.legs[about].hops.last().and_then(too_big_mtu)?;
                Some((received(e), e.hops.first()?.node))
            })
        });
        let stray = at.and_then(|(leg, _)| match &walk.legs[leg].end {
            LegEnd::Stopped(Stop::NotForSender { expected, got }) => Some((*expected, *got)),
            _ => None,
        });
        Verdict {
            at,
            sees: network::sees::sender_sees(walk),
            lost,
            learned,
            stray,
        }
    }

    /// A stable code for what the sender observes (JSON's `sender_sees.code`).
    pub fn code(&self) -> &'static str {
        match (&self.sees, &self.lost, &self.stray) {
            (SenderSees::Answer { .. }, ..) => "answer",
            (SenderSees::Refused { .. }, ..) => "refused",
            (SenderSees::Error { .. }, ..) => "error",
            (SenderSees::SendFails { .. }, ..) => "send_fails",
            (SenderSees::Nothing, Some(_), _) => "error_lost",
            (SenderSees::Nothing, None, Some(_)) => "stray_answer",
            (SenderSees::Nothing, None, None) => "nothing",
            (SenderSees::Unknown, ..) => "unknown",
        }
    }
}

/// The last leg that travelled back to the sender and arrived.
pub(crate) fn last_back(walk: &PathWalk) -> Option<&Leg> {
    walk.legs
        .iter()
        .rev()
        .find(|l| matches!(l.role, LegRole::Answer | LegRole::DataAnswer))
        .filter(|l| l.end == LegEnd::Arrived)
}

/// The packet as the last hop of `leg` received it (after its own NAT).
pub(crate) fn received(leg: &Leg) -> &Packet {
    let hop = leg.hops.last().expect("a leg that arrived has hops");
    match &hop.kind {
        HopKind::Linux { outcome } => &outcome.primary().final_packet,
        HopKind::Stub { .. } => &hop.packet,
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
    engine::symptom::sender_view_at(
        sender,
        request,
        &Fate::Dropped,
        response.as_ref(),
        false,
        None,
    )
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
