//! `-j SECMARK` (xt_SECMARK, mangle table): sets the packet's SELinux security mark; no
//! effect on the fate: a typed effect (`Effect`).
//!
//! ```text
//! -A INPUT -p tcp --dport 80 -j SECMARK --selctx system_u:object_r:http_packet_t:s0
//! ```

use super::{EffectOnly, Extension};
use model::expr::Effect;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("selctx", 1)];

pub(super) fn load() -> Box<dyn Extension> {
    EffectOnly::boxed(OPTIONS, Effect::Secmark)
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
            "-j SECMARK --selctx system_u:object_r:x:s0",
            Family::Ip,
        );
        assert_eq!(a, vec![Action::Effect(Effect::Secmark)]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in("mangle", "FORWARD", "-j SECMARK --selctx", Family::Ip),
            (
                "expected a value for --selctx, found end of line".into(),
                20
            )
        );
    }
}
