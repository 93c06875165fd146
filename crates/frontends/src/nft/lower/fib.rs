//! `fib` lookups (`fib daddr type local`, `fib saddr . iif oif missing`).

use super::names::{Names, Ty};
use super::{Alt, Bad, TableCx};
use crate::nft::ast::{Expr, Op};
use crate::unmodelled::unmodelled;
use model::expr::{IfaceLimit, Key, Match, Test, Undecidable};
use model::ruleset::Step;

impl TableCx<'_> {
    /// `fib`: address types, or the reverse-path idiom `fib saddr [. iif] oif missing`.
    pub(super) fn fib(
        &self,
        flags: &[String],
        result: &str,
        op: Op,
        right: &Expr,
        text: &str,
    ) -> Result<Vec<Alt>, Bad> {
        let has = |f: &str| flags.iter().any(|x| x == f);
        let dst = has("daddr");
        let iface = if has("iif") {
            Some(IfaceLimit::In)
        } else if has("oif") {
            Some(IfaceLimit::Out)
        } else {
            None
        };
        match result {
            "type" => {
                let m = self.cmp(
                    Key::FibAddrType { dst, iface },
                    Ty::Named(Names::RouteType),
                    op,
                    right,
                )?;
                Ok(vec![vec![(Step::Match(m), false)]])
            }
            "oif" | "check" if has("saddr") && iface != Some(IfaceLimit::Out) => {
                // `fib saddr . iif oif missing` is the strict reverse-path check failing
                // (no route back via the input interface); without `. iif`, the loose one.
                // Newer nft lists it as `check missing`; older dumps as `oif 0` (ifindex 0:
                // no interface).
                let missing = match right {
                    Expr::Value(v) if v == "missing" || v == "0" => true,
                    Expr::Value(v) if v == "exists" => false,
                    Expr::Bool(b) => !*b,
                    Expr::Num(0) => true,
                    _ => {
                        return Ok(Self::undecidable(
                            Undecidable::Unsupported(unmodelled(
                                "fib saddr oif compared with an interface",
                            )),
                            text,
                        ))
                    }
                };
                let missing = match op {
                    Op::Implicit | Op::Eq => missing,
                    Op::Ne => !missing,
                    _ => {
                        return Ok(Self::undecidable(
                            Undecidable::Unsupported(unmodelled("fib")),
                            text,
                        ))
                    }
                };
                let test = Test::RpFilter {
                    loose: iface.is_none(),
                    validmark: has("mark"),
                    accept_local: false,
                };
                Ok(vec![vec![(
                    Step::Match(Match::new(test).negate(missing)),
                    false,
                )]])
            }
            _ => Ok(Self::undecidable(
                Undecidable::Unsupported(unmodelled(format!("fib {} {result}", flags.join(" . ")))),
                text,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::nft::test_util::*;

    #[test]
    fn fib_forms() {
        assert_eq!(
            body("inet", "fib daddr type local"),
            vec![cmp(
                Key::FibAddrType {
                    dst: true,
                    iface: None
                },
                int(rtn::LOCAL)
            )]
        );
        assert_eq!(
            body("inet", "fib daddr . iif type != local")[0],
            Step::Match(
                Match::cmp(
                    Key::FibAddrType {
                        dst: true,
                        iface: Some(IfaceLimit::In)
                    },
                    int(rtn::LOCAL)
                )
                .negate(true)
            )
        );
        let strict = Test::RpFilter {
            loose: false,
            validmark: false,
            accept_local: false,
        };
        assert_eq!(
            body("inet", "fib saddr . iif oif missing drop")[0],
            Step::Match(Match::new(strict.clone()).negate(true))
        );
        assert_eq!(
            body("inet", "fib saddr . iif oif exists")[0],
            Step::Match(Match::new(strict.clone()))
        );
        // The same check as older dumps (`oif 0`) and newer listings (`check missing`) show it.
        for old_or_new in [
            "fib saddr . iif oif 0 drop",
            "fib saddr . iif check missing drop",
        ] {
            assert_eq!(
                body("inet", old_or_new)[0],
                Step::Match(Match::new(strict.clone()).negate(true)),
                "{old_or_new}"
            );
        }
        let loose = Test::RpFilter {
            loose: true,
            validmark: true,
            accept_local: false,
        };
        assert_eq!(
            body("inet", "fib saddr . mark oif missing")[0],
            Step::Match(Match::new(loose).negate(true))
        );
    }
}
