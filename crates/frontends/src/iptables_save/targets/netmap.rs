//! `-j NETMAP` (xt_NETMAP, nat table): maps a whole network onto another of the same size,
//! keeping the host part (the destination in PREROUTING/OUTPUT, the source in
//! POSTROUTING/INPUT); accepts in this chain.
//!
//! ```text
//! -A PREROUTING -d 192.168.1.0/24 -j NETMAP --to 10.1.1.0/24
//! ```

use super::nat::NatTarget;
use super::Extension;
use model::expr::NatKind;

pub(super) fn load() -> Box<dyn Extension> {
    NatTarget::boxed(NatKind::Netmap, &["to"], Some("--to"))
}

#[cfg(test)]
mod tests {
    use super::super::nat::nat_of;
    use crate::iptables_save::table_test::error_in;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let n = nat_of("PREROUTING", "-j NETMAP --to 10.1.0.0/16", Family::Ip);
        let addr = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(n.addr, Some((addr("10.1.0.0"), addr("10.1.255.255"))));
    }

    #[test]
    fn errors() {
        for (line, message, col) in [
            ("-j NETMAP", "expected --to, found end of line", 10),
            (
                "-j NETMAP --to 10.0.0.0/255.0.255.0",
                "invalid NETMAP prefix `10.0.0.0/255.0.255.0`: the netmask must be contiguous",
                16,
            ),
        ] {
            let got = error_in("nat", "PREROUTING", line, Family::Ip);
            assert_eq!(got, (message.to_string(), col), "{line}");
        }
    }
}
