//! `-j AUDIT` (xt_AUDIT, mangle table): writes an audit record about the packet; no effect
//! on the fate: a typed effect (`Effect`).
//!
//! ```text
//! -A INPUT -j AUDIT --type drop
//! ```

use super::{EffectOnly, Extension};
use model::expr::Effect;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("type", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    EffectOnly::boxed(OPTIONS, Effect::Audit)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions_in, error_in};
    use model::expr::{Action, Effect};
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in("mangle", "FORWARD", "-j AUDIT --type drop", Family::Ip);
        assert_eq!(a, vec![Action::Effect(Effect::Audit)]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in("mangle", "FORWARD", "-j AUDIT --type", Family::Ip),
            ("expected a value for --type, found end of line".into(), 16)
        );
    }
}
