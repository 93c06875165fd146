//! `-j CHECKSUM` (xt_CHECKSUM, mangle table): fills in the checksum of a packet that lacks
//! it (for virtual machines' DHCP); no effect on the fate: a typed effect.
//!
//! ```text
//! -A POSTROUTING -p udp --dport 68 -j CHECKSUM --checksum-fill
//! ```

use super::{EffectOnly, Extension};
use model::expr::Effect;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("checksum-fill", 0)];

pub(super) fn load() -> Box<dyn Extension> {
    EffectOnly::boxed(OPTIONS, Effect::Checksum)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::actions_in;
    use model::expr::{Action, Effect};
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in(
            "mangle",
            "FORWARD",
            "-j CHECKSUM --checksum-fill",
            Family::Ip,
        );
        assert_eq!(a, vec![Action::Effect(Effect::Checksum)]);
    }
}
