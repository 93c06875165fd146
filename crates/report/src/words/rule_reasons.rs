//! Rule-level reasons in words (issue 10, part 5): a set lookup that missed (the key, the
//! nearest elements, why it could not match), a rule shadowed by an earlier one, a rule
//! repeated in its chain. Shared by the text and JSON answers.

use super::rules::{rule_label, rule_location, rule_number};
use analysis::reasons::{
    KeyPart, Lookup, Mismatch, NearElement, Repeat, SetMiss, Shadowed, VerdictClass,
};
use model::expr::CmpOp;
use model::packet::IpProto;
use model::{Key, Pattern, RuleRef, Ruleset, Value};

/// A key component as nft names what it reads (`ip daddr`, `th dport`, `iifname`).
pub fn key_name(key: Key) -> &'static str {
    match key {
        Key::SrcAddr => "saddr",
        Key::DstAddr => "daddr",
        Key::SrcPort => "sport",
        Key::DstPort => "dport",
        Key::L4Proto => "l4proto",
        Key::NfProto => "nfproto",
        Key::IifName => "iifname",
        Key::OifName => "oifname",
        Key::Mark => "mark",
        Key::EtherSrc => "ether saddr",
        Key::EtherDst => "ether daddr",
        Key::IcmpType | Key::Icmpv6Type => "icmp type",
        Key::IcmpCode | Key::Icmpv6Code => "icmp code",
        _ => "key",
    }
}

/// One key component's value as nft prints it (`tcp` for a protocol, `"eth0"` for a name).
fn value_text(key: Key, v: &Value) -> String {
    match (key, v) {
        (Key::L4Proto, Value::Int(n)) => u8::try_from(*n)
            .map(|n| IpProto::from_number(n).to_string())
            .unwrap_or_else(|_| n.to_string()),
        (_, Value::Int(n)) => n.to_string(),
        (_, Value::Addr(a)) => a.to_string(),
        (_, Value::Mac(m)) => m.to_string(),
        (_, Value::Str(s)) => format!("\"{s}\""),
    }
}

/// The key the packet presented: `192.168.70.10 . 22`; a missing part is `(none)`.
pub fn key_text(key: &[KeyPart]) -> String {
    key.iter()
        .map(|k| {
            k.value
                .as_ref()
                .map_or_else(|| "(none)".to_string(), |v| value_text(k.key, v))
        })
        .collect::<Vec<_>>()
        .join(" . ")
}

/// The key's components by name: `daddr . dport`.
pub fn key_names(keys: impl IntoIterator<Item = Key>) -> String {
    keys.into_iter()
        .map(key_name)
        .collect::<Vec<_>>()
        .join(" . ")
}

/// One element pattern as nft prints it.
pub fn pattern_text(key: Key, p: &Pattern) -> String {
    match p {
        Pattern::Value(v) => value_text(key, v),
        Pattern::Prefix(net) => net.to_string(),
        Pattern::Range(a, b) => format!("{}-{}", value_text(key, a), value_text(key, b)),
        Pattern::Iface(name) => format!("\"{name}\""),
        Pattern::OneOf(ps) => format!(
            "{{ {} }}",
            ps.iter()
                .map(|p| pattern_text(key, p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Pattern::Masked { mask, value } => format!("{value:#x}/{mask:#x}"),
        Pattern::AnyBit(bits) => format!("{bits:#x}"),
        Pattern::Compare(op, v) => format!("{} {}", cmp_op(*op), value_text(key, v)),
    }
}

/// An element: its key (`192.168.70.10 . 80`), and a verdict map's verdict.
pub fn element_text(keys: &[Key], e: &NearElement) -> String {
    let key = e
        .key
        .iter()
        .enumerate()
        .map(|(i, p)| pattern_text(keys.get(i).copied().unwrap_or(Key::Mark), p))
        .collect::<Vec<_>>()
        .join(" . ");
    match &e.verdict {
        Some(v) => format!("{key} : {v}"),
        None if e.nomatch => format!("{key} nomatch"),
        None => key,
    }
}

/// `src,dst` flags of `--match-set`.
pub fn match_set_flags(src: &[bool]) -> String {
    src.iter()
        .map(|&s| if s { "src" } else { "dst" })
        .collect::<Vec<_>>()
        .join(",")
}

/// What was looked up: `@allow_in`, `ipset foo (src,dst)`, `vmap @if_input`.
pub fn lookup_text(l: &Lookup) -> String {
    match l {
        Lookup::Set { name } => format!("@{name}"),
        Lookup::Ipset { name, src } => format!("ipset {name} ({})", match_set_flags(src)),
        Lookup::VerdictMap { name: Some(name) } => format!("vmap @{name}"),
        Lookup::VerdictMap { name: None } => "an anonymous vmap".to_string(),
    }
}

/// The components of the key, in the set's order (what `key` holds or would hold).
fn miss_keys(m: &SetMiss) -> Vec<Key> {
    m.key.iter().map(|k| k.key).collect()
}

/// Why the key could not match, in words.
pub fn mismatch_text(m: &SetMiss, x: &Mismatch) -> String {
    match x {
        Mismatch::FewerDimensions { rule, set } => format!(
            "the rule gives {rule} `src,dst` flag(s) for a set of type {} with {set} dimensions: the kernel never matches such a lookup",
            m.declared_type
        ),
        Mismatch::Family { key_v6 } => format!(
            "the key is an {} address; the set holds only {} ones",
            if *key_v6 { "IPv6" } else { "IPv4" },
            if *key_v6 { "IPv4" } else { "IPv6" }
        ),
        Mismatch::OtherDirection { keys, ipset_flags } => match (ipset_flags, &m.lookup) {
            (Some(flags), Lookup::Ipset { name, .. }) => format!(
                "read from the other side of the packet the key is in the set: `--match-set {name} {}` would match",
                match_set_flags(flags)
            ),
            _ => format!(
                "read from the other side of the packet ({}) the key is in the set",
                key_names(keys.iter().copied())
            ),
        },
        Mismatch::Untranslated { key } => format!(
            "the packet before address translation ({}) is in the set: the set holds the address or port the client used, this rule sees the translated one",
            key_text(key)
        ),
        Mismatch::Excluded { element } => format!(
            "the key falls in the nomatch element {}, which excludes it",
            element
                .iter()
                .zip(miss_keys(m))
                .map(|(p, k)| pattern_text(k, p))
                .collect::<Vec<_>>()
                .join(" . ")
        ),
        Mismatch::Dynamic => "the set is updated from the packet path or its elements time out: its contents are those of the snapshot, and an element may have expired".to_string(),
        Mismatch::Empty => "the set is empty".to_string(),
    }
}

/// A missed lookup in lines: where, the key, the nearest elements, why.
pub fn set_miss(rs: &Ruleset, m: &SetMiss) -> Vec<String> {
    let keys = miss_keys(m);
    let declared = if m.declared_type.is_empty() {
        String::new()
    } else {
        format!("{}, ", m.declared_type)
    };
    let mut lines = vec![format!(
        "{} on {}: the lookup in {} ({declared}{} element{}) missed",
        rule_at(rs, m.rule),
        m.hook,
        lookup_text(&m.lookup),
        m.elements,
        if m.elements == 1 { "" } else { "s" }
    )];
    if m.key.is_empty() {
        if !matches!(m.mismatches.first(), Some(Mismatch::FewerDimensions { .. })) {
            lines.push("the key the packet presented could not be read back exactly".to_string());
        }
    } else {
        lines.push(format!(
            "key {} = {} is not in it",
            key_names(keys.iter().copied()),
            key_text(&m.key)
        ));
    }
    if !m.nearest.is_empty() {
        let near: Vec<String> = m
            .nearest
            .iter()
            .map(|e| {
                let differs: Vec<&str> = e
                    .matching
                    .iter()
                    .zip(&keys)
                    .filter(|(ok, _)| !**ok)
                    .map(|(_, k)| key_name(*k))
                    .collect();
                if differs.is_empty() || differs.len() == keys.len() {
                    element_text(&keys, e)
                } else {
                    let verb = if differs.len() == 1 {
                        "differs"
                    } else {
                        "differ"
                    };
                    format!("{} ({} {verb})", element_text(&keys, e), differs.join(", "))
                }
            })
            .collect();
        lines.push(format!("nearest: {}", near.join("; ")));
    }
    lines.extend(m.mismatches.iter().map(|x| mismatch_text(m, x)));
    lines
}

/// `drop`, `reject`, `accept`, `queue`.
pub fn verdict_class(c: VerdictClass) -> &'static str {
    match c {
        VerdictClass::Accept => "accept",
        VerdictClass::Drop => "drop",
        VerdictClass::Reject => "reject",
        VerdictClass::Queue => "queue",
    }
}

/// `filter/INPUT #40 (rules.v4:52)`.
fn rule_at(rs: &Ruleset, at: RuleRef) -> String {
    let loc = rule_location(rs, at);
    if loc.is_empty() {
        rule_label(rs, at)
    } else {
        format!("{} ({loc})", rule_label(rs, at))
    }
}

/// "filter/INPUT #3 (..) would reject it, but #2 (..) drops it first", with both rules'
/// text.
pub fn shadowed(rs: &Ruleset, s: &Shadowed) -> Vec<String> {
    let by = if s.by.chain_ref() == s.rule.chain_ref() {
        format!("#{}", rule_number(rs, s.by))
    } else {
        rule_label(rs, s.by)
    };
    let by_loc = rule_location(rs, s.by);
    let by = if by_loc.is_empty() {
        by
    } else {
        format!("{by} ({by_loc})")
    };
    let mut first = format!(
        "{} would {} it, but {by} {}s it first",
        rule_at(rs, s.rule),
        verdict_class(s.would),
        verdict_class(s.did)
    );
    if s.did != VerdictClass::Accept {
        first.push_str(if s.passes_without {
            "; without it the packet gets through"
        } else {
            "; without it the packet is still blocked further on"
        });
    }
    let text = |at| {
        super::rules::rule_origin(rs, at)
            .map(|o| o.text.to_string())
            .filter(|t| !t.is_empty())
    };
    [Some(first), text(s.rule), text(s.by)]
        .into_iter()
        .flatten()
        .collect()
}

/// "filter/OUTPUT #27 (line 35, matched) and #32 (line 40) are the same rule".
pub fn repeat(rs: &Ruleset, r: &Repeat) -> Vec<String> {
    let copies: Vec<String> = r
        .rules
        .iter()
        .map(|c| {
            let loc = rule_location(rs, c.at);
            let mut s = format!("#{}", c.number);
            match (loc.is_empty(), c.matched) {
                (true, false) => {}
                (true, true) => s.push_str(" (matched)"),
                (false, false) => s.push_str(&format!(" ({loc})")),
                (false, true) => s.push_str(&format!(" ({loc}, matched)")),
            }
            s
        })
        .collect();
    let mut lines = vec![format!(
        "{}: {} are the same rule",
        super::rules::chain_label(rs, r.chain),
        copies.join(", ")
    )];
    if let Some(o) = r
        .rules
        .first()
        .and_then(|c| super::rules::rule_origin(rs, c.at))
        .filter(|o| !o.text.is_empty())
    {
        lines.push(o.text.to_string());
    }
    lines
}

/// A comparison as nft writes it.
fn cmp_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Ne => "!=",
    }
}
