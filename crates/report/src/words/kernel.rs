//! What the kernel did, as a tracer showed it.

use model::kernel_walk::KernelFate;

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
