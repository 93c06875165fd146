//! `-m tcp` (xt_tcpudp): the ports, flags and options of a TCP header. The kernel refuses
//! the rule without `-p tcp`; a later fragment has no header and never matches. Loaded
//! implicitly by `-p tcp --dport 22`.
//!
//! ```text
//! -A INPUT -p tcp -m tcp --dport 22 --tcp-flags SYN,RST,ACK SYN -j ACCEPT
//! ```

use super::{port_option, Args, Extension, Simple, PORT_OPTIONS};
use crate::iptables_save::values::{self, bad, Bad};
use crate::ParseError;
use model::expr::{Key, Match, Pattern, Test};

use super::Item;

const OPTIONS: &[&str] = &[
    PORT_OPTIONS[0],
    PORT_OPTIONS[1],
    PORT_OPTIONS[2],
    PORT_OPTIONS[3],
    "tcp-flags",
    "syn",
    "tcp-option",
];

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(OPTIONS, Some(&[6]), option)
}

fn option(a: &mut Args<'_, '_, '_>) -> Result<(), ParseError> {
    match a.name() {
        "tcp-flags" => {
            let mask_tok = a.arg()?;
            let mask = a.check(mask_tok, tcp_flags(&mask_tok.text))?;
            let comp_tok = a.value(mask_tok, "the TCP flags that must be set")?;
            let value = a.check(comp_tok, tcp_flags(&comp_tok.text))?;
            a.push_cmp(Key::TcpFlags, Pattern::Masked { mask, value });
        }
        // FIN,SYN,RST,ACK SYN
        "syn" => a.push_cmp(
            Key::TcpFlags,
            Pattern::Masked {
                mask: 0x17,
                value: 0x02,
            },
        ),
        "tcp-option" => {
            let t = a.arg()?;
            let n = a.check(t, values::number(&t.text, 255, "TCP option"))?;
            let m = Match::new(Test::TcpOption(n as u8)).negate(a.neg());
            a.push(Item::One(m));
        }
        _ => port_option(a)?,
    }
    Ok(())
}

/// `SYN,ACK`, `ALL` (the six classic flags, as libxt_tcp), `NONE`.
fn tcp_flags(list: &str) -> Result<u64, Bad> {
    let mut bits = 0;
    for word in list.split(',') {
        bits |= match word.to_ascii_uppercase().as_str() {
            "FIN" => 0x01,
            "SYN" => 0x02,
            "RST" => 0x04,
            "PSH" => 0x08,
            "ACK" => 0x10,
            "URG" => 0x20,
            "ECE" => 0x40,
            "CWR" => 0x80,
            "ALL" => 0x3F,
            "NONE" => 0,
            _ => return Err(bad("TCP flag", format!("unknown flag `{word}`"))),
        };
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int, masked, proto, range};
    use model::expr::{Key, Match, Test};

    #[test]
    fn lines() {
        let flags = |value, mask| cmp(Key::TcpFlags, masked(value, mask));
        check(&[
            (
                "-p tcp -m tcp --dport 22",
                vec![proto(6), cmp(Key::DstPort, int(22))],
            ),
            // The implicit module of `-p tcp`.
            (
                "-p tcp --dport 22",
                vec![proto(6), cmp(Key::DstPort, int(22))],
            ),
            (
                "-p tcp -m tcp --sport :1024 ! --dport 1024:",
                vec![
                    proto(6),
                    cmp(Key::SrcPort, range(0, 1024)),
                    cmp(Key::DstPort, range(1024, 65535)).negate(true),
                ],
            ),
            // The legacy negation after the option.
            (
                "-p tcp --source-port ! 80",
                vec![proto(6), cmp(Key::SrcPort, int(80)).negate(true)],
            ),
            (
                "-p tcp --tcp-flags SYN,RST SYN --syn",
                vec![proto(6), flags(0x02, 0x06), flags(0x02, 0x17)],
            ),
            (
                "-p tcp ! --syn",
                vec![proto(6), flags(0x02, 0x17).negate(true)],
            ),
            (
                "-p tcp --tcp-flags ALL NONE",
                vec![proto(6), flags(0, 0x3F)],
            ),
            (
                "-p tcp --tcp-flags ECE,CWR CWR",
                vec![proto(6), flags(0x80, 0xC0)],
            ),
            (
                "-p tcp --tcp-option 2",
                vec![proto(6), Match::new(Test::TcpOption(2))],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-m tcp --dport 22 -j ACCEPT",
                "match `tcp` needs `-p tcp` (the kernel refuses the rule otherwise)",
                4,
            ),
            (
                "-p udp -m tcp --dport 22 -j ACCEPT",
                "match `tcp` needs `-p tcp` (the kernel refuses the rule otherwise)",
                4,
            ),
            (
                "-p tcp --tcp-flags SYN,FOO SYN",
                "invalid TCP flag `SYN,FOO`: unknown flag `FOO`",
                20,
            ),
            (
                "-p tcp --tcp-flags SYN",
                "expected the TCP flags that must be set, found end of line",
                23,
            ),
            (
                "-p tcp --dport 70000",
                "invalid port `70000`: larger than 65535",
                16,
            ),
            (
                "-p tcp -m tcp --bogus 1 -j ACCEPT",
                "unsupported: option --bogus of match `tcp` is not modelled by whyblocked",
                15,
            ),
        ]);
    }
}
