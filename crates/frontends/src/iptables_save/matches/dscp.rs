//! `-m dscp` (xt_dscp): the DSCP, the six high bits of the IPv4 TOS / IPv6 traffic class,
//! by number or class name.
//!
//! ```text
//! -A INPUT -m dscp --dscp-class AF41 -j ACCEPT
//! ```

use super::{int, Args, Extension, Simple};
use crate::iptables_save::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::{Key, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["dscp", "dscp-class"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let v = if a.name() == "dscp" {
        a.check(t, values::number(&t.text, 63, "DSCP"))?
    } else {
        a.check(t, dscp_class(&t.text))?
    };
    a.push_cmp(Key::Dscp, Pattern::Value(int(v)));
    Ok(())
}

/// DSCP class names (`--dscp-class`, and the DSCP target's `--set-dscp-class`).
pub fn dscp_class(s: &str) -> Result<u64, Bad> {
    let up = s.to_ascii_uppercase();
    let v = match up.as_str() {
        "BE" | "CS0" => 0,
        "CS1" => 8,
        "AF11" => 10,
        "AF12" => 12,
        "AF13" => 14,
        "CS2" => 16,
        "AF21" => 18,
        "AF22" => 20,
        "AF23" => 22,
        "CS3" => 24,
        "AF31" => 26,
        "AF32" => 28,
        "AF33" => 30,
        "CS4" => 32,
        "AF41" => 34,
        "AF42" => 36,
        "AF43" => 38,
        "CS5" => 40,
        "EF" => 46,
        "CS6" => 48,
        "CS7" => 56,
        _ => {
            return Err(bad(
                "DSCP class",
                "expected a class name like AF41, CS1 or EF",
            ))
        }
    };
    Ok(v)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            ("-m dscp --dscp 46", vec![cmp(Key::Dscp, int(46))]),
            (
                "-m dscp ! --dscp-class AF41",
                vec![cmp(Key::Dscp, int(34)).negate(true)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            ("-m dscp --dscp 64", "invalid DSCP `64`: larger than 63", 16),
            (
                "-m dscp --dscp-class AF44",
                "invalid DSCP class `AF44`: expected a class name like AF41, CS1 or EF",
                22,
            ),
        ]);
    }
}
