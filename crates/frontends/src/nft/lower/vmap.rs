//! Verdict maps: `KEY vmap { k1 : v1, * : v2 }` as one model rule per element, the
//! catch-all guarded by the keys not listed.

use super::verdict::verdict;
use super::{bad, int, unmodelled_on, Alt, Bad, TableCx};
use crate::nft::ast::{Elem, Expr};
use model::expr::{Action, Key, Match};
use model::ruleset::Step;

impl TableCx<'_> {
    pub(super) fn vmap(&mut self, key: &Expr, data: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
            return Ok(vec![vec![(
                Step::Action(Action::Undecidable(unmodelled_on(key, text))),
                false,
            )]]);
        };
        let mut out = Vec::with_capacity(elems.len());
        let mut catchall = None;
        for e in &elems {
            let v = match &e.data {
                Some(Expr::Verdict(v)) => verdict(v),
                _ => {
                    return Err(bad(
                        "verdict map element",
                        &format!("{:?}", e.data),
                        "expected a verdict",
                    ))
                }
            };
            if e.key == Expr::Catchall {
                catchall = Some(v);
                continue;
            }
            let Some(mut alt) = self.key_is(key, &e.key, text)? else {
                return Ok(vec![vec![(
                    Step::Action(Action::Undecidable(unmodelled_on(key, text))),
                    false,
                )]]);
            };
            alt.push((Step::Action(Action::Verdict(v)), false));
            out.push(alt);
        }
        if let Some(v) = catchall {
            let Some(mut alt) = self.key_none_of(key, &elems, text)? else {
                return Ok(vec![vec![(
                    Step::Action(Action::Undecidable(unmodelled_on(key, text))),
                    false,
                )]]);
            };
            alt.push((Step::Action(Action::Verdict(v)), false));
            out.push(alt);
        }
        if out.is_empty() {
            // An empty verdict map: no element, no verdict; the rule goes on (nft breaks).
            out.push(vec![(Step::Match(Match::cmp(Key::NfProto, int(0))), false)]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn verdict_maps_expand_with_a_guarded_catch_all() {
        let rules = rules_in(
            "inet",
            "tcp dport vmap { 22 : accept, 80 : jump other, * : drop }",
        );
        assert_eq!(rules.len(), 3);
        assert!(rules.iter().all(|r| r.origin.span == rules[0].origin.span));
        assert_eq!(
            rules[1].body,
            vec![
                cmp(Key::L4Proto, int(6)),
                cmp(Key::DstPort, int(80)),
                act(Action::Verdict(Verdict::Jump("other".into())))
            ]
        );
        assert_eq!(
            rules[2].body,
            vec![
                cmp(Key::L4Proto, int(6)),
                Step::Match(
                    Match::cmp(Key::DstPort, Pattern::OneOf(vec![int(22), int(80)])).negate(true)
                ),
                act(Action::Verdict(Verdict::Drop)),
            ]
        );
        let rs = text("table ip t {\n map m { type ipv4_addr : verdict; elements = { 1.1.1.1 : drop } }\n chain c { ip saddr vmap @m }\n}\n");
        assert_eq!(
            rs.tables[0].chains[0].rules[0].body,
            vec![
                cmp(Key::SrcAddr, addr("1.1.1.1")),
                act(Action::Verdict(Verdict::Drop))
            ]
        );
    }
}
