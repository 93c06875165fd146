//! `-m u32` (xt_u32): tests on 32-bit words read at offsets of the packet. Payloads are not
//! simulated: undecidable.
//!
//! ```text
//! -A INPUT -m u32 --u32 "0>>22&0x3C@12>>26&0x3F=0x10" -j DROP
//! ```

use super::{Extension, Opaque};
use model::expr::Undecidable;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("u32", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    Opaque::boxed(Undecidable::U32, OPTIONS)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test, Undecidable};

    #[test]
    fn lines() {
        check(&[(
            "-m u32 --u32 0>>22&0x3C@12>>26&0x3F=0x10",
            vec![Match::new(Test::Undecidable {
                kind: Undecidable::U32,
                text: "-m u32 --u32 0>>22&0x3C@12>>26&0x3F=0x10".into(),
            })],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m u32 --u32",
            "expected a value for --u32, found end of line",
            13,
        )]);
    }
}
