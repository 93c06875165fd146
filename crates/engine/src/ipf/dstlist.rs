//! Destination lists (`pool ipf/dstlist` in `ippool.conf`): the one a rule's `to` or a
//! NAT rule's `dst dstlist/NAME` names picks a destination (`ipf_dstlist_select_node`
//! in `ip_dstlist.c`); `fastroute.rs` sends the packet there.

use std::collections::HashMap;
use std::net::IpAddr;

use md5::{Digest, Md5};

use model::expr::{Undecidable, Unmodelled};
use model::ipf::pool::{Destination, DstListPolicy, PoolDef, PoolRole};
use model::ipf::{PoolName, Pools};

/// The loaded destination lists.
#[derive(Debug, Clone, Default)]
pub struct DstLists {
    lists: Vec<List>,
}

#[derive(Debug, Clone)]
struct List {
    role: PoolRole,
    name: String,
    policy: Option<DstListPolicy>,
    destinations: Vec<Destination>,
}

/// What the lists remember between packets: the last destination each picked
/// (`ipld_selected`), each destination's count of picks (`ipfd_states`) and each
/// list's hash seed (`ipld_seed`), known only where `ipf_random` is (ipftest's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DstListState {
    selected: HashMap<String, usize>,
    picks: HashMap<(String, usize), u32>,
    seeds: HashMap<String, u32>,
}

/// A packet `ipf_fastroute` sent out.
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded {
    /// The interface it left by.
    pub interface: String,
    /// The packet as it left (`ipf_fastroute` zeroes an IPv4 header checksum).
    pub bytes: Vec<u8>,
}

pub(super) fn unmodelled(name: &str) -> Undecidable {
    Undecidable::Unsupported(Unmodelled {
        name: name.to_string(),
        needs_conntrack: false,
    })
}

impl DstLists {
    /// The destination lists of `pools`.
    pub fn new(pools: &Pools) -> DstLists {
        let lists = pools
            .defs
            .iter()
            .filter_map(|def| match def {
                PoolDef::DstList(d) => Some(List {
                    role: d.role,
                    name: match &d.name {
                        PoolName::Number(n) => n.to_string(),
                        PoolName::Name(n) => n.clone(),
                    },
                    policy: d.policy,
                    destinations: d.destinations.clone(),
                }),
                _ => None,
            })
            .collect();
        DstLists { lists }
    }

    /// `ipf_dstlist_select`: the destination list `name` of `role` (`ipf` for `to`,
    /// `nat` for NAT rules; `all` serves both) picks for a packet from `packet.0` to
    /// `packet.1`; `Ok(None)` when the list is empty or its pick is of the other family.
    /// Round-robin takes the one after the last pick; weighted connection the next
    /// with the fewest picks; the hashed policies hash the list's seed and the packet's
    /// addresses (Unknown without the seed). The random policy is Unknown.
    pub fn select(
        &self,
        role: PoolRole,
        name: &str,
        packet: (IpAddr, IpAddr),
        state: &mut DstListState,
    ) -> Result<Option<Destination>, Undecidable> {
        let v6 = packet.0.is_ipv6();
        let list = self
            .lists
            .iter()
            .find(|l| l.name == name && (l.role == role || l.role == PoolRole::All))
            .ok_or_else(|| Undecidable::SetUndefined(format!("dstlist/{name}")))?;
        let count = list.destinations.len();
        if count == 0 {
            return Ok(None);
        }
        let last = state.selected.get(name).copied();
        let picked = match list.policy {
            Some(DstListPolicy::RoundRobin) => last.map_or(0, |i| (i + 1) % count),
            Some(DstListPolicy::WeightedConnection) => match last {
                None => 0,
                Some(last) => {
                    let picks = |i: usize| {
                        state
                            .picks
                            .get(&(name.to_string(), i))
                            .copied()
                            .unwrap_or(0)
                    };
                    let mut chosen = last;
                    let mut fewest = u32::MAX;
                    let mut i = (last + 1) % count;
                    while i != last {
                        if picks(i) == 0 {
                            chosen = i;
                            break;
                        }
                        if picks(i) < fewest {
                            chosen = i;
                            fewest = picks(i);
                        }
                        i = (i + 1) % count;
                    }
                    chosen
                }
            },
            Some(
                policy @ (DstListPolicy::Hashed | DstListPolicy::SrcHash | DstListPolicy::DstHash),
            ) => {
                let seed = state
                    .seeds
                    .get(name)
                    .copied()
                    .ok_or_else(|| unmodelled(&format!("dstlist/{name}'s seed")))?;
                hashed_pick(policy, seed, packet, count)
            }
            _ => return Err(unmodelled(&format!("dstlist/{name}'s policy"))),
        };
        let destination = &list.destinations[picked];
        if destination.addr.is_ipv6() != v6 {
            state.selected.remove(name);
            return Ok(None);
        }
        state.selected.insert(name.to_string(), picked);
        *state.picks.entry((name.to_string(), picked)).or_default() += 1;
        Ok(Some(destination.clone()))
    }
}

/// The hashed policies of `ipf_dstlist_select` (`ip_dstlist.c`): MD5 over the seed
/// (`ipld_seed`, host order) and the packet's source and/or destination as
/// `i6addr_t` (16 bytes, an IPv4 address in the first four, the rest zero); the
/// digest's first word in network order, modulo the count, indexes the list.
fn hashed_pick(
    policy: DstListPolicy,
    seed: u32,
    (src, dst): (IpAddr, IpAddr),
    count: usize,
) -> usize {
    let as_i6addr = |addr: IpAddr| -> [u8; 16] {
        match addr {
            IpAddr::V4(a) => {
                let mut bytes = [0u8; 16];
                bytes[..4].copy_from_slice(&a.octets());
                bytes
            }
            IpAddr::V6(a) => a.octets(),
        }
    };
    let mut md5 = Md5::new();
    md5.update(seed.to_ne_bytes());
    if policy != DstListPolicy::DstHash {
        md5.update(as_i6addr(src));
    }
    if policy != DstListPolicy::SrcHash {
        md5.update(as_i6addr(dst));
    }
    let digest = md5.finalize();
    let word = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    word as usize % count
}

impl super::Ipf {
    /// ipftest's destination lists take their seeds from its fixed `ipf_random`
    /// sequence as they are loaded (`ipf_dstlist_table_add`), before any packet: each
    /// list draws one, in load order. Outside ipftest the seeds stay unknown.
    pub fn seed_dstlists_for_ipftest(&self, tables: &mut super::IpfState) {
        let Some(random) = tables.nat.ipftest_random.as_mut() else {
            return;
        };
        for list in &self.pools.dstlists().lists {
            let seed = random.draw();
            tables.dstlists.seeds.insert(list.name.clone(), seed);
            tables.nat.dstlists.seeds.insert(list.name.clone(), seed);
        }
    }

    /// The interface `route` names, or its destination list picks (a destination with
    /// no interface leaves by the packet's own, as `ipf_dstlist_select_node` has it).
    pub(super) fn pick(
        &self,
        route: Option<&model::ipf::filter::RouteTo>,
        pkt: &super::Pkt<'_>,
        tables: &mut super::IpfState,
    ) -> Result<Option<String>, Undecidable> {
        let Some(route) = route else { return Ok(None) };
        if !route.dstlist {
            return Ok((route.interface != "-").then(|| route.interface.clone()));
        }
        let picked = self.pools.dstlists().select(
            PoolRole::Ipf,
            &route.interface,
            (pkt.fin.src, pkt.fin.dst),
            &mut tables.dstlists,
        )?;
        Ok(picked.map(|d| d.interface.unwrap_or_else(|| pkt.interface.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::ipf::pool::DstList;
    use model::Origin;
    use std::net::IpAddr;

    fn lists(policy: DstListPolicy) -> DstLists {
        let destinations = ["nic0:1.1.0.2", "nic1:1.1.1.2", "1.1.2.2"]
            .iter()
            .map(|d| match d.split_once(':') {
                Some((i, a)) => Destination {
                    interface: Some(i.to_string()),
                    addr: a.parse().expect("address"),
                },
                None => Destination {
                    interface: None,
                    addr: d.parse().expect("address"),
                },
            })
            .collect();
        DstLists::new(&Pools {
            defs: vec![PoolDef::DstList(DstList {
                origin: Origin::default(),
                role: PoolRole::Ipf,
                name: PoolName::Name("spread".into()),
                policy: Some(policy),
                destinations,
            })],
        })
    }

    fn flow(src: &str, dst: &str) -> (IpAddr, IpAddr) {
        (src.parse().expect("address"), dst.parse().expect("address"))
    }

    fn picks(lists: &DstLists, n: usize) -> Vec<Option<IpAddr>> {
        let mut state = DstListState::default();
        (0..n)
            .map(|_| {
                lists
                    .select(
                        PoolRole::Ipf,
                        "spread",
                        flow("5.5.5.5", "9.9.9.9"),
                        &mut state,
                    )
                    .expect("decidable")
                    .map(|d| d.addr)
            })
            .collect()
    }

    fn addrs(list: &[&str]) -> Vec<Option<IpAddr>> {
        list.iter()
            .map(|a| Some(a.parse().expect("address")))
            .collect()
    }

    /// `spread` of `policy`, asked for by `role`, cannot answer.
    fn assert_unknown(policy: DstListPolicy, role: PoolRole) {
        let mut state = DstListState::default();
        let picked = lists(policy).select(role, "spread", flow("5.5.5.5", "9.9.9.9"), &mut state);
        assert!(picked.is_err(), "{picked:?}");
    }

    #[test]
    fn round_robin_starts_at_the_first_and_wraps() {
        let got = picks(&lists(DstListPolicy::RoundRobin), 4);
        assert_eq!(got, addrs(&["1.1.0.2", "1.1.1.2", "1.1.2.2", "1.1.0.2"]));
    }

    #[test]
    fn random_policy_is_unknown() {
        assert_unknown(DstListPolicy::Random, PoolRole::Ipf);
    }

    #[test]
    fn weighted_connection_takes_the_next_with_fewest_picks() {
        let got = picks(&lists(DstListPolicy::WeightedConnection), 5);
        let want = addrs(&["1.1.0.2", "1.1.1.2", "1.1.2.2", "1.1.0.2", "1.1.1.2"]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_list_serves_only_its_role() {
        assert_unknown(DstListPolicy::RoundRobin, PoolRole::Nat);
    }

    #[test]
    fn a_hashed_list_without_its_seed_is_unknown() {
        assert_unknown(DstListPolicy::Hashed, PoolRole::Ipf);
    }

    /// The seed 0 and the picks of the regression suite's p10 and p12
    /// (`expected/p10`, `expected/p12`: four destinations, seed from the first draw).
    #[test]
    fn hashed_picks_follow_md5_of_seed_and_addresses() {
        let four = |policy| {
            DstLists::new(&Pools {
                defs: vec![PoolDef::DstList(DstList {
                    origin: Origin::default(),
                    role: PoolRole::Nat,
                    name: PoolName::Name("servers".into()),
                    policy: Some(policy),
                    destinations: ["1.1.1.2", "1.1.1.4", "1.1.1.5", "1.1.1.9"]
                        .iter()
                        .map(|a| Destination {
                            interface: None,
                            addr: a.parse().expect("address"),
                        })
                        .collect(),
                })],
            })
        };
        let run = |policy, sources: &[&str]| -> Vec<Option<IpAddr>> {
            let mut state = DstListState::default();
            state.seeds.insert("servers".into(), 0);
            sources
                .iter()
                .map(|src| {
                    four(policy)
                        .select(PoolRole::Nat, "servers", flow(src, "9.9.9.9"), &mut state)
                        .expect("decidable")
                        .map(|d| d.addr)
                })
                .collect()
        };
        let sources = ["5.5.5.5", "5.5.5.7", "5.5.6.7", "5.5.6.8"];
        let both = run(DstListPolicy::Hashed, &sources);
        assert_eq!(both, addrs(&["1.1.1.5", "1.1.1.2", "1.1.1.4", "1.1.1.9"]));
        let by_source = run(DstListPolicy::SrcHash, &sources);
        assert_eq!(
            by_source,
            addrs(&["1.1.1.2", "1.1.1.4", "1.1.1.4", "1.1.1.4"])
        );
    }
}
