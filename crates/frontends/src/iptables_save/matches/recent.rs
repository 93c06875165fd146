//! `-m recent` (xt_recent): the packet's address is in a list of recently seen addresses
//! (which `--set` fills). The lists are kernel state, so the match is undecidable offline.
//!
//! ```text
//! -A INPUT -p tcp --dport 22 -m recent --name ssh --update --seconds 60 --hitcount 4 -j DROP
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[
    ("set", 0),
    ("rcheck", 0),
    ("update", 0),
    ("remove", 0),
    ("seconds", 1),
    ("reap", 0),
    ("hitcount", 1),
    ("rttl", 0),
    ("name", 1),
    ("rsource", 0),
    ("rdest", 0),
    ("mask", 1),
];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Recent, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m recent --name ssh --update --seconds 60 --hitcount 4 -j DROP",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Recent,
                text: "-m recent --name ssh --update --seconds 60 --hitcount 4".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m recent --seconds",
            "expected a value for --seconds, found end of line",
            20,
        )]);
    }
}
