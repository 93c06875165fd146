//! IPFilter's rules as typed data: `ipf.conf` filter rules ([`filter`]), `ipnat.conf`
//! translation rules ([`nat`]) and `ippool.conf` address pools ([`pool`]).
//!
//! The shapes follow what IPFilter's own parsers (`tools/ipf_y.y`, `ipnat_y.y`,
//! `ippool_y.y`) load into the kernel, not the text: a rule written with lists
//! (`from {a,b} port = {1,2}`) is several rules here, as it is in the kernel, each with the
//! same [`Origin`](crate::Origin); names the kernel truncates (tags, interfaces) are kept
//! truncated; host names are resolved by the front end or kept as [`Addr::Host`] (Unknown
//! to the engine). Values the filter does not print back (e.g. an unset ICMP code) are
//! `None`, so "not written" is never confused with "written as the default".

pub mod filter;
pub mod nat;
pub mod pool;

pub use filter::{FilterRule, IpfRules};
pub use nat::{NatRule, NatRules};
pub use pool::{PoolDef, Pools};

use std::net::IpAddr;

/// The address family a rule is restricted to (`family inet`, `inet6`, or implied by an
/// address in the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4.
    Inet,
    /// IPv6.
    Inet6,
}

/// An address with a mask, as IPFilter stores it: the mask need not be a prefix
/// (`10.0.0.5/0xff` is address `0.0.0.5`, mask `0.0.0.255`); `addr` is already masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Masked {
    /// The address, with the bits outside `mask` cleared.
    pub addr: IpAddr,
    /// The mask, of the same family as `addr`.
    pub mask: IpAddr,
}

impl Masked {
    /// `addr` under `mask`, with the bits outside the mask cleared (as `ipf` loads it).
    /// `None` when the two are of different families.
    pub fn new(addr: IpAddr, mask: IpAddr) -> Option<Masked> {
        let addr = match (addr, mask) {
            (IpAddr::V4(a), IpAddr::V4(m)) => IpAddr::V4((u32::from(a) & u32::from(m)).into()),
            (IpAddr::V6(a), IpAddr::V6(m)) => IpAddr::V6((u128::from(a) & u128::from(m)).into()),
            _ => return None,
        };
        Some(Masked { addr, mask })
    }

    /// The network `addr/len`; `None` when `len` is longer than the family's address.
    pub fn prefix(addr: IpAddr, len: u8) -> Option<Masked> {
        let mask = prefix_mask(addr, len)?;
        Masked::new(addr, mask)
    }

    /// The prefix length, when the mask is contiguous.
    pub fn prefix_len(&self) -> Option<u8> {
        let (bits, width) = match self.mask {
            IpAddr::V4(m) => (u128::from(u32::from(m)) << 96, 32),
            IpAddr::V6(m) => (u128::from(m), 128),
        };
        let ones = bits.leading_ones();
        (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones.min(width) as u8)
    }

    /// The address family.
    pub fn family(&self) -> IpFamily {
        family_of(self.addr)
    }

    /// Whether `addr` is inside.
    pub fn contains(&self, addr: IpAddr) -> bool {
        Masked::new(addr, self.mask).is_some_and(|m| m.addr == self.addr)
    }
}

/// The mask of a `len`-bit prefix in `addr`'s family.
pub fn prefix_mask(addr: IpAddr, len: u8) -> Option<IpAddr> {
    match addr {
        IpAddr::V4(_) if len <= 32 => Some(IpAddr::V4(
            u32::MAX
                .checked_shl(32 - u32::from(len))
                .unwrap_or(0)
                .into(),
        )),
        IpAddr::V6(_) if len <= 128 => Some(IpAddr::V6(
            u128::MAX
                .checked_shl(128 - u32::from(len))
                .unwrap_or(0)
                .into(),
        )),
        _ => None,
    }
}

/// The family of an address.
pub fn family_of(addr: IpAddr) -> IpFamily {
    match addr {
        IpAddr::V4(_) => IpFamily::Inet,
        IpAddr::V6(_) => IpFamily::Inet6,
    }
}

/// Which of an interface's addresses a rule names (`ppp0/32`, `hme0/bcast`, `bge0/net`,
/// `ppp0/peer`, `eri0/netmasked`): resolved by the kernel when the rule is loaded and
/// again when the interface changes, so offline it needs the host's interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterfaceAddr {
    /// `IF/32` (or `/128`): the interface's own address.
    Address,
    /// `IF/bcast` (`/broadcast`): its broadcast address.
    Broadcast,
    /// `IF/net` (`/network`): its network, address and netmask.
    Network,
    /// `IF/netmasked`: its address under its netmask (matches the whole network).
    Netmasked,
    /// `IF/peer`: the far end of a point-to-point link.
    Peer,
    /// `IF/N` with N shorter than an address: the interface's address under an N-bit
    /// mask.
    Prefix(u8),
}

/// The kind of lookup table an address refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// `pool/N`: a radix tree of networks (`type = tree`).
    Tree,
    /// `hash/N`: a hash table of addresses (`type = hash`).
    Hash,
    /// `dstlist/NAME`: a destination list (NAT `rewrite`/`divert` targets).
    DstList,
}

/// A pool's name: IPFilter pools are numbered (`number = 100`) or named (`name = letters`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PoolName {
    /// `number = N`, `pool/N`.
    Number(u32),
    /// `name = NAME`, `pool/NAME`.
    Name(String),
}

/// An address as a rule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `any` (and `0/0`).
    Any,
    /// An address under a mask (`1.2.3.0/24`, `1.2.3.4 mask 255.255.255.0`).
    Net(Masked),
    /// A host name the front end could not resolve offline: the engine's answer for a
    /// packet is Unknown.
    Host {
        /// The name as written.
        name: String,
        /// The mask written after it (`/24`); `None` for a single host.
        prefix: Option<u8>,
    },
    /// One of an interface's addresses (`ppp0/32`, `hme0/bcast`, …).
    Interface {
        /// The interface.
        name: String,
        /// Which of its addresses.
        which: InterfaceAddr,
    },
    /// `<thishost>`: any address of this host.
    ThisHost,
    /// A lookup table defined elsewhere (`pool/100`, `hash/202`, `dstlist/a`).
    Pool {
        /// Its kind.
        kind: PoolKind,
        /// Its name or number.
        name: PoolName,
    },
    /// A pool written in the rule (`pool = (!1.1.1.1, 2.2.0.0/16)`), kept with its entries.
    InlinePool(Vec<pool::PoolEntry>),
    /// A hash table written in the rule (`hash = (127.0.0.1, 4.4.0.0/16)`).
    InlineHash(Vec<pool::PoolEntry>),
}

/// A port comparison (`port = 80`, `port != 22`, `port < 1024`, `port gt 1024`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortOp {
    /// `=` / `eq`.
    Eq,
    /// `!=` / `ne`.
    Ne,
    /// `<` / `lt`.
    Lt,
    /// `>` / `gt`.
    Gt,
    /// `<=` / `le`.
    Le,
    /// `>=` / `ge`.
    Ge,
}

/// Which ports of a range match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `low >< high`: strictly between (exclusive).
    Inside,
    /// `low <> high`: strictly outside (`< low` or `> high`).
    Outside,
    /// `low:high`: between, both ends included.
    Inclusive,
}

/// A port match on the source or destination side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortMatch {
    /// A comparison with one port.
    Cmp {
        /// The operator.
        op: PortOp,
        /// The port.
        port: u16,
    },
    /// A range.
    Range {
        /// Inside, outside or inclusive.
        op: RangeOp,
        /// The low end as written.
        low: u16,
        /// The high end as written.
        high: u16,
    },
}

impl PortMatch {
    /// Whether `port` matches.
    pub fn matches(&self, port: u16) -> bool {
        match *self {
            PortMatch::Cmp { op, port: p } => match op {
                PortOp::Eq => port == p,
                PortOp::Ne => port != p,
                PortOp::Lt => port < p,
                PortOp::Gt => port > p,
                PortOp::Le => port <= p,
                PortOp::Ge => port >= p,
            },
            PortMatch::Range { op, low, high } => match op {
                RangeOp::Inside => port > low && port < high,
                RangeOp::Outside => port < low || port > high,
                RangeOp::Inclusive => port >= low && port <= high,
            },
        }
    }
}

/// One side of `from … to …`: an address (maybe negated) and maybe a port match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `!` before the address: matches every address but these.
    pub negated: bool,
    /// The address.
    pub addr: Addr,
    /// The port match, when written.
    pub port: Option<PortMatch>,
}

impl Endpoint {
    /// `any`, with no port.
    pub fn any() -> Endpoint {
        Endpoint {
            negated: false,
            addr: Addr::Any,
            port: None,
        }
    }
}

/// The protocol a rule matches (`proto tcp`, `proto 17`, `proto tcp/udp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// One IP protocol number.
    Number(u8),
    /// `tcp/udp` (`tcp-udp`, `tcpudp`): either.
    TcpUdp,
}

impl Proto {
    /// TCP.
    pub const TCP: Proto = Proto::Number(6);
    /// UDP.
    pub const UDP: Proto = Proto::Number(17);
    /// ICMP.
    pub const ICMP: Proto = Proto::Number(1);
    /// ICMPv6.
    pub const ICMPV6: Proto = Proto::Number(58);

    /// Whether `number` is matched.
    pub fn matches(&self, number: u8) -> bool {
        match *self {
            Proto::Number(n) => n == number,
            Proto::TcpUdp => number == 6 || number == 17,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn masks_need_not_be_prefixes() {
        let m = Masked::new(ip("10.0.0.5"), ip("0.0.0.255")).unwrap();
        assert_eq!(m.addr, ip("0.0.0.5"));
        assert_eq!(m.prefix_len(), None);
        assert!(m.contains(ip("192.168.1.5")));
        assert!(!m.contains(ip("192.168.1.6")));
        let p = Masked::prefix(ip("10.1.2.3"), 8).unwrap();
        assert_eq!((p.addr, p.prefix_len()), (ip("10.0.0.0"), Some(8)));
        assert_eq!(
            Masked::prefix(ip("::1"), 128).unwrap().prefix_len(),
            Some(128)
        );
        assert_eq!(Masked::prefix(ip("::"), 0).unwrap().prefix_len(), Some(0));
        assert_eq!(Masked::prefix(ip("1.2.3.4"), 33), None);
        assert_eq!(Masked::new(ip("1.2.3.4"), ip("::")), None);
        assert!(
            !p.contains(ip("::a01:203")),
            "another family is never inside"
        );
    }

    #[test]
    fn port_ranges_follow_ipf5() {
        let inside = PortMatch::Range {
            op: RangeOp::Inside,
            low: 1,
            high: 3,
        };
        let outside = PortMatch::Range {
            op: RangeOp::Outside,
            low: 1,
            high: 3,
        };
        let inclusive = PortMatch::Range {
            op: RangeOp::Inclusive,
            low: 1,
            high: 3,
        };
        assert_eq!(
            (0..=4).map(|p| inside.matches(p)).collect::<Vec<_>>(),
            [false, false, true, false, false]
        );
        assert_eq!(
            (0..=4).map(|p| outside.matches(p)).collect::<Vec<_>>(),
            [true, false, false, false, true]
        );
        assert_eq!(
            (0..=4).map(|p| inclusive.matches(p)).collect::<Vec<_>>(),
            [false, true, true, true, false]
        );
        assert!(Proto::TcpUdp.matches(17) && !Proto::TcpUdp.matches(1));
    }
}
