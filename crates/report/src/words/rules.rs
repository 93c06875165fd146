//! Where things are in the user's ruleset: a rule, a chain, a table, by name and by
//! `file:line`; what decided, the verdicts, the log lines, the unknown matches' branches.
//! Lookups never panic: a reference that does not resolve is named as such.

use super::fates::fate_headline;
use engine::{Branch, Decider, LogLine, TraceVerdict, UnknownChoice};
use model::expr::{LogKind, Undecidable};
use model::{ChainRef, Origin, RuleRef, Ruleset};

/// The most characters of a rule's text an answer shows (text and JSON): a rule with a 10 MB
/// comment is shown by its start, not echoed whole; its file and line lead to the rest.
const MAX_RULE_TEXT: usize = 200;

/// A rule's text as an answer shows it: whole, or its first [`MAX_RULE_TEXT`]
/// characters and `… (N bytes in all)`.
pub fn rule_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_RULE_TEXT) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()).into(),
        None => text.into(),
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

/// `file:line` (`file:line:column` where the reader gave a column: `nft -j` input), or
/// empty for generated objects.
pub fn location(origin: &Origin) -> String {
    match (origin.file.is_empty(), origin.column) {
        (true, _) => String::new(),
        (false, Some(col)) => format!("{}:{}:{col}", origin.file, origin.line),
        (false, None) => format!("{}:{}", origin.file, origin.line),
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

/// `rules.nft:12: ` in front of a warning about a rule, or nothing when the rule has no
/// source file.
pub(super) fn location_prefix(ruleset: &Ruleset, at: RuleRef) -> String {
    let loc = rule_location(ruleset, at);
    if loc.is_empty() {
        loc
    } else {
        format!("{loc}: ")
    }
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

pub(super) fn with_loc(label: String, loc: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b8_a_long_rule_text_is_shown_by_its_start() {
        let short = "-A INPUT -j DROP";
        assert_eq!(rule_text(short), short);
        let long = format!(
            "-A INPUT -m comment --comment \"{}\" -j DROP",
            "é".repeat(5000)
        );
        let shown = rule_text(&long);
        let tail = format!("é… ({} bytes in all)", long.len());
        assert_eq!(long.len(), 10040);
        assert!(shown.ends_with(&tail), "{shown}");
        assert_eq!(shown.chars().count(), 199 + tail.chars().count());
    }
}
