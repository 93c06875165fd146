//! `-j SNAT` (xt_nat, nat table POSTROUTING/INPUT): rewrites the source address and/or port
//! of the connection's first packet (the rest follow the conntrack entry) and accepts it in
//! this chain.
//!
//! ```text
//! -A POSTROUTING -o eth0 -j SNAT --to-source 1.2.3.4
//! ```

use super::nat::NatTarget;
use super::Extension;
use model::expr::NatKind;

const OPTIONS: &[&str] = &["to-source", "to", "random", "persistent", "random-fully"];

pub(super) fn load() -> Box<dyn Extension> {
    NatTarget::boxed(NatKind::Snat, OPTIONS, Some("--to-source"))
}

#[cfg(test)]
mod tests {
    use super::super::nat::nat_of;
    use model::expr::NatKind;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let addr = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let n = nat_of(
            "POSTROUTING",
            "-j SNAT --to-source 1.2.3.4 --persistent --random-fully",
            Family::Ip,
        );
        assert_eq!(
            (n.kind, n.addr, n.ports, n.persistent, n.fully_random),
            (
                NatKind::Snat,
                Some((addr("1.2.3.4"), addr("1.2.3.4"))),
                None,
                true,
                true
            )
        );
        // getopt's abbreviation, as the iptables suite writes it.
        let n = nat_of(
            "POSTROUTING",
            "-o eth0 -j SNAT --to 1.2.3.4-1.2.3.6",
            Family::Ip,
        );
        assert_eq!(n.addr, Some((addr("1.2.3.4"), addr("1.2.3.6"))));
    }
}
