//! `-m tos` (xt_tos): the IPv4 TOS / IPv6 traffic class byte under a mask; the symbolic
//! names (`Minimize-Delay`, ...) compare the six TOS bits (mask 0x3f).
//!
//! ```text
//! -A INPUT -m tos --tos Minimize-Delay -j ACCEPT
//! ```

use super::{Args, Extension, Simple};
use crate::iptables_save::values::{self, Bad};
use crate::ParseError;
use model::expr::{Key, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["tos"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let (value, mask) = a.check(t, tos_value(&t.text, 0xFF))?;
    a.push_cmp(Key::Tos, Pattern::Masked { mask, value });
    Ok(())
}

/// `value[/mask]` (mask defaults to `default_mask`) or a symbolic name (mask 0x3F), as
/// libxtables' XTTYPE_TOSMASK. The TOS target reads its `--set-tos` so too.
pub fn tos_value(s: &str, default_mask: u64) -> Result<(u64, u64), Bad> {
    const NAMES: [(&str, u64); 5] = [
        ("minimize-delay", 0x10),
        ("maximize-throughput", 0x08),
        ("maximize-reliability", 0x04),
        ("minimize-cost", 0x02),
        ("normal-service", 0x00),
    ];
    if let Some(&(_, v)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok((v, 0x3F));
    }
    values::value_mask(s, 255, default_mask, "TOS")
}

#[cfg(test)]
mod tests {
    use super::tos_value;
    use crate::iptables_save::table_test::{check, check_errors, cmp, masked};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-m tos --tos Minimize-Delay",
                vec![cmp(Key::Tos, masked(0x10, 0x3f))],
            ),
            (
                "-m tos ! --tos 0x10/0x1c",
                vec![cmp(Key::Tos, masked(0x10, 0x1c)).negate(true)],
            ),
        ]);
        assert_eq!(tos_value("0x10", 0xFF), Ok((0x10, 0xFF)));
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m tos --tos 0x100",
            "invalid TOS `0x100`: larger than 255",
            14,
        )]);
    }
}
