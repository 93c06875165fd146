//! `-j TCPMSS` (xt_TCPMSS, mangle table): lowers the MSS option of TCP SYNs (to a value,
//! or to the path MTU); no effect on the fate: a typed effect ([`Effect::ClampMss`]), which
//! a walk across hosts uses to size the connection's segments.
//!
//! ```text
//! -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Action, Effect, MssClamp};

/// The clamp, once an option gave it.
#[derive(Default)]
struct TcpMss(Option<MssClamp>);

pub(super) fn load() -> Box<dyn Extension> {
    Box::<TcpMss>::default()
}

impl Extension for TcpMss {
    fn knows(&self, option: &str) -> bool {
        matches!(option, "set-mss" | "clamp-mss-to-pmtu")
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        self.0 = Some(if a.name() == "set-mss" {
            let t = a.arg()?;
            MssClamp::Value(a.check(t, values::number(&t.text, 65535, "MSS"))? as u16)
        } else {
            MssClamp::ToPmtu
        });
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let clamp = self
            .0
            .ok_or_else(|| end.missing("--set-mss or --clamp-mss-to-pmtu"))?;
        Ok(vec![Action::Effect(Effect::ClampMss(clamp))])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions_in, error_in};
    use model::expr::{Action, Effect, MssClamp};
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in(
            "mangle",
            "FORWARD",
            "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
            Family::Ip,
        );
        assert_eq!(a, vec![Action::Effect(Effect::ClampMss(MssClamp::ToPmtu))]);
        let a = actions_in(
            "mangle",
            "FORWARD",
            "-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1360",
            Family::Ip,
        );
        assert_eq!(
            a,
            vec![Action::Effect(Effect::ClampMss(MssClamp::Value(1360)))]
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
