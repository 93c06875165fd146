//! What conntrack events prove about a packet, checked against the simulation.
//!
//! Conntrack reports a connection when its first packet is confirmed, after every firewall
//! hook of this host: an event for the packet's flow means the firewall let it through; no
//! event means it was dropped before (by a rule of any table, or by routing) or untracked.
//! The simulation of the same packet must agree; where it does not, the disagreement is
//! the answer's first line (the events are the kernel's word).

use engine::{Options, Outcome};
use evidence::conntrack_events::{CtFile, CtFlow, Proof};
use model::{Host, Packet, Ruleset};

/// What the next packet of a flow meets, from the table the events leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextState {
    /// An entry with a reply seen: `ct state established`.
    Established,
    /// An entry without a reply yet: the next packet in the original direction is still
    /// `ct state new` to the rules (a retransmitted SYN).
    NewWithEntry,
    /// No entry (destroyed, or never created): the next packet starts a new connection.
    NoEntry,
}

/// The next packet's state for a flow.
pub fn next_state(flow: &CtFlow) -> NextState {
    match flow.entry_after() {
        None => NextState::NoEntry,
        Some(e) if e.status & frontends::host::conntrack::status::SEEN_REPLY != 0 => {
            NextState::Established
        }
        Some(_) => NextState::NewWithEntry,
    }
}

/// A packet the user asked about, against the events.
#[derive(Debug, Clone)]
pub struct AskedPacket {
    pub packet: Packet,
    /// Index into `CtFile::flows` of its flow, if any event names it.
    pub flow: Option<usize>,
    pub proof: Option<Proof>,
    /// The simulation of the packet as the first of its flow, when rules were given.
    pub simulated: Option<Outcome>,
    /// `Some(false)`: the events and the simulation disagree on whether the firewall let
    /// the first packet through.
    pub agrees: Option<bool>,
}

/// Checks `packet` against the events (and the simulation, when `ruleset` is given).
pub fn explain_packet(
    ruleset: Option<&Ruleset>,
    host: &Host,
    file: &CtFile,
    packet: &Packet,
    options: &Options,
) -> AskedPacket {
    let flow = file.flows.iter().position(|f| f.is_original_of(packet));
    let proof = flow.map(|i| file.flows[i].proof());
    let simulated = ruleset.map(|r| engine::simulate(r, host, packet, options));
    let agrees = simulated.as_ref().and_then(|o| {
        let fate = o.decided_fate()?;
        // An event: the first packet was confirmed, so the firewall passed it (a closed port
        // on this host is "delivered" too: the stack answers after conntrack confirmed).
        Some(fate.passed() == flow.is_some())
    });
    AskedPacket {
        packet: packet.clone(),
        flow,
        proof,
        simulated,
        agrees,
    }
}

/// `host` with its conntrack table replaced by the table the events leave.
pub fn host_after(host: &Host, file: &CtFile) -> Host {
    let mut h = host.clone();
    h.conntrack = file.table_after();
    h.known.conntrack = true;
    h
}
