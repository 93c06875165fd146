//! `-m hashlimit` (xt_hashlimit): a token bucket per source/destination group: the packet
//! matches while its group's rate allows it. The buckets are kernel state, so the match is
//! undecidable offline.
//!
//! ```text
//! -A INPUT -p tcp --dport 22 -m hashlimit --hashlimit-above 5/min --hashlimit-mode srcip --hashlimit-name ssh -j DROP
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[
    ("hashlimit", 1),
    ("hashlimit-upto", 1),
    ("hashlimit-above", 1),
    ("hashlimit-burst", 1),
    ("hashlimit-mode", 1),
    ("hashlimit-srcmask", 1),
    ("hashlimit-dstmask", 1),
    ("hashlimit-name", 1),
    ("hashlimit-htable-size", 1),
    ("hashlimit-htable-max", 1),
    ("hashlimit-htable-expire", 1),
    ("hashlimit-htable-gcinterval", 1),
    ("hashlimit-rate-match", 0),
    ("hashlimit-rate-interval", 1),
];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Hashlimit, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m hashlimit --hashlimit-upto 5/sec --hashlimit-name x",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Hashlimit,
                text: "-m hashlimit --hashlimit-upto 5/sec --hashlimit-name x".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m hashlimit --hashlimit-name",
            "expected a value for --hashlimit-name, found end of line",
            30,
        )]);
    }
}
