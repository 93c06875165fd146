//! The host a packet crosses: interfaces, addresses, routes, policy rules, sysctls,
//! listening sockets and conntrack entries.
//!
//! Every part is optional; `known` says which parts the input had, so the engine can say
//! "assumed" instead of guessing silently.

use crate::packet::{IpProto, Mac};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Host {
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
    pub rules: Vec<PolicyRule>,
    pub sysctls: Sysctls,
    /// Listening sockets (`ss -ltnuH`).
    pub sockets: Vec<Socket>,
    pub conntrack: Vec<CtEntry>,
    pub known: Known,
}

/// Which parts of the host state were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Known {
    pub addresses: bool,
    pub routes: bool,
    pub policy_rules: bool,
    pub sysctls: bool,
    pub sockets: bool,
    pub conntrack: bool,
}

impl Host {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
    /// The interface that carries `addr`, if it is one of the host's own addresses.
    pub fn owner_of(&self, addr: IpAddr) -> Option<&Interface> {
        self.interfaces
            .iter()
            .find(|i| i.addrs.iter().any(|a| a.addr == addr))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub link: LinkType,
    pub mac: Option<Mac>,
    pub up: bool,
    pub mtu: Option<u32>,
    pub addrs: Vec<IfAddr>,
    /// Bridge or bond this interface is a port of.
    pub master: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkType {
    #[default]
    Ether,
    Loopback,
    /// Point-to-point / tunnel devices without link-layer addresses.
    None,
    Other(u16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct IfAddr {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub scope: Scope,
    pub broadcast: Option<IpAddr>,
    /// IPv6 privacy (temporary) address.
    pub temporary: bool,
    pub secondary: bool,
}

impl IfAddr {
    pub fn network(&self) -> IpNet {
        IpNet::new(self.addr, self.prefix_len)
            .map(|n| n.trunc())
            .unwrap_or_else(|_| {
                IpNet::new(self.addr, if self.addr.is_ipv4() { 32 } else { 128 })
                    .expect("host prefix")
            })
    }
}

/// Route and address scopes (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum Scope {
    #[default]
    Universe,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    pub fn from_name(s: &str) -> Scope {
        match s {
            "global" | "universe" => Scope::Universe,
            "site" => Scope::Site,
            "link" => Scope::Link,
            "host" => Scope::Host,
            "nowhere" => Scope::Nowhere,
            other => other.parse().map(Scope::Other).unwrap_or(Scope::Universe),
        }
    }
}

/// Route types (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteType {
    #[default]
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
}

impl RouteType {
    pub fn from_name(s: &str) -> Option<RouteType> {
        Some(match s {
            "unicast" => RouteType::Unicast,
            "local" => RouteType::Local,
            "broadcast" => RouteType::Broadcast,
            "anycast" => RouteType::Anycast,
            "multicast" => RouteType::Multicast,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            "nat" => RouteType::Nat,
            _ => return None,
        })
    }
}

impl fmt::Display for RouteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteType::Unicast => "unicast",
            RouteType::Local => "local",
            RouteType::Broadcast => "broadcast",
            RouteType::Anycast => "anycast",
            RouteType::Multicast => "multicast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
            RouteType::Nat => "nat",
        })
    }
}

/// Well-known routing table ids.
pub mod table_id {
    pub const LOCAL: u32 = 255;
    pub const MAIN: u32 = 254;
    pub const DEFAULT: u32 = 253;
}

/// One route of `ip route show table all`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub table: u32,
    pub dst: IpNet,
    pub route_type: RouteType,
    pub gateway: Option<IpAddr>,
    pub dev: Option<String>,
    pub prefsrc: Option<IpAddr>,
    pub metric: u32,
    pub scope: Scope,
    /// `proto kernel`, `proto static`, ... (display only).
    pub protocol: Option<String>,
    /// ECMP next hops (`nexthops` in `ip -j route`): the first is what a simulation uses.
    pub nexthops: Vec<NextHop>,
    /// The route as `ip route` prints it, for the report.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    pub dev: Option<String>,
    pub weight: u32,
}

/// One policy routing rule (`ip rule`).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    pub priority: u32,
    /// true for `ip -6 rule`.
    pub v6: bool,
    pub not: bool,
    pub src: Option<IpNet>,
    pub dst: Option<IpNet>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// `fwmark value/mask`.
    pub fwmark: Option<(u32, u32)>,
    pub tos: Option<u8>,
    pub ipproto: Option<IpProto>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub uid: Option<(u32, u32)>,
    pub action: RuleAction,
    /// `suppress_prefixlength N`: ignore a lookup result with a prefix this short or shorter.
    pub suppress_prefixlen: Option<u8>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    Lookup(u32),
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// `sysctl -a` values, keyed by their dotted name (`net.ipv4.ip_forward`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sysctls(pub BTreeMap<String, String>);

impl Sysctls {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    /// An integer sysctl, or `default` (the kernel's default) when not given.
    pub fn int_or(&self, key: &str, default: i64) -> i64 {
        self.get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }
    pub fn is_set(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

/// A listening (or bound, for UDP) socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Socket {
    pub proto: IpProto,
    /// 0.0.0.0 / :: for a wildcard bind.
    pub addr: IpAddr,
    pub port: u16,
    /// `%dev` in `ss` (SO_BINDTODEVICE).
    pub device: Option<String>,
    /// `users:(("sshd",pid=1,fd=3))` as printed, if known.
    pub process: Option<String>,
    /// An IPv6 wildcard socket that also accepts IPv4 (`[::]` with v6only off; ss prints `*`).
    pub dual_stack: bool,
}

/// One conntrack table entry (`conntrack -L`).
#[derive(Debug, Clone, PartialEq)]
pub struct CtEntry {
    pub proto: IpProto,
    pub orig: CtTuple,
    pub reply: CtTuple,
    /// TCP state name as printed (`ESTABLISHED`, `SYN_SENT`), if any.
    pub tcp_state: Option<String>,
    /// `IPS_*` bits reconstructed from `[ASSURED]`, `[UNREPLIED]`, ...
    pub status: u64,
    pub mark: u32,
    pub zone: u16,
    pub timeout: Option<u32>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtTuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Ports for TCP/UDP/SCTP; the echo id (in `sport`) and type/code for ICMP.
    pub sport: u16,
    pub dport: u16,
}
