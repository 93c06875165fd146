//! `-j TOS` (xt_TOS, mangle table): sets, clears or flips bits of the IPv4 TOS / IPv6
//! traffic class byte (`tos = (tos & !mask) ^ value`); continues with the next rule.
//!
//! ```text
//! -A OUTPUT -p tcp --dport 22 -j TOS --set-tos Minimize-Delay
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::matches::tos_value;
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::Action;

const OPTIONS: &[&str] = &["set-tos", "and-tos", "or-tos", "xor-tos"];

/// The value and mask, once an option gave them.
#[derive(Default)]
struct Tos(Option<(u8, u8)>);

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Tos>::default()
}

impl Extension for Tos {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let t = a.arg()?;
        let name = a.name();
        self.0 = Some(if name == "set-tos" {
            let (v, m) = a.check(t, tos_value(&t.text, 0xFF))?;
            (v as u8, m as u8)
        } else {
            let bits = a.check(t, values::number(&t.text, 255, "TOS"))? as u8;
            match name {
                "and-tos" => (0, !bits),
                "or-tos" => (bits, bits),
                _ => (bits, 0),
            }
        });
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let (value, mask) = self
            .0
            .ok_or_else(|| end.missing("--set-tos, --and-tos, --or-tos or --xor-tos"))?;
        Ok(vec![Action::SetTos { value, mask }])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions_in, error_in};
    use model::expr::Action;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        for (line, value, mask) in [
            ("-j TOS --set-tos 0x10/0x3f", 0x10, 0x3f),
            ("-j TOS --set-tos Minimize-Delay", 0x10, 0x3f),
            ("-j TOS --and-tos 0x0f", 0, 0xf0),
            ("-j TOS --or-tos 0x08", 8, 8),
            ("-j TOS --xor-tos 0x08", 8, 0),
        ] {
            let a = actions_in("mangle", "OUTPUT", line, Family::Ip);
            assert_eq!(a, vec![Action::SetTos { value, mask }], "{line}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in("mangle", "OUTPUT", "-j TOS --or-tos 256", Family::Ip),
            ("invalid TOS `256`: larger than 255".into(), 17)
        );
    }
}
