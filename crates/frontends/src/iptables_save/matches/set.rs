//! `-m set` (xt_set): the packet's addresses/ports, in the `src,dst` order of the flags, are
//! an element of an ipset. Options that make the result depend on something other than
//! membership (`--return-nomatch`, counter conditions) are undecidable.
//!
//! ```text
//! -A INPUT -m set --match-set blocked src -j DROP
//! ```

use super::{Args, End, Extension, Item};
use crate::iptables_save::values::{self, bad, Bad};
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Match, SetRef, Test, Undecidable};

const OPTIONS: &[&str] = &[
    "match-set",
    "set",
    "return-nomatch",
    "update-counters",
    "update-subcounters",
    "packets-eq",
    "packets-lt",
    "packets-gt",
    "bytes-eq",
    "bytes-lt",
    "bytes-gt",
];

#[derive(Default)]
struct Set {
    /// The set's name, its direction flags (true: src), negated.
    set: Option<(String, Vec<bool>, bool)>,
    /// Options that make the result depend on something other than membership.
    undecidable: Option<&'static str>,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Set>::default()
}

impl Extension for Set {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        match a.name() {
            "match-set" | "set" => {
                let name = a.arg()?;
                let f = a.value(name, "the set's direction flags (src,dst)")?;
                let flags = a.check(f, set_flags(&f.text))?;
                self.set = Some((name.text.to_string(), flags, a.neg()));
            }
            "return-nomatch" => self.undecidable = Some("set --return-nomatch"),
            "update-counters" | "update-subcounters" => {}
            _ => {
                let t = a.arg()?;
                a.check(t, values::number(&t.text, u64::MAX, "counter"))?;
                self.undecidable = Some("set counter conditions");
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let m = match (self.set, self.undecidable) {
            (Some(_), Some(why)) => end.undecidable(Undecidable::Unsupported(unmodelled(why))),
            (Some((name, src, neg)), None) => {
                let test = Test::InSet {
                    keys: vec![],
                    set: SetRef::Ipset { name, src },
                };
                Match::new(test).negate(neg)
            }
            (None, _) => return Err(end.missing("--match-set NAME src|dst after -m set")),
        };
        end.push(Item::One(m));
        Ok(())
    }
}

/// `src,dst,...`: for each dimension of the set, whether it is the packet's source.
fn set_flags(s: &str) -> Result<Vec<bool>, Bad> {
    let mut out = Vec::new();
    for word in s.split(',') {
        out.push(match word {
            "src" => true,
            "dst" => false,
            _ => {
                return Err(bad(
                    "set flags",
                    "expected a comma-separated list of src and dst",
                ))
            }
        });
    }
    if out.len() > 6 {
        return Err(bad("set flags", "more than 6 dimensions"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use crate::unmodelled::unmodelled;
    use model::expr::{Match, SetRef, Test, Undecidable};

    #[test]
    fn lines() {
        let in_set = |name: &str, src: Vec<bool>| {
            let set = SetRef::Ipset {
                name: name.into(),
                src,
            };
            Match::new(Test::InSet { keys: vec![], set })
        };
        check(&[
            (
                "-m set --match-set blocked src",
                vec![in_set("blocked", vec![true])],
            ),
            (
                "-m set --match-set blocked src,dst ! --update-counters",
                vec![in_set("blocked", vec![true, false])],
            ),
            (
                "-m set ! --match-set ok dst",
                vec![in_set("ok", vec![false]).negate(true)],
            ),
            (
                "-m set ! --match-set blocked src,dst --return-nomatch",
                vec![Match::new(Test::Undecidable {
                    kind: Undecidable::Unsupported(unmodelled("set --return-nomatch")),
                    text: "-m set ! --match-set blocked src,dst --return-nomatch".into(),
                })],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m set --match-set blocked source",
                "invalid set flags `source`: expected a comma-separated list of src and dst",
                28,
            ),
            (
                "-m set --match-set blocked",
                "expected the set's direction flags (src,dst), found end of line",
                27,
            ),
            (
                "-m set --return-nomatch",
                "expected --match-set NAME src|dst after -m set, found end of line",
                4,
            ),
        ]);
    }
}
