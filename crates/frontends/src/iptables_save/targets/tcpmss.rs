//! `-j TCPMSS` (xt_TCPMSS, mangle table): rewrites the MSS option of TCP SYNs (to a value,
//! or to the path MTU); no effect on the fate: a typed effect.
//!
//! ```text
//! -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
//! ```

use super::{EffectOnly, Extension};
use model::expr::Effect;

/// The options, each with how many words it takes.
const OPTIONS: &[(&str, u8)] = &[("set-mss", 1), ("clamp-mss-to-pmtu", 0)];

pub(super) fn load() -> Box<dyn Extension> {
    EffectOnly::boxed(
        OPTIONS,
        Effect::TcpOption {
            name: "maxseg".to_string(),
        },
    )
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
            "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
            Family::Ip,
        );
        assert_eq!(
            a,
            vec![Action::Effect(Effect::TcpOption {
                name: "maxseg".to_string(),
            })]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in(
                "mangle",
                "FORWARD",
                "-p tcp -j TCPMSS --set-mss",
                Family::Ip
            ),
            (
                "expected a value for --set-mss, found end of line".into(),
                27
            )
        );
    }
}
