//! `-j DNAT` (xt_nat, nat table PREROUTING/OUTPUT): rewrites the destination address and/or
//! port of the connection's first packet (the rest follow the conntrack entry) and accepts
//! it in this chain.
//!
//! ```text
//! -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
//! ```

use super::nat::NatTarget;
use super::Extension;
use model::expr::NatKind;

const OPTIONS: &[&str] = &[
    "to-destination",
    "to",
    "random",
    "persistent",
    "random-fully",
];

pub(super) fn load() -> Box<dyn Extension> {
    NatTarget::boxed(NatKind::Dnat, OPTIONS, Some("--to-destination"))
}

#[cfg(test)]
mod tests {
    use super::super::nat::nat_of;
    use crate::iptables_save::table_test::error_in;
    use model::expr::NatKind;
    use model::ruleset::Family;

    fn addr(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lines() {
        for (line, family, addrs, ports, random) in [
            (
                "-p tcp --dport 80 -j DNAT --to-destination 10.0.0.2-10.0.0.3:8080-8081 --random",
                Family::Ip,
                Some(("10.0.0.2", "10.0.0.3")),
                Some((8080, 8081)),
                true,
            ),
            (
                "-p tcp -j DNAT --to-destination :8080",
                Family::Ip,
                None,
                Some((8080, 8080)),
                false,
            ),
            // getopt's abbreviation, as the iptables suite writes it.
            (
                "-p tcp -j DNAT --to 10.0.0.1:80",
                Family::Ip,
                Some(("10.0.0.1", "10.0.0.1")),
                Some((80, 80)),
                false,
            ),
            (
                "-p tcp -j DNAT --to-destination [2001:db8::1]:443",
                Family::Ip6,
                Some(("2001:db8::1", "2001:db8::1")),
                Some((443, 443)),
                false,
            ),
            (
                "-j DNAT --to-destination 2001:db8::1",
                Family::Ip6,
                Some(("2001:db8::1", "2001:db8::1")),
                None,
                false,
            ),
        ] {
            let n = nat_of("PREROUTING", line, family);
            let addrs = addrs.map(|(a, b)| (addr(a), addr(b)));
            assert_eq!(
                (n.kind, n.addr, n.ports, n.random),
                (NatKind::Dnat, addrs, ports, random),
                "{line}"
            );
        }
    }

    #[test]
    fn errors() {
        for (line, family, message, col) in [
            (
                "-j DNAT",
                Family::Ip,
                "expected --to-destination, found end of line",
                8,
            ),
            (
                "-j DNAT --to-destination 10.0.0.1 --to-destination 10.0.0.2",
                Family::Ip,
                "unsupported: a second --to-destination is not modelled by whyblocked",
                35,
            ),
            (
                "-p tcp -j DNAT --to-destination 10.0.0.1:80/90",
                Family::Ip,
                "invalid NAT ports `10.0.0.1:80/90`: shifted port ranges (`/base`) are not modelled",
                33,
            ),
            (
                "-j DNAT --to-destination [2001:db8::1",
                Family::Ip6,
                "invalid NAT address `[2001:db8::1`: missing `]`",
                26,
            ),
        ] {
            let got = error_in("nat", "PREROUTING", line, family);
            assert_eq!(got, (message.to_string(), col), "{line}");
        }
    }
}
