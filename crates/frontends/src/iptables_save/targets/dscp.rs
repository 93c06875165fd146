//! `-j DSCP` (xt_DSCP, mangle table): sets the DSCP, the six high bits of the IPv4 TOS /
//! IPv6 traffic class, by number or class name; continues with the next rule.
//!
//! ```text
//! -A OUTPUT -p tcp --dport 22 -j DSCP --set-dscp-class AF21
//! ```

use super::{Args, End, Extension};
use crate::iptables_save::matches::dscp_class;
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::Action;

#[derive(Default)]
struct Dscp(Option<u8>);

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Dscp>::default()
}

impl Extension for Dscp {
    fn knows(&self, option: &str) -> bool {
        ["set-dscp", "set-dscp-class"].contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let t = a.arg()?;
        let v = if a.name() == "set-dscp" {
            a.check(t, values::number(&t.text, 63, "DSCP"))?
        } else {
            a.check(t, dscp_class(&t.text))?
        };
        self.0 = Some(v as u8);
        Ok(())
    }

    fn finish(self: Box<Self>, end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        let dscp = self
            .0
            .ok_or_else(|| end.missing("--set-dscp or --set-dscp-class"))?;
        Ok(vec![Action::SetDscp(dscp)])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{actions_in, error_in};
    use model::expr::Action;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        for (line, dscp) in [
            ("-j DSCP --set-dscp 10", 10),
            ("-j DSCP --set-dscp-class EF", 46),
        ] {
            let a = actions_in("mangle", "OUTPUT", line, Family::Ip);
            assert_eq!(a, vec![Action::SetDscp(dscp)], "{line}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in("mangle", "OUTPUT", "-j DSCP", Family::Ip),
            (
                "expected --set-dscp or --set-dscp-class, found end of line".into(),
                8
            )
        );
    }
}
