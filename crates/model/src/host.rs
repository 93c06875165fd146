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

/// Everything about one host that decides a packet's path besides its firewall: what
/// `ip addr`, `ip route`, `ip rule`, `sysctl -a`, `ss` and `conntrack -L` would print there.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Host {
    /// The interfaces with their addresses (`ip -j addr`), in the order listed.
    pub interfaces: Vec<Interface>,
    /// The routes of every routing table, IPv4 and IPv6 (`ip -j route show table all`).
    pub routes: Vec<Route>,
    /// The policy routing rules of both families (`ip -j rule`, `ip -6 -j rule`), each
    /// family in priority order.
    pub rules: Vec<PolicyRule>,
    /// The sysctls that were given; a missing one means the kernel's default.
    pub sysctls: Sysctls,
    /// Listening sockets (`ss -ltnuH`).
    pub sockets: Vec<Socket>,
    /// The conntrack table's entries, which decide `ct state` and reverse NAT for a
    /// packet of an existing connection.
    pub conntrack: Vec<CtEntry>,
    /// The neighbour tables of both families (`ip -j neigh`): what ARP and neighbour
    /// discovery knew about the hosts on each link.
    pub neighbours: Vec<Neighbour>,
    /// Which of the parts above were given at all (an empty list may be a real answer).
    pub known: Known,
}

/// Which parts of the host state were given.
///
/// A part that is not known is assumed (e.g. no routes: the packet goes where its
/// addresses say), and the answer says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Known {
    /// `ip -j addr` was given: [`Host::interfaces`] is the host's real list.
    pub addresses: bool,
    /// `ip -j route` (either family) was given: [`Host::routes`] is complete.
    pub routes: bool,
    /// `ip -j rule` (either family) was given; without it only the default rules apply
    /// (`local`, `main`, `default`).
    pub policy_rules: bool,
    /// `sysctl -a` was given; otherwise [`Sysctls::int_or`] falls back to the defaults.
    pub sysctls: bool,
    /// `ss -ltnuH` was given, so a port with no socket is known to be closed.
    pub sockets: bool,
    /// `conntrack -L` was given, so a packet matching no entry is known to start a
    /// connection (otherwise that is assumed, and the answer says so).
    pub conntrack: bool,
    /// `ip -j neigh` was given: [`Host::neighbours`] is the host's neighbour table.
    pub neighbours: bool,
    /// `ip -j link` was given: every interface's MTU and state are the host's own.
    pub links: bool,
}

impl Host {
    /// The interface called `name` (as `ip link` prints it, e.g. `eth0`).
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

/// One network device as `ip -j addr` lists it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interface {
    /// The device name (`ifname`: `eth0`, `lo`, `wg0`), as rules' `iifname`/`-i` see it.
    pub name: String,
    /// The kernel's ifindex (`ifindex`), 0 when the input did not say.
    pub index: u32,
    /// The link-layer type (`link_type`), which decides whether the device has MACs.
    pub link: LinkType,
    /// The device's hardware address (`address`); `None` for devices without one.
    pub mac: Option<Mac>,
    /// The administrative `UP` flag (`ip link set up`), not the carrier.
    pub up: bool,
    /// The device MTU in bytes (`mtu`), if listed.
    pub mtu: Option<u32>,
    /// The device's addresses (`addr_info`), in the order listed (primary first).
    pub addrs: Vec<IfAddr>,
    /// Bridge or bond this interface is a port of.
    pub master: Option<String>,
    /// Whether the lower layer is up (the `LOWER_UP` flag: carrier on a NIC, the peer up on
    /// a veth); `None` when the listing did not say. An interface can be administratively
    /// [`up`](Interface::up) without it (`NO-CARRIER`): then nothing leaves by it.
    pub lower_up: Option<bool>,
    /// The device kind (`linkinfo.info_kind` of `ip -d`: `veth`, `bridge`, `vlan`,
    /// `wireguard`...), when a detailed listing gave it.
    pub kind: Option<String>,
}

/// A device's link-layer type (`ARPHRD_*`, `link_type` in `ip -j addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkType {
    /// `ether` (`ARPHRD_ETHER`): Ethernet and everything that looks like it (veth, bridge).
    #[default]
    Ether,
    /// `loopback` (`ARPHRD_LOOPBACK`): `lo`, whose MACs are all zero.
    Loopback,
    /// Point-to-point / tunnel devices without link-layer addresses.
    None,
    /// Any other `ARPHRD_*` number (e.g. 768 `ipip`, 778 `gre`).
    Other(u16),
}

/// One address of an interface (an element of `addr_info`).
#[derive(Debug, Clone, PartialEq)]
pub struct IfAddr {
    /// The address itself (`local`).
    pub addr: IpAddr,
    /// The prefix length (`prefixlen`): the on-link network is `addr/prefix_len`.
    pub prefix_len: u8,
    /// The address scope: `host` addresses are never chosen as a source to leave the host.
    pub scope: Scope,
    /// The IPv4 broadcast address (`brd`), if set; `None` means the network's last address.
    pub broadcast: Option<IpAddr>,
    /// IPv6 privacy (temporary) address.
    pub temporary: bool,
    /// A secondary IPv4 address (a second address in an already covered subnet), never
    /// picked as a source address or by MASQUERADE.
    pub secondary: bool,
    /// An IPv6 address past its preferred lifetime (`deprecated`, `preferred_lft 0`):
    /// still valid, but source address selection avoids it (RFC 6724 rule 3).
    pub deprecated: bool,
    /// Where duplicate address detection stands for the address: a tentative one is not
    /// yet assigned and never a source.
    pub dad: DadState,
}

/// An IPv6 address's duplicate address detection state (`tentative`, `optimistic`,
/// `dadfailed` in `ip addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DadState {
    /// DAD done or not run (`nodad`, IPv4): the address is assigned.
    #[default]
    Done,
    /// `tentative`: DAD still running; the address cannot be used yet.
    Tentative,
    /// `tentative` with `optimistic` (RFC 4429): usable, but avoided like a deprecated one.
    Optimistic,
    /// `dadfailed`: another host on the link has the address; it is never used.
    Failed,
}

impl IfAddr {
    /// The on-link network the address belongs to (`10.0.0.5/24` → `10.0.0.0/24`).
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
///
/// Ordered from the widest scope to the narrowest, as the kernel's numbers are, so
/// `scope < Scope::Host` means usable off this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum Scope {
    /// `global` (`RT_SCOPE_UNIVERSE`, 0): reachable from anywhere.
    #[default]
    Universe,
    /// `site` (`RT_SCOPE_SITE`, 200): IPv6 site-local.
    Site,
    /// `link` (`RT_SCOPE_LINK`, 253): on-link only (directly connected routes).
    Link,
    /// `host` (`RT_SCOPE_HOST`, 254): this host only (`127.0.0.1`, `local` routes).
    Host,
    /// `nowhere` (`RT_SCOPE_NOWHERE`, 255): no destination.
    Nowhere,
    /// A number with no name, as `ip` prints it.
    Other(u8),
}

impl Scope {
    /// The scope `ip` prints as `s` (`global`, `link`, `host`, ... or a number); an
    /// unreadable name counts as `global`, the kernel's default.
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
    /// A normal route: forward to a gateway or onto a link.
    #[default]
    Unicast,
    /// A destination on this host (table `local`): deliver locally (INPUT).
    Local,
    /// A broadcast address (table `local`): deliver locally as broadcast.
    Broadcast,
    /// An IPv6 anycast address of this host: deliver locally.
    Anycast,
    /// A multicast route.
    Multicast,
    /// Drop silently.
    Blackhole,
    /// Drop with ICMP host unreachable (`-EHOSTUNREACH`).
    Unreachable,
    /// Drop with ICMP administratively prohibited (`-EACCES`).
    Prohibit,
    /// Leave this table: the policy rule lookup goes on with the next rule.
    Throw,
    /// Obsolete stateless NAT route (kept so `ip route` output still reads).
    Nat,
}

impl RouteType {
    /// The route type `ip route` prints as `s` (`unicast`, `local`, `blackhole`, ...).
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
///
/// A route without `table` is in [`MAIN`](table_id::MAIN); tables named only in
/// `/etc/iproute2/rt_tables` get an id from their name when the input has no number.
pub mod table_id {
    /// `local` (`RT_TABLE_LOCAL`): the host's own and broadcast addresses, looked up first.
    pub const LOCAL: u32 = 255;
    /// `main` (`RT_TABLE_MAIN`): where `ip route add` puts routes by default.
    pub const MAIN: u32 = 254;
    /// `default` (`RT_TABLE_DEFAULT`): empty unless filled, looked up last.
    pub const DEFAULT: u32 = 253;
}

/// One route of `ip route show table all`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The routing table's id (see [`table_id`]).
    pub table: u32,
    /// The destination prefix (`default` is `0.0.0.0/0` or `::/0`); its family is the
    /// route's family.
    pub dst: IpNet,
    /// What the route does with a packet (`unicast` unless the line starts with a type).
    pub route_type: RouteType,
    /// The next hop (`via`); `None` for a directly connected route. For a multipath route,
    /// its first next hop's gateway.
    pub gateway: Option<IpAddr>,
    /// The output device (`dev`); for a multipath route, its first next hop's device.
    pub dev: Option<String>,
    /// The preferred source address (`src`) for packets the host itself sends this way.
    pub prefsrc: Option<IpAddr>,
    /// The route's metric (`metric`); among equal prefixes the lowest wins. 0 when not
    /// printed.
    pub metric: u32,
    /// The route's scope (`scope link` for a directly connected route).
    pub scope: Scope,
    /// `proto kernel`, `proto static`, ... (display only).
    pub protocol: Option<String>,
    /// ECMP next hops (`nexthops` in `ip -j route`): the first is what a simulation uses.
    pub nexthops: Vec<NextHop>,
    /// The route as `ip route` prints it, for the report.
    pub text: String,
}

/// One next hop of a multipath (ECMP) route (`nexthop via ... dev ... weight ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct NextHop {
    /// The next hop's gateway (`via`); `None` for an on-link next hop.
    pub gateway: Option<IpAddr>,
    /// The next hop's output device (`dev`).
    pub dev: Option<String>,
    /// The next hop's share of the flows (`weight`, 1 when not printed).
    pub weight: u32,
}

/// One policy routing rule (`ip rule`).
///
/// Each selector that is `None` matches every packet (`from all`).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    /// The rule's priority (`32766:`): rules are tried from the lowest up.
    pub priority: u32,
    /// true for `ip -6 rule`.
    pub v6: bool,
    /// `not`: the rule applies to packets its selectors do *not* match.
    pub not: bool,
    /// `from PREFIX`: the source address selector.
    pub src: Option<IpNet>,
    /// `to PREFIX`: the destination address selector.
    pub dst: Option<IpNet>,
    /// `iif NAME`: the input device (`lo` for packets the host itself sends).
    pub iif: Option<String>,
    /// `oif NAME`: the output device of a socket bound to it.
    pub oif: Option<String>,
    /// `fwmark value/mask`.
    pub fwmark: Option<(u32, u32)>,
    /// `tos N` / `dsfield N`: the TOS byte to match.
    pub tos: Option<u8>,
    /// `ipproto NAME`: the layer-4 protocol to match.
    pub ipproto: Option<IpProto>,
    /// `sport A-B`: the inclusive source port range.
    pub sport: Option<(u16, u16)>,
    /// `dport A-B`: the inclusive destination port range.
    pub dport: Option<(u16, u16)>,
    /// `uidrange A-B`: the inclusive range of the sending socket's uid.
    pub uid: Option<(u32, u32)>,
    /// What a matching rule does.
    pub action: RuleAction,
    /// `suppress_prefixlength N`: ignore a lookup result with a prefix this short or shorter.
    pub suppress_prefixlen: Option<u8>,
    /// The rule as `ip rule` prints it (`32766: from all lookup main`), for the report.
    pub text: String,
}

/// What a matching policy rule does (`FR_ACT_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// `lookup TABLE`: look the destination up in that table; no route (or a `throw`
    /// route) goes on with the next rule.
    Lookup(u32),
    /// `goto PRIORITY`: go on with the rule of that priority.
    Goto(u32),
    /// `nop`: do nothing, go on with the next rule.
    Nop,
    /// `blackhole`: drop silently.
    Blackhole,
    /// `unreachable`: drop with ICMP host unreachable.
    Unreachable,
    /// `prohibit`: drop with ICMP administratively prohibited.
    Prohibit,
}

/// `sysctl -a` values, keyed by their dotted name (`net.ipv4.ip_forward`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sysctls(pub BTreeMap<String, String>);

impl Sysctls {
    /// The value as `sysctl` printed it, if the sysctl was given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    /// An integer sysctl, or `default` (the kernel's default) when not given.
    pub fn int_or(&self, key: &str, default: i64) -> i64 {
        self.get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }
    /// Whether the sysctl was given (to tell the kernel's default from an explicit value).
    pub fn is_set(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

/// A listening (or bound, for UDP) socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Socket {
    /// The socket's protocol (`tcp` or `udp` in `ss`'s first column).
    pub proto: IpProto,
    /// 0.0.0.0 / :: for a wildcard bind.
    pub addr: IpAddr,
    /// The local port the socket is bound to.
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
    /// The layer-4 protocol (the protocol name and number `conntrack -L` prints first).
    pub proto: IpProto,
    /// The original direction's tuple: the packet that created the entry.
    pub orig: CtTuple,
    /// The tuple a reply carries; differs from `orig` mirrored when NAT was done.
    pub reply: CtTuple,
    /// TCP state name as printed (`ESTABLISHED`, `SYN_SENT`), if any.
    pub tcp_state: Option<String>,
    /// `IPS_*` bits reconstructed from `[ASSURED]`, `[UNREPLIED]`, ...
    pub status: u64,
    /// The connection mark (`mark=`, what `ct mark` / `-m connmark` match).
    pub mark: u32,
    /// The conntrack zone (`zone=`, 0 when not printed); entries only match in their zone.
    pub zone: u16,
    /// Seconds until the entry expires, if printed.
    pub timeout: Option<u32>,
    /// The line as `conntrack -L` printed it, for the report.
    pub text: String,
}

/// One direction of a conntrack entry: addresses and ports as the packet carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtTuple {
    /// The source address (`src=`).
    pub src: IpAddr,
    /// The destination address (`dst=`).
    pub dst: IpAddr,
    /// Ports for TCP/UDP/SCTP; the echo id (in `sport`) and type/code for ICMP.
    pub sport: u16,
    /// The destination port; for ICMP `type << 8 | code`.
    pub dport: u16,
}

/// One entry of a neighbour table (`ip -j neigh`): a next hop's link-layer address and
/// what ARP (IPv4) or neighbour discovery (IPv6) last learned about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// The neighbour's IP address (`dst`).
    pub addr: IpAddr,
    /// The device it is reached on (`dev`).
    pub dev: String,
    /// Its link-layer address (`lladdr`), when resolved.
    pub lladdr: Option<Mac>,
    /// The NUD states as listed (`state`: one or more, e.g. `["REACHABLE"]`).
    pub states: Vec<NeighbourState>,
    /// The neighbour said it is a router (`router`, IPv6 only).
    pub router: bool,
}

impl Neighbour {
    /// Whether resolution is known to have failed (`FAILED`, or `INCOMPLETE` still trying).
    pub fn failed(&self) -> bool {
        self.states
            .iter()
            .any(|s| matches!(s, NeighbourState::Failed | NeighbourState::Incomplete))
    }
    /// Whether the entry holds a usable link-layer address.
    pub fn resolved(&self) -> bool {
        self.lladdr.is_some() && !self.failed()
    }
}

/// A neighbour's NUD state (`NUD_*`), as `ip neigh` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighbourState {
    /// `INCOMPLETE`: resolution in progress, no answer yet.
    Incomplete,
    /// `REACHABLE`: confirmed recently.
    Reachable,
    /// `STALE`: usable, not confirmed recently.
    Stale,
    /// `DELAY`: waiting before probing a stale entry.
    Delay,
    /// `PROBE`: being probed.
    Probe,
    /// `FAILED`: resolution failed (no answer to the probes).
    Failed,
    /// `NOARP`: the device needs no resolution.
    Noarp,
    /// `PERMANENT`: set by hand, never expires.
    Permanent,
    /// `NONE` or any other name, as printed.
    Other(String),
}

impl NeighbourState {
    /// The state `ip neigh` prints as `name`.
    pub fn from_name(name: &str) -> NeighbourState {
        match name {
            "INCOMPLETE" => NeighbourState::Incomplete,
            "REACHABLE" => NeighbourState::Reachable,
            "STALE" => NeighbourState::Stale,
            "DELAY" => NeighbourState::Delay,
            "PROBE" => NeighbourState::Probe,
            "FAILED" => NeighbourState::Failed,
            "NOARP" => NeighbourState::Noarp,
            "PERMANENT" => NeighbourState::Permanent,
            other => NeighbourState::Other(other.to_string()),
        }
    }
}

impl fmt::Display for NeighbourState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NeighbourState::Incomplete => "INCOMPLETE",
            NeighbourState::Reachable => "REACHABLE",
            NeighbourState::Stale => "STALE",
            NeighbourState::Delay => "DELAY",
            NeighbourState::Probe => "PROBE",
            NeighbourState::Failed => "FAILED",
            NeighbourState::Noarp => "NOARP",
            NeighbourState::Permanent => "PERMANENT",
            NeighbourState::Other(s) => s,
        })
    }
}
