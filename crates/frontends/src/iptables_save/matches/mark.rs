//! `-m mark` (xt_mark): the packet's firewall mark under a mask (`value[/mask]`).
//!
//! ```text
//! -A INPUT -m mark --mark 0x1/0xff -j ACCEPT
//! ```

use super::{Args, Extension, Simple};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Key, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["mark"], None, |a| masked_mark(a, Key::Mark))
}

/// `--mark value[/mask]` compared with `key` (the packet's mark or, for `-m connmark`, the
/// connection's).
pub(super) fn masked_mark(a: &mut Args<'_, '_, '_>, key: Key) -> Result<(), ParseError> {
    let t = a.arg()?;
    let all = u64::from(u32::MAX);
    let (value, mask) = a.check(t, values::value_mask(&t.text, all, all, "mark"))?;
    a.push_cmp(key, Pattern::Masked { mask, value });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, masked};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-m mark --mark 0x1/0xff",
                vec![cmp(Key::Mark, masked(1, 0xff))],
            ),
            (
                "-m mark ! --mark 5",
                vec![cmp(Key::Mark, masked(5, 0xffff_ffff)).negate(true)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m mark --mark 0x100000000",
            "invalid mark `0x100000000`: larger than 4294967295",
            16,
        )]);
    }
}
