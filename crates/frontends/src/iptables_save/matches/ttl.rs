//! `-m ttl` (xt_ttl in iptables) and `-m hl` (its ip6tables twin): the IPv4 TTL or IPv6
//! hop limit equals, is below or is above a value. Only `--ttl-eq`/`--hl-eq` can be negated.
//!
//! ```text
//! -A INPUT -m ttl --ttl-lt 5 -j DROP
//! -A INPUT -m hl --hl-gt 1 -j DROP
//! ```

use super::{int, Args, Extension, Simple};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{CmpOp, Key, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["ttl-eq", "ttl-lt", "ttl-gt"], None, option)
}

pub(super) fn load_hl() -> Box<dyn Extension> {
    Simple::boxed(&["hl-eq", "hl-lt", "hl-gt"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let n = a.check(t, values::number(&t.text, 255, "TTL"))?;
    let name = a.name();
    let op = &name[name.len() - 2..];
    if op != "eq" {
        a.no_neg()?;
    }
    let pattern = match op {
        "eq" => Pattern::Value(int(n)),
        "lt" => Pattern::Compare(CmpOp::Lt, int(n)),
        _ => Pattern::Compare(CmpOp::Gt, int(n)),
    };
    a.push_cmp(Key::Ttl, pattern);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check6, check_errors, cmp, int};
    use model::expr::{CmpOp, Key, Pattern, Value};

    #[test]
    fn lines() {
        let compare = |op, n| cmp(Key::Ttl, Pattern::Compare(op, Value::Int(n)));
        check(&[
            ("-m ttl --ttl-lt 5", vec![compare(CmpOp::Lt, 5)]),
            (
                "-m ttl ! --ttl-eq 64",
                vec![cmp(Key::Ttl, int(64)).negate(true)],
            ),
        ]);
        check6(&[("-m hl --hl-gt 1", vec![compare(CmpOp::Gt, 1)])]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m ttl ! --ttl-gt 5",
                "unsupported: `!` before --ttl-gt is not modelled by whyblocked",
                8,
            ),
            (
                "-m ttl --ttl-eq 256",
                "invalid TTL `256`: larger than 255",
                17,
            ),
        ]);
    }
}
