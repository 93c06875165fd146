//! `-m state` (xt_state): the packet's conntrack state (`INVALID`, `NEW`, `ESTABLISHED`,
//! `RELATED`, `UNTRACKED`); the older form of `-m conntrack --ctstate`.
//!
//! ```text
//! -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
//! ```

use super::conntrack::ct_states;
use super::{Args, Extension, Simple};
use crate::ParseError;
use model::expr::{Key, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["state"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let (states, _) = a.check(t, ct_states(&t.text, false))?;
    a.push_cmp(Key::CtState, Pattern::AnyBit(states));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp};
    use model::expr::{ct_state, Key, Pattern};

    #[test]
    fn lines() {
        let state = |bits| cmp(Key::CtState, Pattern::AnyBit(bits));
        check(&[
            (
                "-m state --state RELATED,ESTABLISHED",
                vec![state(ct_state::RELATED | ct_state::ESTABLISHED)],
            ),
            (
                "-m state ! --state NEW",
                vec![state(ct_state::NEW).negate(true)],
            ),
            // Prefixes, any case, as libxt_conntrack's `strncasecmp`.
            (
                "-m state --state inv,Untr",
                vec![state(ct_state::INVALID | ct_state::UNTRACKED)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m state --state DNAT",
            "invalid conntrack state `DNAT`: unknown state `DNAT`",
            18,
        )]);
    }
}
