//! A capture's flows simulated on the host it was taken on: each failed (and each kept
//! fine) flow's first packet is placed on the host at the capture point and walked through
//! the ruleset, so the diagnosis can name the deciding rule. A path-MTU black hole is
//! about its stuck full-size segment, not its SYN: that segment is simulated instead, with
//! its size and "don't fragment", so a host whose way out is smaller says so. What the capture shows of the
//! packet's way (an ICMP error's sender and quoted TTL) is given to the simulation
//! ([`implied`](crate::flows::implied)), and where the simulation still takes another way,
//! the contradiction is kept beside it.

use crate::flows::implied::{contradiction, Assumed, Contradiction, Implied};
use crate::AnswerFacts;
use engine::Outcome;
use evidence::capture::CaptureAnalysis;
use evidence::classify::{Finding, IcmpVerdict, Symptom};
use evidence::pmtu::PmtuVerdict;
use evidence::tls::Side;
use evidence::wire::Direction;
use model::packet::TcpFlags;
use model::{Host, Packet, Ruleset, L4};
use std::collections::HashMap;
use std::net::IpAddr;

/// How a captured packet was placed on the simulated host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// From one of the host's own addresses: locally generated, leaving by the capture
    /// interface when it is known.
    SentByHost { iface: Option<String> },
    /// Seen arriving on the capture interface.
    Arrived { iface: String },
    /// Captured leaving the interface: where it arrived is unknown, so it is simulated as
    /// arriving on the capture interface.
    LeftArrivalUnknown { iface: String },
}

/// The simulation of one flow's first packet.
#[derive(Debug, Clone)]
pub struct Simulated {
    /// The packet as simulated (with the interface it was taken to arrive on or leave by).
    pub packet: Packet,
    pub outcome: Outcome,
    /// How its deciding rule was reached, and cross-table findings.
    pub facts: AnswerFacts,
    pub placement: Placement,
    /// The way the capture shows, when the simulation was given it (no host state).
    pub assumed: Option<Assumed>,
    /// The simulation took another way than the capture shows.
    pub contradiction: Option<Contradiction>,
}

/// The simulations of a capture's findings and kept fine flows, in their order.
#[derive(Debug, Clone, Default)]
pub struct CaptureSimulations {
    /// One entry per finding: `None` where the packet could not be placed.
    pub findings: Vec<Option<Simulated>>,
    /// One entry per kept fine flow (`analysis.fine`).
    pub fine: Vec<Option<Simulated>>,
    /// Some flows were not simulated because the capture interface is unknown (`--at`).
    pub unplaced: bool,
}

impl CaptureSimulations {
    /// No simulation at all (no rules given): one empty entry per flow.
    pub fn none(analysis: &CaptureAnalysis) -> CaptureSimulations {
        CaptureSimulations {
            findings: vec![None; analysis.findings.len()],
            fine: vec![None; analysis.fine.len()],
            unplaced: false,
        }
    }
}

/// Simulates the first packets of the findings, then of the fine flows kept (why they
/// passed); each distinct packet (ignoring the source port) is simulated once. `at` is the
/// capture interface; without it, the pcapng interface name is used.
pub fn simulate(
    analysis: &CaptureAnalysis,
    ruleset: &Ruleset,
    host: &Host,
    at: Option<&str>,
) -> CaptureSimulations {
    let prepared = engine::Prepared::new(ruleset);
    let options = engine::Options::default();
    let mut cache: HashMap<Packet, Simulated> = HashMap::new();
    let mut unplaced = false;
    let mut simulate_one = |first: &Packet,
                            interface: usize,
                            direction: Option<Direction>,
                            error: Option<&IcmpVerdict>| {
        let capture_iface = at.map(str::to_string).or_else(|| {
            analysis
                .interfaces
                .get(interface)
                .and_then(|i| i.name.clone())
        });
        let Some((placed, placement)) = place(first, direction, host, capture_iface.as_deref())
        else {
            unplaced = true;
            return None;
        };
        let implied = match (&placement, error) {
            (Placement::Arrived { iface }, Some(e)) => Implied::from_icmp_error(
                &placed,
                iface,
                e.error.from,
                (e.sent_ttl, e.error.quoted.map(|q| q.ttl)),
                !e.is_pmtu(),
                host,
            ),
            _ => Implied::default(),
        };
        let (packet, assumed) = implied.apply(&placed, host);
        let key = Packet {
            l4: without_sport(packet.l4),
            ..packet.clone()
        };
        if let Some(s) = cache.get(&key) {
            return Some(Simulated {
                packet,
                outcome: s.outcome.clone(),
                facts: s.facts.clone(),
                placement,
                contradiction: contradiction(&implied, &s.outcome),
                assumed,
            });
        }
        let outcome = engine::simulate_prepared(&prepared, host, &packet, &options);
        let s = Simulated {
            packet,
            facts: AnswerFacts::of(ruleset, &outcome),
            contradiction: contradiction(&implied, &outcome),
            outcome,
            placement,
            assumed,
        };
        cache.insert(key, s.clone());
        Some(s)
    };
    let findings = analysis
        .findings
        .iter()
        .map(|f| match &f.symptom {
            Symptom::IcmpError(e) => {
                simulate_one(&f.first_packet, f.interface, f.direction, Some(e))
            }
            Symptom::PmtuBlackHole(v) => {
                let (stuck, direction) = stuck_segment(f, v);
                simulate_one(&stuck, f.interface, direction, None)
            }
            _ => simulate_one(&f.first_packet, f.interface, f.direction, None),
        })
        .collect();
    let fine = analysis
        .fine
        .iter()
        .map(|f| simulate_one(&f.first_packet, f.interface, f.direction, None))
        .collect();
    CaptureSimulations {
        findings,
        fine,
        unplaced,
    }
}

/// The segment a path-MTU black hole is stuck on, as a packet from its sender (an ACK
/// carrying data), and the direction it was captured in when the flow's first packet says.
fn stuck_segment(f: &Finding, v: &PmtuVerdict) -> (Packet, Option<Direction>) {
    let (from, to) = match v.sender {
        Side::Client => (f.client, f.server),
        Side::Server => (f.server, f.client),
    };
    let l4 = L4::Tcp {
        sport: from.1,
        dport: to.1,
        flags: TcpFlags::ACK,
    };
    let mut p = Packet::new(from.0, to.0, l4);
    let same_way = f.first_packet.src == from.0;
    if same_way {
        p.ttl = f.first_packet.ttl;
        p.tos = f.first_packet.tos;
    }
    p.len = v.ip_len;
    p.dont_fragment = v.dont_fragment;
    (p, f.direction.filter(|_| same_way))
}

fn without_sport(l4: L4) -> L4 {
    match l4.ports() {
        Some((_, d)) => l4.with_ports(0, d),
        None => l4,
    }
}

/// The first packet placed on the host: from one of its own addresses it leaves by the
/// capture interface (locally generated); otherwise it arrives on it. `None` when the
/// capture interface is unknown and the packet is not the host's own.
fn place(
    first: &Packet,
    direction: Option<Direction>,
    host: &Host,
    iface: Option<&str>,
) -> Option<(Packet, Placement)> {
    let mut p = first.clone();
    let own = |a: IpAddr| host.owner_of(a).is_some();
    if own(p.src) {
        p.iif = None;
        p.oif = iface.map(str::to_string);
        let iface = iface.map(str::to_string);
        return Some((p, Placement::SentByHost { iface }));
    }
    let iface = iface?.to_string();
    p.iif = Some(iface.clone());
    let placement = match direction {
        Some(Direction::Sent) => Placement::LeftArrivalUnknown { iface },
        _ => Placement::Arrived { iface },
    };
    Some((p, placement))
}
