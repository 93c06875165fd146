//! A ruleset made ready for many simulations: the base chains of every hook in the order
//! the kernel runs them, conntrack and the NAT core placed among them, and a name index
//! per table for `jump`/`goto`.
//!
//! Built once ([`Prepared::new`]) and shared by every packet simulated against the same
//! ruleset (the benchmark, the fix search): the packet path then neither sorts nor
//! searches chains by name.
//!
//! Where the kernel places things on a hook (`nf_hook_entries_insert_raw` keeps entries
//! sorted by priority, a later registration after earlier ones of equal priority):
//! - conntrack (`nf_conntrack_in`) at -200 on prerouting and output, after chains of a
//!   lower priority and before those of priority -200 and above;
//! - the NAT core (`nf_nat_inet_fn`) at `NF_IP_PRI_NAT_DST` (-100) on prerouting/output and
//!   `NF_IP_PRI_NAT_SRC` (100) on input/postrouting; every `type nat` chain of the hook
//!   runs *inside* it, in the chains' own priority order (`nf_nat_register_fn` adds them to
//!   the NAT core's private list), so a nat chain's priority orders it only against other
//!   nat chains.

use model::expr::{Key, Pattern, Test, Value};
use model::ruleset::{priority, ChainType, Step};
use model::{ChainRef, Family, Hook, Packet, Rule, Ruleset};
use std::collections::HashMap;
use std::net::IpAddr;

/// Which address the NAT core of a hook rewrites (`enum nf_nat_manip_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Manip {
    /// Source NAT: postrouting and input.
    Src,
    /// Destination NAT: prerouting and output.
    Dst,
}

impl Manip {
    /// The manipulation the NAT core performs on `hook` (`HOOK2MANIP`).
    pub fn of_hook(hook: Hook) -> Option<Manip> {
        match hook {
            Hook::Prerouting | Hook::Output => Some(Manip::Dst),
            Hook::Input | Hook::Postrouting => Some(Manip::Src),
            _ => None,
        }
    }
}

/// One thing registered on a hook, in run order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A base chain (not `type nat`).
    Chain(ChainRef),
    /// `nf_conntrack_in` (prerouting and output, priority -200).
    Conntrack,
    /// The NAT core with the `type nat` chains of this hook, in priority order.
    Nat { manip: Manip, chains: Vec<ChainRef> },
}

/// A ruleset indexed for simulation.
#[derive(Debug, Clone)]
pub struct Prepared<'r> {
    pub ruleset: &'r Ruleset,
    /// Entries per hook and address family: index `hook_slot(hook) * 2 + v6`.
    hooks: Vec<Vec<Entry>>,
    /// Per table: chain name -> index.
    names: Vec<HashMap<&'r str, usize>>,
    /// Per table, chain and rule: a compact form of the rule's first match, checked before
    /// the rule itself is read (most rules of a large ruleset fail on their first match).
    quick: Vec<Vec<Vec<Quick>>>,
}

/// A rule's first match when it is a plain address or protocol comparison, packed so
/// that the traversal can skip a rule without touching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// No quick check: evaluate the rule.
    None,
    /// `ip saddr`/`daddr` (`-s`/`-d`) in an IPv4 prefix: `(addr & mask) == net`.
    V4 { dst: bool, net: u32, mask: u32 },
    /// The same for IPv6.
    V6 { dst: bool, net: u128, mask: u128 },
    /// `meta l4proto` (`-p`) equal to a protocol number.
    Proto(u8),
}

impl Quick {
    /// The quick form of `rule`'s first step, if it has one.
    pub fn of(rule: &Rule) -> Quick {
        let Some(Step::Match(m)) = rule.body.first() else {
            return Quick::None;
        };
        if m.negated {
            return Quick::None;
        }
        let Test::Cmp { key, pattern } = &m.test else {
            return Quick::None;
        };
        let dst = match key {
            Key::SrcAddr => false,
            Key::DstAddr => true,
            Key::L4Proto => {
                return match pattern {
                    Pattern::Value(Value::Int(n)) if *n <= 255 => Quick::Proto(*n as u8),
                    _ => Quick::None,
                }
            }
            _ => return Quick::None,
        };
        let (addr, len) = match pattern {
            Pattern::Prefix(net) => (net.addr(), net.prefix_len()),
            Pattern::Value(Value::Addr(a)) => (*a, if a.is_ipv4() { 32 } else { 128 }),
            _ => return Quick::None,
        };
        match addr {
            IpAddr::V4(a) => {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len.min(32)))
                };
                Quick::V4 {
                    dst,
                    net: u32::from(a) & mask,
                    mask,
                }
            }
            IpAddr::V6(a) => {
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(len.min(128)))
                };
                Quick::V6 {
                    dst,
                    net: u128::from(a) & mask,
                    mask,
                }
            }
        }
    }

    /// `false` when the first match certainly fails for `packet` (the rule can be
    /// skipped); `true` when the rule must be evaluated.
    #[inline]
    pub fn may_match(self, packet: &Packet) -> bool {
        match self {
            Quick::None => true,
            Quick::Proto(p) => packet.proto().number() == p,
            Quick::V4 { dst, net, mask } => match if dst { packet.dst } else { packet.src } {
                IpAddr::V4(a) => u32::from(a) & mask == net,
                IpAddr::V6(_) => false,
            },
            Quick::V6 { dst, net, mask } => match if dst { packet.dst } else { packet.src } {
                IpAddr::V6(a) => u128::from(a) & mask == net,
                IpAddr::V4(_) => false,
            },
        }
    }
}

const HOOKS: [Hook; 7] = [
    Hook::Ingress,
    Hook::Prerouting,
    Hook::Input,
    Hook::Forward,
    Hook::Output,
    Hook::Postrouting,
    Hook::Egress,
];

fn hook_slot(hook: Hook) -> usize {
    match hook {
        Hook::Ingress => 0,
        Hook::Prerouting => 1,
        Hook::Input => 2,
        Hook::Forward => 3,
        Hook::Output => 4,
        Hook::Postrouting => 5,
        Hook::Egress => 6,
    }
}

/// Whether base chains of `family` on `hook` see routed IPv4 (`v6 == false`) or IPv6
/// packets. Bridge and arp chains never see routed IP packets; netdev chains only on
/// ingress/egress.
fn family_sees(family: Family, hook: Hook, v6: bool) -> bool {
    match family {
        Family::Ip | Family::Ip6 | Family::Inet => family.sees(v6),
        Family::Netdev => matches!(hook, Hook::Ingress | Hook::Egress),
        Family::Bridge | Family::Arp => false,
    }
}

/// Sort key of an entry: (priority, tie-breaker). Ties keep ruleset order; conntrack and
/// the NAT core sit before chains of their own priority.
type SortKey = (i64, u8, usize);

impl<'r> Prepared<'r> {
    pub fn new(ruleset: &'r Ruleset) -> Prepared<'r> {
        let mut hooks = Vec::with_capacity(HOOKS.len() * 2);
        for hook in HOOKS {
            for v6 in [false, true] {
                hooks.push(entries_for(ruleset, hook, v6));
            }
        }
        let names = ruleset
            .tables
            .iter()
            .map(|t| {
                let mut m = HashMap::with_capacity(t.chains.len());
                for (i, c) in t.chains.iter().enumerate() {
                    // The first chain of a name wins, as a lookup by name would.
                    m.entry(c.name.as_str()).or_insert(i);
                }
                m
            })
            .collect();
        let quick = ruleset
            .tables
            .iter()
            .map(|t| {
                t.chains
                    .iter()
                    .map(|c| c.rules.iter().map(Quick::of).collect())
                    .collect()
            })
            .collect();
        Prepared {
            ruleset,
            hooks,
            names,
            quick,
        }
    }

    /// The quick checks of the rules of chain `at`.
    #[inline]
    pub fn quick(&self, at: ChainRef) -> &[Quick] {
        &self.quick[at.table][at.chain]
    }

    /// What runs on `hook` for an IPv4 or IPv6 packet, in order.
    pub fn entries(&self, hook: Hook, v6: bool) -> &[Entry] {
        &self.hooks[hook_slot(hook) * 2 + usize::from(v6)]
    }

    /// The chain `name` of table `table`, for `jump`/`goto`.
    pub fn chain_named(&self, table: usize, name: &str) -> Option<usize> {
        self.names.get(table)?.get(name).copied()
    }
}

fn entries_for(ruleset: &Ruleset, hook: Hook, v6: bool) -> Vec<Entry> {
    let mut keyed: Vec<(SortKey, Entry)> = Vec::new();
    let mut nat: Vec<(i64, usize, ChainRef)> = Vec::new();
    let mut order = 0usize;
    for (ti, table) in ruleset.tables.iter().enumerate() {
        if !family_sees(table.family, hook, v6) {
            continue;
        }
        for (ci, chain) in table.chains.iter().enumerate() {
            let Some(base) = &chain.base else { continue };
            if base.hook != hook {
                continue;
            }
            let at = ChainRef {
                table: ti,
                chain: ci,
            };
            order += 1;
            if base.chain_type == ChainType::Nat && Manip::of_hook(hook).is_some() {
                nat.push((i64::from(base.priority), order, at));
            } else {
                keyed.push(((i64::from(base.priority), 1, order), Entry::Chain(at)));
            }
        }
    }
    if matches!(hook, Hook::Prerouting | Hook::Output) {
        keyed.push(((i64::from(priority::CONNTRACK), 0, 0), Entry::Conntrack));
    }
    if let Some(manip) = Manip::of_hook(hook) {
        nat.sort();
        let at = match manip {
            Manip::Dst => priority::NAT_DST,
            Manip::Src => priority::NAT_SRC,
        };
        keyed.push((
            (i64::from(at), 0, 1),
            Entry::Nat {
                manip,
                chains: nat.into_iter().map(|(_, _, c)| c).collect(),
            },
        ));
    }
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, e)| e).collect()
}
