//! Destination lists (`pool ipf/dstlist` in `ippool.conf`) and the `to` of a rule that
//! passes a packet coming in: `ipf_check` hands the packet to `ipf_fastroute`
//! (`ip_fil.c`), which sends it out of the rule's interface, or of the one its
//! destination list picks (`ipf_dstlist_select_node` in `ip_dstlist.c`), and ipftest
//! prints it as it leaves.

use std::collections::HashMap;

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
/// (`ipld_selected`) and each destination's count of picks (`ipfd_states`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DstListState {
    selected: HashMap<String, usize>,
    picks: HashMap<(String, usize), u32>,
}

/// A packet `ipf_fastroute` sent out.
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded {
    /// The interface it left by.
    pub interface: String,
    /// The packet as it left (`ipf_fastroute` zeroes an IPv4 header checksum).
    pub bytes: Vec<u8>,
}

fn unmodelled(name: &str) -> Undecidable {
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
    /// `nat` for NAT rules; `all` serves both) picks for a packet of the family `v6`;
    /// `Ok(None)` when the list is empty or its pick is of the other family.
    /// Round-robin takes the one after the last pick; weighted connection the next
    /// with the fewest picks. The random and hashed policies are Unknown.
    pub fn select(
        &self,
        role: PoolRole,
        name: &str,
        v6: bool,
        state: &mut DstListState,
    ) -> Result<Option<Destination>, Undecidable> {
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

impl super::Ipf {
    /// `ipf_fastroute` for a packet coming in that the rule `check` names passed with
    /// a `to`: where it leaves. The checks `ipf_fastroute` makes on the way out (state,
    /// NAT and accounting on the new interface) are not modelled: with NAT rules,
    /// accounting rules or state entries loaded, the answer is Unknown; so is a
    /// destination list with `keep state`, where the state entry picks.
    pub(super) fn fastroute(
        &self,
        pkt: &super::Pkt<'_>,
        pass: u32,
        check: &mut super::Check,
        tables: &mut super::IpfState,
    ) {
        let super::Decided::Rule { index, .. } = check.decided else {
            return;
        };
        let rule = &self.lists.rules[index];
        let Some(to) = &rule.route_to else { return };
        if pkt.out || !super::fr::is_pass(pass) || rule.fastroute {
            return;
        }
        if to.interface == "-" && !to.dstlist {
            return;
        }
        let accounting = self
            .lists
            .rules
            .iter()
            .any(|r| r.action == model::ipf::filter::Action::Count);
        if !self.nat.rules.is_empty() || accounting || !tables.state.entries.is_empty() {
            check.undetermined = check.undetermined.take().or(Some(unmodelled(
                "the checks of a packet a `to` rule sends out",
            )));
            return;
        }
        let interface = if to.dstlist {
            if pass & super::fr::KEEPSTATE != 0 {
                check.undetermined = check
                    .undetermined
                    .take()
                    .or(Some(unmodelled("`to dstlist/…` with `keep state`")));
                return;
            }
            let picked = self.pools.dstlists().select(
                PoolRole::Ipf,
                &to.interface,
                pkt.fin.v == 6,
                &mut tables.dstlists,
            );
            match picked {
                Ok(Some(d)) => d.interface.unwrap_or_else(|| pkt.interface.to_string()),
                Ok(None) => return,
                Err(u) => {
                    check.undetermined = check.undetermined.take().or(Some(u));
                    return;
                }
            }
        } else {
            to.interface.clone()
        };
        let mut bytes = pkt.bytes.clone();
        if pkt.fin.v == 4 && bytes.len() >= 12 {
            bytes[10] = 0;
            bytes[11] = 0;
        }
        check.forwarded = Some(Forwarded { interface, bytes });
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

    fn picks(lists: &DstLists, n: usize) -> Vec<Option<IpAddr>> {
        let mut state = DstListState::default();
        (0..n)
            .map(|_| {
                lists
                    .select(PoolRole::Ipf, "spread", false, &mut state)
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

    #[test]
    fn round_robin_starts_at_the_first_and_wraps() {
        let got = picks(&lists(DstListPolicy::RoundRobin), 4);
        assert_eq!(got, addrs(&["1.1.0.2", "1.1.1.2", "1.1.2.2", "1.1.0.2"]));
    }

    #[test]
    fn random_policy_is_unknown() {
        let mut state = DstListState::default();
        assert!(lists(DstListPolicy::Random)
            .select(PoolRole::Ipf, "spread", false, &mut state)
            .is_err());
    }

    #[test]
    fn weighted_connection_takes_the_next_with_fewest_picks() {
        let got = picks(&lists(DstListPolicy::WeightedConnection), 5);
        let want = addrs(&["1.1.0.2", "1.1.1.2", "1.1.2.2", "1.1.0.2", "1.1.1.2"]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_list_serves_only_its_role() {
        let mut state = DstListState::default();
        assert!(lists(DstListPolicy::RoundRobin)
            .select(PoolRole::Nat, "spread", false, &mut state)
            .is_err());
    }
}
