//! A hand-written object and where it is kept, so a fix can say which file to add its
//! line to for it to survive a reboot.

/// Where a hand-written ruleset is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnmanagedRole {
    /// The persistent file, when known or conventional for the dialect.
    pub file: PersistentFile,
}

/// The file a hand-written ruleset is loaded from at boot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PersistentFile {
    /// `/etc/nftables.conf` (Debian's nftables.service).
    NftablesConf,
    /// `/etc/iptables/rules.v4` (iptables-persistent).
    RulesV4,
    /// `/etc/iptables/rules.v6` (iptables-persistent).
    RulesV6,
    /// A file the snapshot named.
    Path(String),
}
