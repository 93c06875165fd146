//! pf's address translation: `nat-to` (source) and `rdr-to` (destination) on a rule,
//! as OpenBSD `sys/net/pf_lb.c` `pf_get_transaddr` applies them, and the same pools for
//! FreeBSD's older `nat`/`rdr`/`binat` rules (`pf_get_translation`).
//!
//! - `pf_get_transaddr` does not look at the direction: `nat-to` rewrites the source and
//!   `rdr-to` the destination wherever the rule matches (pf.conf(5): nat-to "is usually
//!   applied outbound", rdr-to "inbound").
//! - The address (`pf_map_addr`): a single address is itself; `bitmask` keeps the host
//!   part of the original address under the pool's network. For the other pool types
//!   (round-robin, random, source-hash, least-states, several addresses or a table) pf's
//!   choice depends on run-time counters or hashes: the first address of the pool is taken,
//!   the choice pf's first connection makes for round-robin.
//! - `(if)` and interface names take the interface's first address of the packet's family
//!   from the host; without the host's addresses the translation is Unknown.
//! - Ports: `nat-to` picks a free source port at random in 50001–65535
//!   (`PF_NAT_PROXY_PORT_LOW`/`HIGH`, `pf_get_sport`) unless `static-port` or a single
//!   `port N` is given; the random port is not predictable, so the packet keeps its port and
//!   the [`Rewrite`] says `None` for it. `rdr-to … port N` sets N; a range `N:M` maps the
//!   original port's offset from the rule's first destination port into it (`(dport -
//!   dst.port[0]) % (M - N + 1) + N`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use model::expr::Undecidable;
use model::pf::{Host as PfHost, NumOp, Pool, PoolType};
use model::Packet;

use super::addr::{Resolver, TableContents};
use crate::bsd::{Rewrite, RuleId};

/// The address pool `pool` gives for a packet whose translated address is `original`.
fn pool_address(
    resolver: &Resolver<'_>,
    pool: &Pool,
    original: IpAddr,
) -> Result<IpAddr, Undecidable> {
    let bitmask = pool.kind == Some(PoolType::Bitmask);
    for member in &pool.hosts {
        let chosen = match &member.host {
            PfHost::Network { addr, prefix } => {
                if addr.is_ipv4() != original.is_ipv4() {
                    continue;
                }
                if bitmask {
                    Some(keep_host_part(*addr, *prefix, original))
                } else {
                    Some(*addr)
                }
            }
            PfHost::Range(lo, _) if lo.is_ipv4() == original.is_ipv4() => Some(*lo),
            PfHost::Dynamic { interface, .. }
            | PfHost::InterfaceName {
                name: interface, ..
            } => first_address(resolver, interface, original)?,
            PfHost::Table(name) => Some(first_in_table(resolver, name, original)?),
            _ => None,
        };
        if let Some(address) = chosen {
            return Ok(address);
        }
    }
    Err(Undecidable::AddressTypeUnknown)
}

/// `PF_POOLMASK`: the pool's network bits, the original's host bits.
fn keep_host_part(net: IpAddr, prefix: u8, original: IpAddr) -> IpAddr {
    match (IpNet::new(net, prefix), net, original) {
        (Ok(IpNet::V4(n)), _, IpAddr::V4(o)) => {
            let mask = u32::from(n.netmask());
            IpAddr::V4(Ipv4Addr::from(
                (u32::from(n.network()) & mask) | (u32::from(o) & !mask),
            ))
        }
        (Ok(IpNet::V6(n)), _, IpAddr::V6(o)) => {
            let mask = u128::from(n.netmask());
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(n.network()) & mask) | (u128::from(o) & !mask),
            ))
        }
        _ => net,
    }
}

/// A table pool's first address of `original`'s family (pfctl turns an address list
/// into such a table, `__automatic_N`).
fn first_in_table(
    resolver: &Resolver<'_>,
    name: &str,
    original: IpAddr,
) -> Result<IpAddr, Undecidable> {
    let undefined = || Undecidable::SetUndefined(name.to_string());
    let Some(TableContents::Known(entries)) = resolver.tables.get(name) else {
        return Err(undefined());
    };
    entries
        .iter()
        .find_map(|entry| match entry.host {
            PfHost::Network { addr, .. }
                if !entry.negated && addr.is_ipv4() == original.is_ipv4() =>
            {
                Some(addr)
            }
            _ => None,
        })
        .ok_or_else(undefined)
}

/// The interface's first address of `original`'s family.
fn first_address(
    resolver: &Resolver<'_>,
    interface: &str,
    original: IpAddr,
) -> Result<Option<IpAddr>, Undecidable> {
    let host = resolver
        .host
        .filter(|h| h.known.addresses)
        .ok_or(Undecidable::AddressTypeUnknown)?;
    for iface in &host.interfaces {
        if resolver.interface_matches(interface, &iface.name)? {
            if let Some(a) = iface
                .addrs
                .iter()
                .find(|a| a.addr.is_ipv4() == original.is_ipv4())
            {
                return Ok(Some(a.addr));
            }
        }
    }
    Ok(None)
}

/// `nat-to POOL`: rewrites `packet`'s source; the rewrite is returned for the report.
pub fn source(
    resolver: &Resolver<'_>,
    by: &RuleId,
    pool: &Pool,
    packet: &mut Packet,
) -> Result<Rewrite, Undecidable> {
    let address = pool_address(resolver, pool, packet.src)?;
    let new_port = match (packet.l4.ports(), pool.ports) {
        (None, _) => None,
        (Some((s, _)), _) if pool.static_port => Some(s),
        (Some(_), Some((lo, hi))) if lo == hi => Some(lo),
        // A random free port in the range (or pf's 50001–65535): not predictable.
        (Some(_), _) => None,
    };
    Ok(rewrite(by, true, packet, address, new_port))
}

/// `rdr-to POOL`: rewrites `packet`'s destination; `rule_dport` is the rule's
/// destination port test (its first port anchors a port range).
pub fn destination(
    resolver: &Resolver<'_>,
    by: &RuleId,
    pool: &Pool,
    rule_dport: Option<NumOp>,
    packet: &mut Packet,
) -> Result<Rewrite, Undecidable> {
    let address = pool_address(resolver, pool, packet.dst)?;
    let new_port = match (packet.l4.ports(), pool.ports) {
        (Some((_, d)), None) => Some(d),
        (Some((_, d)), Some((lo, hi))) if hi > lo => {
            let first = match rule_dport {
                Some(NumOp::Eq(p) | NumOp::Range(p, _) | NumOp::Ge(p)) => p,
                _ => u32::from(d),
            };
            let span = u32::from(hi - lo) + 1;
            let offset = u32::from(d).wrapping_sub(first) % span;
            u16::try_from(u32::from(lo) + offset).ok()
        }
        (Some(_), Some((lo, _))) => Some(lo),
        (None, _) => None,
    };
    Ok(rewrite(by, false, packet, address, new_port))
}

/// Sets the source (or destination) address and, when known, port of `packet`; the
/// rewrite as the report shows it (`None` for a port pf picks at random).
fn rewrite(
    by: &RuleId,
    source: bool,
    packet: &mut Packet,
    address: IpAddr,
    new_port: Option<u16>,
) -> Rewrite {
    let ports = packet.l4.ports();
    let (side, before_port) = if source {
        (&mut packet.src, ports.map(|(s, _)| s))
    } else {
        (&mut packet.dst, ports.map(|(_, d)| d))
    };
    let before = (*side, before_port);
    *side = address;
    if let (Some(port), Some((s, d))) = (new_port, ports) {
        packet.l4 = if source {
            packet.l4.with_ports(port, d)
        } else {
            packet.l4.with_ports(s, port)
        };
    }
    Rewrite {
        by: by.clone(),
        source,
        before,
        after: (address, new_port),
    }
}
