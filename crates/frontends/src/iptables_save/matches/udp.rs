//! `-m udp` (xt_tcpudp): the ports of a UDP header. The kernel refuses the rule without
//! `-p udp`; a later fragment has no header and never matches. Loaded implicitly by
//! `-p udp --dport 53`.
//!
//! ```text
//! -A INPUT -p udp -m udp --sport 67:68 --dport 53 -j ACCEPT
//! ```

use super::{port_option, Extension, Simple, PORT_OPTIONS};

pub(super) fn load() -> Box<dyn Extension> {
    Simple::boxed(&PORT_OPTIONS, Some(&[17]), port_option)
}

#[cfg(test)]
mod tests {
    use crate::iptables_save::table_test::{check, check_errors, cmp, int, proto, range};
    use model::expr::Key;

    #[test]
    fn lines() {
        check(&[
            (
                "-p udp --dport 53",
                vec![proto(17), cmp(Key::DstPort, int(53))],
            ),
            (
                "-p udp -m udp --sport 67:68",
                vec![proto(17), cmp(Key::SrcPort, range(67, 68))],
            ),
            (
                "-p udp -m udp ! --destination-port 123",
                vec![proto(17), cmp(Key::DstPort, int(123)).negate(true)],
            ),
        ]);
    }

    #[test]
    fn errors() {
        check_errors(&[
            (
                "-p tcp -m udp --dport 53",
                "match `udp` needs `-p udp` (the kernel refuses the rule otherwise)",
                4,
            ),
            (
                "-p udp --dport 5:x",
                "invalid port `5:x`: not a port number or a known service name",
                16,
            ),
            (
                "-p udp -m udp --tcp-flags SYN SYN",
                "unsupported: option --tcp-flags of match `udp` is not modelled by whyblocked",
                15,
            ),
        ]);
    }
}
