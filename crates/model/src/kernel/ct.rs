//! Conntrack: state bits (`NF_CT_STATE_*_BIT`) as `ct state`/`--ctstate` test them, and
//! status bits (`IPS_*`) as `ct status`/`--ctstatus` test them.
//!
//! Both are bit sets, so one rule can test several at once (`ct state established,related`
//! is a test of `state & (ESTABLISHED | RELATED) != 0`).

/// Conntrack state bits, as the model's `Key::CtState` yields them.
///
/// The kernel derives them from the packet's `ctinfo` (`NF_CT_STATE_BIT(ctinfo)` is
/// `1 << (ctinfo + 1)`), with bit 0 for a packet conntrack could not track.
pub mod state {
    /// `NF_CT_STATE_INVALID_BIT`: the packet has no conntrack entry though it was not
    /// untracked (malformed, or out of the TCP window).
    pub const INVALID: u64 = 1;
    /// `IP_CT_ESTABLISHED`: a packet, in either direction, of a connection that has seen
    /// a reply.
    pub const ESTABLISHED: u64 = 2;
    /// `IP_CT_RELATED`: the first packet of a connection expected by another (an ICMP
    /// error about it, FTP data).
    pub const RELATED: u64 = 4;
    /// `IP_CT_NEW`: a packet of a connection that has not seen a reply yet.
    pub const NEW: u64 = 8;
    /// `NF_CT_STATE_UNTRACKED_BIT`: conntrack was told not to track it (`notrack`,
    /// `-j CT --notrack`).
    pub const UNTRACKED: u64 = 64;
    /// Kernel words for each bit, as iptables and nft print them.
    pub const NAMES: [(&str, u64); 5] = [
        ("INVALID", INVALID),
        ("ESTABLISHED", ESTABLISHED),
        ("RELATED", RELATED),
        ("NEW", NEW),
        ("UNTRACKED", UNTRACKED),
    ];

    /// The bit of a state name in any case (`NEW`, `established`).
    pub fn from_name(name: &str) -> Option<u64> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, bit)| bit)
    }
}

/// Conntrack status bits, as the model's `Key::CtStatus` yields them
/// (`enum ip_conntrack_status` in `nf_conntrack_common.h`).
pub mod status {
    /// `IPS_EXPECTED`: the connection was expected by another (a helper's expectation).
    pub const EXPECTED: u64 = 1;
    /// `IPS_SEEN_REPLY`: a packet was seen in the reply direction.
    pub const SEEN_REPLY: u64 = 2;
    /// `IPS_ASSURED`: the connection is established enough never to be dropped early
    /// when the table is full (`[ASSURED]` in `conntrack -L`).
    pub const ASSURED: u64 = 4;
    /// `IPS_CONFIRMED`: the entry is in the table (its first packet left POSTROUTING or
    /// INPUT).
    pub const CONFIRMED: u64 = 8;
    /// `IPS_SRC_NAT`: the connection's source is translated (SNAT, MASQUERADE).
    pub const SRC_NAT: u64 = 16;
    /// `IPS_DST_NAT`: the connection's destination is translated (DNAT, REDIRECT).
    pub const DST_NAT: u64 = 32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_in_any_case() {
        assert_eq!(state::from_name("NEW"), Some(state::NEW));
        assert_eq!(state::from_name("established"), Some(state::ESTABLISHED));
        assert_eq!(state::from_name("SNAT"), None);
    }
}
