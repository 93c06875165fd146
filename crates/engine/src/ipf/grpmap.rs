//! Group maps (`group-map in|out` in `ippool.conf`) as `call now srcgrpmap/N` and
//! `call now dstgrpmap/N` use them (`ipf_srcgrpmap`, `ipf_dstgrpmap` in `fil.c`): the
//! packet's source (or destination) address is looked up in map N
//! (`ipf_iphmfindgroup`), and the rule group its entry names is read as if its rules
//! stood in place of the call.

use std::net::IpAddr;

use model::expr::{Undecidable, Unmodelled};
use model::ipf::pool::{PoolDef, PoolEntry, PoolRole};
use model::ipf::{PoolName, Pools};

/// The loaded group maps of the filter (`role = ipf` or `all`).
#[derive(Debug, Clone, Default)]
pub struct GroupMaps {
    maps: Vec<Map>,
}

#[derive(Debug, Clone)]
struct Map {
    number: PoolName,
    incoming: bool,
    entries: Vec<PoolEntry>,
}

/// Where a `call now` to a group map sends the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedGroup {
    /// The group's name.
    pub group: String,
    /// The group is one of `in` rules (`group-map in`); `ipf_group_add` files it so.
    pub incoming: bool,
}

impl GroupMaps {
    /// The group maps of `pools`.
    pub fn new(pools: &Pools) -> GroupMaps {
        let maps = pools
            .defs
            .iter()
            .filter_map(|def| match def {
                PoolDef::GroupMap(g) if matches!(g.role, PoolRole::Ipf | PoolRole::All) => {
                    Some(Map {
                        number: g.name.clone(),
                        incoming: g.incoming,
                        entries: g.entries.clone(),
                    })
                }
                _ => None,
            })
            .collect();
        GroupMaps { maps }
    }

    /// The group `call now FUNCTION/NUMBER` sends a packet from `src` to `dst` to;
    /// `Ok(None)` when no entry holds its address (`ipf_srcgrpmap` returns NULL and the
    /// rule is passed over). Unknown for other functions, for a map not loaded, and for
    /// IPv6 (the functions look up `fin_src`/`fin_dst` as IPv4 addresses).
    pub fn call_now(
        &self,
        function: &str,
        number: u32,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<Option<MappedGroup>, Undecidable> {
        let unsupported = |name: String| {
            Undecidable::Unsupported(Unmodelled {
                name,
                needs_conntrack: false,
            })
        };
        let addr = match function {
            "srcgrpmap" => src,
            "dstgrpmap" => dst,
            other => return Err(unsupported(format!("call now {other}/{number}"))),
        };
        if addr.is_ipv6() {
            return Err(unsupported(format!("call now {function}/{number} on IPv6")));
        }
        let map = self
            .maps
            .iter()
            .find(|m| m.number == PoolName::Number(number))
            .ok_or_else(|| Undecidable::SetUndefined(format!("group-map {number}")))?;
        Ok(longest_entry(&map.entries, addr).and_then(|e| {
            e.group.clone().map(|group| MappedGroup {
                group,
                incoming: map.incoming,
            })
        }))
    }
}

/// `ipf_iphmfind`: the entry under the longest mask that holds `addr` (the table's
/// masks are tried longest first).
fn longest_entry(entries: &[PoolEntry], addr: IpAddr) -> Option<&PoolEntry> {
    entries
        .iter()
        .filter(|e| e.net.contains(addr))
        .max_by_key(|e| match e.net.mask {
            IpAddr::V4(m) => u32::from(m).count_ones(),
            IpAddr::V6(m) => u128::from(m).count_ones(),
        })
}

/// How many group-map entries of `pools` name `group` in that direction: each entry
/// holds a reference to its group (`ipf_group_add` from `ipf_htent_insert`).
pub fn entries_naming(pools: &Pools, group: &str, incoming: bool) -> u32 {
    let count = pools
        .defs
        .iter()
        .filter_map(|def| match def {
            PoolDef::GroupMap(g) if g.incoming == incoming => Some(&g.entries),
            _ => None,
        })
        .flatten()
        .filter(|e| e.group.as_deref() == Some(group))
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// What a matched rule amounts to in `ipf_scanlist`.
pub(super) enum Called {
    /// Not a `call now` to a group map: the rule itself.
    Itself,
    /// The call found no group, or no rule there matched: the rule is passed over.
    PassedOver,
    /// The last rule that matched in the group the call read: it takes the call's place.
    Rule(usize),
    /// The call cannot be decided offline.
    Unknown(Undecidable),
}

impl super::Ipf {
    /// `call now srcgrpmap/N` / `dstgrpmap/N`, matched by the packet: counts the hit
    /// (`ipf_scanlist` does before calling), reads the mapped group with the call's
    /// flags, and hands back the group's last matching rule. A rule that keeps state
    /// there is Unknown: the group's scan adds the entry and the caller's would again.
    pub(super) fn call_now(
        &self,
        index: usize,
        pkt: &mut super::Pkt<'_>,
        depth: u32,
        tables: &mut super::IpfState,
        check: &mut super::Check,
    ) -> Called {
        let model::ipf::filter::Action::Call {
            now: true,
            function,
            arg,
        } = &self.lists.rules[index].action
        else {
            return Called::Itself;
        };
        if !matches!(function.as_str(), "srcgrpmap" | "dstgrpmap") {
            return Called::Itself;
        }
        tables.hits[index] += 1;
        let mapped =
            match self
                .pools
                .group_maps()
                .call_now(function, *arg, pkt.fin.src, pkt.fin.dst)
            {
                Ok(Some(mapped)) => mapped,
                Ok(None) => return Called::PassedOver,
                Err(u) => return Called::Unknown(u),
            };
        let key = super::rules::ListKey {
            out: !mapped.incoming,
            accounting: false,
            group: Some(mapped.group.clone()),
        };
        check.steps.push(crate::bsd::Step::EnterGroup {
            group: std::sync::Arc::from(mapped.group.as_str()),
        });
        let inner = self.scan(&key, pkt, self.flags[index], depth + 1, tables, check);
        if let Some(u) = inner.unknown {
            return Called::Unknown(u);
        }
        match inner.rule {
            None => Called::PassedOver,
            Some((found, _)) if self.flags[found] & super::fr::KEEPSTATE != 0 => {
                Called::Unknown(Undecidable::Unsupported(Unmodelled {
                    name: "a rule keeping state in a group a group map calls".into(),
                    needs_conntrack: true,
                }))
            }
            Some((found, _)) => Called::Rule(found),
        }
    }
}

/// The rule groups in the order `ipf_group_add` created them: those group maps name,
/// as `ippool` loaded them (before any rule), then `groups` (those head rules made).
pub fn groups_in_creation_order(
    pools: &Pools,
    groups: &[super::rules::ListKey],
) -> Vec<super::rules::ListKey> {
    let mut order: Vec<super::rules::ListKey> = Vec::new();
    let mapped = pools.defs.iter().filter_map(|def| match def {
        PoolDef::GroupMap(g) => Some(g.entries.iter().filter_map(move |e| {
            e.group.clone().map(|group| super::rules::ListKey {
                out: !g.incoming,
                accounting: false,
                group: Some(group),
            })
        })),
        _ => None,
    });
    for key in mapped.flatten().chain(groups.iter().cloned()) {
        // One group per name (`ipf_findgroup` looks groups up by name).
        if !order.iter().any(|k| k.group == key.group) {
            order.push(key);
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::ipf::pool::GroupMap;
    use model::ipf::Masked;

    /// p3's `group-map out role = ipf number = 2010 group = 2020
    /// { 2.2.2.2/32; 4.4.0.0/16; 5.0.0.0/8, group = 2040; };`, with a longer
    /// 5.5.0.0/16 entry added.
    fn maps() -> GroupMaps {
        let entry = |net: &str, len: u8, group: &str| PoolEntry {
            negated: false,
            net: Masked::prefix(net.parse().expect("address"), len).expect("prefix"),
            group: Some(group.to_string()),
        };
        GroupMaps::new(&Pools {
            defs: vec![PoolDef::GroupMap(GroupMap {
                origin: model::Origin::default(),
                incoming: false,
                role: PoolRole::Ipf,
                name: PoolName::Number(2010),
                size: None,
                group: Some("2020".into()),
                entries: vec![
                    entry("2.2.2.2", 32, "2020"),
                    entry("5.0.0.0", 8, "2040"),
                    entry("5.5.0.0", 16, "2050"),
                ],
            })],
        })
    }

    fn group_of(dst: &str) -> Result<Option<String>, Undecidable> {
        let src: IpAddr = "9.9.9.9".parse().expect("address");
        let dst: IpAddr = dst.parse().expect("address");
        maps()
            .call_now("dstgrpmap", 2010, src, dst)
            .map(|m| m.map(|m| m.group))
    }

    #[test]
    fn the_longest_entry_names_the_group() {
        assert_eq!(group_of("2.2.2.2"), Ok(Some("2020".into())));
        assert_eq!(group_of("5.1.1.1"), Ok(Some("2040".into())));
        assert_eq!(group_of("5.5.1.1"), Ok(Some("2050".into())));
        assert_eq!(group_of("6.6.6.6"), Ok(None));
    }

    #[test]
    fn other_maps_functions_and_ipv6_are_unknown() {
        let (a, b): (IpAddr, IpAddr) = ("1.1.1.1".parse().unwrap(), "2.2.2.2".parse().unwrap());
        assert!(maps().call_now("dstgrpmap", 1, a, b).is_err());
        assert!(maps().call_now("fastroute", 2010, a, b).is_err());
        let v6: IpAddr = "::1".parse().unwrap();
        assert!(maps().call_now("dstgrpmap", 2010, v6, v6).is_err());
    }
}
