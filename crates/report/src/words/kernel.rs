//! What the kernel did, as a tracer showed it.

use super::packets::iface;
use model::kernel_walk::{CtEventKind, CtSeen, KernelFate, StepKind, Unplaceable};

/// A traced fate in a few words: `dropped`, `rejected with icmp-port-unreachable`,
/// `accepted (no closing event; last seen in input)`...
pub fn kernel_fate(fate: &KernelFate) -> String {
    match fate {
        KernelFate::Delivered => "delivered locally".to_string(),
        KernelFate::Forwarded { oif } => format!("forwarded out of {}", iface(oif)),
        KernelFate::Sent { oif } => format!("sent out of {}", iface(oif)),
        KernelFate::Dropped { .. } => "dropped".to_string(),
        KernelFate::Rejected { with: Some(r), .. } => format!("rejected with {r}"),
        KernelFate::Rejected { with: None, .. } => "rejected".to_string(),
        KernelFate::Queued { num, .. } => format!("queued to {num}"),
        KernelFate::Accepted { last_hook: Some(h) } => {
            format!("accepted (no closing event; last seen in {h})")
        }
        KernelFate::Accepted { last_hook: None } => "accepted (no closing event)".to_string(),
        KernelFate::Vanished { after: Some(h) } => format!("vanished after {h} (lost in routing)"),
        KernelFate::Vanished { after: None } => "vanished before any hook".to_string(),
    }
}

/// Why a traced event could not be placed on a rule of its chain.
pub fn unplaceable(why: Unplaceable) -> &'static str {
    match why {
        Unplaceable::UnknownEventKind => "an event of an unknown kind",
        Unplaceable::BeyondLastRule => "the chain has fewer rules than the traced number",
        Unplaceable::NoRuleWithVerdict => "no rule of the chain has the traced verdict",
        Unplaceable::SeveralRulesWithVerdict => {
            "several rules have the traced verdict; give `nft -a list ruleset` with --listing"
        }
    }
}

/// A conntrack event's kind as `conntrack -E` prints it: `new`, `update`, `destroy`.
pub fn ct_event_kind(k: CtEventKind) -> &'static str {
    match k {
        CtEventKind::New => "new",
        CtEventKind::Update => "update",
        CtEventKind::Destroy => "destroy",
    }
}

/// The conntrack state a tracer saw, as `ct state` names it.
pub fn ct_seen(s: CtSeen) -> &'static str {
    match s {
        CtSeen::New => "new",
        CtSeen::Established => "established",
        CtSeen::Related => "related",
        CtSeen::Invalid => "invalid",
        CtSeen::Untracked => "untracked",
    }
}

/// What a trace event without a placed rule was: `policy`, `return`, `rule`, or the raw
/// type of an event kind this reader does not know.
pub fn step_kind(k: StepKind) -> String {
    match k {
        StepKind::Policy => "policy".to_string(),
        StepKind::Return => "return".to_string(),
        StepKind::Rule => "rule".to_string(),
        StepKind::Unknown(t) => format!("trace event of unknown type {t}"),
    }
}
