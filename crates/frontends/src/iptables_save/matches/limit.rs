//! `-m limit` (xt_limit): a token bucket: the packet matches while the rate allows it. The
//! bucket's level is kernel state, so the match is undecidable offline.
//!
//! ```text
//! -A INPUT -p icmp -m limit --limit 3/min --limit-burst 10 -j ACCEPT
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("limit", 1), ("limit-burst", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Limit, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m limit --limit 3/min --limit-burst 10 -j LOG",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Limit,
                text: "-m limit --limit 3/min --limit-burst 10".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m limit --limit",
            "expected a value for --limit, found end of line",
            17,
        )]);
    }
}
