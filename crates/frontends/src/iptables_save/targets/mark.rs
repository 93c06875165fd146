//! `-j MARK` (xt_MARK, mangle table): sets the packet's firewall mark, in the kernel's xmark
//! form `mark = (mark & !mask) ^ value`; continues with the next rule.
//!
//! ```text
//! -A PREROUTING -i eth1 -j MARK --set-xmark 0x1/0xff
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::Action;

const OPTIONS: &[&str] = &["set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark"];

#[derive(Default)]
struct Mark {
    /// The xmark value and mask, once an option gave them.
    xmark: Option<(u32, u32)>,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Mark>::default()
}

impl Extension for Mark {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let (value, mask) = mark_option(a)?;
        self.xmark = Some((value, mask));
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let (value, mask) = self.xmark.ok_or_else(|| {
            end.missing("--set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark")
        })?;
        Ok(vec![Action::SetMark { value, mask }])
    }
}

/// `--set-xmark`, `--set-mark`, ... `value[/mask]` (MARK and CONNMARK): the xmark form.
pub(super) fn mark_option(a: &mut Args<'_, '_, '_>) -> Result<(u32, u32), ParseError> {
    let t = a.arg()?;
    let all = u64::from(u32::MAX);
    let (v, m) = a.check(t, values::value_mask(&t.text, all, all, "mark"))?;
    Ok(xmark(a.name(), v as u32, m as u32))
}

/// The kernel's xmark form of MARK's options: `mark = (mark & !mask) ^ value`.
fn xmark(option: &str, v: u32, m: u32) -> (u32, u32) {
    match option {
        "set-xmark" => (v, m),
        // --set-mark v/m zeroes the mask bits and sets v (libxt_MARK: mask = v | m).
        "set-mark" => (v, v | m),
        "and-mark" => (0, !v),
        "or-mark" => (v, v),
        _ => (v, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::xmark;
    use crate::iptables_save::table_test::{actions, check_errors};
    use model::expr::Action;

    #[test]
    fn lines() {
        for (line, value, mask) in [
            ("-j MARK --set-xmark 0x1/0xff", 1, 0xff),
            ("-j MARK --set-mark 0x1", 1, u32::MAX),
            ("-j MARK --and-mark 0xf0", 0, !0xf0),
            ("-j MARK --or-mark 4", 4, 4),
            ("-j MARK --xor-mark 4", 4, 0),
        ] {
            assert_eq!(
                actions(line),
                vec![Action::SetMark { value, mask }],
                "{line}"
            );
        }
        assert_eq!(xmark("set-mark", 1, 0xf0), (1, 0xf1));
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-j MARK",
                "expected --set-xmark, --set-mark, --and-mark, --or-mark or --xor-mark, found end of line",
                8,
            ),
            ("-j MARK --set-mark x", "invalid mark `x`: not a number", 20),
        ]);
    }
}
