//! What happened to the packet: its fate as a headline, a keyword and a sentence; why
//! it was left undetermined, queued, delivered to a listener or lost in routing.

use super::packets::{addr_port, iface};
use engine::{Fate, Listener, RoutingFailure};
use model::packet::PktType;

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
