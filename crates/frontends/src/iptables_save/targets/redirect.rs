//! `-j REDIRECT` (xt_REDIRECT, nat table PREROUTING/OUTPUT): DNAT to the address of the
//! interface the packet came in by (loopback for local packets), optionally to a port
//! range; accepts in this chain.
//!
//! ```text
//! -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 3128
//! ```

use super::nat::NatTarget;
use super::Extension;
use model::expr::NatKind;

pub(super) fn load() -> Box<dyn Extension> {
    NatTarget::boxed(NatKind::Redirect, &["to-ports", "random"], None)
}

#[cfg(test)]
mod tests {
    use super::super::nat::nat_of;
    use crate::iptables_save::table_test::error_in;
    use model::expr::NatKind;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let n = nat_of(
            "PREROUTING",
            "-p tcp -j REDIRECT --to-ports 3128",
            Family::Ip,
        );
        assert_eq!((n.kind, n.ports), (NatKind::Redirect, Some((3128, 3128))));
    }

    #[test]
    fn errors() {
        assert_eq!(
            error_in(
                "nat",
                "PREROUTING",
                "-p tcp -j REDIRECT --to-ports 3128:3129",
                Family::Ip
            ),
            (
                "invalid port `3128:3129`: not a port number or a known service name".into(),
                31
            )
        );
    }
}
