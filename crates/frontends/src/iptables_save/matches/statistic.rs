//! `-m statistic` (xt_statistic): every nth packet, or packets at random with a
//! probability. Which packet this is, or the draw, is not known offline: undecidable.
//!
//! ```text
//! -A PREROUTING -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.0.2
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("mode", 1), ("probability", 1), ("every", 1), ("packet", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Statistic, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m statistic --mode nth --every 3 --packet 0",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Statistic,
                text: "-m statistic --mode nth --every 3 --packet 0".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m statistic --mode",
            "expected a value for --mode, found end of line",
            20,
        )]);
    }
}
