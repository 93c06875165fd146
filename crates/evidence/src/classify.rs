//! Each flow named: failed (timed out, refused, rejected by ICMP, answered from the wrong
//! address, full-size segments lost in a path-MTU black hole, TLS refused), suspicious (reset mid-stream, a TLS warning, a fragmentation
//! error), or fine. Data only: the `report` crate words it.
//!
//! The order of checks follows what the client experienced first: a SYN/ACK from the
//! wrong endpoint explains the RSTs and the retries that follow it; full-size segments
//! stuck after a working handshake explain the stall, whatever too-big error came (or did
//! not) about them; an ICMP error explains
//! why nothing else came back; an RST answering the SYN explains the refusal; silence
//! after SYNs is a timeout. TLS alerts matter once TCP itself worked.

use crate::flows::{Endpoint, Flow, IcmpErrorSeen, StrayAnswer};
use crate::pmtu::PmtuVerdict;
use crate::tls::{Alert, AlertContent, Side, TlsSummary};
use crate::wire::{Direction, Quoted};
use model::Packet;
use std::net::IpAddr;

/// What went wrong with a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symptom {
    /// SYNs sent, nothing came back: "timed out: silently dropped" somewhere.
    SynUnanswered {
        syns: u32,
        /// From the first SYN to the last, in nanoseconds.
        span_ns: u64,
    },
    /// The SYN was answered by an RST from the server's address.
    SynRefused { rst: RstVerdict },
    /// An ICMP or ICMPv6 error answered the flow.
    IcmpError(IcmpVerdict),
    /// The SYN/ACK came from an endpoint the client did not send its SYN to; the client
    /// answered it with RSTs (broken reverse NAT, asymmetric paths).
    WrongAnswer(StrayAnswer),
    /// Echo requests with no reply and no error.
    EchoUnanswered { requests: u32, span_ns: u64 },
    /// The handshake worked, then a full-size segment was sent again and again and never
    /// acknowledged while smaller ones got through: a path-MTU black hole.
    PmtuBlackHole(PmtuVerdict),
    /// A TLS alert (fatal, a warning, or unreadable).
    TlsAlert(Alert),
    /// An established connection was reset.
    Reset {
        by: Side,
        /// Payload bytes exchanged before (client, server).
        payload: [u64; 2],
        with_data: bool,
    },
}

impl Symptom {
    /// Failed (the connection did not work) rather than merely suspicious.
    pub fn is_failure(&self) -> bool {
        match self {
            Symptom::SynUnanswered { .. }
            | Symptom::SynRefused { .. }
            | Symptom::WrongAnswer(_)
            | Symptom::EchoUnanswered { .. }
            | Symptom::PmtuBlackHole(_) => true,
            Symptom::IcmpError(v) => !v.is_pmtu(),
            // Encrypted alerts cannot be read: suspicious, not proven failures.
            Symptom::TlsAlert(a) => a.is_fatal(),
            Symptom::Reset { .. } => false,
        }
    }
    /// A short keyword for the JSON schema and the table.
    pub fn kind(&self) -> &'static str {
        match self {
            Symptom::SynUnanswered { .. } => "syn_unanswered",
            Symptom::SynRefused { .. } => "syn_refused",
            Symptom::IcmpError(_) => "icmp_error",
            Symptom::WrongAnswer(_) => "wrong_answer",
            Symptom::EchoUnanswered { .. } => "echo_unanswered",
            Symptom::PmtuBlackHole(_) => "pmtu_black_hole",
            Symptom::TlsAlert(_) => "tls_alert",
            Symptom::Reset { .. } => "reset",
        }
    }
}

/// Where an RST really came from, judged by its TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RstVerdict {
    pub ttl: u8,
    /// Hops from its sender to the capture point (guessed initial TTL minus TTL).
    pub hops: u8,
    /// The server's other packets (this flow or others), when there were any.
    pub server_ttl: Option<u8>,
    pub server_hops: Option<u8>,
    pub origin: RstOrigin,
    pub frame: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RstOrigin {
    /// Same distance as the server's other packets: the server's own stack (nothing
    /// listens) or a firewall on the server.
    Server,
    /// Another distance than the server's packets: a middlebox forged it (a firewall's
    /// `REJECT --reject-with tcp-reset`).
    Middlebox,
    /// No other packet from the server to compare with.
    Unknown,
}

/// An ICMP error and which hop sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpVerdict {
    pub error: IcmpErrorSeen,
    /// Hops from the error's sender to the capture point.
    pub hops: u8,
    pub reporter: Reporter,
    /// The TTL the refused packet had at the capture point, when it was captured.
    pub sent_ttl: Option<u8>,
}

impl IcmpVerdict {
    /// Fragmentation needed / packet too big: a path-MTU signal, not a refusal.
    pub fn is_pmtu(&self) -> bool {
        let e = &self.error;
        (e.v6 && e.icmp_type == 2) || (!e.v6 && e.icmp_type == 3 && e.code == 4)
    }
    /// Time exceeded (TTL ran out: a loop or a too-small TTL).
    pub fn is_time_exceeded(&self) -> bool {
        let e = &self.error;
        (e.v6 && e.icmp_type == 3) || (!e.v6 && e.icmp_type == 11)
    }
    pub fn quoted(&self) -> Option<Quoted> {
        self.error.quoted
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    /// The error came from the packet's destination itself.
    Destination,
    /// From another address: a router or firewall on the way.
    OnTheWay,
}

/// One failed or suspicious flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The flow's number in the capture (1-based, in order of first packet).
    pub flow: u64,
    /// IP protocol number (6, 17, 1, 58...).
    pub protocol: u8,
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_frame: u64,
    pub first_ts: u64,
    pub last_ts: u64,
    /// Packets from the client and from the server.
    pub packets: [u32; 2],
    pub symptom: Symptom,
    /// The packet to simulate: the flow's first, as captured.
    pub first_packet: Packet,
    /// Interface index of the first packet in the capture.
    pub interface: usize,
    pub direction: Option<Direction>,
    /// The flow's own packets are not in the capture: only an ICMP error quoting one is.
    pub from_quote: bool,
    pub tls: Option<TlsSummary>,
}

/// A flow with nothing wrong, and what it shows working (user story 1: the ping that
/// passes beside the connection that fails).
#[derive(Debug, Clone, PartialEq)]
pub struct FineFlow {
    pub flow: u64,
    pub protocol: u8,
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_frame: u64,
    /// Packets from the client and from the server.
    pub packets: [u32; 2],
    pub working: Working,
    /// The packet to simulate: the flow's first, as captured.
    pub first_packet: Packet,
    pub interface: usize,
    pub direction: Option<Direction>,
}

/// What a fine flow shows working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Working {
    /// Echo requests answered by echo replies.
    EchoAnswered { requests: u32, replies: u32 },
    /// The SYN was answered by a SYN/ACK.
    Handshake,
    /// Packets went both ways.
    BothWays,
    /// Packets went one way only, and nothing asked for an answer.
    OneWay,
}

impl Working {
    /// A short keyword for the JSON schema.
    pub fn kind(&self) -> &'static str {
        match self {
            Working::EchoAnswered { .. } => "echo_answered",
            Working::Handshake => "handshake",
            Working::BothWays => "both_ways",
            Working::OneWay => "one_way",
        }
    }
}

/// What a flow [`classify`] found nothing wrong with shows working.
pub fn fine(flow: &Flow) -> FineFlow {
    let working = if flow.echo_requests > 0 {
        Working::EchoAnswered {
            requests: flow.echo_requests,
            replies: flow.echo_replies,
        }
    } else if flow.is_tcp() && flow.synacks > 0 {
        Working::Handshake
    } else if flow.packets[0] > 0 && flow.packets[1] > 0 {
        Working::BothWays
    } else {
        Working::OneWay
    };
    FineFlow {
        flow: flow.id,
        protocol: flow.protocol,
        client: flow.client,
        server: flow.server,
        first_frame: flow.first_frame,
        packets: flow.packets,
        working,
        first_packet: flow.first.clone(),
        interface: flow.interface,
        direction: flow.direction,
    }
}

/// Hops since the sender: the usual initial TTLs are 64 (Linux, macOS), 128 (Windows) and
/// 255 (network gear); 32 for some old stacks.
pub fn hops(ttl: u8) -> u8 {
    let initial = match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    };
    initial - ttl
}

/// Classifies a flow; `server_ttl` looks up the TTL of an address's ordinary packets seen
/// anywhere in the capture. `None`: nothing wrong with it.
pub fn classify(flow: &mut Flow, server_ttl: &dyn Fn(IpAddr) -> Option<u8>) -> Option<Finding> {
    if flow.answers.is_some() {
        // A stray SYN/ACK: reported with the flow it answers.
        return None;
    }
    let tls = flow.tls.as_mut().map(|t| {
        t.finish();
        t.summary.clone()
    });
    let symptom = symptom(flow, server_ttl, tls.as_ref())?;
    Some(Finding {
        flow: flow.id,
        protocol: flow.protocol,
        client: flow.client,
        server: flow.server,
        first_frame: flow.first_frame,
        first_ts: flow.first_ts,
        last_ts: flow.last_ts,
        packets: flow.packets,
        symptom,
        first_packet: flow.first.clone(),
        interface: flow.interface,
        direction: flow.direction,
        from_quote: flow.from_quote,
        tls,
    })
}

fn symptom(
    flow: &Flow,
    server_ttl: &dyn Fn(IpAddr) -> Option<u8>,
    tls: Option<&TlsSummary>,
) -> Option<Symptom> {
    if let Some(stray) = flow.stray {
        return Some(Symptom::WrongAnswer(stray));
    }
    if let Some(v) = flow.segments.as_ref().and_then(|w| w.black_hole()) {
        return Some(Symptom::PmtuBlackHole(v));
    }
    if let Some(e) = flow.icmp_error {
        let sent_ttl =
            (!flow.from_quote && flow.first.src == flow.client.0).then_some(flow.first.ttl);
        let reporter = match e.quoted {
            Some(q) if q.dst == e.from => Reporter::Destination,
            None if e.from == flow.server.0 => Reporter::Destination,
            _ => Reporter::OnTheWay,
        };
        return Some(Symptom::IcmpError(IcmpVerdict {
            error: e,
            hops: hops(e.ttl),
            reporter,
            sent_ttl,
        }));
    }
    if flow.is_tcp() {
        let answered = flow.synacks > 0;
        if flow.syns > 0 && !answered {
            if let Some(rst) = flow.rst[1] {
                // TTLs of 1-2 (eBGP, link-local protocols) say nothing about distance.
                let other = flow
                    .server_ttl
                    .or_else(|| server_ttl(flow.server.0))
                    .filter(|t| *t > 2);
                let origin = match other {
                    Some(t) if hops(t) == hops(rst.ttl) => RstOrigin::Server,
                    Some(_) => RstOrigin::Middlebox,
                    None => RstOrigin::Unknown,
                };
                return Some(Symptom::SynRefused {
                    rst: RstVerdict {
                        ttl: rst.ttl,
                        hops: hops(rst.ttl),
                        server_ttl: other,
                        server_hops: other.map(hops),
                        origin,
                        frame: rst.frame,
                    },
                });
            }
            if flow.packets[1] == 0 {
                return Some(Symptom::SynUnanswered {
                    syns: flow.syns,
                    span_ns: flow.last_syn_ts.saturating_sub(flow.first_ts),
                });
            }
        }
        if let Some(alert) = tls.and_then(worst_alert) {
            return Some(Symptom::TlsAlert(alert));
        }
        for (side, i) in [(Side::Server, 1), (Side::Client, 0)] {
            if let Some(rst) = flow.rst[i] {
                let other_rst_first = flow.rst[1 - i].is_some_and(|o| o.ts < rst.ts);
                // A client's RST after the server's RST or FIN is a normal teardown echo.
                let teardown = side == Side::Client && (flow.fin[1] || other_rst_first);
                if !teardown && !other_rst_first {
                    return Some(Symptom::Reset {
                        by: side,
                        payload: flow.payload,
                        with_data: rst.with_data,
                    });
                }
            }
        }
        return None;
    }
    if flow.echo_requests > 0 && flow.echo_replies == 0 {
        return Some(Symptom::EchoUnanswered {
            requests: flow.echo_requests,
            span_ns: flow.last_ts.saturating_sub(flow.first_ts),
        });
    }
    None
}

/// The alert that says the most: a fatal one in clear first, then an encrypted one, then a
/// warning (close_notify is not a problem).
fn worst_alert(t: &TlsSummary) -> Option<Alert> {
    let rank = |a: &Alert| match a.content {
        AlertContent::Clear { level: 2, .. } => 4,
        AlertContent::Encrypted => 3,
        AlertContent::LikelyEncrypted => 2,
        AlertContent::Clear { description: 0, .. } => 0,
        AlertContent::Clear { .. } => 1,
    };
    t.alerts
        .iter()
        .filter(|a| rank(a) > 0)
        .max_by_key(|a| (rank(a), std::cmp::Reverse(a.frame)))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_guess() {
        assert_eq!(hops(64), 0);
        assert_eq!(hops(63), 1);
        assert_eq!(hops(128), 0);
        assert_eq!(hops(250), 5);
        assert_eq!(hops(1), 31);
    }
}
