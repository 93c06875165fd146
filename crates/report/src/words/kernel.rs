//! What the kernel did, as a tracer showed it.

use model::kernel_walk::{KernelFate, Unplaceable};

/// A traced fate in a few words: `dropped`, `rejected with icmp-port-unreachable`,
/// `accepted (no closing event; last seen in input)`...
pub fn kernel_fate(fate: &KernelFate) -> String {
    match fate {
        KernelFate::Delivered => "delivered locally".to_string(),
        KernelFate::Forwarded { oif } => format!("forwarded out of {oif}"),
        KernelFate::Sent { oif } => format!("sent out of {oif}"),
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
