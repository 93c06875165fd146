//! `-m string` (xt_string): the payload contains a string. Payloads are not simulated:
//! undecidable.
//!
//! ```text
//! -A FORWARD -m string --string "GET /admin" --algo bm -j DROP
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[
    ("algo", 1),
    ("from", 1),
    ("to", 1),
    ("string", 1),
    ("hex-string", 1),
    ("icase", 0),
];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::String, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m string --string \"GET /admin\" --algo bm",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::String,
                text: "-m string --string \"GET /admin\" --algo bm".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m string --algo",
            "expected a value for --algo, found end of line",
            17,
        )]);
    }
}
