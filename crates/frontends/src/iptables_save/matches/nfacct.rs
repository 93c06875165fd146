//! `-m nfacct` (xt_nfacct): every packet, counting it in a named accounting object; with
//! the object's state unknown offline it is undecidable.
//!
//! ```text
//! -A INPUT -m nfacct --nfacct-name http -j ACCEPT
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("nfacct-name", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::Nfacct, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m nfacct --nfacct-name http",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::Nfacct,
                text: "-m nfacct --nfacct-name http".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m nfacct --nfacct-name",
            "expected a value for --nfacct-name, found end of line",
            24,
        )]);
    }
}
