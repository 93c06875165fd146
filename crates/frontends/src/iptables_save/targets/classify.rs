//! `-j CLASSIFY` (xt_CLASSIFY, mangle table): sets the packet's traffic-control class; no
//! effect on the fate: a typed effect (`Effect`).
//!
//! ```text
//! -A POSTROUTING -o eth0 -j CLASSIFY --set-class 1:10
//! ```

use super::{EffectOnly, Extension};
use model::expr::Effect;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("set-class", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    EffectOnly::boxed(OPTIONS, Effect::Priority)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions_in, error_in};
    use model::expr::{Action, Effect};
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in(
            "mangle",
            "FORWARD",
            "-j CLASSIFY --set-class 1:10",
            Family::Ip,
        );
        assert_eq!(a, vec![Action::Effect(Effect::Priority)]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in("mangle", "FORWARD", "-j CLASSIFY --set-class", Family::Ip),
            (
                "expected a value for --set-class, found end of line".into(),
                24
            )
        );
    }
}
