//! `whyblocked explain-trace`: traced packets placed in the user's ruleset and compared with
//! the simulation (`analysis::flows::traces`), as text and as JSON. The words both formats
//! share sit here.

pub mod json;
pub mod text;

use crate::words;
use analysis::agree::{Divergence, Step};
use engine::Fate;
use model::kernel_walk::{KernelFate, PlacedBy, Placement};
use model::Ruleset;

/// Where a traced step landed in the ruleset, in words.
pub(crate) fn placed_words(ruleset: &Ruleset, at: &Placement) -> String {
    match at {
        Placement::Rule(r) => words::rule_label(ruleset, *r),
        Placement::Policy(c) => format!("{} policy", words::chain_label(ruleset, *c)),
        Placement::ChainEnd(c) => format!("{} return", words::chain_label(ruleset, *c)),
        Placement::TracingRule => "(the rule that switched tracing on)".into(),
        Placement::NotInRuleset | Placement::Unmapped { .. } => "(not in the given ruleset)".into(),
        Placement::Unplaced(why) => format!("(not placed: {})", words::unplaceable(*why)),
    }
}

fn stop_words(ruleset: &Ruleset, s: &Option<Step>) -> String {
    match s {
        Some(s) => format!(
            "{} -> {}",
            placed_words(ruleset, &s.at),
            s.verdict
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
        None => "(nothing)".into(),
    }
}

/// The step where a traced fate was decided (a drop, a reject, a queue).
pub(crate) fn fate_step(f: &KernelFate) -> Option<usize> {
    match f {
        KernelFate::Dropped { step }
        | KernelFate::Rejected { step, .. }
        | KernelFate::Queued { step, .. } => Some(*step),
        _ => None,
    }
}

/// The simulation's fate in a few words, beside a traced one.
fn simulated_fate_words(f: &Fate) -> String {
    match f {
        Fate::Delivered { .. } => "delivered locally".into(),
        Fate::Forwarded { oif, .. } => format!("forwarded out of {}", words::iface(oif)),
        Fate::Sent { oif } => format!("sent out of {}", words::iface(oif)),
        Fate::Dropped => "dropped".into(),
        Fate::Rejected { with } => format!("rejected with {with}"),
        Fate::Queued { queue } => format!("queued to {}", queue.num),
        Fate::RoutingFailed { .. } => "lost in routing".into(),
        Fate::Undetermined { .. } => "undetermined".into(),
    }
}

/// One divergence of a traced packet, in words.
pub(crate) fn divergence_words(ruleset: &Ruleset, d: &Divergence) -> String {
    match d {
        Divergence::Path {
            index,
            kernel,
            engine,
        } => format!(
            "step {}: kernel {} | simulation {}",
            index + 1,
            stop_words(ruleset, kernel),
            stop_words(ruleset, engine)
        ),
        Divergence::Fate { kernel, engine } => {
            format!(
                "fate: kernel {} | simulation {}",
                words::kernel_fate(kernel),
                simulated_fate_words(engine)
            )
        }
        other => crate::verify::divergence(ruleset, other),
    }
}

/// How a step was placed (`by handle`, `by number`...); empty when not placed.
pub(crate) fn by_words(by: Option<PlacedBy>) -> &'static str {
    match by {
        Some(PlacedBy::RuleNumber) => "by number",
        Some(PlacedBy::Handle) => "by handle",
        Some(PlacedBy::Text) => "by text",
        Some(PlacedBy::Verdict) => "by verdict",
        Some(PlacedBy::Simulation) => "as simulated",
        None => "",
    }
}
