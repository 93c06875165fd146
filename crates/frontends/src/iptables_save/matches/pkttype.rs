//! `-m pkttype` (xt_pkttype): the link-layer packet type (unicast to this host, broadcast,
//! multicast, to another host).
//!
//! ```text
//! -A INPUT -m pkttype --pkt-type broadcast -j DROP
//! ```

use super::{int, Args, Extension, Simple};
use crate::iptables_save::values::{bad, Bad};
use crate::ParseError;
use model::expr::{Key, Pattern};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&["pkt-type"], None, option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    let t = a.arg()?;
    let v = a.check(t, pkt_type(&t.text))?;
    a.push_cmp(Key::PktType, Pattern::Value(int(v)));
    Ok(())
}

/// `PACKET_*` numbers of the type names.
fn pkt_type(s: &str) -> Result<u64, Bad> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "unicast" | "host" => 0,
        "broadcast" => 1,
        "multicast" => 2,
        "otherhost" => 3,
        "outgoing" => 4,
        "loopback" => 5,
        _ => {
            return Err(bad(
                "packet type",
                "expected unicast, broadcast, multicast, host or otherhost",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-m pkttype --pkt-type broadcast",
                vec![cmp(Key::PktType, int(1))],
            ),
            (
                "-m pkttype --pkt-type unicast",
                vec![cmp(Key::PktType, int(0))],
            ),
            (
                "-m pkttype ! --pkt-type Multicast",
                vec![cmp(Key::PktType, int(2)).negate(true)],
            ),
            (
                "-m pkttype --pkt-type otherhost",
                vec![cmp(Key::PktType, int(3))],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[(
            "-m pkttype --pkt-type anycast",
            "invalid packet type `anycast`: expected unicast, broadcast, multicast, host or otherhost",
            23,
        )]);
    }
}
