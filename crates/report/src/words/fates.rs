//! What happened to the packet: its fate as a headline, a keyword and a sentence; why
//! it was left undetermined, queued, delivered to a listener or lost in routing.

use super::packets::{addr_port, iface};
use engine::{Connection, Fate, Listener, RoutingFailure};
use model::packet::PktType;
use model::Family;

/// The fate in capitals, as the headline says it.
pub fn fate_headline(fate: &Fate) -> &'static str {
    match fate {
        Fate::RoutingFailed {
            reason: RoutingFailure::TtlExceeded,
        } => "TTL EXCEEDED",
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

/// The main answer's headline word: what the connection experiences when the packet
/// passed (a delivered packet the stack refuses, an answer that cannot get back), the
/// packet's fate otherwise.
pub fn answer_headline(fate: &Fate, connection: Connection) -> &'static str {
    match connection {
        Connection::Refused => "REFUSED",
        Connection::AnswerLost => "ANSWER LOST",
        Connection::Undecided => "UNDECIDED",
        Connection::Succeeds | Connection::Blocked => fate_headline(fate),
    }
}

/// What the connection experiences as a JSON keyword (the exit status follows it).
pub fn connection_kind(connection: Connection) -> &'static str {
    match connection {
        Connection::Succeeds => "succeeds",
        Connection::Refused => "refused",
        Connection::AnswerLost => "answer_lost",
        Connection::Blocked => "blocked",
        Connection::Undecided => "undecided",
    }
}

/// Why an all-clear has no ground, for the headline: no rules of the packet's family.
pub fn no_rules_of_family_short(family: Family) -> String {
    format!("no {} rules given", family_name(family))
}

/// Why an all-clear has no ground, in full: what the simulation did and what to give.
pub fn no_rules_of_family(family: Family) -> String {
    let (listing, tables) = if family == Family::Ip6 {
        ("ip6tables-save", "ip6 or inet")
    } else {
        ("iptables-save", "ip or inet")
    };
    format!(
        "the simulation passed it through no firewall: no {} rules were given ({listing}, or `nft list ruleset` with {tables} tables); give them to decide",
        family_name(family)
    )
}

/// Why an ICMP error's answer has no ground, for the headline.
pub fn icmp_quote_unknown_short() -> &'static str {
    "depends on the conntrack table"
}

/// Why an ICMP error's answer has no ground, in full: RELATED as simulated, INVALID if it
/// quotes no tracked flow, and what each gives.
pub fn icmp_quote_unknown(simulated: Connection, if_invalid: Connection) -> String {
    format!(
        "no conntrack table was given: as RELATED to a tracked flow it quotes (simulated below) {}; quoting no tracked flow it is INVALID and {}; give the table (`conntrack -L`) to decide",
        connection_words(simulated),
        connection_words(if_invalid)
    )
}

/// Why the connection is undecided although the packet passed, for the headline.
pub fn reply_not_through_short() -> &'static str {
    "whether its answer gets back is undecided"
}

/// What became of the answer to a packet that passed, when it did not get through this
/// host: "dropped by the policy of filter/FORWARD (rules.v4:3)".
pub fn reply_not_through(
    rs: &model::Ruleset,
    step: &analysis::remedy::exchange::ExchangeStep,
) -> String {
    let by = super::decider_short(rs, &step.decider);
    match &step.fate {
        Some(fate) => format!("does not get back: {}, by {by}", fate_sentence(fate)),
        None => format!(
            "may not get back: its fate depends on what cannot be decided offline (first branch: {by})"
        ),
    }
}

/// What the connection experiences, as a clause.
fn connection_words(c: Connection) -> &'static str {
    match c {
        Connection::Succeeds => "it gets through",
        Connection::Refused => "the stack refuses it",
        Connection::AnswerLost => "the answer to it is lost",
        Connection::Blocked => "it is stopped",
        Connection::Undecided => "the answer is undecided",
    }
}

/// `IPv4` or `IPv6`.
pub fn family_name(family: Family) -> &'static str {
    if family == Family::Ip6 {
        "IPv6"
    } else {
        "IPv4"
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
        } => format!("forwarded out of {} via {gw}", iface(oif)),
        Fate::Forwarded { oif, gateway: None } => format!("forwarded out of {}", iface(oif)),
        Fate::Sent { oif } => format!("sent out of {}", iface(oif)),
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
        engine::Undetermined::JumpLoop { table, cycle } => format!(
            "the chains of table {table} jump in a loop, {} (the kernel refuses to load such a \
             ruleset)",
            cycle.join(" -> ")
        ),
        engine::Undetermined::NestedTooDeep {
            table,
            path,
            backend,
        } => format!(
            "table {table} nests chains {} jumps deep, {}: {} refuses to load it (nf_tables \
             allows at most 15; iptables-legacy would load it)",
            path.len().saturating_sub(1),
            path.join(" -> "),
            backend_name(*backend)
        ),
        engine::Undetermined::TooManyChainEntries { limit } => format!(
            "one chain traversal entered more than {limit} chains (chains re-entered over and \
             over); not followed further"
        ),
    }
}

/// How the words name a backend.
pub fn backend_name(backend: model::ruleset::Backend) -> &'static str {
    match backend {
        model::ruleset::Backend::Nftables => "nftables (nft -f)",
        model::ruleset::Backend::IptablesNft => "iptables-nft (iptables over nf_tables)",
        model::ruleset::Backend::IptablesLegacy => "iptables-legacy",
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
        RoutingFailure::MartianSource => "martian source address (never accepted from the wire)".to_string(),
        RoutingFailure::MartianDestination => "martian destination address (never routed from the wire)".to_string(),
        RoutingFailure::TtlExceeded => "TTL exceeded when forwarding".to_string(),
        RoutingFailure::TooBig { mtu } => {
            format!("too big for the way out (MTU {mtu}) and not to be fragmented")
        }
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
