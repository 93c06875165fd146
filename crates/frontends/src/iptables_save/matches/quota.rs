//! `-m quota` (xt_quota): packets until a byte quota is used up. The bytes counted so far
//! are kernel state: undecidable.
//!
//! ```text
//! -A OUTPUT -m quota --quota 1000000 -j ACCEPT
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("quota", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Quota, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m quota ! --quota 1000",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Quota,
                text: "-m quota ! --quota 1000".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m quota --quota",
            "expected a value for --quota, found end of line",
            17,
        )]);
    }
}
