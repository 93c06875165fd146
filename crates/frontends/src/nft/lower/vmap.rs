//! Verdict maps: `KEY vmap { k1 : v1, * : v2 }` as one model rule per element, the
//! catch-all guarded by the keys not listed.

use super::*;

impl TableCx<'_> {
    pub(super) fn vmap(&mut self, key: &Expr, data: &Expr, text: &str) -> Result<Vec<Alt>, Bad> {
        let Some(elems) = self.map_elems(data).map(<[Elem]>::to_vec) else {
            return Ok(vec![vec![(
                Step::Action(Action::Undecidable(text.to_string())),
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
                    Step::Action(Action::Undecidable(text.to_string())),
                    false,
                )]]);
            };
            alt.push((Step::Action(Action::Verdict(v)), false));
            out.push(alt);
        }
        if let Some(v) = catchall {
            let Some(mut alt) = self.key_none_of(key, &elems, text)? else {
                return Ok(vec![vec![(
                    Step::Action(Action::Undecidable(text.to_string())),
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
