//! What the nft tests share: a ruleset from text, the body of a one-rule chain, and
//! short constructors for the steps they expect.

pub(crate) use super::{parse_json, parse_text};
pub(crate) use crate::ErrorKind;
pub(crate) use model::expr::{
    ct_state, ct_status, rtn, Action, CtMarkOp, Effect, IfaceLimit, Key, LogKind, Match, Nat,
    NatKind, Pattern, Reject, SetRef, Test, Undecidable, Value, Verdict,
};
pub(crate) use model::ruleset::{ChainType, Family, Hook, Step};
pub(crate) use model::{Rule, Ruleset, SourceFile};

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nft");

pub(crate) fn text(t: &str) -> Ruleset {
    parse_text(&SourceFile::new("rules.nft", t)).unwrap_or_else(|e| panic!("{e}"))
}

/// The rules of one chain `c` in `table <family> t` holding `body`.
pub(crate) fn rules_in(family: &str, body: &str) -> Vec<Rule> {
    let rs = text(&format!(
        "table {family} t {{\n chain c {{\n{body}\n }}\n chain other {{\n }}\n}}\n"
    ));
    rs.tables[0].chains[0].rules.clone()
}

pub(crate) fn body(family: &str, rule: &str) -> Vec<Step> {
    let mut r = rules_in(family, rule);
    assert_eq!(r.len(), 1, "{rule}");
    r.remove(0).body
}

pub(crate) fn cmp(key: Key, p: Pattern) -> Step {
    Step::Match(Match::cmp(key, p))
}

pub(crate) fn int(n: u64) -> Pattern {
    Pattern::Value(Value::Int(n))
}

pub(crate) fn act(a: Action) -> Step {
    Step::Action(a)
}

pub(crate) fn addr(s: &str) -> Pattern {
    Pattern::Value(Value::Addr(s.parse().unwrap()))
}
