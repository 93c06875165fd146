//! `-m length` (xt_length): the IP total length (IPv6: payload length plus header) lies in
//! a range.
//!
//! ```text
//! -A INPUT -m length --length 0:64 -j DROP
//! ```

use super::{port_pattern, Args, Extension, Simple};
use crate::iptables_save::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::Key;

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["length"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let range = a.check(t, u16_range(&t.text, "length"))?;
    a.push_cmp(Key::Length, port_pattern(range));
    Ok(())
}

/// `n` or `lo:hi`, each at most 65535.
fn u16_range(s: &str, what: &'static str) -> Result<(u16, u16), Bad> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let a = values::number(a, 65535, what)? as u16;
    let b = values::number(b, 65535, what)? as u16;
    if a > b {
        return Err(bad(what, "first value is larger than the last"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int, range};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-m length --length 0:64",
                vec![cmp(Key::Length, range(0, 64))],
            ),
            (
                "-m length ! --length 1500",
                vec![cmp(Key::Length, int(1500)).negate(true)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m length --length 64:0",
            "invalid length `64:0`: first value is larger than the last",
            20,
        )]);
    }
}
