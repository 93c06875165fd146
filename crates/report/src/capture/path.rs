//! A capture's failed flows placed on a topology (`pcap --topology`, several `--host`):
//! each walked from the host that owns its source address; here the walk's result as data
//! and in words: which leg (the way there or back), at which host, and why.

use crate::words;
use model::topology::Topology;
use network::{Leg, LegEnd, LegRole, Outcome, PathWalk, Stop};
use serde::Serialize;
use std::net::IpAddr;

/// The topology a capture's failed flows were walked across, and each finding's walk.
#[derive(Debug, Clone)]
pub struct CapturePaths {
    pub topology: Topology,
    /// One entry per finding: `None` for a finding that did not fail (suspicious only).
    pub flows: Vec<Option<FlowOnPath>>,
}

/// One failed flow on the topology.
#[derive(Debug, Clone)]
pub enum FlowOnPath {
    /// Walked from `from` (index into the topology's nodes), the owner of its source.
    Walked { from: usize, walk: PathWalk },
    /// Not walked, and why.
    NotPlaced(NotPlaced),
}

/// Why a failed flow was not walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPlaced {
    /// No host of the topology owns the flow's source address.
    NoOwner(IpAddr),
    /// Several do (nodes): which one sent it is not known.
    SeveralOwners(IpAddr, Vec<usize>),
    /// The capture holds no packet from the client (only answers, or only what an ICMP
    /// error quotes of a packet of another family).
    NoClientPacket,
}

/// Where the walk failed, as the JSON (`findings[].path`, flattened) and the text name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhereFailed {
    /// `works` (the hosts given do not explain the failure), `refused`, `fails`,
    /// `undecided`, or `not_walked` (see `not_walked`).
    pub outcome: &'static str,
    /// The leg that failed (index into the walk's legs, as `whyblocked path --json` lists
    /// them), its role (`request`, `answer`, `data`, `data_answer`, `error`) and direction
    /// (`there`: the request, a data segment; `back`: an answer, an error).
    pub leg: Option<usize>,
    pub role: Option<&'static str>,
    pub direction: Option<&'static str>,
    /// The hop (index into the leg's hops), its host and the interface it arrived on.
    pub hop: Option<usize>,
    pub node: Option<String>,
    pub arrived_on: Option<String>,
    /// Why it failed there, in words.
    pub reason: Option<String>,
}

impl WhereFailed {
    /// An outcome with no place: the walk works, or the flow was not walked.
    pub(super) fn nowhere(outcome: &'static str) -> WhereFailed {
        WhereFailed {
            outcome,
            leg: None,
            role: None,
            direction: None,
            hop: None,
            node: None,
            arrived_on: None,
            reason: None,
        }
    }
}

/// Where the walk failed (nothing, when it works).
pub(super) fn where_failed(walk: &PathWalk, topology: &Topology) -> WhereFailed {
    let (outcome, at) = match &walk.outcome {
        Outcome::Works => ("works", None),
        // Refused where the request arrived: at the destination.
        Outcome::Refused => (
            "refused",
            walk.legs
                .iter()
                .position(|l| l.role == LegRole::Request)
                .map(|l| (l, None)),
        ),
        Outcome::Fails { leg, hop } => ("fails", Some((*leg, Some(*hop)))),
        Outcome::Undecided { leg, hop } => ("undecided", Some((*leg, Some(*hop)))),
    };
    let Some((l, hop)) = at else {
        return WhereFailed::nowhere(outcome);
    };
    let leg = &walk.legs[l];
    let hop = hop.or_else(|| leg.hops.len().checked_sub(1));
    let h = hop.and_then(|i| leg.hops.get(i));
    WhereFailed {
        outcome,
        leg: Some(l),
        role: Some(role(leg.role)),
        direction: Some(direction(leg.role)),
        hop,
        node: h
            .and_then(|h| topology.nodes.get(h.node))
            .map(|n| n.name.clone()),
        arrived_on: h.and_then(|h| h.arrived_on.clone()),
        reason: Some(match walk.outcome {
            Outcome::Refused => refusal(walk),
            _ => reason(leg, hop, topology),
        }),
    }
}

/// The destination's refusal, by the answer it sent.
fn refusal(walk: &PathWalk) -> String {
    let answer = walk
        .legs
        .iter()
        .find(|l| l.role == LegRole::Answer)
        .and_then(|l| l.hops.first());
    match answer {
        Some(h) => format!(
            "the destination refuses it: it answers {}",
            words::packet(&h.packet)
        ),
        None => "the destination refuses it".to_string(),
    }
}

fn role(r: LegRole) -> &'static str {
    match r {
        LegRole::Request => "request",
        LegRole::Answer => "answer",
        LegRole::Data => "data",
        LegRole::DataAnswer => "data_answer",
        LegRole::Error { .. } => "error",
    }
}

fn direction(r: LegRole) -> &'static str {
    match r {
        LegRole::Request | LegRole::Data => "there",
        LegRole::Answer | LegRole::DataAnswer | LegRole::Error { .. } => "back",
    }
}

fn role_words(r: LegRole) -> &'static str {
    match r {
        LegRole::Request => "the request",
        LegRole::Answer => "the answer",
        LegRole::Data => "a full-size data segment",
        LegRole::DataAnswer => "the data's acknowledgement",
        LegRole::Error { .. } => "the ICMP error sent back",
    }
}

/// Why the leg ended at `hop`: the kernel's verdict there, or what stopped it on the link.
fn reason(leg: &Leg, hop: Option<usize>, topology: &Topology) -> String {
    let h = hop.and_then(|i| leg.hops.get(i));
    let kernel = || match h.map(|h| (&h.kind, h.node)) {
        Some((network::HopKind::Linux { outcome }, node)) => {
            let trace = outcome.primary();
            let ruleset = &topology.nodes[node].ruleset;
            let mut s = match trace.decider {
                engine::Decider::Rule(_) | engine::Decider::Policy(_) => format!(
                    "{} by {}",
                    words::fate_headline(&trace.fate),
                    words::decider_short(ruleset, &trace.decider)
                ),
                _ => words::fate_sentence(&trace.fate),
            };
            // What became of the answer it sends (an ICMP error stopped in OUTPUT: the
            // path-MTU black hole on the host itself).
            for w in &trace.warnings {
                s.push_str("; ");
                s.push_str(&words::warning(ruleset, w));
            }
            s
        }
        _ => "its routing table has no way for it".to_string(),
    };
    match &leg.end {
        LegEnd::Stopped(Stop::Kernel) => kernel(),
        LegEnd::Stopped(stop) => stop_words(stop, topology),
        LegEnd::Undecided => "its verdict there depends on what the inputs do not tell".to_string(),
        LegEnd::Left => {
            "it leaves the hosts given (a neighbour or link not in the topology)".to_string()
        }
        LegEnd::Looped => "a routing loop: the hops repeat".to_string(),
        LegEnd::Arrived => "it arrived".to_string(),
    }
}

fn stop_words(stop: &Stop, topology: &Topology) -> String {
    let name = |n: usize| topology.nodes.get(n).map_or("?", |x| x.name.as_str());
    match stop {
        Stop::Kernel => "lost in the kernel".to_string(),
        Stop::Neighbour { next_hop } => {
            format!("nobody answered neighbour resolution for {next_hop} on the link")
        }
        Stop::FrameTooBig { node, iface, mtu } => format!(
            "the frame is larger than the MTU ({mtu}) of {}'s {iface}: dropped there",
            name(*node)
        ),
        Stop::TooBigToSend { mtu } => {
            format!("larger than the way out's MTU ({mtu}) and not to be fragmented: EMSGSIZE")
        }
        Stop::StubNoRoute => "the host has no route for the destination".to_string(),
        Stop::StubTtl => "the TTL runs out there".to_string(),
        Stop::NoSourceAddress => "the sender has no address to send from".to_string(),
        Stop::NotForSender { expected, got } => format!(
            "the answer comes from {got}, not {expected} that was asked: no socket takes it"
        ),
        Stop::ArrivedElsewhere => "the answer is delivered to another host".to_string(),
    }
}

/// The flow's walk, in lines for the text answer.
pub(super) fn lines(f: &FlowOnPath, topology: &Topology) -> Vec<String> {
    let name = |n: usize| topology.nodes.get(n).map_or("?", |x| x.name.as_str());
    match f {
        FlowOnPath::NotPlaced(n) => vec![not_placed(n, topology)],
        FlowOnPath::Walked { from, walk } => {
            let w = where_failed(walk, topology);
            let first = match (&walk.outcome, w.leg.map(|l| &walk.legs[l])) {
                (Outcome::Works, _) => format!(
                    "walked from {}: the exchange gets through the hosts given, which do not \
                     explain this failure (a host or link not in the topology, or state the \
                     inputs do not hold)",
                    name(*from)
                ),
                (outcome, Some(leg)) => {
                    let verb = match outcome {
                        Outcome::Undecided { .. } => "undecided",
                        Outcome::Refused => "refused",
                        _ => "fails",
                    };
                    let at = w.node.as_deref().unwrap_or("?");
                    let arrived = w
                        .arrived_on
                        .as_deref()
                        .map(|i| format!(" (arrived on {i})"))
                        .unwrap_or_default();
                    let packet = w
                        .hop
                        .and_then(|h| leg.hops.get(h))
                        .map(|h| format!(", {}", words::packet(&h.packet)))
                        .unwrap_or_default();
                    format!(
                        "walked from {}: {verb} on the way {} at {at}{arrived}: {}{packet}",
                        name(*from),
                        w.direction.unwrap_or("?"),
                        role_words(leg.role),
                    )
                }
                (_, None) => format!("walked from {}", name(*from)),
            };
            let mut out = vec![first];
            if let Some(r) = w.reason {
                out.push(r);
            }
            out.extend(error_back(walk, w.leg, topology));
            out
        }
    }
}

/// The error the failed leg's hop sent back, and where it ended.
pub(super) fn error_back(
    walk: &PathWalk,
    failed: Option<usize>,
    topology: &Topology,
) -> Option<String> {
    let failed = failed?;
    let (i, leg) = walk
        .legs
        .iter()
        .enumerate()
        .find(|(_, l)| l.role == LegRole::Error { about: failed })?;
    let last = leg.hops.len().checked_sub(1);
    let at = last
        .and_then(|h| leg.hops.get(h))
        .and_then(|h| topology.nodes.get(h.node))
        .map_or("?", |n| n.name.as_str());
    Some(match &leg.end {
        LegEnd::Arrived => format!("the error it sends back reaches {at} (leg {i})"),
        _ => format!(
            "the error it sends back is lost at {at} (leg {i}): {}",
            reason(leg, last, topology)
        ),
    })
}

pub(super) fn not_placed(n: &NotPlaced, topology: &Topology) -> String {
    match n {
        NotPlaced::NoOwner(addr) => {
            format!("not walked: no host of the topology owns {addr}, the flow's source")
        }
        NotPlaced::SeveralOwners(addr, nodes) => {
            let names: Vec<&str> = nodes
                .iter()
                .filter_map(|n| topology.nodes.get(*n).map(|x| x.name.as_str()))
                .collect();
            format!(
                "not walked: {addr}, the flow's source, belongs to several hosts ({})",
                names.join(", ")
            )
        }
        NotPlaced::NoClientPacket => {
            "not walked: the capture holds no packet the client sent".to_string()
        }
    }
}
