//! Netfilter hooks (`NF_INET_*`, `NF_NETDEV_*`).

use std::fmt;

/// Netfilter hooks, in the order a forwarded packet meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hook {
    /// `NF_NETDEV_INGRESS`: right after the device receives the packet, before IP
    /// (`netdev` chains, and `inet` since Linux 5.10).
    Ingress,
    /// `NF_INET_PRE_ROUTING`: every arriving packet, before the routing decision (DNAT).
    Prerouting,
    /// `NF_INET_LOCAL_IN`: packets routed to this host.
    Input,
    /// `NF_INET_FORWARD`: packets routed through this host to another.
    Forward,
    /// `NF_INET_LOCAL_OUT`: packets this host's sockets send, after their first routing.
    Output,
    /// `NF_INET_POST_ROUTING`: every leaving packet, forwarded or local (SNAT,
    /// MASQUERADE).
    Postrouting,
    /// `NF_NETDEV_EGRESS`: right before the device sends the packet (`netdev` chains,
    /// Linux 5.16 and later).
    Egress,
}

const NAMES: [(&str, Hook); 7] = [
    ("ingress", Hook::Ingress),
    ("prerouting", Hook::Prerouting),
    ("input", Hook::Input),
    ("forward", Hook::Forward),
    ("output", Hook::Output),
    ("postrouting", Hook::Postrouting),
    ("egress", Hook::Egress),
];

impl Hook {
    /// The hook as nft names it (`prerouting`, `input`, ...).
    pub fn from_name(name: &str) -> Option<Hook> {
        super::lookup(&NAMES, name)
    }

    /// The hook of an iptables built-in chain (`PREROUTING`, `INPUT`, ...).
    pub fn from_builtin_chain(chain: &str) -> Option<Hook> {
        Some(match chain {
            "PREROUTING" => Hook::Prerouting,
            "INPUT" => Hook::Input,
            "FORWARD" => Hook::Forward,
            "OUTPUT" => Hook::Output,
            "POSTROUTING" => Hook::Postrouting,
            _ => return None,
        })
    }
}

impl fmt::Display for Hook {
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
        for (name, hook) in NAMES {
            assert_eq!(Hook::from_name(name), Some(hook));
            assert_eq!(hook.to_string(), name);
        }
        assert_eq!(Hook::from_name("PREROUTING"), None);
        assert_eq!(
            Hook::from_builtin_chain("PREROUTING"),
            Some(Hook::Prerouting)
        );
        assert_eq!(Hook::from_builtin_chain("ufw-input"), None);
    }
}
