//! Conntrack: state bits (`NF_CT_STATE_*_BIT`) as `ct state`/`--ctstate` test them, and
//! status bits (`IPS_*`) as `ct status`/`--ctstatus` test them.

/// Conntrack state bits, as the model's `Key::CtState` yields them.
pub mod state {
    pub const INVALID: u64 = 1;
    pub const ESTABLISHED: u64 = 2;
    pub const RELATED: u64 = 4;
    pub const NEW: u64 = 8;
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

/// Conntrack status bits, as the model's `Key::CtStatus` yields them.
pub mod status {
    pub const EXPECTED: u64 = 1;
    pub const SEEN_REPLY: u64 = 2;
    pub const ASSURED: u64 = 4;
    pub const CONFIRMED: u64 = 8;
    pub const SRC_NAT: u64 = 16;
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
