//! `-m connmark` (xt_connmark): the mark of the packet's conntrack entry under a mask.
//!
//! ```text
//! -A INPUT -m connmark --mark 0x2/0xf -j ACCEPT
//! ```

use super::mark::masked_mark;
use super::{Extension, Simple};
use model::expr::Key;

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["mark"], None, |a| masked_mark(a, Key::CtMark))
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, cmp, masked};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-m connmark --mark 0x2/0xf",
                vec![cmp(Key::CtMark, masked(2, 0xf))],
            ),
            (
                "-m connmark ! --mark 5",
                vec![cmp(Key::CtMark, masked(5, 0xffff_ffff)).negate(true)],
            ),
        ]);
    }
}
