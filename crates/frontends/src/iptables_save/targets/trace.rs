//! `-j TRACE` (xt_TRACE, raw table): marks the packet so that every rule it meets is
//! traced; continues with the next rule.
//!
//! ```text
//! -A PREROUTING -p tcp --dport 22 -j TRACE
//! ```

use super::{Args, End, Extension};
use crate::ParseError;
use model::expr::Action;

struct Trace;

pub(super) fn load() -> Box<dyn Extension> {
    Box::new(Trace)
}

impl Extension for Trace {
    fn knows(&self, _option: &str) -> bool {
        false
    }
    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        Err(a.unknown_option())
    }
    fn finish(self: Box<Self>, _end: &End<'_>) -> Result<Vec<Action>, ParseError> {
        Ok(vec![Action::Trace])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::actions_in;
    use model::expr::Action;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let a = actions_in("raw", "PREROUTING", "-j TRACE", Family::Ip);
        assert_eq!(a, vec![Action::Trace]);
    }
}
