//! The whole connection, not one packet: a fix is only a fix when the request, the reply
//! (which meets the conntrack entry the request created, reverse NAT included) and the data
//! after it all pass.
//!
//! For TCP the exchange is the SYN, the SYN/ACK back, then an ACK each way on the
//! established connection; for UDP and other protocols the request and one reply; for ICMP
//! echo the request and the echo reply. Each step is simulated with the conntrack entry the
//! steps before it left, built from the first step's trace (its tuples after NAT) the way
//! the kernel confirms it. ICMP other than echo, and packets that are themselves a reply or
//! part of an established connection, are judged as the one packet they are.

use engine::{Decider, Fate, Options, Outcome, Trace};
use model::host::{CtEntry, CtTuple};
use model::kernel::ct::status;
use model::packet::{IpProto, TcpFlags};
use model::{Host, Packet, Ruleset, L4};

/// Which packet of the exchange a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepRole {
    /// The first packet (a SYN, a datagram, an echo request, or the packet as given).
    Request,
    /// The answer, meeting the entry the request created (SYN/ACK, reply datagram, echo
    /// reply).
    Reply,
    /// Data from the original sender on the established connection.
    DataForward,
    /// Data back to the original sender on the established connection.
    DataBack,
}

/// One packet of the exchange and what happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeStep {
    /// Which packet it is.
    pub role: StepRole,
    /// The packet as it arrives at (or leaves) this host.
    pub packet: Packet,
    /// Its fate; `None` when it depends on what cannot be decided offline.
    pub fate: Option<Fate>,
    /// What decided that fate (the first branch's, when undecided).
    pub decider: Decider,
}

impl ExchangeStep {
    /// Whether this packet got where it was going.
    pub fn passed(&self) -> bool {
        self.fate.as_ref().is_some_and(Fate::passed)
    }
}

/// The exchange of one connection through a ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The steps simulated, in order; the exchange stops at the first that does not pass.
    pub steps: Vec<ExchangeStep>,
}

impl Exchange {
    /// Whether every packet of the connection passes.
    pub fn works(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(ExchangeStep::passed)
    }

    /// The first step that did not pass.
    pub fn first_failure(&self) -> Option<&ExchangeStep> {
        self.steps.iter().find(|s| !s.passed())
    }
}

/// Simulates the connection `packet` starts (or belongs to) through `ruleset` on `host`.
/// A SYN/ACK or an echo reply is a reply: the exchange starts from the request it answers.
pub fn simulate(ruleset: &Ruleset, host: &Host, packet: &Packet, options: &Options) -> Exchange {
    let prepared = engine::Prepared::new(ruleset);
    let request = request_of(packet).map(|mut request| {
        // The request came in where the reply leaves by (routing's choice when not given).
        let reply = engine::simulate_prepared(&prepared, host, packet, options);
        request.iif = crate::fix_nft::out_interface(packet, reply.primary());
        request
    });
    let packet = request.as_ref().unwrap_or(packet);
    let run = |host: &Host, p: &Packet, role: StepRole| {
        let outcome = engine::simulate_prepared(&prepared, host, p, options);
        (step(role, p, &outcome), outcome)
    };
    let (first, outcome) = run(host, packet, StepRole::Request);
    let mut steps = vec![first];
    if !steps[0].passed() || !starts_a_connection(packet) {
        return Exchange { steps };
    }
    let trace = outcome.primary();
    let Some(entry) = entry_after(host, trace) else {
        // Untracked (no conntrack in this ruleset, or NOTRACK): the reply is a packet of
        // its own, judged without any entry.
        let mirrored = mirrored_tuples(trace);
        if let Some(reply) = reply_packet(packet, trace, &mirrored) {
            steps.push(run(host, &reply, StepRole::Reply).0);
        }
        return Exchange { steps };
    };
    let Some(reply) = reply_packet(packet, trace, &entry) else {
        return Exchange { steps };
    };

    // The table the reply meets is known: the host's (if given) plus the request's entry.
    let mut with_entry = host.clone();
    with_entry.known.conntrack = true;
    let unreplied = with_entry.conntrack.len();
    with_entry.conntrack.push(entry);
    // The engine looks entries up only in a table it knows; the request's own entry is
    // known to be there.
    with_entry.known.conntrack = true;
    let (back, _) = run(&with_entry, &reply, StepRole::Reply);
    let reply_passed = back.passed();
    steps.push(back);
    if !reply_passed || !matches!(packet.l4, L4::Tcp { .. }) {
        return Exchange { steps };
    }

    // The SYN/ACK made the entry ESTABLISHED, seen in both directions.
    let e = &mut with_entry.conntrack[unreplied];
    e.tcp_state = Some("ESTABLISHED".to_string());
    e.status |= status::SEEN_REPLY | status::ASSURED;
    let ack = |p: &Packet| {
        let mut p = p.clone();
        if let L4::Tcp { flags, .. } = &mut p.l4 {
            *flags = TcpFlags::ACK;
        }
        p
    };
    let (fwd, _) = run(&with_entry, &ack(packet), StepRole::DataForward);
    let fwd_passed = fwd.passed();
    steps.push(fwd);
    if fwd_passed {
        let (bwd, _) = run(&with_entry, &ack(&reply), StepRole::DataBack);
        steps.push(bwd);
    }
    Exchange { steps }
}

fn step(role: StepRole, packet: &Packet, outcome: &Outcome) -> ExchangeStep {
    ExchangeStep {
        role,
        packet: packet.clone(),
        fate: outcome.decided_fate().cloned(),
        decider: outcome.primary().decider.clone(),
    }
}

/// The request a reply answers (a SYN/ACK's SYN, an echo reply's request), leaving where
/// the reply came in; `None` for a packet that is not plainly a reply.
pub fn request_of(reply: &Packet) -> Option<Packet> {
    let l4 = match reply.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } if flags.contains(TcpFlags::SYN) && flags.contains(TcpFlags::ACK) => L4::Tcp {
            sport: dport,
            dport: sport,
            flags: TcpFlags::SYN,
        },
        L4::Icmp {
            icmp_type: 0,
            code,
            id,
        } => L4::Icmp {
            icmp_type: 8,
            code,
            id,
        },
        L4::Icmpv6 {
            icmp_type: 129,
            code,
            id,
        } => L4::Icmpv6 {
            icmp_type: 128,
            code,
            id,
        },
        _ => return None,
    };
    let mut request = Packet::new(reply.dst, reply.src, l4);
    request.iif = reply.oif.clone();
    request.oif = reply.iif.clone();
    Some(request)
}

/// Whether `packet` opens a connection whose reply the exchange should follow: a TCP SYN
/// (without ACK), any UDP/SCTP datagram or other protocol, an ICMP echo request.
pub fn starts_a_connection(packet: &Packet) -> bool {
    match packet.l4 {
        L4::Tcp { flags, .. } => flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK),
        L4::Udp { .. } | L4::Sctp { .. } | L4::Other(_) => true,
        L4::Icmp { icmp_type, .. } => icmp_type == 8,
        L4::Icmpv6 { icmp_type, .. } => icmp_type == 128,
    }
}

/// The conntrack entry the request left: its own if it had one, else the one conntrack
/// confirms from the request's tuples after NAT (`None`: the request was untracked).
fn entry_after(host: &Host, trace: &Trace) -> Option<CtEntry> {
    if let Some(i) = trace.conntrack.entry {
        return host.conntrack.get(i).cloned();
    }
    let (orig, reply) = trace.conntrack.new_entry?;
    let proto = trace.packet.proto();
    let mut nat = 0;
    if reply.src != orig.dst || reply.sport != orig.dport {
        nat |= status::DST_NAT;
    }
    if reply.dst != orig.src || reply.dport != orig.sport {
        nat |= status::SRC_NAT;
    }
    Some(CtEntry {
        proto,
        orig,
        reply,
        tcp_state: (proto == IpProto::Tcp).then(|| "SYN_SENT".to_string()),
        status: status::CONFIRMED | nat,
        mark: 0,
        zone: 0,
        timeout: None,
        text: format!(
            "{} (entry the request created, simulated)",
            tuple_text(&orig)
        ),
    })
}

/// An entry for an untracked request: the reply is the request mirrored.
fn mirrored_tuples(trace: &Trace) -> CtEntry {
    let p = &trace.final_packet;
    let (sport, dport) = p.l4.ports().unwrap_or((0, 0));
    let orig = CtTuple {
        src: p.src,
        dst: p.dst,
        sport,
        dport,
    };
    let reply = CtTuple {
        src: p.dst,
        dst: p.src,
        sport: dport,
        dport: sport,
    };
    CtEntry {
        proto: p.proto(),
        orig,
        reply,
        tcp_state: None,
        status: 0,
        mark: 0,
        zone: 0,
        timeout: None,
        text: String::new(),
    }
}

fn tuple_text(t: &CtTuple) -> String {
    format!(
        "src={} dst={} sport={} dport={}",
        t.src, t.dst, t.sport, t.dport
    )
}

/// The answer the peer sends: addressed as the entry's reply tuple, arriving where the
/// request left (or generated here when the request was delivered here).
fn reply_packet(request: &Packet, trace: &Trace, entry: &CtEntry) -> Option<Packet> {
    let r = entry.reply;
    let l4 = match request.l4 {
        L4::Tcp { .. } => L4::Tcp {
            sport: r.sport,
            dport: r.dport,
            flags: TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
        },
        L4::Udp { .. } => L4::Udp {
            sport: r.sport,
            dport: r.dport,
        },
        L4::Sctp { .. } => L4::Sctp {
            sport: r.sport,
            dport: r.dport,
        },
        L4::Icmp { id, .. } => L4::Icmp {
            icmp_type: 0,
            code: 0,
            id,
        },
        L4::Icmpv6 { id, .. } => L4::Icmpv6 {
            icmp_type: 129,
            code: 0,
            id,
        },
        L4::Other(p) => L4::Other(p),
    };
    let mut reply = Packet::new(r.src, r.dst, l4);
    reply.iif = match &trace.fate {
        Fate::Forwarded { oif, .. } | Fate::Sent { oif } => Some(oif.clone()),
        // Delivered here: the answer is this host's own.
        _ => None,
    };
    if reply.iif.is_none() && !is_local(trace) {
        return None;
    }
    // Back out where the request came in, unless the request was this host's own.
    reply.oif = request.iif.clone();
    Some(reply)
}

fn is_local(trace: &Trace) -> bool {
    matches!(trace.fate, Fate::Delivered { .. })
}
