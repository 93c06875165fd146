//! The order of hooks a packet meets: the Linux [`PacketPath`].
//!
//! - Received (`packet.iif` set): ingress -> prerouting (raw, conntrack at -200, mangle,
//!   dstnat, ...) -> routing (`route::route_received` on the packet after prerouting's DNAT
//!   and mark changes) -> input -> socket lookup, or TTL check and decrement (`ip_forward`:
//!   TTL <= 1 is "time exceeded" before the forward chains) -> forward -> postrouting ->
//!   egress.
//! - Locally generated (`packet.iif` unset): routing -> output (raw, conntrack, mangle,
//!   dstnat, filter, ...) -> re-route when output changed the mark or the destination ->
//!   postrouting -> egress; a local destination goes out `lo` and comes back in on `lo`:
//!   prerouting (conntrack keeps the connection made on output, still NEW; its NAT
//!   bindings are set, so no nat chain runs again) -> input -> socket lookup.
//!
//! Unknown outcomes are taken from the [`Decisions`] the generic exploration
//! ([`crate::branches`]) hands in, one walk per branch.

use crate::linux::chain;
use crate::linux::conntrack::{self, FirstPacket, Nfct};
use crate::linux::nat;
use crate::linux::prepared::{Entry, Manip, Prepared};
use crate::linux::walk::{End, Walk};
use crate::linux::{delivery, eval, reject, route, symptom};
use crate::trace::{
    AnswerSource, Cause, CtInvalid, CtState, Decider, Event, Fate, Listener, NatRewrite, Note,
    Reply, Response, ResponseKind, RouteDecision, RouteKind, RoutingFailure, RpfCheck, Trace,
};
use crate::warning::{Assumption, Warning};
use crate::{Decisions, Options, PacketPath};
use model::{ChainRef, Hook, Host, Packet, TcpFlags, L4};

impl PacketPath for Prepared<'_> {
    fn walk(
        &self,
        host: &Host,
        packet: &Packet,
        options: &Options,
        decisions: &mut Decisions<'_>,
    ) -> Trace {
        one_walk(self, host, packet, options, decisions, |w| {
            if packet.iif.is_some() {
                received(w)
            } else {
                local(w)
            }
        })
    }
}

/// A packet a host sends itself about `about`, a packet it received and a REJECT refused:
/// `nf_ct_attach` gives it `about`'s connection, RELATED in the reply direction, before it
/// is sent, so conntrack does not look it up and the nat chains do not run for it.
pub(crate) struct RejectAnswer<'a> {
    pub prepared: &'a Prepared<'a>,
    pub about: &'a Packet,
}

impl PacketPath for RejectAnswer<'_> {
    fn walk(
        &self,
        host: &Host,
        packet: &Packet,
        options: &Options,
        decisions: &mut Decisions<'_>,
    ) -> Trace {
        one_walk(self.prepared, host, packet, options, decisions, |w| {
            let mut conn = conntrack::new_conn(self.about, CtState::Related, 0, None);
            conn.reply_dir = true;
            (conn.src_nat_done, conn.dst_nat_done) = (true, true);
            w.nfct = Nfct::Tracked(conn);
            local(w)
        })
    }
}

/// One walk of `packet` following `decisions`: `run` takes it from its start to its end.
fn one_walk(
    prepared: &Prepared<'_>,
    host: &Host,
    packet: &Packet,
    options: &Options,
    decisions: &mut Decisions<'_>,
    run: impl FnOnce(&mut Walk<'_, '_>) -> End,
) -> Trace {
    let taken = std::mem::replace(decisions, Decisions::new(&[]));
    let mut w = Walk::new(prepared, host, packet, options, taken);
    let end = run(&mut w);
    let (trace, taken) = finish(w, end);
    *decisions = taken;
    trace
}

/// The path of a packet received on `packet.iif`.
fn received(w: &mut Walk<'_, '_>) -> End {
    bridge_warning(w);
    if let Err(end) = run_hook(w, Hook::Ingress) {
        return end;
    }
    if let Some(reason) = route::dropped_before_prerouting(w.host, &w.packet) {
        return routing_failed(reason, Hook::Prerouting);
    }
    if let Err(end) = run_hook(w, Hook::Prerouting) {
        return end;
    }
    let routed = route::route_received_explained(w.host, &w.packet);
    let decision = routed.decision;
    for a in routed.assumptions {
        w.assume(a);
    }
    record_route(w, decision.clone());
    match decision.kind {
        RouteKind::Failed(reason) => routing_failed(reason, Hook::Prerouting),
        RouteKind::Local => input(w),
        RouteKind::Forward { oif, gateway } | RouteKind::Output { oif, gateway, .. } => {
            check_given_oif(w, &oif);
            forward(w, oif, gateway)
        }
    }
}

/// Bridge-family chains are not simulated (bridged frames and ARP are out of scope). A
/// frame that arrives through a bridge meets them before the IP path, so say so when the
/// ruleset has any and the input interface is (or may be) a bridge or a bridge port.
fn bridge_warning(w: &mut Walk<'_, '_>) {
    let Some(table) =
        w.ruleset().tables.iter().find(|t| {
            t.family == model::Family::Bridge && t.chains.iter().any(|c| c.base.is_some())
        })
    else {
        return;
    };
    let iif = w.packet.iif.as_deref().unwrap_or("");
    let host = w.host;
    let bridged = !host.known.addresses
        || host
            .interfaces
            .iter()
            .any(|i| i.master.as_deref() == Some(iif))
        || host.interface(iif).is_some_and(|i| i.master.is_some());
    if bridged {
        w.warn(Warning::BridgeNotSimulated {
            table: table.name.clone(),
            iif: iif.to_string(),
        });
    }
}

fn routing_failed(reason: RoutingFailure, hook: Hook) -> End {
    End {
        fate: Fate::RoutingFailed { reason },
        by: Decider::Routing,
        hook: Some(hook),
    }
}

fn record_route(w: &mut Walk<'_, '_>, decision: RouteDecision) {
    if decision.assumed {
        let a = match decision.kind {
            RouteKind::Local => Some(Assumption::LocalFromSpec),
            RouteKind::Forward { .. } => Some(Assumption::ForwardedFromSpec),
            RouteKind::Output { .. } => Some(Assumption::OutputFromSpec),
            RouteKind::Failed(_) => None,
        };
        if let Some(a) = a {
            w.assume(a);
        }
    }
    w.events.push(Event::Route(decision.clone()));
    w.route = Some(decision);
}

fn check_given_oif(w: &mut Walk<'_, '_>, routed: &str) {
    if let Some(given) = w.original.oif.as_deref() {
        if given != routed {
            let note = Note::OifContradicted {
                given: given.to_string(),
                routed: routed.to_string(),
            };
            w.events.push(Event::Note { hook: None, note });
        }
    }
}

/// Input chains, then the socket lookup.
fn input(w: &mut Walk<'_, '_>) -> End {
    if let Err(end) = run_hook(w, Hook::Input) {
        return end;
    }
    let listener = delivery::listener(w.host, &w.packet);
    // Nothing answers an ICMP error, so whether something listens does not matter.
    if listener == Listener::Unknown && !reject::is_icmp_error(&w.packet) {
        w.assume(Assumption::SocketsUnknown);
    }
    // A closed port is the stack's answer unless a rule explicitly accepted the packet
    // (then that rule let it through; the response says the stack answered).
    let by = match (&listener, &w.last_rule_accept) {
        (Listener::Closed, None) => Decider::Stack,
        _ => passed_by(w),
    };
    End {
        fate: Fate::Delivered { listener },
        by,
        hook: Some(Hook::Input),
    }
}

/// The last rule that accepted, else the last policy, else routing alone.
fn passed_by(w: &Walk<'_, '_>) -> Decider {
    w.last_rule_accept
        .clone()
        .or_else(|| w.last_policy_accept.clone())
        .unwrap_or(Decider::Routing)
}

/// TTL check and decrement, forward and postrouting chains.
fn forward(w: &mut Walk<'_, '_>, oif: String, gateway: Option<std::net::IpAddr>) -> End {
    if w.packet.ttl <= 1 {
        return routing_failed(RoutingFailure::TtlExceeded, Hook::Forward);
    }
    if let Some(mtu) = route::too_big_to_forward(w.host, &w.packet, &oif) {
        return routing_failed(RoutingFailure::TooBig { mtu }, Hook::Forward);
    }
    let from = w.packet.ttl;
    w.packet.ttl = from - 1;
    w.events.push(Event::Note {
        hook: Some(Hook::Forward),
        note: Note::TtlDecremented { from, to: from - 1 },
    });
    w.out_dev = Some(oif.clone());
    w.forwarded = true;
    for hook in [Hook::Forward, Hook::Postrouting, Hook::Egress] {
        if let Err(end) = run_hook(w, hook) {
            return end;
        }
    }
    End {
        fate: Fate::Forwarded { oif, gateway },
        by: passed_by(w),
        hook: Some(Hook::Postrouting),
    }
}

/// The output interface of a local routing decision; `None` for a failure.
fn output_oif(kind: &RouteKind) -> Result<String, RoutingFailure> {
    match kind {
        RouteKind::Local => Ok("lo".to_string()),
        RouteKind::Output { oif, .. } | RouteKind::Forward { oif, .. } => Ok(oif.clone()),
        RouteKind::Failed(reason) => Err(reason.clone()),
    }
}

/// The path of a locally generated packet.
fn local(w: &mut Walk<'_, '_>) -> End {
    let decision = route_local(w);
    let oif = match output_oif(&decision.kind) {
        Ok(oif) => oif,
        Err(reason) => return routing_failed(reason, Hook::Output),
    };
    check_given_oif(w, &oif);
    w.out_dev = Some(oif);
    let dst = w.packet.dst;
    if let Err(end) = run_hook(w, Hook::Output) {
        return end;
    }
    // Re-routed when a `type route` chain (iptables mangle OUTPUT) changed the mark, TOS or
    // addresses, or NAT changed the destination (`nf_nat_ipv4_local_fn`); a mark set in a
    // `type filter` chain is not followed by a new routing decision.
    if w.route_chain_changed || w.packet.dst != dst {
        w.events.push(Event::Note {
            hook: Some(Hook::Output),
            note: Note::Rerouted,
        });
        let decision = route_local(w);
        match output_oif(&decision.kind) {
            Ok(oif) => w.out_dev = Some(oif),
            Err(reason) => return routing_failed(reason, Hook::Output),
        }
    }
    if let Err(end) = run_hook(w, Hook::Postrouting) {
        return end;
    }
    let oif = w.out_dev.clone().unwrap_or_default();
    let looped = oif == "lo"
        || w.route
            .as_ref()
            .is_some_and(|r| matches!(r.kind, RouteKind::Local) || route::output_is_local(r));
    if !looped {
        if let Err(end) = run_hook(w, Hook::Egress) {
            return end;
        }
        return End {
            fate: Fate::Sent { oif },
            by: passed_by(w),
            hook: Some(Hook::Postrouting),
        };
    }
    // Out `lo` and back in: the route to the local address is kept on the skb, so the
    // packet goes on to input without a new routing decision.
    w.packet.iif = Some("lo".to_string());
    w.in_dev = Some("lo".to_string());
    w.out_dev = None;
    if let Err(end) = run_hook(w, Hook::Prerouting) {
        return end;
    }
    input(w)
}

/// The routing decision of a locally generated packet, recorded with its assumptions.
fn route_local(w: &mut Walk<'_, '_>) -> RouteDecision {
    let routed = route::route_local_explained(w.host, &w.packet);
    for a in routed.assumptions {
        w.assume(a);
    }
    record_route(w, routed.decision.clone());
    routed.decision
}

/// Says when two tables' base chains on `hook` share a priority: their order is the load
/// order, which no listing records (`entries` has them in the order the simulation takes).
fn warn_equal_priorities(w: &mut Walk<'_, '_>, hook: Hook, entries: &[Entry]) {
    let rs = w.prep.ruleset;
    let priority = |at: ChainRef| rs.chain_at(at).base.as_ref().map(|b| b.priority);
    let mut ties = |a: ChainRef, b: ChainRef| {
        if a.table != b.table && priority(a) == priority(b) {
            w.warn(Warning::EqualPriority {
                hook,
                ran_first: a,
                ran_second: b,
            });
        }
    };
    // Base chains among themselves, and `type nat` chains among themselves inside the NAT
    // core (which has its own fixed place among the base chains).
    for pair in entries.windows(2) {
        if let [Entry::Chain(a), Entry::Chain(b)] = pair {
            ties(*a, *b);
        }
    }
    for e in entries {
        if let Entry::Nat { chains, .. } = e {
            for pair in chains.windows(2) {
                ties(pair[0], pair[1]);
            }
        }
    }
}

/// Runs everything registered on `hook`, in order.
fn run_hook(w: &mut Walk<'_, '_>, hook: Hook) -> Result<(), End> {
    let prep = w.prep;
    let entries = prep.entries(hook, w.packet.is_ipv6());
    let device_hook = matches!(hook, Hook::Ingress | Hook::Egress);
    if device_hook && !entries.iter().any(|e| on_device(w, hook, e)) {
        return Ok(());
    }
    w.events.push(Event::Hook(hook));
    warn_equal_priorities(w, hook, entries);
    for entry in entries {
        match entry {
            Entry::Chain(at) => {
                if !device_hook || on_device(w, hook, entry) {
                    chain::run_base_chain(w, hook, *at)?;
                }
            }
            Entry::Conntrack => conntrack_in(w, hook)?,
            Entry::Nat { manip, chains } => nat_core(w, hook, *manip, chains)?,
        }
    }
    Ok(())
}

/// Whether an ingress/egress chain is attached to the device the packet uses.
fn on_device(w: &Walk<'_, '_>, hook: Hook, entry: &Entry) -> bool {
    let Entry::Chain(at) = entry else {
        return false;
    };
    let dev = if hook == Hook::Ingress {
        w.in_dev.as_deref()
    } else {
        w.out_dev.as_deref()
    };
    let chain = w.ruleset().chain_at(*at);
    match (chain.base.as_ref().and_then(|b| b.device.as_deref()), dev) {
        (Some(want), Some(dev)) => want == dev,
        _ => false,
    }
}

/// `nf_conntrack_in`: attach the connection of the host's table, or classify the first
/// packet of a flow. A packet that already has one (loopback re-entry) or is untracked is
/// left alone.
fn conntrack_in(w: &mut Walk<'_, '_>, hook: Hook) -> Result<(), End> {
    if let Some(conn) = w.answer_to.take() {
        attach(w, hook, conn);
        return Ok(());
    }
    if w.nfct != Nfct::None {
        // Previously seen (loopback) or untracked: conntrack leaves it alone.
        let state = w.nfct.trace_state().unwrap_or(CtState::Invalid);
        let entry = w.nfct.conn().and_then(|c| c.entry);
        w.events.push(Event::Conntrack { hook, state, entry });
        if w.ct.state.is_none() {
            w.ct.state = Some(state);
        }
        return Ok(());
    }
    let host = w.host;
    let zone = w.template.zone;
    if host.known.conntrack {
        if let Some((index, reply_dir)) = conntrack::lookup(&host.conntrack, &w.packet, zone) {
            if matches!(w.packet.l4, L4::Tcp { .. }) {
                w.assume(Assumption::InsideTcpWindow);
            }
            let mut conn = conntrack::conn_from_entry(&host.conntrack, index, reply_dir);
            conn.helper = w.template.helper.clone();
            attach(w, hook, Nfct::Tracked(conn));
            return Ok(());
        }
        if let Some((helper, control)) = conntrack::expected_by(&host.conntrack, &w.packet) {
            w.assume(Assumption::NotExpected {
                helper: helper.to_string(),
                control: host.conntrack[control].text.clone(),
            });
        }
    } else if !reject::is_icmp_error(&w.packet) {
        // An ICMP error is never the first packet of a flow: what is assumed for it is
        // said by `icmp_error`.
        w.assume(Assumption::FirstPacketOfFlow);
    }
    let consulted = conntrack::needs_tcp_loose(&w.packet);
    let loose = if consulted {
        w.ct.depends_on.push(conntrack::TCP_LOOSE.to_string());
        w.sysctl(conntrack::TCP_LOOSE, 1) != 0
    } else {
        true
    };
    let first = conntrack::classify_first(&w.packet, loose);
    if let Some(why) = conntrack::invalid_why(&w.packet, first, consulted.then_some(loose)) {
        w.ct.invalid.get_or_insert(why);
    }
    let nfct = match first {
        FirstPacket::New | FirstPacket::NewLoose => {
            if conntrack::table_full(&host.sysctls) {
                w.warn(Warning::ConntrackTableFull);
                return Err(End {
                    fate: Fate::Dropped,
                    by: Decider::Conntrack,
                    hook: Some(hook),
                });
            }
            Nfct::Tracked(conntrack::new_conn(
                &w.packet,
                CtState::New,
                zone,
                w.template.helper.clone(),
            ))
        }
        FirstPacket::InvalidNew | FirstPacket::InvalidFlags | FirstPacket::InvalidIcmp => {
            Nfct::Invalid
        }
        FirstPacket::Untracked => Nfct::Untracked,
        FirstPacket::IcmpError => icmp_error(w),
    };
    attach(w, hook, nfct);
    Ok(())
}

/// An ICMP error is RELATED to the flow it quotes, INVALID without one. The packet model
/// carries no quoted header: with the host's table, the entry whose originator the error
/// goes back to; without it, RELATED is assumed and said.
fn icmp_error(w: &mut Walk<'_, '_>) -> Nfct {
    let host = w.host;
    if host.known.conntrack {
        match conntrack::quoted_flow(&host.conntrack, w.packet.dst) {
            Some((index, reply_dir)) => {
                let mut conn = conntrack::conn_from_entry(&host.conntrack, index, reply_dir);
                conn.state = CtState::Related;
                Nfct::Tracked(conn)
            }
            None => {
                w.ct.invalid.get_or_insert(CtInvalid::IcmpErrorUnknownFlow);
                Nfct::Invalid
            }
        }
    } else {
        w.warn(Warning::IcmpErrorAssumedRelated);
        Nfct::Tracked(conntrack::new_conn(
            &w.packet,
            CtState::Related,
            w.template.zone,
            None,
        ))
    }
}

fn attach(w: &mut Walk<'_, '_>, hook: Hook, nfct: Nfct) {
    let state = nfct.trace_state().unwrap_or(CtState::Invalid);
    let entry = nfct.conn().and_then(|c| c.entry);
    w.events.push(Event::Conntrack { hook, state, entry });
    if w.ct.state.is_none() {
        w.ct.state = Some(state);
        w.ct.entry = entry;
    }
    if nfct == Nfct::Untracked {
        w.events.push(Event::Note {
            hook: Some(hook),
            note: Note::Untracked,
        });
    }
    w.nfct = nfct;
}

/// `nf_nat_inet_fn`: for the first packet of a connection (NEW or RELATED, original
/// direction) whose `manip` is not yet set up, run the nat chains until one sets up a
/// binding, then bind (a null binding if none did); for every other packet, skip the
/// chains and apply the connection's binding. Without a connection (untracked, invalid)
/// nothing happens.
fn nat_core(
    w: &mut Walk<'_, '_>,
    hook: Hook,
    manip: Manip,
    chains: &[ChainRef],
) -> Result<(), End> {
    let Some(conn) = w.nfct.conn() else {
        skip_nat_chains(w, hook, chains);
        return Ok(());
    };
    let initialized = match manip {
        Manip::Src => conn.src_nat_done,
        Manip::Dst => conn.dst_nat_done,
    };
    // An ICMP error RELATED to a flow is only translated back by that flow's binding
    // (`nf_nat_ipv4_fn` / `nf_nat_ipv6_fn` return after `nf_nat_icmp_reply_translation`):
    // it never runs the nat chains.
    let icmp_error = reject::is_icmp_error(&w.packet);
    let first = (conn.state == CtState::New || (conn.state == CtState::Related && !icmp_error))
        && !conn.reply_dir
        && !initialized;
    if !first {
        skip_nat_chains(w, hook, chains);
        apply_binding(w, hook, manip);
        return Ok(());
    }
    for &chain in chains {
        chain::run_base_chain(w, hook, chain)?;
        if nat_initialized(&w.nfct, manip) {
            break;
        }
    }
    // The null binding: this manipulation is now set up for the connection.
    if let Some(conn) = w.nfct.conn_mut() {
        match manip {
            Manip::Src => conn.src_nat_done = true,
            Manip::Dst => conn.dst_nat_done = true,
        }
    }
    Ok(())
}

fn nat_initialized(nfct: &Nfct, manip: Manip) -> bool {
    nfct.conn().is_some_and(|c| match manip {
        Manip::Src => c.src_nat_done,
        Manip::Dst => c.dst_nat_done,
    })
}

fn skip_nat_chains(w: &mut Walk<'_, '_>, hook: Hook, chains: &[ChainRef]) {
    for &chain in chains {
        w.events.push(Event::Note {
            hook: Some(hook),
            note: Note::NatChainSkipped { chain },
        });
    }
}

/// Conntrack's binding rewrites a later packet of a translated connection.
fn apply_binding(w: &mut Walk<'_, '_>, hook: Hook, manip: Manip) {
    let Some((addr, port)) = w.nfct.conn().and_then(|c| nat::binding(c, manip)) else {
        return;
    };
    let before = (
        nat::addr_of(&w.packet, manip),
        nat::port_of(&w.packet, manip),
    );
    nat::set_side(&mut w.packet, manip, addr, port);
    let after = (
        nat::addr_of(&w.packet, manip),
        nat::port_of(&w.packet, manip),
    );
    if before == after {
        return;
    }
    let rewrite = NatRewrite {
        kind: nat::binding_kind(manip),
        hook,
        by: None,
        before,
        after,
        spec: None,
    };
    w.events.push(Event::Nat {
        hook,
        rewrite: rewrite.clone(),
    });
    w.nat.push(rewrite);
}

/// Assembles the trace of a finished walk.
fn finish<'p>(mut w: Walk<'_, 'p>, end: End) -> (Trace, Decisions<'p>) {
    let original = w.original;
    // An ICMP error RELATED to a flow belongs to that flow's entry: it never creates one.
    if let Nfct::Tracked(conn) = &w.nfct {
        if conn.entry.is_none() && !reject::is_icmp_error(original) {
            w.ct.new_entry = Some((conn.orig, conn.reply));
        }
    }
    let host = w.host;
    let response = reject::response(
        host,
        original,
        &w.packet,
        &end.fate,
        end.hook,
        w.route.as_ref(),
    );
    let mut sender_sees = symptom::sender_view_at(
        host,
        original,
        &end.fate,
        response.as_ref(),
        w.locally_generated,
        end.hook,
    );
    // Whatever this host sends back to a received packet (a REJECT's RST or ICMP error, the
    // stack's RST, port unreachable, SYN/ACK or echo reply) leaves through OUTPUT and
    // POSTROUTING like any packet it sends: a rule there can stop it, and then the sender
    // sees nothing at all.
    let answer = match &sender_sees.response {
        Some(r) if !w.locally_generated => {
            answer_walk(&w, r, matches!(end.fate, Fate::Rejected { .. }))
        }
        _ => AnswerWalk::Passes,
    };
    match answer {
        AnswerWalk::Stopped(by) => {
            w.warn(Warning::AnswerStopped { by });
            sender_sees = symptom::sender_view_at(
                host,
                original,
                &Fate::Dropped,
                None,
                w.locally_generated,
                end.hook,
            );
        }
        AnswerWalk::Unknown => w.warn(Warning::AnswerUncertain),
        AnswerWalk::Passes => {}
    }
    // A peer's reply exists only for a packet that reached someone who answers: not when
    // the stack refuses it (its RST or ICMP error is in `sender_sees`), and never to an
    // ICMP error.
    let refused = matches!(
        end.fate,
        Fate::Delivered {
            listener: Listener::Closed
        }
    );
    let reply = (end.fate.passed() && !refused && !reject::is_icmp_error(original))
        .then(|| reply(host, original, &w.packet, &end.fate));
    let cause = cause_of(&w, &end);
    let trace = Trace {
        packet: original.clone(),
        final_packet: w.packet,
        events: w.events,
        fate: end.fate,
        decider: end.by,
        route: w.route,
        nat: w.nat,
        conntrack: w.ct,
        sender_sees,
        logs: w.logs,
        assumptions: w.assumptions,
        warnings: w.warnings,
        reply,
        cause,
    };
    (trace, w.decisions)
}

/// The typed reason of a fate that is not a plain rule's: routing and the stack, conntrack,
/// and a rule whose verdict rests on a reverse-path check or an INVALID state.
fn cause_of(w: &Walk<'_, '_>, end: &End) -> Option<Cause> {
    let host = w.host;
    match (&end.fate, &end.by) {
        (Fate::RoutingFailed { reason }, _) => Some(routing_cause(w, reason)),
        (Fate::Dropped, Decider::Conntrack) => Some(Cause::CtTableFull),
        (
            Fate::Delivered {
                listener: Listener::Closed,
            },
            _,
        ) => Some(match delivery::echo_ignored_by(host, &w.packet) {
            Some(sysctl) => Cause::EchoIgnored {
                sysctl: sysctl.to_string(),
            },
            None => Cause::NoListener,
        }),
        (Fate::Dropped | Fate::Rejected { .. }, Decider::Rule(at)) => {
            rule_cause(w, *at).or_else(|| no_helper(w, end.hook?))
        }
        (Fate::Dropped | Fate::Rejected { .. }, Decider::Policy(_)) => no_helper(w, end.hook?),
        _ => None,
    }
}

/// A NEW packet lost on a path that accepts RELATED, when it looks like the data connection
/// of a helper's protocol and no helper is assigned: with one it would have been RELATED.
/// A ruleset that assigns a helper anywhere is no ground (the kernel may expect it; an nft
/// `ct helper set` names a helper object, not always after its type).
fn no_helper(w: &Walk<'_, '_>, hook: Hook) -> Option<Cause> {
    let conn = w.nfct.conn()?;
    if conn.state != CtState::New || conn.entry.is_some() || conn.helper.is_some() {
        return None;
    }
    let host = w.host;
    let table = host.known.conntrack.then_some(host.conntrack.as_slice());
    let (helper, control) = conntrack::helper_ground(table, w.original)?;
    if assigns_a_helper(w.ruleset()) {
        return None;
    }
    let related_accept = related_accept_passed(w, hook)?;
    Some(Cause::NoHelper {
        helper: helper.to_string(),
        control: control.map(|i| host.conntrack[i].clone()),
        related_accept,
    })
}

/// Whether any rule assigns a helper (`-j CT --helper`, `ct helper set`).
fn assigns_a_helper(rs: &model::Ruleset) -> bool {
    use model::expr::Action;
    rs.tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .flat_map(|r| r.actions())
        .any(|a| {
            matches!(
                a,
                Action::CtSet {
                    helper: Some(_),
                    ..
                }
            )
        })
}

/// A rule the packet went past at `hook` (the hook where it was lost) that accepts RELATED
/// but not NEW (`ct state established,related accept`): as RELATED it would have passed.
fn related_accept_passed(w: &Walk<'_, '_>, hook: Hook) -> Option<model::RuleRef> {
    use model::expr::{ct_state, Key, Test, Verdict};
    let rs = w.ruleset();
    let passes = |m: &model::expr::Match, bits: u64| match &m.test {
        Test::Cmp { pattern, .. } => {
            eval::pattern_matches(pattern, eval::Val::Int(bits)) != m.negated
        }
        _ => true,
    };
    let related_not_new = |r: &model::Rule| {
        let states: Vec<_> = r
            .matches()
            .filter(|m| {
                matches!(
                    m.test,
                    Test::Cmp {
                        key: Key::CtState,
                        ..
                    }
                )
            })
            .collect();
        matches!(r.verdict(), Some(Verdict::Accept))
            && !states.is_empty()
            && states.iter().all(|m| passes(m, ct_state::RELATED))
            && !states.iter().all(|m| passes(m, ct_state::NEW))
    };
    // Each chain walked at the hook, with how many of its rules the packet went past: those
    // before the rule that matched (a jump or the verdict), all of them at its end.
    let walked = w.events.iter().filter_map(|e| match e {
        Event::Rule { hook: h, at, .. } if *h == hook => Some((at.chain_ref(), at.rule)),
        Event::ChainEnd { hook: h, chain } | Event::Policy { hook: h, chain, .. } if *h == hook => {
            Some((*chain, usize::MAX))
        }
        _ => None,
    });
    walked.into_iter().find_map(|(c, passed)| {
        let rules = &rs.tables[c.table].chains[c.chain].rules;
        let rule = rules.iter().take(passed).position(related_not_new)?;
        Some(model::RuleRef {
            table: c.table,
            chain: c.chain,
            rule,
        })
    })
}

fn routing_cause(w: &Walk<'_, '_>, reason: &RoutingFailure) -> Cause {
    let (host, packet) = (w.host, &w.packet);
    match reason {
        RoutingFailure::NoRoute => Cause::NoRoute,
        RoutingFailure::Blackhole => Cause::Blackhole,
        RoutingFailure::Unreachable => Cause::Unreachable,
        RoutingFailure::Prohibit => Cause::Prohibit,
        RoutingFailure::ForwardingDisabled { sysctl } => Cause::IpForwardOff {
            sysctl: sysctl.clone(),
        },
        RoutingFailure::RpFilter { mode, sysctl } => Cause::RpFilter {
            check: RpfCheck::Sysctl {
                mode: *mode,
                sysctl: sysctl.clone(),
            },
            lookup: route::rp_filter_lookup(host, packet, *mode),
        },
        // A source martian by its reverse lookup: the route back is not unicast.
        RoutingFailure::MartianSource => Cause::MartianSource {
            lookup: route::martian_source_lookup(host, packet),
        },
        RoutingFailure::MartianDestination => Cause::MartianDestination,
        RoutingFailure::TtlExceeded => Cause::TtlExceeded,
        RoutingFailure::TooBig { mtu } => Cause::TooBig { mtu: *mtu },
        RoutingFailure::NotUnicastFrame { pkttype } => Cause::NotUnicastFrame { pkttype: *pkttype },
    }
}

/// A rule that stopped the packet because its reverse-path check failed, or because it
/// tests the conntrack state and the packet was INVALID.
fn rule_cause(w: &Walk<'_, '_>, at: model::RuleRef) -> Option<Cause> {
    use model::expr::{Key, Test};
    let rule = w.ruleset().rule_at(at);
    for m in rule.matches() {
        if let (
            Test::RpFilter {
                loose,
                validmark,
                accept_local,
            },
            true,
        ) = (&m.test, m.negated)
        {
            let lookup =
                route::reverse_lookup(w.host, &w.packet, *validmark, *loose, *accept_local);
            if lookup.is_none() && w.host.known.routes {
                // The check passed here: the rule decided on something else.
                continue;
            }
            return Some(Cause::RpFilter {
                check: RpfCheck::Rule {
                    rule: at,
                    loose: *loose,
                },
                lookup,
            });
        }
    }
    let tests_state = |r: &model::Rule| {
        r.matches().any(|m| {
            matches!(
                m.test,
                Test::Cmp {
                    key: Key::CtState,
                    ..
                }
            )
        })
    };
    // The state may have been tested by a jump still open (`ct state vmap { invalid : jump
    // ct_invalid }` into a chain whose rule is a bare `drop`).
    let open_jumps = w.stack.iter().filter_map(|f| {
        let rule = f.next.checked_sub(1)?;
        w.ruleset().tables[f.chain.table].chains[f.chain.chain]
            .rules
            .get(rule)
    });
    if !tests_state(rule) && !open_jumps.into_iter().any(tests_state) {
        return None;
    }
    let why = match &w.nfct {
        Nfct::None => CtInvalid::BeforeConntrack,
        Nfct::Invalid => w.ct.invalid.clone()?,
        _ => return None,
    };
    Some(Cause::CtInvalid { why })
}

/// What became of the answer sent back to a received packet.
enum AnswerWalk {
    Passes,
    /// A rule or policy of OUTPUT/POSTROUTING (or routing back) stopped it.
    Stopped(Decider),
    /// Not decided: an Unknown match on its way out, or a broadcast/multicast destination.
    Unknown,
}

/// Walks the answer `r` (a REJECT's when `by_reject`, else the stack's) out of the host as
/// the locally generated packet it is. A REJECT's answer carries the original's connection
/// from the start (`nf_ct_attach`, RELATED); the stack's answers meet it at conntrack's hook
/// (-200), so raw OUTPUT sees them without one. Either way NAT chains do not run for it.
fn answer_walk(w: &Walk<'_, '_>, r: &Response, by_reject: bool) -> AnswerWalk {
    let (original, translated) = (w.original, &w.packet);
    let (sport, dport) = translated.l4.ports().unwrap_or((0, 0));
    let echo_id = match original.l4 {
        L4::Icmp { id, .. } | L4::Icmpv6 { id, .. } => id,
        _ => 0,
    };
    // icmp_send quotes as much of the offending packet as fits in 576 bytes (IPv6: 1280).
    let error_len = |header: u16, cap: u16| header + original.len.min(cap - header);
    let (l4, error, len) = match r.kind {
        ResponseKind::TcpRst => {
            let flags = TcpFlags::RST.union(TcpFlags::ACK);
            (
                L4::Tcp {
                    sport: dport,
                    dport: sport,
                    flags,
                },
                by_reject,
                None,
            )
        }
        ResponseKind::SynAck => {
            let flags = TcpFlags::SYN.union(TcpFlags::ACK);
            (
                L4::Tcp {
                    sport: dport,
                    dport: sport,
                    flags,
                },
                false,
                None,
            )
        }
        ResponseKind::Icmp { icmp_type, code } => {
            let error = !matches!(icmp_type, 0 | 14 | 16 | 18);
            let len = if error {
                error_len(28, 576)
            } else {
                original.len
            };
            (
                L4::Icmp {
                    icmp_type,
                    code,
                    id: echo_id,
                },
                error,
                Some(len),
            )
        }
        ResponseKind::Icmpv6 { icmp_type, code } => {
            let error = icmp_type < 128;
            let len = if error {
                error_len(48, 1280)
            } else {
                original.len
            };
            (
                L4::Icmpv6 {
                    icmp_type,
                    code,
                    id: echo_id,
                },
                error,
                Some(len),
            )
        }
    };
    // Inside the host the answer still carries the translated addresses (conntrack undoes
    // a DNAT or REDIRECT only at POSTROUTING): from the address the packet was delivered
    // to, unless a router answers from its own address.
    // An address of this host the input did not give stays unspecified inside the walk:
    // only a rule on the answer's source address could tell the difference.
    let from = match r.from {
        AnswerSource::Addr(a) if a == original.dst => translated.dst,
        AnswerSource::Addr(a) => a,
        AnswerSource::RouteBack { .. } if translated.is_ipv6() => {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        }
        AnswerSource::RouteBack { .. } => std::net::Ipv4Addr::UNSPECIFIED.into(),
    };
    // A broadcast or multicast destination leaves and loops back at once; output routing
    // here models only the local copy, so such an answer is not judged.
    let to = translated.src;
    if to.is_multicast() || route::addr_type(w.host, to, None) == model::expr::rtn::BROADCAST {
        return AnswerWalk::Unknown;
    }
    let mut answer = Packet::new(from, to, l4);
    if let Some(len) = len {
        answer.len = len;
    }
    // icmp_send: an IPv4 error's TOS is the offending packet's TOS bits with precedence
    // "internetwork control" (`(tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL`);
    // icmp_reply and the stack's RST reflect the packet's TOS; a REJECT's RST has TOS 0.
    answer.tos = match answer.l4 {
        L4::Icmp { .. } if error => (original.tos & 0x1e) | 0xc0,
        L4::Icmp { .. } => original.tos,
        L4::Tcp { flags, .. } if !by_reject && flags.contains(TcpFlags::RST) => original.tos,
        _ => 0,
    };
    // Back out of the interface the original came in by, unless routing says otherwise.
    answer.oif = original.iif.clone();
    let mut walk = Walk::new(w.prep, w.host, &answer, w.options, Decisions::new(&[]));
    if let Nfct::Tracked(conn) = &w.nfct {
        let mut attached = conn.clone();
        attached.reply_dir = true;
        attached.state = if error {
            CtState::Related
        } else {
            CtState::Established
        };
        if by_reject {
            // A REJECT's answer is attached before it is sent (`nf_ct_attach`), RELATED.
            walk.nfct = Nfct::Tracked(attached);
        } else {
            // The stack's own answers meet their connection at conntrack's hook.
            walk.answer_to = Some(Nfct::Tracked(attached));
        }
    }
    let end = local(&mut walk);
    if !walk.decisions.choices.is_empty() {
        return AnswerWalk::Unknown;
    }
    match end.fate {
        Fate::Sent { .. } | Fate::Delivered { .. } | Fate::Forwarded { .. } => AnswerWalk::Passes,
        _ => AnswerWalk::Stopped(end.by),
    }
}

/// The reply: the peer answers the translated packet; conntrack undoes the NAT on the way
/// back; the route back is looked up when the host's routes are known.
fn reply(host: &Host, original: &Packet, translated: &Packet, fate: &Fate) -> Reply {
    let packet = nat::reply_to(translated);
    let mut delivered_as = nat::reply_to(original);
    delivered_as.iif = None;
    // The route back: the reply's destination is un-SNATed in prerouting, before routing.
    let mut back = packet.clone();
    back.dst = delivered_as.dst;
    if let (Some((s, _)), Some((_, d))) = (back.l4.ports(), delivered_as.l4.ports()) {
        back.l4 = back.l4.with_ports(s, d);
    }
    let route_back = host.known.routes.then(|| match fate {
        Fate::Forwarded { oif, .. } | Fate::Sent { oif } => {
            back.iif = Some(oif.clone());
            route::route_received(host, &back)
        }
        _ => route::route_local(host, &back),
    });
    Reply {
        packet,
        delivered_as,
        route_back,
    }
}
