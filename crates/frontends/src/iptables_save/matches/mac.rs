//! `-m mac` (xt_mac): the Ethernet source address of a received packet. Addresses
//! anonymised as `XX:XX:XX:XX:XX:XX` in published rulesets are undecidable.
//!
//! ```text
//! -A INPUT -m mac --mac-source 00:11:22:33:44:55 -j DROP
//! ```

use super::{Args, Extension, Simple};
use crate::iptables_save::values::bad;
use crate::unmodelled::unmodelled;
use crate::ParseError;
use model::expr::{Key, Pattern, Undecidable, Value};
use model::packet::Mac;

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["mac-source"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    match Mac::parse(&t.text) {
        Some(mac) => a.push_cmp(Key::EtherSrc, Pattern::Value(Value::Mac(mac))),
        None if is_anonymised_mac(&t.text) => {
            a.push_undecidable(Undecidable::Unsupported(unmodelled(
                "mac (anonymised address)",
            )));
        }
        None => {
            let why = bad(
                "MAC address",
                "expected six hex bytes like 00:11:22:33:44:55",
            );
            return Err(a.cx.invalid(t, why));
        }
    }
    Ok(())
}

/// Addresses in published rulesets are often anonymised as `XX:XX:XX:XX:XX:XX`.
fn is_anonymised_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 2
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() || c == 'X' || c == 'x')
        })
}

#[cfg(test)]
mod tests {
    use super::is_anonymised_mac;
    use crate::iptables_save::table_test::{check, check_errors, cmp};
    use crate::unmodelled::unmodelled;
    use model::expr::{Key, Match, Pattern, Test, Undecidable, Value};
    use model::packet::Mac;

    #[test]
    fn lines() {
        let mac = Mac([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
        let anonymised = Match::new(Test::Undecidable {
            kind: Undecidable::Unsupported(unmodelled("mac (anonymised address)")),
            text: "! --mac-source XX:XX:XX:XX:XX:XX".into(),
        });
        check(&[
            (
                "-m mac --mac-source 00:11:22:33:44:55",
                vec![cmp(Key::EtherSrc, Pattern::Value(Value::Mac(mac)))],
            ),
            (
                "-m mac ! --mac-source XX:XX:XX:XX:XX:XX",
                vec![anonymised.negate(true)],
            ),
        ]);
        assert!(is_anonymised_mac("XX:XX:XX:XX:XX:XX"));
        assert!(!is_anonymised_mac("XX:XX"));
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m mac --mac-source 00:11 -j DROP",
            "invalid MAC address `00:11`: expected six hex bytes like 00:11:22:33:44:55",
            21,
        )]);
    }
}
