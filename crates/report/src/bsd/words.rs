//! Words for the pieces every BSD answer shares: a rule by its place and number, what
//! decided a pass and why, a step of a pass, a translation. Shared by the text and JSON
//! renderers so both say the same thing.

use crate::words::addr_port;
use engine::bsd::{
    BlockAnswer, Decider, Direction, Filter, PassResult, PassVerdict, Rewrite, RuleId, Step,
};

/// `ipf`, `pf`: the filter as its own tools name it.
pub fn filter_name(f: Filter) -> &'static str {
    match f {
        Filter::Ipf => "ipf",
        Filter::Pf => "pf",
    }
}

/// `in`, `out`.
pub fn direction(d: Direction) -> &'static str {
    match d {
        Direction::In => "in",
        Direction::Out => "out",
    }
}

/// `ipf.rules:3`.
pub fn rule_place(r: &RuleId) -> String {
    format!("{}:{}", r.origin.file, r.origin.line)
}

/// `@3 in group 100` (IPFilter) / `@3 in anchor "ftp-proxy/*"` (pf): the number the filter's
/// own listing gives the rule, and where it sits; empty for the main list without a number.
pub fn rule_number(filter: Filter, r: &RuleId) -> String {
    let mut parts = Vec::new();
    if let Some(n) = r.number {
        parts.push(format!("@{n}"));
    }
    if let Some(g) = &r.group {
        parts.push(match filter {
            Filter::Ipf => format!("in group {g}"),
            Filter::Pf => format!("in anchor \"{g}\""),
        });
    }
    parts.join(" ")
}

/// `ipf.rules:3 @3 in group 100`.
pub fn rule_label(filter: Filter, r: &RuleId) -> String {
    let number = rule_number(filter, r);
    if number.is_empty() {
        rule_place(r)
    } else {
        format!("{} {number}", rule_place(r))
    }
}

/// Whether a pass's deciding rule ended the walk (`quick`) or won as the last match.
fn decided_quick(pass: &PassResult, rule: &RuleId) -> Option<bool> {
    pass.steps.iter().rev().find_map(|s| match s {
        Step::Rule {
            rule: r,
            matched: Some(true),
            remembered,
        } if r == rule => Some(!remembered),
        _ => None,
    })
}

/// The kind of decision as JSON spells it: `quick`, `last_match`, `state`, `default`,
/// `skipped`.
pub fn decision_code(pass: &PassResult) -> &'static str {
    match &pass.decider {
        Decider::Rule(r) => match decided_quick(pass, r) {
            Some(true) => "quick",
            _ => "last_match",
        },
        Decider::State { .. } => "state",
        Decider::Default => "default",
        Decider::Skipped { .. } => "skipped",
    }
}

/// Why the decider decides, in the filter's own terms.
pub fn decision_why(filter: Filter, pass: &PassResult) -> String {
    match &pass.decider {
        Decider::Rule(r) => match decided_quick(pass, r) {
            Some(true) => "the first matching `quick` rule: the walk ends there".to_string(),
            _ => "the last matching rule (no `quick` rule matched first, no later rule matched)"
                .to_string(),
        },
        Decider::State { created_by } => {
            let by = created_by
                .as_ref()
                .map(|r| format!(" (created by {})", rule_label(filter, r)))
                .unwrap_or_default();
            format!("a state table entry{by} matched before the rules were read")
        }
        Decider::Default => match filter {
            Filter::Ipf => "no rule matched: IPFilter's default passes (unless the kernel \
                            was built with IPFILTER_DEFAULT_BLOCK)"
                .to_string(),
            Filter::Pf => "no rule matched: pf's default passes".to_string(),
        },
        Decider::Skipped { interface } => match filter {
            Filter::Pf => format!("{interface} is not filtered (`set skip on {interface}`)"),
            Filter::Ipf => format!("{interface} is not filtered on this platform"),
        },
    }
}

/// `pass`, `block`, `block return-rst`, `block return-icmp (3/3)`, `undetermined`.
pub fn verdict(v: &PassVerdict) -> String {
    match v {
        PassVerdict::Pass => "pass".to_string(),
        PassVerdict::Block { answer: None } => "block (drop)".to_string(),
        PassVerdict::Block { answer: Some(a) } => format!("block, {}", block_answer(a)),
        PassVerdict::Undetermined { .. } => "undetermined".to_string(),
    }
}

/// `pass`, `block`, `undetermined` as JSON spells it.
pub fn verdict_code(v: &PassVerdict) -> &'static str {
    match v {
        PassVerdict::Pass => "pass",
        PassVerdict::Block { .. } => "block",
        PassVerdict::Undetermined { .. } => "undetermined",
    }
}

/// What a blocking rule asks to send back: "answering with a TCP RST".
pub fn block_answer(a: &BlockAnswer) -> String {
    match a {
        BlockAnswer::Rst => "answering with a TCP RST".to_string(),
        BlockAnswer::Icmp {
            icmp_type,
            code,
            as_dest,
        } => {
            let from = if *as_dest {
                " from the blocked packet's destination"
            } else {
                ""
            };
            format!("answering with ICMP type {icmp_type} code {code}{from}")
        }
    }
}

/// What a rule did in a pass, next to it in the path.
pub fn rule_step(
    pass: &PassResult,
    rule: &RuleId,
    matched: Option<bool>,
    remembered: bool,
) -> String {
    let decides = matches!(&pass.decider, Decider::Rule(r) if r == rule);
    match (matched, remembered, decides) {
        (None, _, _) => "cannot be decided offline".to_string(),
        (Some(false), _, _) => "no match".to_string(),
        (Some(true), false, true) => "matches, quick: decides".to_string(),
        (Some(true), true, true) => "matches, the last match: decides".to_string(),
        (Some(true), true, false) => "matches, remembered; a later match overrides it".to_string(),
        (Some(true), false, false) => "matches (does not decide)".to_string(),
    }
}

/// `destination 192.0.2.10:443 -> 10.0.0.5:8080 by ipnat.rules:1`.
pub fn rewrite(filter: Filter, r: &Rewrite) -> String {
    format!(
        "{} {} -> {} by {}",
        if r.source { "source" } else { "destination" },
        addr_port(r.before.0, r.before.1),
        addr_port(r.after.0, r.after.1),
        rule_label(filter, &r.by)
    )
}

/// One step of a pass, without the rule's text (the renderers add it).
pub fn step(filter: Filter, pass: &PassResult, s: &Step) -> String {
    match s {
        Step::Rule {
            rule,
            matched,
            remembered,
        } => rule_step(pass, rule, *matched, *remembered),
        Step::State { created_by } => match created_by {
            Some(r) => format!("state entry (created by {})", rule_label(filter, r)),
            None => "state entry".to_string(),
        },
        Step::Nat(r) => format!("translated: {}", rewrite(filter, r)),
        Step::EnterGroup { group } => match filter {
            Filter::Ipf => format!("into group {group}"),
            Filter::Pf => format!("into anchor \"{group}\""),
        },
    }
}
