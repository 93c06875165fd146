//! Matches: `KEY OP VALUE`, set lookups (named and anonymous) and concatenations.

use super::names::{tcp_option_kind, Ty};
use super::selector::Sel;
use super::value::{bits, is_flag_list, pattern, scalar_bits};
use super::{bad, has_undecidable, proto_dep, with_deps, Alt, Bad, TableCx};
use crate::nft::ast::{BinOp, Elem, Expr, Op};
use crate::unmodelled::unmodelled;
use model::expr::{CmpOp, Key, Match, Pattern, SetRef, Test, Undecidable, Value};
use model::ruleset::Step;

/// `tcp option NAME exists|missing` (a TCP option's fields are not modelled).
fn tcp_option(name: &str, field: Option<&str>, op: Op, right: &Expr, text: &str) -> Vec<Alt> {
    let exists = match (field, right) {
        (None, Expr::Value(v)) if v == "exists" => Some(true),
        (None, Expr::Value(v)) if v == "missing" => Some(false),
        (None, Expr::Bool(b)) => Some(*b),
        _ => None,
    };
    match (tcp_option_kind(name), exists) {
        (Some(kind), Some(exists)) => {
            let neg = (op == Op::Ne) == exists;
            let m = Match::new(Test::TcpOption(kind)).negate(neg);
            vec![with_deps(vec![proto_dep(6)], Step::Match(m))]
        }
        _ => TableCx::undecidable(
            Undecidable::Unsupported(unmodelled(format!("tcp option {name}"))),
            text,
        ),
    }
}

/// `!` on what is not a flag type (nft refuses `tcp flags & (fin | syn) ! syn` too).
fn neg_needs_flags() -> Bad {
    bad(
        "operator",
        "!",
        "`!` (none of these bits) applies to one flag-typed key such as ct state or tcp flags",
    )
}

impl TableCx<'_> {
    /// `LEFT OP RIGHT`: a masked value, a concatenation, or one selector compared with a
    /// value, a set or a lookup.
    pub(super) fn match_(
        &mut self,
        left: &Expr,
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        if let Expr::Binop {
            op: BinOp::And,
            left: inner,
            right: mask,
        } = left
        {
            if let Some(alts) = self.masked(inner, mask, op, right, text)? {
                return Ok(alts);
            }
        }
        if let Expr::Binop { .. } = left {
            return Ok(Self::undecidable(
                Undecidable::Unsupported(unmodelled("bitwise expression")),
                text,
            ));
        }
        if let Expr::Concat(parts) = left {
            return self.concat_match(parts, op, right, text);
        }
        match self.selector(left) {
            Sel::Undecidable(kind) => Ok(Self::undecidable(kind, text)),
            Sel::Fib { flags, result } => self.fib(&flags, &result, op, right, text),
            Sel::TcpOption { name, field } => {
                Ok(tcp_option(&name, field.as_deref(), op, right, text))
            }
            Sel::Key { key, ty, deps } => self.key_match(key, ty, deps, op, right, text),
        }
    }

    /// `KEY & MASK == VALUE`; None when `inner` is not a key (a bitwise expression).
    fn masked(
        &self,
        inner: &Expr,
        mask: &Expr,
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Option<Vec<Alt>>, Bad> {
        let (key, ty, deps) = match self.selector(inner) {
            Sel::Key { key, ty, deps } => (key, ty, deps),
            Sel::Undecidable(kind) => return Ok(Some(Self::undecidable(kind, text))),
            _ => return Ok(None),
        };
        // The model's masks are 64 bits: an IPv6 address mask is not expressible.
        let Ok(mask_v) = bits(ty, mask) else {
            return Ok(Some(Self::undecidable(
                Undecidable::Unsupported(unmodelled("masked IPv6 address")),
                text,
            )));
        };
        let value = if is_flag_list(right) || matches!(ty, Ty::Flags(_)) {
            bits(ty, right)?
        } else {
            scalar_bits(ty, right)?
        };
        let neg = match op {
            Op::Implicit | Op::Eq => false,
            Op::Ne => true,
            Op::Neg => return Err(neg_needs_flags()),
            _ => {
                return Ok(Some(Self::undecidable(
                    Undecidable::Unsupported(unmodelled("ordered comparison of a masked value")),
                    text,
                )))
            }
        };
        let masked = Pattern::Masked {
            mask: mask_v,
            value: value & mask_v,
        };
        let m = Match::cmp(key, masked).negate(neg);
        Ok(Some(vec![with_deps(deps, Step::Match(m))]))
    }

    /// One key compared with a value, or looked up in a named set.
    fn key_match(
        &self,
        key: Key,
        ty: Ty,
        deps: Vec<Match>,
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        if let Expr::SetRef(name) = right {
            if !self.set_modelled(name) {
                return Ok(Self::undecidable(
                    Undecidable::Unsupported(unmodelled(format!(
                        "lookup in @{name} (its type is not modelled)"
                    ))),
                    text,
                ));
            }
            let test = Test::InSet {
                keys: vec![key],
                set: SetRef::Table(name.clone()),
            };
            let m = Match::new(test).negate(op == Op::Ne);
            return Ok(vec![with_deps(deps, Step::Match(m))]);
        }
        if let Expr::Map { .. } = right {
            return Ok(Self::undecidable(
                Undecidable::Unsupported(unmodelled("map lookup in a match")),
                text,
            ));
        }
        let m = self.cmp(key, ty, op, right)?;
        Ok(vec![with_deps(deps, Step::Match(m))])
    }

    /// `KEY op VALUE` for one key.
    pub(super) fn cmp(&self, key: Key, ty: Ty, op: Op, right: &Expr) -> Result<Match, Bad> {
        let flags = matches!(ty, Ty::Flags(_));
        // On a bitmask, no operator is "any of these bits" and `!` "none of them"; `==` and
        // `!=` compare the whole value with the bits or-ed together (nft 1.0.6 loads
        // `ct state != established,related` as `cmp neq 0x6`, listed `!= established |
        // related`).
        let (pattern, neg) = match op {
            Op::Implicit if flags && !matches!(right, Expr::Set(_)) => {
                (Pattern::AnyBit(bits(ty, right)?), false)
            }
            Op::Neg if flags && !matches!(right, Expr::Set(_)) => {
                (Pattern::AnyBit(bits(ty, right)?), true)
            }
            Op::Neg => return Err(neg_needs_flags()),
            Op::Eq | Op::Ne if flags && is_flag_list(right) => {
                (Pattern::Value(Value::Int(bits(ty, right)?)), op == Op::Ne)
            }
            Op::Implicit | Op::Eq => (pattern(ty, right)?, false),
            Op::Ne => (pattern(ty, right)?, true),
            Op::Lt | Op::Gt | Op::Le | Op::Ge => {
                let v = match pattern(ty, right)? {
                    Pattern::Value(v) => v,
                    _ => {
                        return Err(bad(
                            "value",
                            &format!("{right:?}"),
                            "an ordered comparison needs a single value",
                        ))
                    }
                };
                let o = match op {
                    Op::Lt => CmpOp::Lt,
                    Op::Gt => CmpOp::Gt,
                    Op::Le => CmpOp::Le,
                    _ => CmpOp::Ge,
                };
                (Pattern::Compare(o, v), false)
            }
        };
        Ok(Match::cmp(key, pattern).negate(neg))
    }

    /// `a . b OP VALUE`: per component for one value, or a set lookup.
    pub(super) fn concat_match(
        &mut self,
        parts: &[Expr],
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let mut keys = Vec::new();
        let mut tys = Vec::new();
        let mut alt: Alt = Vec::new();
        for p in parts {
            match self.selector(p) {
                Sel::Key { key, ty, deps } => {
                    alt.extend(deps.into_iter().map(|d| (Step::Match(d), true)));
                    keys.push(key);
                    tys.push(ty);
                }
                Sel::Undecidable(kind) => return Ok(Self::undecidable(kind, text)),
                _ => {
                    return Ok(Self::undecidable(
                        Undecidable::Unsupported(unmodelled(
                            "fib or tcp option in a concatenation",
                        )),
                        text,
                    ))
                }
            }
        }
        let neg = match op {
            Op::Implicit | Op::Eq => false,
            Op::Ne => true,
            Op::Neg => return Err(neg_needs_flags()),
            _ => {
                return Ok(Self::undecidable(
                    Undecidable::Unsupported(unmodelled("ordered comparison of a concatenation")),
                    text,
                ))
            }
        };
        let set = match right {
            Expr::SetRef(name) if !self.set_modelled(name) => {
                return Ok(Self::undecidable(
                    Undecidable::Unsupported(unmodelled(format!(
                        "lookup in @{name} (its type is not modelled)"
                    ))),
                    text,
                ));
            }
            Expr::SetRef(name) => name.clone(),
            Expr::Set(elems) => self.anon_set(&tys, elems)?,
            single => self.anon_set(
                &tys,
                &[Elem {
                    key: single.clone(),
                    data: None,
                    comment: None,
                }],
            )?,
        };
        let m = Match::new(Test::InSet {
            keys,
            set: SetRef::Table(set),
        })
        .negate(neg);
        alt.push((Step::Match(m), false));
        Ok(vec![alt])
    }

    /// Matches saying "`key` equals this element's key"; None if the key cannot be read.
    pub(super) fn key_is(
        &mut self,
        key: &Expr,
        elem: &Expr,
        text: &str,
    ) -> Result<Option<Alt>, Bad> {
        let mut alt = Vec::new();
        match key {
            Expr::Concat(parts) => {
                let Expr::Concat(vals) = elem else {
                    return Err(bad(
                        "map element",
                        &format!("{elem:?}"),
                        "expected a concatenation",
                    ));
                };
                if vals.len() != parts.len() {
                    return Err(bad(
                        "map element",
                        &format!("{elem:?}"),
                        "wrong number of components",
                    ));
                }
                for (p, v) in parts.iter().zip(vals) {
                    match self.match_(p, Op::Eq, v, text)?.pop() {
                        Some(a) if !has_undecidable(&a) => alt.extend(a),
                        _ => return Ok(None),
                    }
                }
            }
            k => match self.match_(k, Op::Eq, elem, text)?.pop() {
                Some(a) if !has_undecidable(&a) => alt.extend(a),
                _ => return Ok(None),
            },
        }
        Ok(Some(alt))
    }

    /// Matches saying "`key` is none of these elements' keys" (for a catch-all).
    pub(super) fn key_none_of(
        &mut self,
        key: &Expr,
        elems: &[Elem],
        text: &str,
    ) -> Result<Option<Alt>, Bad> {
        let keys: Vec<Elem> = elems
            .iter()
            .filter(|e| e.key != Expr::Catchall)
            .map(|e| Elem {
                key: e.key.clone(),
                data: None,
                comment: None,
            })
            .collect();
        if keys.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let alts = self.match_(key, Op::Ne, &Expr::Set(keys), text)?;
        match alts.into_iter().next() {
            Some(a) if !has_undecidable(&a) => Ok(Some(a)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    fn ct_state_cmp(p: Pattern, negated: bool) -> Step {
        Step::Match(Match::cmp(Key::CtState, p).negate(negated))
    }

    /// The one rule of a `table inet t` chain given as `nft -j` expressions.
    fn json_body(exprs: &str) -> Vec<Step> {
        let j = format!(
            r#"{{"nftables": [{{"table": {{"family": "inet", "name": "t"}}}},
            {{"chain": {{"family": "inet", "table": "t", "name": "c"}}}},
            {{"rule": {{"family": "inet", "table": "t", "chain": "c", "expr": [{exprs}]}}}}]}}"#
        );
        let (rs, w) = parse_json(&SourceFile::new("j", j)).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.is_empty(), "{w:?}");
        rs.tables[0].chains[0].rules[0].body.clone()
    }

    /// Issue 11 B1: `!` before a flag or flag list (how nft 1.0.6 lists
    /// `ct state & (established | related) == 0` and iptables-nft's `! --ctstate`) is
    /// "none of these bits", in text and in JSON (`"op": "!"`).
    #[test]
    fn b1_negated_flag_lists_are_none_of_these_bits() {
        let est_rel = ct_state::ESTABLISHED | ct_state::RELATED;
        let none = ct_state_cmp(Pattern::AnyBit(est_rel), true);
        assert_eq!(
            body("inet", "ct state ! established,related"),
            std::slice::from_ref(&none)
        );
        assert_eq!(body("ip", "ct state ! related,established accept")[0], none);
        assert_eq!(
            json_body(
                r#"{"match": {"op": "!", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}"#
            ),
            [none]
        );
        let no_syn_ack = Step::Match(Match::cmp(Key::TcpFlags, Pattern::AnyBit(0x12)).negate(true));
        assert_eq!(body("inet", "tcp flags ! syn,ack")[1], no_syn_ack);
        assert_eq!(
            body("inet", "ct status ! dnat"),
            [Step::Match(
                Match::cmp(Key::CtStatus, Pattern::AnyBit(ct_status::DST_NAT)).negate(true)
            )]
        );
        // `ct label` is a bitmask too (nft loads `ct label ! 1`); its match is not modelled.
        assert!(matches!(
            &body("inet", "ct label ! 1")[0],
            Step::Match(m) if matches!(m.test, Test::Undecidable { .. })
        ));
        assert_eq!(
            body("inet", "ct state ! new"),
            [ct_state_cmp(Pattern::AnyBit(ct_state::NEW), true)]
        );
    }

    /// Issue 11 B1: `==` and `!=` with a flag list compare the whole value with the bits
    /// or-ed together, as the kernel is given them (`ct state != established,related` is
    /// `cmp neq 0x6`, listed `ct state != established | related`): never "none of".
    #[test]
    fn b1_flag_lists_with_eq_and_ne_compare_the_whole_value() {
        let est_rel = ct_state::ESTABLISHED | ct_state::RELATED;
        let ne = ct_state_cmp(int(est_rel), true);
        assert_eq!(
            body("inet", "ct state != established | related"),
            std::slice::from_ref(&ne)
        );
        assert_eq!(
            body("inet", "ct state != established,related"),
            std::slice::from_ref(&ne)
        );
        assert_eq!(
            json_body(
                r#"{"match": {"op": "!=", "left": {"ct": {"key": "state"}}, "right": {"|": ["established", "related"]}}}"#
            ),
            [ne]
        );
        assert_eq!(
            body("inet", "ct state == established,related"),
            [ct_state_cmp(int(est_rel), false)]
        );
        assert_eq!(
            body("inet", "ct state established | related"),
            [ct_state_cmp(Pattern::AnyBit(est_rel), false)]
        );
    }

    /// Issue 11 B1: `!` is only nft's "none of these bits"; on anything else nft refuses it,
    /// and so does the front end (never read as another operator).
    #[test]
    fn b1_negation_of_what_is_not_a_flag_is_an_error() {
        for rule in ["tcp dport ! 22", "tcp flags & (fin | syn) ! syn"] {
            let t = format!("table inet t {{\n chain c {{\n  {rule}\n }}\n}}\n");
            assert!(parse_text(&SourceFile::new("r.nft", t)).is_err(), "{rule}");
        }
        let odd = json_body(
            r#"{"match": {"op": "~", "left": {"ct": {"key": "state"}}, "right": "new"}}"#,
        );
        assert!(
            matches!(odd[0], Step::Match(ref m) if matches!(m.test, Test::Undecidable { .. })),
            "{odd:?}"
        );
    }
}
