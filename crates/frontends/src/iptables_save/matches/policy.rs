//! `-m policy` (xt_policy): whether the packet was (`--dir in`) or will be (`--dir out`)
//! handled by IPsec. Without IPsec state offline, `--pol none` matches and `--pol ipsec`
//! (or any SA selector) is unknown.
//!
//! ```text
//! -A INPUT -m policy --dir in --pol none -j ACCEPT
//! ```

use super::{Args, End, Extension, Item};
use crate::iptables_save::values::bad;
use crate::ParseError;
use model::expr::{Match, Test};

const OPTIONS: &[&str] = &[
    "dir",
    "pol",
    "strict",
    "reqid",
    "spi",
    "proto",
    "mode",
    "tunnel-src",
    "tunnel-dst",
    "next",
];

#[derive(Default)]
struct Policy {
    dir_in: Option<bool>,
    ipsec: bool,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Policy>::default()
}

impl Extension for Policy {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        match a.name() {
            "dir" => {
                let t = a.arg()?;
                self.dir_in = Some(match &*t.text {
                    "in" => true,
                    "out" => false,
                    _ => {
                        let why = bad("policy direction", "expected `in` or `out`");
                        return Err(a.cx.invalid(t, why));
                    }
                });
            }
            "pol" => {
                let t = a.arg()?;
                self.ipsec = match &*t.text {
                    "none" => false,
                    "ipsec" => true,
                    _ => return Err(a.cx.invalid(t, bad("policy", "expected `none` or `ipsec`"))),
                };
            }
            "strict" | "next" => {}
            _ => {
                // An SA selector: only IPsec traffic has one.
                a.arg()?;
                self.ipsec = true;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>, end: &mut End<'_>) -> Result<(), ParseError> {
        let Some(dir_in) = self.dir_in else {
            return Err(end.missing("--dir in|out after -m policy"));
        };
        let test = Test::IpsecPolicy {
            dir_in,
            ipsec: self.ipsec,
        };
        end.push(Item::One(Match::new(test)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors};
    use model::expr::{Match, Test};

    #[test]
    fn lines() {
        let policy = |dir_in, ipsec| Match::new(Test::IpsecPolicy { dir_in, ipsec });
        check(&[
            ("-m policy --dir in --pol none", vec![policy(true, false)]),
            (
                "-m policy --dir out --pol ipsec --proto esp",
                vec![policy(false, true)],
            ),
            (
                "-m policy --dir in --pol none --strict --reqid 5",
                vec![policy(true, true)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m policy --dir both",
                "invalid policy direction `both`: expected `in` or `out`",
                17,
            ),
            (
                "-m policy --pol none",
                "expected --dir in|out after -m policy, found end of line",
                4,
            ),
        ]);
    }
}
