//! `-j MASQUERADE` (xt_MASQUERADE, nat table POSTROUTING): SNAT to the address of the
//! interface the packet leaves by, optionally to a port range; accepts in this chain.
//!
//! ```text
//! -A POSTROUTING -o eth0 -j MASQUERADE
//! ```

use super::nat::NatTarget;
use super::Extension;
use model::expr::NatKind;

pub(super) fn load() -> Box<dyn Extension> {
    let options = &["to-ports", "random", "random-fully"];
    NatTarget::boxed(NatKind::Masquerade, options, None)
}

#[cfg(test)]
mod tests {
    use super::super::nat::nat_of;
    use model::expr::NatKind;
    use model::ruleset::Family;

    #[test]
    fn lines() {
        let n = nat_of(
            "POSTROUTING",
            "-p tcp -j MASQUERADE --to-ports 1024-2048",
            Family::Ip,
        );
        assert_eq!((n.kind, n.ports), (NatKind::Masquerade, Some((1024, 2048))));
        let n = nat_of(
            "POSTROUTING",
            "-o eth0 -j MASQUERADE --random-fully",
            Family::Ip,
        );
        assert_eq!((n.addr, n.ports, n.fully_random), (None, None, true));
    }
}
