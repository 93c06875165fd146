//! `-m iprange` (xt_iprange): the source or destination address lies in an inclusive range.
//!
//! ```text
//! -A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -j DROP
//! ```

use super::{Args, Extension, Simple};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Key, Pattern, Value};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["src-range", "dst-range"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let (lo, hi) = a.check(t, values::address_range(&t.text, a.cx.family))?;
    let key = if a.name() == "src-range" {
        Key::SrcAddr
    } else {
        Key::DstAddr
    };
    a.push_cmp(key, Pattern::Range(Value::Addr(lo), Value::Addr(hi)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check6, check_errors, cmp};
    use model::expr::{Key, Pattern, Value};

    #[test]
    fn lines() {
        let range = |a: &str, b: &str| {
            Pattern::Range(
                Value::Addr(a.parse().unwrap()),
                Value::Addr(b.parse().unwrap()),
            )
        };
        check(&[
            (
                "-m iprange ! --src-range 10.0.0.1-10.0.0.9",
                vec![cmp(Key::SrcAddr, range("10.0.0.1", "10.0.0.9")).negate(true)],
            ),
            (
                "-m iprange --dst-range 10.0.0.5",
                vec![cmp(Key::DstAddr, range("10.0.0.5", "10.0.0.5"))],
            ),
        ]);
        check6(&[(
            "-m iprange --dst-range 2001:db8::1-2001:db8::ff",
            vec![cmp(Key::DstAddr, range("2001:db8::1", "2001:db8::ff"))],
        )]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m iprange --src-range 2001:db8::1-2001:db8::2",
            "invalid address `2001:db8::1-2001:db8::2`: an IPv6 address in an IPv4 (iptables) ruleset",
            24,
        )]);
    }
}
