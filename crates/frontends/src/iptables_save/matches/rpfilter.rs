//! `-m rpfilter` (xt_rpfilter): a route back to the packet's source exists via the interface
//! it came in by (`--loose`: via any interface), as the host's routing tables say.
//!
//! ```text
//! -A PREROUTING -m rpfilter --invert -j DROP
//! ```

use super::{Args, End, Extension, Item};
use crate::ParseError;
use model::expr::{Match, Test};

const OPTIONS: &[&str] = &["loose", "validmark", "accept-local", "invert"];

#[derive(Default)]
struct Rpfilter {
    loose: bool,
    validmark: bool,
    accept_local: bool,
    invert: bool,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Rpfilter>::default()
}

impl Extension for Rpfilter {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        a.no_neg()?;
        match a.name() {
            "loose" => self.loose = true,
            "validmark" => self.validmark = true,
            "accept-local" => self.accept_local = true,
            _ => self.invert = true,
        }
        Ok(())
    }

    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let test = Test::RpFilter {
            loose: self.loose,
            validmark: self.validmark,
            accept_local: self.accept_local,
        };
        end.push(Item::One(Match::new(test).negate(self.invert)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test};

    #[test]
    fn lines() {
        let rpfilter = |loose, validmark, accept_local| {
            Match::new(Test::RpFilter {
                loose,
                validmark,
                accept_local,
            })
        };
        check(&[
            (
                "-m rpfilter --loose --invert",
                vec![rpfilter(true, false, false).negate(true)],
            ),
            (
                "-m rpfilter --validmark --accept-local",
                vec![rpfilter(false, true, true)],
            ),
            ("-m rpfilter", vec![rpfilter(false, false, false)]),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m rpfilter ! --loose",
            "unsupported: `!` before --loose is not modelled by whyblocked",
            13,
        )]);
    }
}
