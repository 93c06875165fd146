//! `-m time` (xt_time): the arrival time lies in a date range, time-of-day range, weekdays
//! or days of month. The time of a simulated packet is not known: undecidable.
//!
//! ```text
//! -A FORWARD -m time --timestart 08:00 --timestop 18:00 --weekdays Mon,Tue,Wed,Thu,Fri -j ACCEPT
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[
    ("datestart", 1),
    ("datestop", 1),
    ("timestart", 1),
    ("timestop", 1),
    ("monthdays", 1),
    ("weekdays", 1),
    ("kerneltz", 0),
    ("localtz", 0),
    ("utc", 0),
    ("contiguous", 0),
];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Time, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m time --timestart 08:00 --timestop 18:00 --kerneltz",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Time,
                text: "-m time --timestart 08:00 --timestop 18:00 --kerneltz".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m time --weekdays",
            "expected a value for --weekdays, found end of line",
            19,
        )]);
    }
}
