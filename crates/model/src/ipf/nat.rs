//! `ipnat.conf` translation rules, as `ipnat` loads them.

use std::net::IpAddr;

use super::{Addr, Endpoint, IpFamily, Masked, PoolName, Proto};
use crate::Origin;

/// The rules of one `ipnat.conf`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NatRules {
    /// The rules in the order written.
    pub rules: Vec<NatRule>,
}

/// The kind of a translation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// `map`: source translation of packets leaving the interface.
    Map,
    /// `map-block`: source translation into blocks of ports per host.
    MapBlock,
    /// `rdr`: destination translation of packets arriving on the interface.
    Rdr,
    /// `bimap`: a 1:1 mapping both ways.
    Bimap,
    /// `rewrite in|out`: source and destination rewritten together.
    Rewrite,
    /// `divert in|out`: the packet is encapsulated in UDP towards a new destination.
    Divert,
}

/// Which way a `rewrite`/`divert` rule applies (`map` is always out, `rdr` in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatDir {
    /// `in`.
    In,
    /// `out`.
    Out,
}

/// The packets a translation rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatMatch {
    /// The short form: `map le0 10.0.0.0/8 -> …` (the source of a `map`), `rdr le0
    /// 9.8.7.6/32 port 80 -> …` (the destination of an `rdr`).
    Simple {
        /// The address.
        addr: NatAddr,
        /// The port (`rdr … port 80`, `port 1000-2000`): `(low, high)`, equal for one port.
        /// Only on TCP/UDP rules: `ipnat` drops ports written on any other.
        ports: Option<(u16, u16)>,
    },
    /// `[!] from SRC to DST`.
    FromTo {
        /// The source.
        from: Endpoint,
        /// The destination.
        to: Endpoint,
    },
}

/// An address in a NAT rule: a masked address, a pool, or an unresolved host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatAddr {
    /// `any`: every address (of the rule's family).
    Any,
    /// `10.0.0.0/8`, `0/32` (0/32 on a `map` means "the interface's address").
    Net(Masked),
    /// A name the front end could not resolve.
    Host(String),
    /// `pool/N`, `hash/N`, `dstlist/NAME`.
    Pool {
        /// Its kind.
        kind: super::PoolKind,
        /// Its name.
        name: PoolName,
    },
    /// Any other address form of [`Addr`] (from the `from/to` form).
    Other(Addr),
}

/// Where translated packets go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NatTarget {
    /// `-> 1.2.3.0/24` (`map`, `bimap`, `map-block`): addresses taken from this network.
    Net(NatAddr),
    /// `-> range 203.1.1.23-203.1.3.45`.
    Range {
        /// The first address.
        low: IpAddr,
        /// The last address.
        high: IpAddr,
    },
    /// `rdr … -> 1.1.1.1[,1.1.1.2] [port P[-Q]|port = P]`: the new destination(s).
    Redirect {
        /// One or two addresses (two are used in turn).
        addrs: Vec<NatAddr>,
        /// `port P` / `port P-Q` / `port = P`: the new port(s), `(low, high, fixed)`;
        /// `fixed` for `port = P` (every port of a range goes to P).
        port: Option<RedirectPort>,
    },
    /// `rewrite`/`divert … -> src A[,P] dst B[,Q]`.
    Rewrite {
        /// The new source.
        src: NatAddr,
        /// Its port or ports (`,1000-2000`, `,port = 80`), when written.
        src_port: Option<RedirectPort>,
        /// The new destination.
        dst: NatAddr,
        /// Its port or ports, when written.
        dst_port: Option<RedirectPort>,
    },
}

/// The port an `rdr` (or a `rewrite`) sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPort {
    /// The first port.
    pub low: u16,
    /// The last port (equal to `low` for one).
    pub high: u16,
    /// `port = P`: every matched port goes to this one port.
    pub fixed: bool,
}

/// The protocol a NAT rule applies to (the trailing `tcp`, `udp`, `tcp/udp`, `ip`, `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatProto {
    /// `ip`: every protocol.
    Ip,
    /// One protocol (or tcp/udp).
    Proto(Proto),
}

/// `portmap PROTO LOW:HIGH | auto [sequential]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Portmap {
    /// The protocols whose ports are mapped.
    pub proto: Proto,
    /// `None` for `auto`, else the range.
    pub range: Option<(u16, u16)>,
    /// `sequential`: ports are handed out in order.
    pub sequential: bool,
}

/// `map-block … ports N|auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockPorts {
    /// `ports N` (0 when not written).
    Count(u32),
    /// `ports auto`.
    Auto,
}

/// `proxy port P NAME/PROTO` (map) or `proxy NAME` (rdr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRef {
    /// The port the proxy applies to: `ipnat` makes it the rule's destination port, so a
    /// `map … proxy port 21 ftp/tcp` translates only connections to port 21.
    pub port: Option<u16>,
    /// The proxy's name (`ftp`, `irc`, `rcmd`, …).
    pub name: String,
    /// Its protocol.
    pub proto: Option<Proto>,
}

/// One `ipnat.conf` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NatRule {
    /// Where it was written.
    pub origin: Origin,
    /// `map`, `rdr`, …
    pub kind: NatKind,
    /// `rewrite in`/`divert out`: the direction; `None` for the kinds that have one implied.
    pub direction: Option<NatDir>,
    /// `no`: a rule that stops translation of what it matches.
    pub no: bool,
    /// The interfaces (`ppp0,adsl0`: in on the first, out on the second).
    pub interfaces: Vec<String>,
    /// `inet`/`inet6`, or implied by the addresses; IPv4 when nothing says (`ipnat` makes
    /// a rule without a family an IPv4 rule), so `None` only for rules built in code.
    pub family: Option<IpFamily>,
    /// `proto P` before the addresses (`rewrite … proto tcp from …`).
    pub match_proto: Option<Proto>,
    /// The packets it applies to.
    pub matcher: NatMatch,
    /// Where they go.
    pub target: NatTarget,
    /// `portmap …`.
    pub portmap: Option<Portmap>,
    /// `icmpidmap PROTO LOW:HIGH`: ICMP query ids mapped into this range.
    pub icmpidmap: Option<(Proto, u16, u16)>,
    /// `map-block … ports …`.
    pub block_ports: Option<BlockPorts>,
    /// `proxy …`.
    pub proxy: Option<ProxyRef>,
    /// The trailing protocol (`tcp`, `udp`, `tcp/udp`, `ip`, `N`); `None` (like `ip`): every
    /// protocol.
    pub proto: Option<NatProto>,
    /// `round-robin`: the `rdr` targets are used in turn.
    pub round_robin: bool,
    /// `frag`: fragments are translated too.
    pub frag: bool,
    /// `age N[/M]`.
    pub age: Option<(u32, u32)>,
    /// `sticky`: a client keeps its `rdr` target.
    pub sticky: bool,
    /// `mssclamp N`: TCP MSS lowered to N.
    pub mssclamp: Option<u32>,
    /// `tag NAME`: only packets a filter rule tagged so (truncated to 16 characters).
    pub tag: Option<String>,
    /// `sequential` (outside `portmap`).
    pub sequential: bool,
    /// `purge`: sessions are removed when the rule is.
    pub purge: bool,
}
