//! `-j CONNSECMARK` (xt_CONNSECMARK, mangle table): copies the security mark between the
//! packet and its connection; no effect on the fate: a typed effect.
//!
//! ```text
//! -A INPUT -m state --state NEW -j CONNSECMARK --save
//! ```

use super::{EffectOnly, Extension};
use model::expr::Effect;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("save", 0), ("restore", 0)];

pub(super) fn load() -> Box<dyn Extension> {
    EffectOnly::boxed(
        OPTIONS,
        Effect::CtAttribute {
            key: "secmark".to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::actions_in;
    use model::expr::{Action, Effect};
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in("mangle", "FORWARD", "-j CONNSECMARK --save", Family::Ip);
        assert_eq!(
            a,
            vec![Action::Effect(Effect::CtAttribute {
                key: "secmark".to_string(),
            })]
        );
    }
}
