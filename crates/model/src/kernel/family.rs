//! Netfilter families (`NFPROTO_*`).
//!
//! A family is never unknown inside the model: a table of a family whyblocked does not know
//! is an input error, so [`Family`] has no `Unknown` variant; [`Family::from_nfproto`]
//! returns `None` for a number it does not know.

use std::fmt;

/// Netfilter families (`NFPROTO_*`), as nft names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `ip` (`NFPROTO_IPV4`, 2): IPv4 only; every iptables table lowers to it.
    Ip,
    /// `ip6` (`NFPROTO_IPV6`, 10): IPv6 only; every ip6tables table lowers to it.
    Ip6,
    /// `inet` (`NFPROTO_INET`, 1): one table whose chains see IPv4 and IPv6.
    Inet,
    /// `arp` (`NFPROTO_ARP`, 3): ARP packets, which whyblocked never simulates.
    Arp,
    /// `bridge` (`NFPROTO_BRIDGE`, 7): frames crossing a Linux bridge (read, not simulated).
    Bridge,
    /// `netdev` (`NFPROTO_NETDEV`, 5): one device's ingress/egress, before IP.
    Netdev,
}

const NAMES: [(&str, Family); 6] = [
    ("ip", Family::Ip),
    ("ip6", Family::Ip6),
    ("inet", Family::Inet),
    ("arp", Family::Arp),
    ("bridge", Family::Bridge),
    ("netdev", Family::Netdev),
];

impl Family {
    /// The family as nft writes it (`ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`).
    pub fn from_name(name: &str) -> Option<Family> {
        super::lookup(&NAMES, name)
    }

    /// The family of an `NFPROTO_*` number (netlink trace events, `nft -j`'s numbers).
    pub fn from_nfproto(n: u8) -> Option<Family> {
        Some(match n {
            1 => Family::Inet,
            2 => Family::Ip,
            3 => Family::Arp,
            5 => Family::Netdev,
            7 => Family::Bridge,
            10 => Family::Ip6,
            _ => return None,
        })
    }

    /// Whether base chains of this family see IPv4 (`v6 == false`) or IPv6 packets.
    pub fn sees(self, v6: bool) -> bool {
        match self {
            Family::Ip => !v6,
            Family::Ip6 => v6,
            Family::Inet => true,
            // Bridge and netdev chains see both, but only on their own hooks/devices.
            Family::Bridge | Family::Netdev => true,
            Family::Arp => false,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = NAMES
            .iter()
            .find(|(_, v)| v == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, family) in NAMES {
            assert_eq!(Family::from_name(name), Some(family));
            assert_eq!(family.to_string(), name);
        }
        assert_eq!(Family::from_name("ipv4"), None);
        assert_eq!(Family::from_name("IP"), None);
    }

    #[test]
    fn nfproto_numbers() {
        assert_eq!(Family::from_nfproto(2), Some(Family::Ip));
        assert_eq!(Family::from_nfproto(10), Some(Family::Ip6));
        assert_eq!(Family::from_nfproto(1), Some(Family::Inet));
        assert_eq!(Family::from_nfproto(99), None);
    }
}
