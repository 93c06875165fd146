//! What the extensions' test tables need: a rule line (the words after `-A CHAIN`) turned
//! into what it lowers to, or into its error message and column.

use super::parse;
use crate::ParseError;
use model::expr::{Action, Key, Match, Pattern, Value};
use model::ruleset::Family;
use model::{Rule, SourceFile};

fn parse_line(
    table: &str,
    chain: &str,
    line: &str,
    family: Family,
) -> Result<Vec<Rule>, ParseError> {
    let text =
        format!("*{table}\n:{chain} ACCEPT [0:0]\n:user - [0:0]\n-A {chain} {line}\nCOMMIT\n");
    let rs = parse(&SourceFile::new("rules", text), Some(family))?;
    let t = &rs.tables[0];
    let chain = t.chain(chain).unwrap_or_else(|| panic!("no chain {chain}"));
    Ok(t.chains[chain].rules.clone())
}

/// The matches of each rule `-A chain <line>` makes in `table` (a line may split in several).
pub fn rules_in(table: &str, chain: &str, line: &str, family: Family) -> Vec<Vec<Match>> {
    let rules = parse_line(table, chain, line, family).unwrap_or_else(|e| panic!("{line}: {e}"));
    rules
        .iter()
        .map(|r| r.matches().cloned().collect())
        .collect()
}

/// The matches of the one rule an iptables (IPv4) filter line makes.
pub fn lowered(line: &str) -> Vec<Match> {
    one(rules_in("filter", "INPUT", line, Family::Ip), line)
}

/// The matches of the one rule an ip6tables filter line makes.
pub fn lowered6(line: &str) -> Vec<Match> {
    one(rules_in("filter", "INPUT", line, Family::Ip6), line)
}

/// The matches of each rule an iptables (IPv4) filter line splits into.
pub fn split(line: &str) -> Vec<Vec<Match>> {
    rules_in("filter", "INPUT", line, Family::Ip)
}

fn one(mut rules: Vec<Vec<Match>>, line: &str) -> Vec<Match> {
    assert_eq!(rules.len(), 1, "{line}: one rule");
    rules.remove(0)
}

/// The actions of the (first) rule `-A chain <line>` makes in `table`.
pub fn actions_in(table: &str, chain: &str, line: &str, family: Family) -> Vec<Action> {
    let rules = parse_line(table, chain, line, family).unwrap_or_else(|e| panic!("{line}: {e}"));
    rules[0].actions().cloned().collect()
}

/// The actions of an iptables (IPv4) filter line.
pub fn actions(line: &str) -> Vec<Action> {
    actions_in("filter", "INPUT", line, Family::Ip)
}

/// The actions of an ip6tables filter line.
pub fn actions6(line: &str) -> Vec<Action> {
    actions_in("filter", "INPUT", line, Family::Ip6)
}

/// The error an iptables (IPv4) filter line gives: its message and its 1-based column in
/// `line`.
pub fn error(line: &str) -> (String, u32) {
    error_in("filter", "INPUT", line, Family::Ip)
}

/// The error of a line in `table`'s `chain` of a `family` ruleset.
pub fn error_in(table: &str, chain: &str, line: &str, family: Family) -> (String, u32) {
    match parse_line(table, chain, line, family) {
        Ok(rules) => panic!("{line}: parsed, into {} rule(s)", rules.len()),
        Err(e) => {
            let (row, col) = e.line_col();
            assert_eq!(row, 4, "{line}: the error is on the rule's line: {e}");
            // The rule's words start after `-A CHAIN `.
            let before = u32::try_from(chain.len() + 4).unwrap_or(u32::MAX);
            (e.kind.to_string(), col.saturating_sub(before))
        }
    }
}

/// `key` compares with `pattern`.
pub fn cmp(key: Key, pattern: Pattern) -> Match {
    Match::cmp(key, pattern)
}

/// The number `n` as a pattern.
pub fn int(n: u64) -> Pattern {
    Pattern::Value(Value::Int(n))
}

/// `lo..=hi` as a pattern.
pub fn range(lo: u64, hi: u64) -> Pattern {
    Pattern::Range(Value::Int(lo), Value::Int(hi))
}

/// `-p n`.
pub fn proto(n: u64) -> Match {
    cmp(Key::L4Proto, int(n))
}

/// The value under the mask as a pattern.
pub fn masked(value: u64, mask: u64) -> Pattern {
    Pattern::Masked { mask, value }
}

/// Checks each line of a table lowers to its matches (an IPv4 filter rule).
pub fn check(cases: &[(&str, Vec<Match>)]) {
    for (line, want) in cases {
        assert_eq!(&lowered(line), want, "{line}");
    }
}

/// Checks each line of a table lowers to its matches (an IPv6 filter rule).
pub fn check6(cases: &[(&str, Vec<Match>)]) {
    for (line, want) in cases {
        assert_eq!(&lowered6(line), want, "{line}");
    }
}

/// Checks each line of a table fails with its message at its column (an IPv4 filter rule).
pub fn check_errors(cases: &[(&str, &str, u32)]) {
    for (line, message, col) in cases {
        assert_eq!(error(line), (message.to_string(), *col), "{line}");
    }
}
