//! A kernel trace read from a tracer's text, placed in the user's ruleset and compared with
//! the simulation (`explain-trace`).
//!
//! The placing, the fate ([`fate_of_placed`]) and the comparison are
//! [`agree`](crate::agree)'s, shared with the oracle and the live tracer. What is this module's
//! own: the packet as first traced is simulated, on the way the trace shows it took
//! ([`implied`](super::implied): its hooks and interfaces), and later packets of a flow are
//! given an established conntrack entry, stated as an assumption.

use super::implied::{contradiction, Assumed, Contradiction, Implied};
use crate::agree::place::place_steps;
use crate::agree::walk::fate_of_placed;
use crate::agree::{Divergence, Step};
use engine::{Options, Outcome};
use evidence::nft_listing::Listing;
use evidence::trace::TracedPacket;
use model::expr::Verdict;
use model::host::{CtEntry, CtTuple};
use model::kernel::NfVerdict;
use model::kernel_walk::{KernelFate, KernelStep, KernelVerdict, Placement};
use model::{Hook, Host, Packet, Ruleset, L4};

/// One traced packet, placed, judged and compared.
#[derive(Debug, Clone)]
pub struct TraceAnswer {
    pub traced: TracedPacket,
    pub steps: Vec<KernelStep>,
    pub fate: KernelFate,
    /// `None` when the headers were incomplete (see `TracedPacket::incomplete`).
    pub simulated: Option<Outcome>,
    /// The packet simulated.
    pub packet: Packet,
    pub divergences: Vec<Divergence>,
    /// A later packet of a traced flow, simulated with an established conntrack entry
    /// assumed for it (the trace does not show the host's table).
    pub assumed_established: bool,
    /// The way the trace shows, when the simulation was given it (no host state).
    pub assumed: Option<Assumed>,
    /// The simulation took another way than the trace shows (with host state that routes
    /// otherwise).
    pub contradiction: Option<Contradiction>,
}

/// Places, judges and compares every traced packet.
pub fn explain_traces(
    ruleset: &Ruleset,
    host: &Host,
    listing: Option<&Listing>,
    packets: &[TracedPacket],
    options: &Options,
) -> Vec<TraceAnswer> {
    let mut seen_flows: Vec<(Packet, usize)> = Vec::new();
    packets
        .iter()
        .map(|tp| {
            let mut host_here = host.clone();
            let flow_key = flow_of(&tp.packet);
            let later = seen_flows.iter().any(|(k, _)| *k == flow_key);
            if !later {
                seen_flows.push((flow_key.clone(), 0));
            }
            let first_is_syn = matches!(tp.packet.l4, L4::Tcp { flags, .. } if flags.contains(model::TcpFlags::SYN) && !flags.contains(model::TcpFlags::ACK));
            let assumed_established = later
                && !first_is_syn
                && host_here.conntrack.iter().all(|e| !entry_is(e, &tp.packet));
            if assumed_established {
                host_here.conntrack.push(established(&tp.packet));
                host_here.known.conntrack = true;
            }
            let implied = implied_by(ruleset, listing, tp);
            let (packet, assumed) = implied.apply(&tp.packet, &host_here);
            let simulated = tp
                .incomplete
                .is_none()
                .then(|| engine::simulate(ruleset, &host_here, &packet, options));
            let contradiction = simulated
                .as_ref()
                .and_then(|o| contradiction(&implied, o));
            let steps = place_steps(ruleset, listing, tp, simulated.as_ref());
            let fate = fate_of_placed(ruleset, &steps);
            let divergences = simulated
                .as_ref()
                .map(|o| {
                    let kernel = kernel_steps(ruleset, &steps);
                    let v6 = tp.packet.is_ipv6();
                    crate::agree::compare::compare_text_trace(ruleset, &kernel, &fate, o, v6)
                })
                .unwrap_or_default();
            TraceAnswer {
                traced: tp.clone(),
                steps,
                fate,
                packet,
                simulated,
                divergences,
                assumed_established,
                assumed,
                contradiction,
            }
        })
        .collect()
}

/// The way the trace shows: the hooks of its steps (placed by chain, which needs no
/// simulation), the input interface it was first seen with and the first output interface
/// it printed.
fn implied_by(ruleset: &Ruleset, listing: Option<&Listing>, tp: &TracedPacket) -> Implied {
    let hooks: Vec<Hook> = place_steps(ruleset, listing, tp, None)
        .iter()
        .filter_map(|s| s.hook)
        .collect();
    let oif = tp
        .steps
        .iter()
        .filter_map(|s| s.packet.as_ref()?.oif.clone())
        .find(|o| !o.is_empty());
    let iif = tp.packet.iif.clone().filter(|i| !i.is_empty());
    Implied::from_hooks(&hooks, iif, oif)
}

/// The flow a packet belongs to (addresses, protocol, ports), for "later packet" detection.
fn flow_of(p: &Packet) -> Packet {
    let l4 = match p.l4 {
        L4::Tcp { sport, dport, .. } => L4::Tcp {
            sport,
            dport,
            flags: model::TcpFlags(0),
        },
        other => other,
    };
    let mut k = Packet::new(p.src, p.dst, l4);
    k.iif = p.iif.clone();
    k
}

fn tuple_of(p: &Packet) -> CtTuple {
    let (sport, dport) = p.l4.ports().unwrap_or((0, 0));
    CtTuple {
        src: p.src,
        dst: p.dst,
        sport,
        dport,
    }
}

fn entry_is(e: &CtEntry, p: &Packet) -> bool {
    e.orig == tuple_of(p) && e.proto == p.proto()
}

/// An assumed ESTABLISHED entry for `p`'s flow (reply seen, not NATed).
fn established(p: &Packet) -> CtEntry {
    let orig = tuple_of(p);
    let reply = CtTuple {
        src: orig.dst,
        dst: orig.src,
        sport: orig.dport,
        dport: orig.sport,
    };
    use frontends::host::conntrack::status;
    CtEntry {
        proto: p.proto(),
        orig,
        reply,
        tcp_state: matches!(p.l4, L4::Tcp { .. }).then(|| "ESTABLISHED".to_string()),
        status: status::CONFIRMED | status::SEEN_REPLY | status::ASSURED,
        mark: 0,
        zone: 0,
        timeout: None,
        text: "(assumed from the trace: a later packet of this flow)".to_string(),
    }
}

/// The trace's rule and policy steps in the user's tables (and those it could not place),
/// as the comparer takes them: no hook, a REJECT as the drop the tracer prints, and for a
/// step without a printed verdict (legacy) the verdict of its rule or policy.
fn kernel_steps(ruleset: &Ruleset, steps: &[KernelStep]) -> Vec<Step> {
    steps
        .iter()
        .filter(|s| {
            matches!(
                s.at,
                Placement::Rule(_) | Placement::Policy(_) | Placement::Unplaced(_)
            )
        })
        .map(|s| {
            let verdict = match (&s.event.verdict, &s.at) {
                (None, Placement::Rule(r)) => Some(match ruleset.rule_at(*r).verdict() {
                    Some(Verdict::Continue) | None => KernelVerdict::of(NfVerdict::Continue),
                    Some(v) => KernelVerdict::of_rule(v),
                }),
                (None, Placement::Policy(c)) => ruleset
                    .chain_at(*c)
                    .base
                    .as_ref()
                    .map(|b| KernelVerdict::of_rule(&b.policy)),
                (v, _) => v.clone(),
            };
            Step {
                hook: None,
                at: s.at.clone(),
                verdict,
                rejects: false,
            }
        })
        .collect()
}
