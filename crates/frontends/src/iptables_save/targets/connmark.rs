//! `-j CONNMARK` (xt_CONNMARK): sets the mark of the packet's conntrack entry, or copies
//! the packet mark to it (`--save-mark`) or back (`--restore-mark`) under masks; continues
//! with the next rule.
//!
//! ```text
//! -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff
//! ```

use super::mark::mark_option;
use super::{Args, End, Extension};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Action, CtMarkOp};

const OPTIONS: &[&str] = &[
    "set-xmark",
    "set-mark",
    "and-mark",
    "or-mark",
    "xor-mark",
    "save-mark",
    "restore-mark",
    "nfmask",
    "ctmask",
    "mask",
];

struct Connmark {
    op: Option<CtMarkOp>,
    /// `--save-mark` (true) or `--restore-mark`.
    save: Option<bool>,
    nfmask: u32,
    ctmask: u32,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::new(Connmark {
        op: None,
        save: None,
        nfmask: u32::MAX,
        ctmask: u32::MAX,
    })
}

impl Extension for Connmark {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        match a.name() {
            name @ ("save-mark" | "restore-mark") => self.save = Some(name == "save-mark"),
            name @ ("nfmask" | "ctmask" | "mask") => {
                let t = a.arg()?;
                let m = a.check(t, values::number(&t.text, u32::MAX.into(), "mask"))? as u32;
                if name != "ctmask" {
                    self.nfmask = m;
                }
                if name != "nfmask" {
                    self.ctmask = m;
                }
            }
            _ => {
                let (value, mask) = mark_option(a)?;
                self.op = Some(CtMarkOp::SetXmark { value, mask });
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let (nfmask, ctmask) = (self.nfmask, self.ctmask);
        let op = match (self.op, self.save) {
            (Some(op), None) => op,
            (None, Some(true)) => CtMarkOp::Save { nfmask, ctmask },
            (None, Some(false)) => CtMarkOp::Restore { nfmask, ctmask },
            _ => {
                return Err(
                    end.missing("one of --set-xmark, --set-mark, --save-mark or --restore-mark")
                )
            }
        };
        Ok(vec![Action::CtMark(op)])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions, check_errors};
    use model::expr::{Action, CtMarkOp};

    #[test]
    fn lines() {
        for (line, op) in [
            (
                "-j CONNMARK --set-xmark 0x2/0xf",
                CtMarkOp::SetXmark {
                    value: 2,
                    mask: 0xf,
                },
            ),
            (
                "-j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf",
                CtMarkOp::Save {
                    nfmask: 0xff,
                    ctmask: 0xf,
                },
            ),
            (
                "-j CONNMARK --restore-mark --mask 0xff",
                CtMarkOp::Restore {
                    nfmask: 0xff,
                    ctmask: 0xff,
                },
            ),
        ] {
            assert_eq!(actions(line), vec![Action::CtMark(op)], "{line}");
        }
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-j CONNMARK --set-mark 1 --save-mark",
            "expected one of --set-xmark, --set-mark, --save-mark or --restore-mark, found end of line",
            12,
        )]);
    }
}
