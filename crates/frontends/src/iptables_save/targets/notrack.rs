//! `-j NOTRACK` (the old name of `-j CT --notrack`, raw table): the packet gets no
//! conntrack entry (its state is UNTRACKED); continues with the next rule.
//!
//! ```text
//! -A PREROUTING -p udp --dport 53 -j NOTRACK
//! ```

use super::{Args, End, Extension};
use crate::ParseError;
use model::expr::Action;

struct Notrack;

pub(super) fn load() -> Box<dyn Extension> {
    Box::new(Notrack)
}

impl Extension for Notrack {
    fn knows(&self, _option: &str) -> bool {
        false
    }
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        Err(a.unknown_option())
    }
    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![Action::Notrack])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::actions_in;
    use model::expr::Action;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in("raw", "PREROUTING", "-j NOTRACK", Family::Ip);
        assert_eq!(a, vec![Action::Notrack]);
    }
}
