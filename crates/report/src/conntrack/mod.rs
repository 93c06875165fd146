//! `whyblocked conntrack`: conntrack events grouped by flow, what they prove, and the packets
//! asked about with their simulation (`analysis::flows::conntrack`), as text and as JSON. The
//! words both formats share sit here.

pub mod json;
pub mod text;

use crate::words;
use evidence::conntrack_events::{CtEvent, CtFlow, NextState, Proof};

/// What a flow's events prove, in words.
pub(crate) fn proof_words(p: Proof) -> &'static str {
    match p {
        Proof::HandshakeCompleted => "handshake completed through this host",
        Proof::Replied => "the peer answered through this host",
        Proof::PassedThenReset => "the first packet passed this host's firewall, then a TCP reset answered (nothing listening, or a tcp-reset reject further on); conntrack does not count a reset as a reply",
        Proof::PassedNoAnswer => "the first packet passed this host's firewall and nothing ever answered (timed out)",
        Proof::PassedNoAnswerYet => "the first packet passed this host's firewall; no answer yet",
        Proof::SeenMidway => "the connection existed before the events start",
    }
}

/// What the next packet of the flow would be to conntrack.
pub(crate) fn next_words(n: NextState) -> &'static str {
    match n {
        NextState::Established => "established",
        NextState::NewWithEntry => "new (an entry without a reply exists)",
        NextState::NoEntry => "new (no entry left)",
    }
}

/// `tcp 10.1.1.2:1050 -> 10.1.0.2:2175`, or `icmp A -> B id N`: the flow as first seen.
pub(crate) fn ct_flow_words(f: &CtFlow) -> String {
    let icmp = matches!(
        f.proto,
        model::packet::IpProto::Icmp | model::packet::IpProto::Icmpv6
    );
    if icmp {
        format!(
            "{} {} -> {} id {}",
            f.proto, f.orig.src, f.orig.dst, f.orig.sport
        )
    } else {
        format!(
            "{} {} -> {}",
            f.proto,
            words::addr_port(f.orig.src, Some(f.orig.sport)),
            words::addr_port(f.orig.dst, Some(f.orig.dport))
        )
    }
}

/// The flow's events in order, repeats counted: `NEW, UPDATE x2, DESTROY`.
pub(crate) fn events_words(f: &CtFlow) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<(CtEvent, usize)> = None;
    for e in &f.events {
        match &mut last {
            Some((ev, n)) if *ev == e.event => *n += 1,
            _ => {
                if let Some((ev, n)) = last.take() {
                    out.push(event_name(ev, n));
                }
                last = Some((e.event, 1));
            }
        }
    }
    if let Some((ev, n)) = last {
        out.push(event_name(ev, n));
    }
    out.join(", ")
}

/// An event's name, with ` xN` when it repeats.
pub(crate) fn event_name(e: CtEvent, n: usize) -> String {
    let name = match e {
        CtEvent::New => "NEW",
        CtEvent::Update => "UPDATE",
        CtEvent::Destroy => "DESTROY",
        CtEvent::Listed => "listed",
    };
    if n > 1 {
        format!("{name} x{n}")
    } else {
        name.to_string()
    }
}
