//! Who wrote a table, chain or rule, and in which language.
//!
//! A fix is only worth typing in the language of the tool that owns the rule: a rule added
//! to a chain that ufw, firewalld, Docker or kube-proxy rewrites is gone at its next reload.
//! The front ends record the [`Dialect`] of every object they read; the `owners` crate
//! recognises the owning tool and fills [`Owner`], keeping the evidence for that belief.
//!
//! One file per family of tools holds what that tool's objects *are* ([`Role`]): a ufw
//! default policy or user rule, a firewalld zone part, a Docker published port, a
//! kube-proxy service. The words are `report`'s.

mod containers;
mod fail2ban;
mod firewalld;
mod kube;
mod ufw;
mod unmanaged;

pub use containers::{ContainerRole, PublishedPort};
pub use fail2ban::Fail2banRole;
pub use firewalld::{FirewalldPart, FirewalldRole};
pub use kube::{KubeRole, KubeService};
pub use ufw::{UfwDirection, UfwRole, UfwTuple};
pub use unmanaged::{PersistentFile, UnmanagedRole};

use std::fmt;

/// A rules language: what a file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `iptables-save` / `ip6tables-save` output.
    Iptables,
    /// `nft list ruleset` (with or without `-a`) and `nft -f` input.
    NftText,
    /// `nft -j list ruleset`.
    NftJson,
}

impl Dialect {
    /// How the notes and `--format` name it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Iptables => "iptables-save",
            Dialect::NftText => "nft list ruleset text",
            Dialect::NftJson => "nft -j JSON",
        }
    }

    /// Whether rules of this dialect are nftables rules (fixes are `nft` commands).
    pub fn is_nft(self) -> bool {
        matches!(self, Dialect::NftText | Dialect::NftJson)
    }
}

/// A tool that writes firewall rules on a host's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tool {
    /// Ubuntu's Uncomplicated Firewall (`ufw-*` chains).
    Ufw,
    /// firewalld (the `inet firewalld` nft table, or its iptables chains).
    Firewalld,
    /// Docker's daemon (`DOCKER*` chains; the iptables and the nftables backends).
    Docker,
    /// Podman's netavark (`inet netavark`, `NETAVARK-*` chains).
    Netavark,
    /// LXD / Incus (`inet lxd`, `lxd` comments).
    Lxd,
    /// libvirt (`LIBVIRT_*` chains, `ip libvirt_network`).
    Libvirt,
    /// Kubernetes' kube-proxy (`KUBE-*` chains, `ip kube-proxy` / `ip6 kube-proxy`).
    KubeProxy,
    /// Calico (`cali-*` chains).
    Calico,
    /// Cilium (`CILIUM_*` chains).
    Cilium,
    /// Tailscale's daemon (`ts-*` chains).
    Tailscale,
    /// fail2ban (`f2b-*` chains and sets).
    Fail2ban,
    /// OpenWrt's firewall4 (`inet fw4`).
    Fw4,
    /// wg-quick (its `wg-quick-*` tables and fwmark policy routing).
    WgQuick,
    /// No tool: rules an admin wrote (or loads from a persistent file).
    Unmanaged,
    /// whyblocked itself (a suggested fix).
    Whyblocked,
    /// Another tool, by name.
    Other(String),
}

impl Tool {
    /// Whether the tool flushes and rewrites its own tables and chains on reload or
    /// restart, so a rule added there by hand does not survive.
    pub fn rewrites_its_chains(&self) -> bool {
        !matches!(self, Tool::Unmanaged | Tool::Whyblocked | Tool::Other(_))
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tool::Ufw => "ufw",
            Tool::Firewalld => "firewalld",
            Tool::Docker => "docker",
            Tool::Netavark => "netavark",
            Tool::Lxd => "lxd",
            Tool::Libvirt => "libvirt",
            Tool::KubeProxy => "kube-proxy",
            Tool::Calico => "calico",
            Tool::Cilium => "cilium",
            Tool::Tailscale => "tailscale",
            Tool::Fail2ban => "fail2ban",
            Tool::Fw4 => "fw4",
            Tool::WgQuick => "wg-quick",
            Tool::Unmanaged => "unmanaged",
            Tool::Whyblocked => "whyblocked",
            Tool::Other(name) => name,
        })
    }
}

/// The tool that wrote an object, what showed it, and what the object is to that tool —
/// a belief with its ground, never a guess without one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The tool believed to have written the object.
    pub tool: Tool,
    /// What showed it.
    pub evidence: Evidence,
    /// What the object is to the tool (a default policy, a user rule, a zone part...).
    pub role: Role,
}

impl Owner {
    /// An owner with no role known beyond the tool.
    pub fn new(tool: Tool, evidence: Evidence) -> Owner {
        Owner {
            tool,
            evidence,
            role: Role::Unknown,
        }
    }

    /// A rule whyblocked suggests as a fix.
    pub fn suggested_fix() -> Owner {
        Owner::new(Tool::Whyblocked, Evidence::SuggestedFix)
    }

    /// Whether a rule added by hand to this object is lost at the tool's next reload.
    pub fn rewritten_on_reload(&self) -> bool {
        self.tool.rewrites_its_chains()
    }
}

/// What showed who wrote an object; `report` words it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// The table's name is the tool's (`inet firewalld`, `ip kube-proxy`).
    TableName(String),
    /// The chain's name is the tool's (`ufw-user-input`, `DOCKER-USER`, `KUBE-SVC-…`).
    ChainName(String),
    /// A rule's comment says so (`"kube-proxy: default/web:http has no endpoints"`).
    Comment(String),
    /// A regular chain reached only from the tool's chains.
    CalledFrom(String),
    /// A rule in a built-in chain that names the tool's interface (a Docker bridge in a
    /// `MASQUERADE` or direct-access `DROP` rule).
    Interface(String),
    /// The tool's own configuration names it (`/etc/ufw/user.rules:12`, a zone XML file).
    Config {
        /// The configuration file as the snapshot recorded its path.
        path: String,
        /// 1-based line, 0 when the file as a whole is the evidence.
        line: u32,
    },
    /// No tool's mark on it: hand-written (loaded from this file, when known).
    NoToolMark,
    /// whyblocked built it (a suggested fix).
    SuggestedFix,
}

/// What an object is to the tool that owns it; one family of tools per variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// Nothing known beyond the tool.
    Unknown,
    /// A ufw object.
    Ufw(UfwRole),
    /// A firewalld object.
    Firewalld(FirewalldRole),
    /// An object of a container or VM network tool, a VPN or a router firewall (Docker,
    /// netavark, LXD, libvirt, tailscale, fw4, wg-quick).
    Container(ContainerRole),
    /// An object of kube-proxy, Calico or Cilium.
    Kube(KubeRole),
    /// A fail2ban jail's chain, set or ban.
    Fail2ban(Fail2banRole),
    /// A hand-written object and where it is kept.
    Unmanaged(UnmanagedRole),
}
