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
    /// `ipf_fastroute` for a packet coming in that a rule with a `to` passed, or a
    /// state entry such a rule made: where it leaves. A rule without `keep state` picks
    /// from its destination list now; one with it picked when its entry was made
    /// (`ipf_state_add`), and the entry's packets go where it says (`is_tifs`). On the
    /// way out the packet is checked against the state table on its new interface
    /// (`ipf_state_check`); NAT and accounting there are not modelled, so with NAT or
    /// accounting rules loaded the answer is Unknown.
    pub(super) fn fastroute(
        &self,
        pkt: &super::Pkt<'_>,
        pass: u32,
        check: &mut super::Check,
        tables: &mut super::IpfState,
    ) {
        let index = match check.decided {
            super::Decided::Rule { index, .. } => index,
            super::Decided::State {
                created_by: Some(index),
            } => index,
            _ => return,
        };
        let rule = &self.lists.rules[index];
        if !super::fr::is_pass(pass) || rule.fastroute {
            return;
        }
        if pkt.out {
            // `ipf_check` sends a packet going out to `ipf_fastroute` too when its rule
            // (or state entry) names a `to`: not modelled, so Unknown.
            if rule.route_to.is_some() || rule.reply_to.is_some() {
                check.undetermined = check
                    .undetermined
                    .take()
                    .or(Some(unmodelled("the `to` of a packet going out")));
            }
            return;
        }
        let destination = match self.destination(index, pkt, check, tables) {
            Ok(Some(interface)) => interface,
            Ok(None) => return,
            Err(u) => {
                check.undetermined = check.undetermined.take().or(Some(u));
                return;
            }
        };
        let accounting = self
            .lists
            .rules
            .iter()
            .any(|r| r.action == model::ipf::filter::Action::Count);
        let icmp = pkt.fin.p == 1 || pkt.fin.p == 58;
        if !self.nat.rules.is_empty() || accounting || (icmp && !tables.state.entries.is_empty()) {
            check.undetermined = check.undetermined.take().or(Some(unmodelled(
                "the checks of a packet a `to` rule sends out",
            )));
            return;
        }
        if self.flags[index] & super::fr::RETMASK == 0 {
            let mut fin = pkt.fin.clone();
            fin.flx &= !super::flx::STATE;
            let hit = tables
                .state
                .lookup(&mut fin, &pkt.bytes, true, &destination, &mut |_| false);
            if let Some(hit) = hit {
                tables.state.count(hit, &fin, true);
            }
        }
        let mut bytes = pkt.bytes.clone();
        if pkt.fin.v == 4 && bytes.len() >= 12 {
            bytes[10] = 0;
            bytes[11] = 0;
        }
        check.forwarded = Some(Forwarded {
            interface: destination,
            bytes,
        });
    }

    /// The interface the packet leaves by: the state entry's when one passed it (and
    /// the one it is given when this packet made it), else the rule's `to`.
    fn destination(
        &self,
        index: usize,
        pkt: &super::Pkt<'_>,
        check: &super::Check,
        tables: &mut super::IpfState,
    ) -> Result<Option<String>, Undecidable> {
        let rule = &self.lists.rules[index];
        let by_state = matches!(check.decided, super::Decided::State { .. });
        if let Some(hit) = pkt.state_hit.filter(|_| by_state) {
            let entry = &tables.state.entries[hit.index];
            return Ok(entry.to[usize::from(hit.rev)].clone());
        }
        if check.keeps_state {
            let to = self.pick(rule.route_to.as_ref(), pkt, tables)?;
            let reply_to = self.pick(rule.reply_to.as_ref(), pkt, tables)?;
            if let Some(entry) = tables.state.entries.last_mut() {
                entry.to = [to.clone(), reply_to];
            }
            return Ok(to);
        }
        self.pick(rule.route_to.as_ref(), pkt, tables)
    }

    /// The interface `route` names, or its destination list picks (a destination with
    /// no interface leaves by the packet's own, as `ipf_dstlist_select_node` has it).
    fn pick(
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
            pkt.fin.v == 6,
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
