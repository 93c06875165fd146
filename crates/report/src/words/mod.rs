//! Plain-words descriptions of trace data, shared by the text and JSON renderers so both
//! say the same thing. Lookups never panic: a reference that does not resolve is named as
//! such.

pub mod flows;

use engine::{
    Assumption, Branch, CtState, Decider, Errno, Fate, Listener, LogLine, NatRewrite, Note,
    Response, ResponseKind, RouteDecision, RouteKind, RoutingFailure, SenderView, Trace,
    TraceVerdict, UnknownChoice, Warning,
};
use model::expr::{LogKind, Undecidable};
use model::packet::PktType;
use model::{ChainRef, Host, Origin, Packet, RuleRef, Ruleset, L4};
use std::net::IpAddr;

/// The fate in capitals, as the headline says it.
pub fn fate_headline(fate: &Fate) -> &'static str {
    match fate {
        Fate::Delivered { .. } => "DELIVERED",
        Fate::Forwarded { .. } => "FORWARDED",
        Fate::Sent { .. } => "SENT",
        Fate::Dropped => "DROPPED",
        Fate::Rejected { .. } => "REJECTED",
        Fate::Queued { .. } => "QUEUED",
        Fate::RoutingFailed { .. } => "NO ROUTE",
        Fate::Undetermined { .. } => "UNDETERMINED",
    }
}

/// The fate as a JSON keyword.
pub fn fate_kind(fate: &Fate) -> &'static str {
    match fate {
        Fate::Delivered { .. } => "delivered",
        Fate::Forwarded { .. } => "forwarded",
        Fate::Sent { .. } => "sent",
        Fate::Dropped => "dropped",
        Fate::Rejected { .. } => "rejected",
        Fate::Queued { .. } => "queued",
        Fate::RoutingFailed { .. } => "routing_failed",
        Fate::Undetermined { .. } => "undetermined",
    }
}

/// A short sentence for the fate: "rejected with icmp port-unreachable".
pub fn fate_sentence(fate: &Fate) -> String {
    match fate {
        Fate::Delivered { listener } => format!("delivered locally ({})", listener_words(listener)),
        Fate::Forwarded {
            oif,
            gateway: Some(gw),
        } => format!("forwarded out of {oif} via {gw}"),
        Fate::Forwarded { oif, gateway: None } => format!("forwarded out of {oif}"),
        Fate::Sent { oif } => format!("sent out of {oif}"),
        Fate::Dropped => "dropped".to_string(),
        Fate::Rejected { with } => format!("rejected with {with}"),
        Fate::Queued { queue } => queue_words(queue),
        Fate::RoutingFailed { reason } => format!("lost in routing: {}", routing_failure(reason)),
        Fate::Undetermined { reason } => format!("cannot be simulated: {}", undetermined(reason)),
    }
}

pub fn undetermined(u: &engine::Undetermined) -> String {
    match u {
        engine::Undetermined::UnmodelledTarget { target } => {
            format!("target {target} is not modelled by whyblocked")
        }
        engine::Undetermined::MissingChain { name } => {
            format!(
                "a jump to chain {name}, which does not exist (the kernel refuses such a ruleset)"
            )
        }
        engine::Undetermined::JumpLoop { chain } => format!(
            "jumps loop at chain#{} (the kernel refuses such a ruleset)",
            chain.chain
        ),
    }
}

pub fn queue_words(q: &model::expr::Queue) -> String {
    let mut s = if q.last != q.num {
        format!("handed to userspace queues {}-{}", q.num, q.last)
    } else {
        format!("handed to userspace queue {}", q.num)
    };
    if q.bypass {
        s.push_str(" (bypass: accepted if no program listens)");
    } else {
        s.push_str(" (dropped if no program listens)");
    }
    s
}

pub fn listener_words(l: &Listener) -> String {
    match l {
        Listener::Open(sock) => {
            let mut s = format!(
                "{} socket listening on {}",
                sock.proto,
                addr_port(sock.addr, Some(sock.port))
            );
            if let Some(p) = &sock.process {
                s.push_str(&format!(" by {p}"));
            }
            s
        }
        Listener::Closed => "nothing listens: the stack answers".to_string(),
        Listener::Unknown => "listening sockets not given".to_string(),
    }
}

pub fn routing_failure(r: &RoutingFailure) -> String {
    match r {
        RoutingFailure::NoRoute => "no route to the destination".to_string(),
        RoutingFailure::Blackhole => "blackhole route".to_string(),
        RoutingFailure::Unreachable => "unreachable route".to_string(),
        RoutingFailure::Prohibit => "prohibit route".to_string(),
        RoutingFailure::ForwardingDisabled { sysctl } => format!("forwarding is off ({sysctl} = 0)"),
        RoutingFailure::RpFilter { mode, sysctl } => format!(
            "reverse path filter ({sysctl} = {mode}, {}): no route back to the source via the input interface",
            if *mode == 2 { "loose" } else { "strict" }
        ),
        RoutingFailure::Martian => "martian source address (never accepted from the wire)".to_string(),
        RoutingFailure::TtlExceeded => "TTL exceeded when forwarding".to_string(),
        RoutingFailure::NotUnicastFrame { pkttype } => format!(
            "the frame was link-layer {} (not addressed to this host's MAC): the kernel never forwards it",
            match pkttype {
                PktType::Broadcast => "broadcast",
                PktType::Multicast => "multicast",
                PktType::OtherHost => "unicast to another host",
                PktType::Unicast => "unicast",
            }
        ),
    }
}

pub fn addr_port(a: IpAddr, port: Option<u16>) -> String {
    match (a, port) {
        (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
        (a, Some(p)) => format!("{a}:{p}"),
        (a, None) => a.to_string(),
    }
}

/// How the packet travels: "forwarded tap0 -> eno1", "received on eth0", "locally generated".
pub fn direction(trace: &Trace) -> String {
    let p = &trace.packet;
    let iif = p.iif.as_deref();
    match trace.route.as_ref().map(|r| &r.kind) {
        Some(RouteKind::Forward { oif, .. }) => {
            format!("forwarded {} -> {oif}", iif.unwrap_or("?"))
        }
        Some(RouteKind::Local) => match iif {
            Some(i) => format!("to this host, in on {i}"),
            None => "to this host".to_string(),
        },
        Some(RouteKind::Output { oif, .. }) => format!("locally generated, out {oif}"),
        Some(RouteKind::Failed(_)) | None => match (iif, p.oif.as_deref()) {
            (Some(i), Some(o)) => format!("forwarded {i} -> {o}"),
            (Some(i), None) => format!("received on {i}"),
            (None, Some(o)) => format!("locally generated, out {o}"),
            (None, None) => "locally generated".to_string(),
        },
    }
}

/// The origin of a rule, if the reference resolves.
pub fn rule_origin(ruleset: &Ruleset, at: RuleRef) -> Option<&Origin> {
    Some(
        &ruleset
            .tables
            .get(at.table)?
            .chains
            .get(at.chain)?
            .rules
            .get(at.rule)?
            .origin,
    )
}

/// `filter/ufw-reject-forward #1` (`ip6 filter/INPUT #3` for non-IPv4 tables).
pub fn rule_label(ruleset: &Ruleset, at: RuleRef) -> String {
    format!(
        "{} #{}",
        chain_label(ruleset, at.chain_ref()),
        rule_number(ruleset, at)
    )
}

/// The rule's 1-based number as iptables and the kernel count it: a source rule lowered
/// into several model rules keeps one number ([`model::Chain::source_rule_number`]).
pub fn rule_number(ruleset: &Ruleset, at: RuleRef) -> usize {
    ruleset
        .tables
        .get(at.table)
        .and_then(|t| t.chains.get(at.chain))
        .map_or(at.rule + 1, |c| c.source_rule_number(at.rule))
}

/// `filter/FORWARD`.
pub fn chain_label(ruleset: &Ruleset, at: ChainRef) -> String {
    format!(
        "{}/{}",
        table_name(ruleset, at.table),
        chain_name(ruleset, at)
    )
}

/// The table's name, with its family in front unless it is `ip` (iptables' default).
pub fn table_name(ruleset: &Ruleset, table: usize) -> String {
    match ruleset.tables.get(table) {
        Some(t) if t.family == model::Family::Ip => t.name.clone(),
        Some(t) => format!("{} {}", t.family, t.name),
        None => format!("table#{table}"),
    }
}

pub fn chain_name(ruleset: &Ruleset, at: ChainRef) -> String {
    ruleset
        .tables
        .get(at.table)
        .and_then(|t| t.chains.get(at.chain))
        .map_or_else(|| format!("chain#{}", at.chain), |c| c.name.clone())
}

/// `file:line`, or empty for generated objects.
pub fn location(origin: &Origin) -> String {
    if origin.file.is_empty() {
        String::new()
    } else {
        format!("{}:{}", origin.file, origin.line)
    }
}

pub fn rule_location(ruleset: &Ruleset, at: RuleRef) -> String {
    rule_origin(ruleset, at).map(location).unwrap_or_default()
}

pub fn chain_origin(ruleset: &Ruleset, at: ChainRef) -> Option<&Origin> {
    Some(&ruleset.tables.get(at.table)?.chains.get(at.chain)?.origin)
}

/// The policy of a base chain in iptables' word (`ACCEPT`/`DROP`).
pub fn chain_policy(ruleset: &Ruleset, at: ChainRef) -> Option<String> {
    let chain = ruleset.tables.get(at.table)?.chains.get(at.chain)?;
    Some(chain.base.as_ref()?.policy.to_string())
}

/// What decided, in a few words: `filter/INPUT #3 (rules.v4:40)`, `policy of filter/INPUT`.
pub fn decider_short(ruleset: &Ruleset, decider: &Decider) -> String {
    match decider {
        Decider::Rule(at) => with_loc(rule_label(ruleset, *at), &rule_location(ruleset, *at)),
        Decider::Policy(c) => with_loc(
            format!("the policy of {}", chain_label(ruleset, *c)),
            &chain_origin(ruleset, *c).map(location).unwrap_or_default(),
        ),
        Decider::Routing => "routing (no chain refused it)".to_string(),
        Decider::Stack => "the local stack".to_string(),
        Decider::Conntrack => "conntrack".to_string(),
    }
}

fn with_loc(label: String, loc: &str) -> String {
    if loc.is_empty() {
        label
    } else {
        format!("{label} ({loc})")
    }
}

/// A trace verdict as `nft monitor trace` would put it: `accept`, `jump ufw-before-input`.
pub fn verdict(ruleset: &Ruleset, v: &TraceVerdict) -> String {
    match v {
        TraceVerdict::Accept => "accept".to_string(),
        TraceVerdict::Drop => "drop".to_string(),
        TraceVerdict::Reject(r) => format!("reject with {r}"),
        TraceVerdict::Queue(q) => format!("queue {}", q.num),
        TraceVerdict::Jump(c) => format!("jump {}", chain_name(ruleset, *c)),
        TraceVerdict::Goto(c) => format!("goto {}", chain_name(ruleset, *c)),
        TraceVerdict::Return => "return".to_string(),
        TraceVerdict::Continue => "continue".to_string(),
    }
}

pub fn ct_state(s: CtState) -> &'static str {
    match s {
        CtState::New => "new",
        CtState::Established => "established",
        CtState::Related => "related",
        CtState::Invalid => "invalid",
        CtState::Untracked => "untracked",
    }
}

/// `forward via eno1 (10.1.0.0/24 dev eno1 proto kernel scope link)`.
pub fn route(d: &RouteDecision, host: &Host) -> String {
    let mut s = match &d.kind {
        RouteKind::Local => "local delivery".to_string(),
        RouteKind::Forward { oif, gateway } => match gateway {
            Some(gw) => format!("forward via {gw} dev {oif}"),
            None => format!("forward out of {oif}"),
        },
        RouteKind::Output { oif, gateway, src } => {
            let mut s = match gateway {
                Some(gw) => format!("output via {gw} dev {oif}"),
                None => format!("output out of {oif}"),
            };
            if let Some(src) = src {
                s.push_str(&format!(" src {src}"));
            }
            s
        }
        RouteKind::Failed(f) => format!("failed: {}", routing_failure(f)),
    };
    if let Some(text) = route_text(d, host) {
        s.push_str(&format!(" [{text}]"));
    }
    if d.assumed {
        s.push_str(" (assumed from the packet spec)");
    } else if d.table != model::host::table_id::MAIN && d.table != model::host::table_id::LOCAL {
        s.push_str(&format!(" (table {})", d.table));
    }
    s
}

pub fn route_text<'h>(d: &RouteDecision, host: &'h Host) -> Option<&'h str> {
    d.route
        .and_then(|i| host.routes.get(i))
        .map(|r| r.text.as_str())
        .filter(|t| !t.is_empty())
}

/// `dnat 10.1.2.3:1222 -> 192.168.70.10:22 by nat/PREROUTING #1 (rules:12)`.
pub fn nat(ruleset: &Ruleset, n: &NatRewrite) -> String {
    let by = match n.by {
        Some(at) => format!(
            "by {}",
            with_loc(rule_label(ruleset, at), &rule_location(ruleset, at))
        ),
        None => "by conntrack (existing binding)".to_string(),
    };
    format!(
        "{} {} -> {} {by}",
        n.kind,
        addr_port(n.before.0, n.before.1),
        addr_port(n.after.0, n.after.1)
    )
}

pub fn note(ruleset: &Ruleset, n: &Note) -> String {
    match n {
        Note::TtlDecremented { from, to } => format!("TTL {from} -> {to}"),
        Note::Untracked => "untracked: conntrack and nat chains are skipped".to_string(),
        Note::NatChainSkipped { chain } => format!(
            "{} skipped: nat chains see only the first packet of a connection",
            chain_label(ruleset, *chain)
        ),
        Note::Rerouted => {
            "re-routed: a route chain changed the mark or address, or NAT the destination"
                .to_string()
        }
        Note::OifContradicted { given, routed } => {
            format!("routing chose {routed}, not {given} as given")
        }
    }
}

pub fn assumption(a: &Assumption, packet: &Packet) -> String {
    let iif = packet.iif.as_deref().unwrap_or("?");
    let oif = packet.oif.as_deref().unwrap_or("?");
    match a {
        Assumption::ForwardedFromSpec => {
            format!("forwarded {iif} -> {oif} (no host state given; pass --host)")
        }
        Assumption::LocalFromSpec => {
            format!("addressed to this host, in on {iif} (no host state given; pass --host)")
        }
        Assumption::OutputFromSpec => {
            "locally generated by this host (no host state given; pass --host)".to_string()
        }
        Assumption::SysctlDefault { key, value } => {
            format!("{key} = {value} (the kernel default; not in the host state)")
        }
        Assumption::SocketsUnknown => {
            "listening sockets unknown: cannot say whether anything answers".to_string()
        }
        Assumption::FirstPacketOfFlow => {
            "the first packet of its flow (no conntrack table given)".to_string()
        }
        Assumption::LocalRoutesFromAddresses { v6 } => format!(
            "the kernel's local{} routes, derived from the host's addresses (no local table in the {} routes)",
            if *v6 { "" } else { " and broadcast" },
            if *v6 { "IPv6" } else { "IPv4" }
        ),
        Assumption::SysctlAssumed { key, value } => {
            format!("{key} = {value} (implied by the packet spec; no sysctls given)")
        }
    }
}

pub fn warning(ruleset: &Ruleset, w: &Warning) -> String {
    match w {
        Warning::QueueAfterConntrackOnNat { at } => format!(
            "{} queues a NATed flow after conntrack: a program that rewrites ports there acts \
             after conntrack matched the tuple (move the hook to raw, priority -300)",
            with_loc(rule_label(ruleset, *at), &rule_location(ruleset, *at))
        ),
        Warning::EqualPriority {
            hook,
            ran_first,
            ran_second,
        } => format!(
            "{} and {} share a priority on the {hook} hook: the kernel runs the one loaded last \
             first, and no listing records which that was; taken as loaded in the order given \
             ({} ran first). If the verdict depends on it, give one a distinct priority",
            chain_label(ruleset, *ran_first),
            chain_label(ruleset, *ran_second),
            chain_label(ruleset, *ran_first),
        ),
        Warning::AnswerStopped { by } => format!(
            "the answer (RST, ICMP error, SYN/ACK or echo reply) leaves through OUTPUT and POSTROUTING like any packet \
             this host sends, and {} stops it there: the sender sees nothing and waits",
            decider_short(ruleset, by)
        ),
        Warning::AnswerUncertain => "whether the answer gets out of this host is not decided: it \
             crosses OUTPUT and POSTROUTING past an undecidable match, or goes to a broadcast or \
             multicast address"
            .to_string(),
        Warning::QueueAssumedListening { num, bypass } => format!(
            "assumed a program listens on queue {num}; without one the packet is {}",
            if *bypass {
                "accepted (--queue-bypass)"
            } else {
                "dropped"
            }
        ),
        Warning::BridgeNotSimulated { table, iif } => format!(
            "table bridge {table} is not simulated: if {iif} is a bridge or a bridge port, its \
             chains see the frame before this IP path and may drop it"
        ),
        Warning::FlowOffload { at, flowtable } => format!(
            "{}flow add @{flowtable}: once the connection is offloaded to the flowtable, its later packets \
             bypass prerouting, forward and postrouting; these rules see only its first packets",
            location_prefix(ruleset, *at)
        ),
        Warning::SetUpdated { at, set } => format!(
            "{}the packet is added to set @{set} (updated from the packet path): later \
             packets meet @{set} with it, the listing shows it without",
            location_prefix(ruleset, *at)
        ),
        Warning::DynamicSetRead { set } => format!(
            "set @{set} is updated from the packet path: its contents are taken as listed; \
             packets since the listing may have added or expired elements"
        ),
        Warning::HelperAssigned { helper } => format!(
            "conntrack helper `{helper}` assigned: connections it expects (e.g. FTP data) become RELATED only with it"
        ),
        Warning::NatOutsideNatChain { kind } => format!(
            "{kind} outside a nat chain has no effect (the kernel refuses such a rule)"
        ),
        Warning::NatWrongHook { kind, hook } => {
            format!("{kind} cannot run on {hook} (the kernel refuses such a rule)")
        }
        Warning::NatNoInterfaceAddress { kind } => {
            format!("{kind}: the interface has no address, the kernel drops the packet")
        }
        Warning::NatAddressesUnknown { kind } => format!(
            "{kind}: the host's interface addresses were not given; the address is shown unchanged"
        ),
        Warning::NatRangeFirstShown { kind } => format!(
            "{kind}: the kernel picks the address/port by hash or at random; the first of the range is shown"
        ),
        Warning::ConntrackTableFull => "nf_conntrack: table full, dropping packet \
             (nf_conntrack_count >= nf_conntrack_max)"
            .to_string(),
        Warning::IcmpErrorAssumedRelated => {
            "ICMP error taken as quoting a tracked flow (RELATED); if it quotes none it is INVALID"
                .to_string()
        }
    }
}

/// `rules.nft:12: ` in front of a warning about a rule, or nothing when the rule has no
/// source file.
fn location_prefix(ruleset: &Ruleset, at: RuleRef) -> String {
    let loc = rule_location(ruleset, at);
    if loc.is_empty() {
        loc
    } else {
        format!("{loc}: ")
    }
}

/// `ICMP port unreachable`, `TCP RST`, `ICMPv6 administratively prohibited`.
pub fn response_kind(k: ResponseKind) -> String {
    match k {
        ResponseKind::TcpRst => "TCP RST".to_string(),
        ResponseKind::SynAck => "SYN/ACK".to_string(),
        ResponseKind::Icmp { icmp_type, code } => format!("ICMP {}", icmp_words(icmp_type, code)),
        ResponseKind::Icmpv6 { icmp_type, code } => {
            format!("ICMPv6 {}", icmpv6_words(icmp_type, code))
        }
    }
}

fn icmp_words(t: u8, c: u8) -> String {
    match (t, c) {
        (3, 0) => "net unreachable".into(),
        (3, 1) => "host unreachable".into(),
        (3, 2) => "protocol unreachable".into(),
        (3, 3) => "port unreachable".into(),
        (3, 4) => "fragmentation needed".into(),
        (3, 9) => "net administratively prohibited".into(),
        (3, 10) => "host administratively prohibited".into(),
        (3, 13) => "communication administratively prohibited".into(),
        (3, c) => format!("destination unreachable (code {c})"),
        (11, _) => "time exceeded".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

fn icmpv6_words(t: u8, c: u8) -> String {
    match (t, c) {
        (1, 0) => "no route to destination".into(),
        (1, 1) => "administratively prohibited".into(),
        (1, 2) => "beyond scope of source address".into(),
        (1, 3) => "address unreachable".into(),
        (1, 4) => "port unreachable".into(),
        (1, 5) => "source address failed policy".into(),
        (1, 6) => "reject route".into(),
        (1, c) => format!("destination unreachable (code {c})"),
        (3, _) => "time exceeded".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

/// "ICMP port unreachable from 10.1.1.1 (this host's address on tap0)".
pub fn response(r: &Response, trace: &Trace, host: &Host) -> String {
    let mut s = format!("{} from {}", response_kind(r.kind), r.from);
    let own = host.owner_of(r.from).map(|i| i.name.clone());
    match r.kind {
        ResponseKind::TcpRst if r.by_stack => {
            s.push_str(" (the stack: nothing listens on the port)")
        }
        ResponseKind::TcpRst if r.from == trace.packet.dst => {
            s.push_str(" (looks like the server; sent by the firewall)")
        }
        ResponseKind::SynAck => s.push_str(": the connection is accepted"),
        _ => {
            if let Some(ifname) = own {
                s.push_str(&format!(" (this host's address on {ifname})"));
            }
            if r.by_stack {
                s.push_str(", sent by the stack");
            }
        }
    }
    s
}

/// The sender's socket call: "connect() fails at once: ECONNREFUSED \"Connection refused\"".
pub fn errno_line(view: &SenderView, packet: &Packet) -> Option<String> {
    let errno = view.errno?;
    let call = match packet.l4 {
        L4::Tcp { .. } => "connect()",
        L4::Udp { .. } => "recv() on a connected UDP socket",
        _ => "the sender's socket call",
    };
    let when = match (errno, view.timeout_secs, view.errno_after_secs) {
        (Errno::Etimedout, Some(secs), _) => format!("times out after ~{secs} s"),
        (Errno::Etimedout, None, _) => "times out".to_string(),
        (_, _, Some(secs)) => format!("fails after ~{secs} s"),
        (_, Some(secs), None) if view.response.is_none() => format!("fails after ~{secs} s"),
        _ => "fails at once".to_string(),
    };
    Some(format!(
        "{call} {when}: {} \"{}\"",
        errno.name(),
        errno.message()
    ))
}

/// What the sender observes, one line each: the response (or silence), the errno.
pub fn sender_sees(trace: &Trace, host: &Host) -> Vec<String> {
    let view = &trace.sender_sees;
    let mut lines = Vec::new();
    if view.depends_on_listener {
        lines.push(
            "depends on whether something listens (listening sockets not given): \
             a SYN/ACK if it does, the stack's refusal if not"
                .to_string(),
        );
    }
    match &view.response {
        Some(r) => lines.push(response(r, trace, host)),
        None => match &trace.fate {
            Fate::Dropped | Fate::RoutingFailed { .. } => {
                let what = match trace.packet.l4 {
                    L4::Tcp { flags, .. } if flags == model::TcpFlags::SYN => "the SYN",
                    _ => "the packet",
                };
                lines.push(format!("nothing: {what} is silently dropped"));
            }
            Fate::Queued { .. } => lines.push("whatever the queue's program does".to_string()),
            _ => {}
        },
    }
    if let Some(e) = errno_line(view, &trace.packet) {
        lines.push(e);
    } else if view.recv_times_out {
        match view.timeout_secs {
            Some(secs) => lines.push(format!(
                "no error: recv() waits until its own timeout (~{secs} s)"
            )),
            None => lines.push("no error: recv() waits until its own timeout".to_string()),
        }
    } else if view.response.is_none() {
        if let Some(secs) = view.timeout_secs {
            lines.push(format!("gives up after ~{secs} s"));
        }
    }
    lines
}

/// Where a log line came from and whether it may be missing:
/// "iptables-save.txt:88; rate limit (depends on the recent packet rate): may be missing".
pub fn log_source(ruleset: &Ruleset, l: &LogLine) -> String {
    let mut parts = Vec::new();
    let loc = rule_location(ruleset, l.by);
    parts.push(if loc.is_empty() {
        rule_label(ruleset, l.by)
    } else {
        loc
    });
    match l.kind {
        LogKind::Kernel => {}
        LogKind::Nflog { group } => {
            parts.push(format!("to nflog group {group}, not the kernel log"))
        }
        LogKind::Ulog { group } => parts.push(format!("to ulog group {group}, not the kernel log")),
    }
    if let Some(why) = &l.may_be_missing {
        parts.push(format!("{why}: may be missing"));
    }
    parts.join("; ")
}

pub fn log_kind(k: LogKind) -> &'static str {
    match k {
        LogKind::Kernel => "kernel",
        LogKind::Nflog { .. } => "nflog",
        LogKind::Ulog { .. } => "ulog",
    }
}

/// The condition of one Unknown outcome: "the packet is within the rate limit of
/// rules.v4:40", "recent list (...) of rules.v4:12 does not match".
pub fn choice(ruleset: &Ruleset, c: &UnknownChoice) -> String {
    let loc = rule_location(ruleset, c.site.rule);
    let at = if loc.is_empty() {
        rule_label(ruleset, c.site.rule)
    } else {
        loc
    };
    let mut s = match (&c.why, c.matched) {
        (Undecidable::Limit | Undecidable::Hashlimit, true) => {
            format!("the packet is within the rate limit of {at}")
        }
        (Undecidable::Limit | Undecidable::Hashlimit, false) => {
            format!("the packet exceeds the rate limit of {at}")
        }
        (Undecidable::Quota, true) => format!("the quota of {at} is not used up"),
        (Undecidable::Quota, false) => format!("the quota of {at} is used up"),
        (why, true) => format!("{why} at {at} matches"),
        (why, false) => format!("{why} at {at} does not match"),
    };
    if c.assumed_by_user {
        s.push_str(" (as assumed with --assume)");
    }
    s
}

/// "if the packet is within the rate limit of rules:40: DELIVERED by filter/INPUT #3 (rules:40)".
pub fn branch(ruleset: &Ruleset, b: &Branch) -> String {
    let conds: Vec<String> = b.choices.iter().map(|c| choice(ruleset, c)).collect();
    let cond = if conds.is_empty() {
        "otherwise".to_string()
    } else {
        format!("if {}", conds.join(", and "))
    };
    format!(
        "{cond}: {} by {}",
        fate_headline(&b.trace.fate),
        decider_short(ruleset, &b.trace.decider)
    )
}

/// "tcp 10.1.0.2:2175 -> 10.1.1.2:1050 [SYN ACK]".
pub fn packet(p: &Packet) -> String {
    p.to_string()
}

/// The cross-table effect, one line per earlier accept then the drop: "accepted by inet
/// t/fwd #1 (priority -10, t.nft:4)", "but an accept ends only its own base chain: on the
/// forward hook, filter/FORWARD (priority 0) still ran and dropped it".
pub fn cross_table(ruleset: &Ruleset, x: &analysis::CrossTable, fate: &Fate) -> Vec<String> {
    let mut lines: Vec<String> = x
        .accepted
        .iter()
        .map(|a| {
            let loc = rule_location(ruleset, a.rule);
            let mut s = format!("accepted by {}", rule_label(ruleset, a.rule));
            if a.rule.chain_ref() != a.base {
                s.push_str(&format!(
                    " (from base chain {})",
                    chain_label(ruleset, a.base)
                ));
            }
            s.push_str(&format!(" (priority {}", a.priority));
            if !loc.is_empty() {
                s.push_str(&format!(", {loc}"));
            }
            s.push(')');
            s
        })
        .collect();
    let what = match fate {
        Fate::Rejected { .. } => "rejected it",
        _ => "dropped it",
    };
    lines.push(format!(
        "but an accept ends only its own base chain: on the {} hook, {} (priority {}) still \
         ran and {what}",
        x.hook,
        chain_label(ruleset, x.decided_in),
        x.decided_priority,
    ));
    lines
}
