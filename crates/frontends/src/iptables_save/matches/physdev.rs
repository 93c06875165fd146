//! `-m physdev` (xt_physdev): the bridge ports a bridged packet came in or goes out by. On a
//! packet that was not bridged each option compares unequal, so a negated one matches.
//!
//! ```text
//! -A FORWARD -m physdev --physdev-in vnet0 --physdev-is-bridged -j ACCEPT
//! ```

use super::{int, Args, Extension, Item, Simple};
use crate::iptables_save::values::bad;
use crate::ParseError;
use model::expr::{Absent, Key, Match, Pattern};

const OPTIONS: &[&str] = &[
    "physdev-in",
    "physdev-out",
    "physdev-is-in",
    "physdev-is-out",
    "physdev-is-bridged",
];

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(OPTIONS, None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let (key, pattern) = match a.name() {
        name @ ("physdev-in" | "physdev-out") => {
            let t = a.arg()?;
            if t.text.len() > 15 {
                return Err(a
                    .cx
                    .invalid(t, bad("interface", "longer than 15 characters")));
            }
            let key = if name == "physdev-in" {
                Key::PhysIn
            } else {
                Key::PhysOut
            };
            (key, Pattern::Iface(t.text.to_string()))
        }
        "physdev-is-in" => (Key::PhysIn, Pattern::Iface("+".into())),
        "physdev-is-out" => (Key::PhysOut, Pattern::Iface("+".into())),
        _ => (Key::PhysIsBridged, Pattern::Value(int(1))),
    };
    let mut m = Match::cmp(key, pattern).negate(a.neg());
    m.when_absent = Absent::Unequal;
    a.push(Item::One(m));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int};
    use model::expr::{Absent, Key, Pattern};

    #[test]
    fn lines() {
        let physdev = |key, pattern, neg| {
            let mut m = cmp(key, pattern).negate(neg);
            m.when_absent = Absent::Unequal;
            m
        };
        check(&[
            (
                "-m physdev --physdev-in vnet0 ! --physdev-is-bridged",
                vec![
                    physdev(Key::PhysIn, Pattern::Iface("vnet0".into()), false),
                    physdev(Key::PhysIsBridged, int(1), true),
                ],
            ),
            (
                "-m physdev --physdev-is-out",
                vec![physdev(Key::PhysOut, Pattern::Iface("+".into()), false)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m physdev --physdev-out averyveryverylongname",
            "invalid interface `averyveryverylongname`: longer than 15 characters",
            26,
        )]);
    }
}
