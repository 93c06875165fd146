//! `-m ecn` (xt_ecn): the ECN bits of a packet. `--ecn-tcp-cwr` and `--ecn-tcp-ece` test the
//! TCP header's CWR and ECE flags (the kernel refuses them without `-p tcp`);
//! `--ecn-ip-ect N` compares the two low bits of the IPv4 TOS / IPv6 traffic class (the
//! ECN field: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE). Each option can be negated.
//!
//! ```text
//! -A INPUT -p tcp -m ecn --ecn-tcp-ece ! --ecn-tcp-cwr --ecn-ip-ect 2 -j ACCEPT
//! ```

use super::{Args, Extension};
use crate::iptables_save::values;
use crate::ParseError;
use model::expr::{Key, Pattern};

const OPTIONS: &[&str] = &["ecn-tcp-cwr", "ecn-tcp-ece", "ecn-ip-ect"];

/// The TCP header's CWR and ECE flags, as `Key::TcpFlags` yields them.
const CWR: u64 = 0x80;
const ECE: u64 = 0x40;
/// The ECN field of the TOS / traffic class byte.
const ECN_MASK: u64 = 0x03;

/// Whether a TCP option was given (then the kernel wants `-p tcp`).
#[derive(Default)]
struct Ecn {
    tcp: bool,
}

pub(super) fn load() -> Box<dyn Extension> {
    Box::<Ecn>::default()
}

impl Extension for Ecn {
    fn knows(&self, option: &str) -> bool {
        OPTIONS.contains(&option)
    }

    fn option(&mut self, a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
        let (key, bits) = match a.name() {
            "ecn-tcp-cwr" => (Key::TcpFlags, CWR),
            "ecn-tcp-ece" => (Key::TcpFlags, ECE),
            _ => {
                let t = a.arg()?;
                let ect = a.check(t, values::number(&t.text, ECN_MASK, "ECT codepoint"))?;
                a.push_cmp(
                    Key::Tos,
                    Pattern::Masked {
                        mask: ECN_MASK,
                        value: ect,
                    },
                );
                return Ok(());
            }
        };
        self.tcp = true;
        a.push_cmp(
            key,
            Pattern::Masked {
                mask: bits,
                value: bits,
            },
        );
        Ok(())
    }

    fn required_protocols(&self) -> Option<&'static [u8]> {
        self.tcp.then_some(&[6])
    }
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check6, check_errors, cmp, masked, proto};
    use model::expr::Key;

    #[test]
    fn lines() {
        let flag = |bit| cmp(Key::TcpFlags, masked(bit, bit));
        let ect = |n| cmp(Key::Tos, masked(n, 3));
        check(&[
            ("-p tcp -m ecn --ecn-tcp-cwr", vec![proto(6), flag(0x80)]),
            (
                "-p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr --ecn-ip-ect 2",
                vec![proto(6), flag(0x40), flag(0x80), ect(2)],
            ),
            (
                "-p tcp -m ecn ! --ecn-tcp-ece ! --ecn-tcp-cwr ! --ecn-ip-ect 2",
                vec![
                    proto(6),
                    flag(0x40).negate(true),
                    flag(0x80).negate(true),
                    ect(2).negate(true),
                ],
            ),
            // The IP field alone needs no protocol.
            ("-m ecn --ecn-ip-ect 0", vec![ect(0)]),
            (
                "-p udp -m ecn ! --ecn-ip-ect 3",
                vec![proto(17), ect(3).negate(true)],
            ),
            // The legacy negation after the option.
            ("-m ecn --ecn-ip-ect ! 1", vec![ect(1).negate(true)]),
        ]);
        check6(&[(
            "-p tcp -m ecn --ecn-tcp-ece --ecn-ip-ect 3",
            vec![proto(6), flag(0x40), ect(3)],
        )]);
    }

    #[test]
    fn errors() {
        let needs_tcp = "match `ecn` needs `-p tcp` (the kernel refuses the rule otherwise)";
        check_errors(&[
            ("-m ecn --ecn-tcp-cwr", needs_tcp, 4),
            ("-p udp -m ecn --ecn-tcp-ece", needs_tcp, 4),
            ("! -p tcp -m ecn --ecn-tcp-ece", needs_tcp, 6),
            (
                "-m ecn --ecn-ip-ect 4",
                "invalid ECT codepoint `4`: larger than 3",
                21,
            ),
            (
                "-m ecn --ecn-ip-ect",
                "expected a value for --ecn-ip-ect, found end of line",
                20,
            ),
            (
                "-p tcp -m ecn --ecn-tcp-ece 1",
                "expected an option, found `1`",
                29,
            ),
        ]);
    }
}
