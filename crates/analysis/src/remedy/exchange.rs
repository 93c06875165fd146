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
//!
//! Where the answer comes from: a forwarded request is answered by the peer behind the
//! interface it left by (the reply arrives there); a request delivered here is answered by
//! this host (the reply is locally generated); a request this host sent is answered on the
//! interface it left by and delivered here. A request that left no conntrack entry
//! (`NOTRACK`, or no rule needs conntrack) is followed too: every later packet is judged as
//! the new packet it is to conntrack, with nothing to un-NAT.
//!
//! A request delivered here to a port nothing listens on passes the firewall, but the
//! connection does not work: the host answers with a reset or a port unreachable. The
//! exchange then says [`ExchangeEnd::NoListener`], after simulating the rest as if a
//! service answered (so the firewall's part is still judged).

use engine::{Decider, Fate, Listener, Options, Outcome, Trace};
use model::host::{CtEntry, CtTuple};
use model::kernel::ct::status;
use model::packet::{IpProto, TcpFlags};
use model::{ChainRef, Host, Packet, Ruleset, L4};

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
    /// The base chain whose rule (directly or through the chains it called) or policy
    /// decided, when one did: where a structural fix for this packet goes.
    pub base_chain: Option<ChainRef>,
}

impl ExchangeStep {
    /// Whether this packet got where it was going.
    pub fn passed(&self) -> bool {
        self.fate.as_ref().is_some_and(Fate::passed)
    }
}

/// How the connection came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeEnd {
    /// Every packet of the connection passes.
    Works,
    /// The step at this index was dropped, rejected or lost; the exchange stops there.
    Stopped {
        /// Index into [`Exchange::steps`].
        step: usize,
    },
    /// The fate of the step at this index depends on what cannot be decided offline.
    Undecided {
        /// Index into [`Exchange::steps`].
        step: usize,
    },
    /// Every packet passes the firewall, but the request is delivered here to a port
    /// nothing listens on: the host answers it with a reset (TCP) or a port unreachable,
    /// and the connection does not work whatever the firewall says.
    NoListener,
}

/// The exchange of one connection through a ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The steps simulated, in order; the exchange stops at the first that does not pass.
    pub steps: Vec<ExchangeStep>,
    /// How it came out.
    pub end: ExchangeEnd,
    /// Whether the request left a conntrack entry the later packets meet; `false` when it
    /// was untracked (`NOTRACK`) or nothing in the ruleset needs conntrack, and every later
    /// packet was judged as new to conntrack.
    pub tracked: bool,
}

impl Exchange {
    /// Whether the connection works: every packet passes and something answers.
    pub fn works(&self) -> bool {
        self.end == ExchangeEnd::Works
    }

    /// Whether the firewall lets every packet of the exchange through (the connection may
    /// still fail for want of a listener).
    pub fn firewall_passes(&self) -> bool {
        matches!(self.end, ExchangeEnd::Works | ExchangeEnd::NoListener)
    }

    /// The first step that did not pass.
    pub fn first_failure(&self) -> Option<&ExchangeStep> {
        match self.end {
            ExchangeEnd::Stopped { step } | ExchangeEnd::Undecided { step } => self.steps.get(step),
            ExchangeEnd::Works | ExchangeEnd::NoListener => None,
        }
    }
}

/// Simulates the connection `packet` starts (or belongs to) through `ruleset` on `host`.
/// A packet of a connection the host's conntrack table holds (a SYN/ACK, a UDP reply, a
/// data segment), and a SYN/ACK or echo reply without one, is judged as part of its whole
/// connection: the exchange starts again from the connection's first packet (see
/// [`opening`]).
pub fn simulate(ruleset: &Ruleset, host: &Host, packet: &Packet, options: &Options) -> Exchange {
    let prepared = engine::Prepared::new(ruleset);
    let outcome = engine::simulate_prepared(&prepared, host, packet, options);
    let trace = outcome.primary();
    let known_connection =
        trace.conntrack.entry.is_some() || host.conntrack.iter().any(|e| holds(e, packet));
    if known_connection || !starts_a_connection(packet) {
        if let Some((request, fresh)) = opening(host, packet, trace) {
            return from_request(&prepared, &fresh, &request, options);
        }
    }
    from_request(&prepared, host, packet, options)
}

/// The packet that opened the connection `packet` belongs to, and `host` without that
/// connection's entry. With an entry (the one `trace` met, else the one whose tuples are
/// the packet's, as when no rule needs conntrack and the kernel tracks nothing): a SYN, a
/// datagram or an echo request from the entry's original tuple. Without one, a SYN/ACK or
/// an echo reply answers the SYN or echo request it mirrors (nothing was NATed: NAT needs
/// an entry). The request enters where the original direction enters. `None` for any
/// other packet, or an entry a request does not open (ICMP other than echo).
pub fn opening(host: &Host, packet: &Packet, trace: &Trace) -> Option<(Packet, Host)> {
    let found = trace
        .conntrack
        .entry
        .or_else(|| host.conntrack.iter().position(|e| holds(e, packet)));
    let (request, is_reply) = match found.and_then(|i| host.conntrack.get(i)) {
        Some(entry) => (
            request_of(entry)?,
            packet.src == entry.reply.src && packet.dst == entry.reply.dst,
        ),
        None => (mirrored_request(packet)?, true),
    };
    let mut request = request;
    (request.iif, request.oif) = if is_reply {
        // The request came in where the reply leaves, and left where the reply came in.
        let reply_out = packet.oif.clone().or_else(|| match &trace.route {
            Some(r) => match &r.kind {
                engine::RouteKind::Forward { oif, .. } | engine::RouteKind::Output { oif, .. } => {
                    Some(oif.clone())
                }
                _ => None,
            },
            None => None,
        });
        (reply_out, packet.iif.clone())
    } else {
        (packet.iif.clone(), packet.oif.clone())
    };
    let mut fresh = host.clone();
    if let Some(i) = found {
        fresh.conntrack.remove(i);
    }
    Some((request, fresh))
}

/// The first packet of `entry`'s connection, from its original tuple.
fn request_of(entry: &CtEntry) -> Option<Packet> {
    let o = entry.orig;
    let l4 = match entry.proto {
        IpProto::Tcp => L4::Tcp {
            sport: o.sport,
            dport: o.dport,
            flags: TcpFlags::SYN,
        },
        IpProto::Udp => L4::Udp {
            sport: o.sport,
            dport: o.dport,
        },
        IpProto::Sctp => L4::Sctp {
            sport: o.sport,
            dport: o.dport,
        },
        IpProto::Icmp if o.dport >> 8 == 8 => L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: o.sport,
        },
        IpProto::Icmpv6 if o.dport >> 8 == 128 => L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id: o.sport,
        },
        IpProto::Icmp | IpProto::Icmpv6 => return None,
        other => L4::Other(other),
    };
    Some(Packet::new(o.src, o.dst, l4))
}

/// The SYN a SYN/ACK answers, the echo request an echo reply answers.
fn mirrored_request(packet: &Packet) -> Option<Packet> {
    let l4 = match packet.l4 {
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
            icmp_type: 0, id, ..
        } => L4::Icmp {
            icmp_type: 8,
            code: 0,
            id,
        },
        L4::Icmpv6 {
            icmp_type: 129, id, ..
        } => L4::Icmpv6 {
            icmp_type: 128,
            code: 0,
            id,
        },
        _ => return None,
    };
    Some(Packet::new(packet.dst, packet.src, l4))
}

/// Whether `packet` travels in either direction of `e` (addresses and ports; the echo id
/// for ICMP).
fn holds(e: &CtEntry, packet: &Packet) -> bool {
    let (sport, dport) = match packet.l4 {
        L4::Icmp { id, .. } | L4::Icmpv6 { id, .. } => (id, None),
        _ => match packet.l4.ports() {
            Some((s, d)) => (s, Some(d)),
            None => (0, Some(0)),
        },
    };
    e.proto == packet.proto()
        && [e.orig, e.reply].iter().any(|t| {
            t.src == packet.src
                && t.dst == packet.dst
                && t.sport == sport
                && dport.is_none_or(|d| t.dport == d)
        })
}

/// The exchange `request` starts, step by step.
fn from_request(
    prepared: &engine::Prepared,
    host: &Host,
    packet: &Packet,
    options: &Options,
) -> Exchange {
    let mut steps: Vec<ExchangeStep> = Vec::new();
    // Runs one step; `false` when the exchange stops at it.
    let mut run = |host: &Host, p: &Packet, role: StepRole| -> (bool, Outcome) {
        let outcome = engine::simulate_prepared(prepared, host, p, options);
        let s = step(role, p, &outcome);
        let passed = s.passed();
        steps.push(s);
        (passed, outcome)
    };

    let (passed, outcome) = run(host, packet, StepRole::Request);
    let trace = outcome.primary().clone();
    let no_listener = matches!(
        trace.fate,
        Fate::Delivered {
            listener: Listener::Closed
        }
    );
    let entry = entry_after(host, &trace);
    let tracked = entry.is_some();
    let finish = |steps: Vec<ExchangeStep>| {
        let end = match steps.iter().position(|s| !s.passed()) {
            Some(i) if steps[i].fate.is_none() => ExchangeEnd::Undecided { step: i },
            Some(i) => ExchangeEnd::Stopped { step: i },
            None if no_listener => ExchangeEnd::NoListener,
            None => ExchangeEnd::Works,
        };
        Exchange {
            steps,
            end,
            tracked,
        }
    };
    if !passed || !starts_a_connection(packet) {
        return finish(steps);
    }

    let reply = reply_packet(packet, &trace, entry.as_ref());
    let mut with_entry = host.clone();
    let at = with_entry.conntrack.len();
    if let Some(e) = entry {
        // The engine consults the table only when it is known; the exchange knows its own
        // connection's entry.
        with_entry.conntrack.push(e);
        with_entry.known.conntrack = true;
    }
    let (passed, _) = run(&with_entry, &reply, StepRole::Reply);
    if !passed || !matches!(packet.l4, L4::Tcp { .. }) {
        return finish(steps);
    }

    // The SYN/ACK made the entry ESTABLISHED, seen in both directions.
    if let Some(e) = with_entry.conntrack.get_mut(at) {
        e.tcp_state = Some("ESTABLISHED".to_string());
        e.status |= status::SEEN_REPLY | status::ASSURED;
    }
    let (passed, _) = run(&with_entry, &ack(packet), StepRole::DataForward);
    if passed {
        run(&with_entry, &ack(&reply), StepRole::DataBack);
    }
    finish(steps)
}

/// The answer to `request` (SYN/ACK, reply datagram, echo reply) as it arrives, and `host`
/// with the conntrack entry the request left: what the reply meets. `None` when the
/// request does not pass or opens no connection.
pub fn answer_to(
    ruleset: &Ruleset,
    host: &Host,
    request: &Packet,
    options: &Options,
) -> Option<(Packet, Host)> {
    if !starts_a_connection(request) {
        return None;
    }
    let outcome = engine::simulate(ruleset, host, request, options);
    let trace = outcome.primary();
    if !trace.fate.passed() {
        return None;
    }
    let entry = entry_after(host, trace);
    let reply = reply_packet(request, trace, entry.as_ref());
    let mut with_entry = host.clone();
    if let Some(e) = entry {
        with_entry.conntrack.push(e);
        with_entry.known.conntrack = true;
    }
    Some((reply, with_entry))
}

/// The same TCP segment with only ACK set (data on the established connection).
fn ack(p: &Packet) -> Packet {
    let mut p = p.clone();
    if let L4::Tcp { flags, .. } = &mut p.l4 {
        *flags = TcpFlags::ACK;
    }
    p
}

fn step(role: StepRole, packet: &Packet, outcome: &Outcome) -> ExchangeStep {
    let trace = outcome.primary();
    let base_chain = match &trace.decider {
        Decider::Rule(at) => Some(
            crate::callstack::call_stack(trace, *at)
                .first()
                .map_or(at.chain_ref(), |f| f.from.chain_ref()),
        ),
        Decider::Policy(c) => Some(*c),
        Decider::Routing | Decider::Stack | Decider::Conntrack => None,
    };
    ExchangeStep {
        role,
        packet: packet.clone(),
        fate: outcome.decided_fate().cloned(),
        decider: trace.decider.clone(),
        base_chain,
    }
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
pub fn entry_after(host: &Host, trace: &Trace) -> Option<CtEntry> {
    if let Some(i) = trace.conntrack.entry {
        return host.conntrack.get(i).cloned();
    }
    let (orig, reply) = trace.conntrack.new_entry?;
    let proto = trace.packet.proto();
    // ICMP tuples carry the echo id and the type, not ports: only addresses tell NAT.
    let ports = !matches!(proto, IpProto::Icmp | IpProto::Icmpv6);
    let mut nat = 0;
    if reply.src != orig.dst || (ports && reply.sport != orig.dport) {
        nat |= status::DST_NAT;
    }
    if reply.dst != orig.src || (ports && reply.dport != orig.sport) {
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

fn tuple_text(t: &CtTuple) -> String {
    format!(
        "src={} dst={} sport={} dport={}",
        t.src, t.dst, t.sport, t.dport
    )
}

/// The answer the peer sends: addressed as the entry's reply tuple (the request as it left,
/// mirrored, when there is no entry), arriving where the request left, or generated here
/// when the request was delivered here.
pub fn reply_packet(request: &Packet, trace: &Trace, entry: Option<&CtEntry>) -> Packet {
    let r = entry.map_or_else(
        || {
            let f = &trace.final_packet;
            let (sport, dport) = f.l4.ports().unwrap_or((0, 0));
            CtTuple {
                src: f.dst,
                dst: f.src,
                sport: dport,
                dport: sport,
            }
        },
        |e| e.reply,
    );
    let echo_id = |id: u16| if entry.is_some() { r.sport } else { id };
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
            id: echo_id(id),
        },
        L4::Icmpv6 { id, .. } => L4::Icmpv6 {
            icmp_type: 129,
            code: 0,
            id: echo_id(id),
        },
        L4::Other(p) => L4::Other(p),
    };
    let mut reply = Packet::new(r.src, r.dst, l4);
    // It arrives where the request left and, when it is forwarded or sent from here,
    // goes back out where the request came in (routing back is assumed symmetric when
    // no routes are given).
    (reply.iif, reply.oif) = match &trace.fate {
        Fate::Forwarded { oif, .. } => (Some(oif.clone()), request.iif.clone()),
        Fate::Sent { oif } => (Some(oif.clone()), None),
        // Delivered here: the answer is this host's own.
        _ => (None, request.iif.clone()),
    };
    reply
}

#[cfg(test)]
mod tests {
    //! The kernel's side of these shapes is checked in `oracle/tests/exchange.rs`; here, what
    //! only the simulation says (no listener, a reply asked about alone) and the shape of
    //! each exchange.
    use super::*;
    use model::{Family, SourceFile};

    fn ruleset(text: &str) -> Ruleset {
        frontends::iptables_save::parse(&SourceFile::new("rules", text), Some(Family::Ip))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn packet(spec: &str) -> Packet {
        frontends::packet_spec::packet(spec).unwrap_or_else(|e| panic!("{e}"))
    }

    const NEW_ONLY: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A FORWARD -p tcp --dport 80 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
";

    fn roles(e: &Exchange) -> Vec<StepRole> {
        e.steps.iter().map(|s| s.role).collect()
    }

    #[test]
    fn a_forwarded_syn_whose_reply_is_dropped_stops_at_the_reply() {
        let e = simulate(
            &ruleset(NEW_ONLY),
            &Host::default(),
            &packet("tcp 10.1.1.50:40000 10.1.0.50:80 in lan0 out wan0 flags S"),
            &Options::default(),
        );
        assert_eq!(e.end, ExchangeEnd::Stopped { step: 1 });
        assert!(e.tracked);
        let reply = &e.steps[1].packet;
        assert_eq!(
            (reply.iif.as_deref(), reply.oif.as_deref()),
            (Some("wan0"), Some("lan0"))
        );
        assert_eq!(reply.l4.ports(), Some((80, 40000)));
        assert_eq!(e.first_failure().map(|s| s.role), Some(StepRole::Reply));
    }

    #[test]
    fn a_port_nothing_listens_on_passes_the_firewall_but_not_the_connection() {
        let mut host = Host::default();
        host.known.sockets = true;
        let e = simulate(
            &ruleset(NEW_ONLY),
            &host,
            &packet("tcp 10.1.1.50:40000 10.1.1.1:22 in lan0 flags S"),
            &Options::default(),
        );
        assert_eq!(e.end, ExchangeEnd::NoListener);
        assert!(e.firewall_passes() && !e.works());
        assert_eq!(
            roles(&e),
            [
                StepRole::Request,
                StepRole::Reply,
                StepRole::DataForward,
                StepRole::DataBack
            ]
        );
        // The answer is this host's own, back out where the request came in.
        let reply = &e.steps[1].packet;
        assert_eq!(
            (reply.iif.as_deref(), reply.oif.as_deref()),
            (None, Some("lan0"))
        );
    }

    #[test]
    fn a_reply_asked_about_alone_is_judged_as_part_of_its_whole_connection() {
        let rules = ruleset(NEW_ONLY);
        let syn = packet("tcp 10.1.1.50:40000 10.1.0.50:80 in lan0 out wan0 flags S");
        let options = Options::default();
        let first = engine::simulate(&rules, &Host::default(), &syn, &options);
        let mut host = Host::default();
        host.known.conntrack = true;
        host.conntrack
            .push(entry_after(&Host::default(), first.primary()).unwrap());
        let synack = packet("tcp 10.1.0.50:80 10.1.1.50:40000 in wan0 out lan0 flags SA");
        let e = simulate(&rules, &host, &synack, &options);
        assert_eq!(e.steps[0].role, StepRole::Request);
        assert_eq!(e.steps[0].packet, syn);
        assert_eq!(e.end, ExchangeEnd::Stopped { step: 1 });
    }

    #[test]
    fn a_udp_reply_of_a_known_connection_is_not_taken_for_a_request() {
        let rules = ruleset(
            "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT\n",
        );
        let query = packet("udp 10.1.1.50:40000 10.1.0.50:53 in lan0 out wan0");
        let options = Options::default();
        let first = engine::simulate(&rules, &Host::default(), &query, &options);
        let mut host = Host::default();
        host.known.conntrack = true;
        host.conntrack
            .push(entry_after(&Host::default(), first.primary()).unwrap());
        let answer = packet("udp 10.1.0.50:53 10.1.1.50:40000 in wan0 out lan0");
        let e = simulate(&rules, &host, &answer, &options);
        assert_eq!(e.steps[0].packet, query);
        assert_eq!(e.end, ExchangeEnd::Stopped { step: 1 });
    }

    #[test]
    fn an_echo_request_is_answered_by_an_echo_reply_with_its_id() {
        let rules = ruleset(
            "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A FORWARD -p icmp --icmp-type echo-request -j ACCEPT\nCOMMIT\n",
        );
        let mut ping = packet("icmp 10.1.1.50 10.1.0.50 in lan0 out wan0 type 8 code 0");
        if let L4::Icmp { id, .. } = &mut ping.l4 {
            *id = 77;
        }
        let e = simulate(&rules, &Host::default(), &ping, &Options::default());
        assert_eq!(e.end, ExchangeEnd::Works);
        assert!(matches!(
            e.steps[1].packet.l4,
            L4::Icmp {
                icmp_type: 0,
                id: 77,
                ..
            }
        ));
    }

    #[test]
    fn a_packet_that_opens_nothing_is_one_step() {
        let rules = ruleset("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
        let unreachable = packet("icmp 10.1.1.50 10.1.0.50 in lan0 out wan0 type 3 code 3");
        let e = simulate(&rules, &Host::default(), &unreachable, &Options::default());
        assert_eq!(roles(&e), [StepRole::Request]);
        assert!(e.works());
    }
}
