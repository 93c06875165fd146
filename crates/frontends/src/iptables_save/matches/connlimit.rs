//! `-m connlimit` (xt_connlimit): the number of connections from the packet's source (or to
//! its destination) is above or up to a limit. The count is kernel state, so the match is
//! undecidable offline.
//!
//! ```text
//! -A INPUT -p tcp --syn --dport 80 -m connlimit --connlimit-above 20 --connlimit-mask 24 -j REJECT
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[
    ("connlimit-upto", 1),
    ("connlimit-above", 1),
    ("connlimit-mask", 1),
    ("connlimit-saddr", 0),
    ("connlimit-daddr", 0),
];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Connlimit, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m connlimit --connlimit-above 20 --connlimit-saddr",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Connlimit,
                text: "-m connlimit --connlimit-above 20 --connlimit-saddr".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m connlimit --connlimit-upto",
            "expected a value for --connlimit-upto, found end of line",
            30,
        )]);
    }
}
