//! `-m rt` (ip6t_rt, ip6tables only): the type of the packet's IPv6 routing header; the
//! other options (segments left, length, addresses) are undecidable.
//!
//! ```text
//! -A INPUT -m rt --rt-type 0 -j DROP
//! ```

use super::{int, Args, Extension, Simple};
use crate::iptables_save::values;
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Key, Pattern, Undecidable};

const OPTIONS: &[&str] = &[
    "rt-type",
    "rt-segsleft",
    "rt-len",
    "rt-0-res",
    "rt-0-addrs",
    "rt-0-not-strict",
];

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(OPTIONS, None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    if a.name() == "rt-type" {
        let n = a.check(t, values::number(&t.text, 255, "routing header type"))?;
        a.push_cmp(Key::Ip6RtType, Pattern::Value(int(n)));
    } else {
        a.push_undecidable(Undecidable::Unsupported(unmodelled(format!(
            "rt --{}",
            a.name()
        ))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check6, cmp, int};
    use crate::unmodelled::unmodelled;
    use model::expr::{Key, Match, Test, Undecidable};

    #[test]
    fn lines() {
        check6(&[
            ("-m rt --rt-type 0", vec![cmp(Key::Ip6RtType, int(0))]),
            (
                "-m rt --rt-type 0 ! --rt-segsleft 0",
                vec![
                    cmp(Key::Ip6RtType, int(0)),
                    Match::new(Test::Undecidable {
                        kind: Undecidable::Unsupported(unmodelled("rt --rt-segsleft")),
                        text: "! --rt-segsleft 0".into(),
                    })
                    .negate(true),
                ],
            ),
        ]);
    }
}
