//! Address pools (`ippool.conf`) as the filter looks them up: a tree (`ip_pool.c`) gives
//! the longest matching prefix, and a `!` entry there means "not in the pool"; a hash
//! table (`ip_htable.c`) matches any entry. A pool a rule names that was not loaded
//! never matches (`ipf_check_ipf` treats the lookup's -1 as no match) — but offline that
//! more likely means the pools were not given, so it is Unknown here.

use std::net::IpAddr;

use model::expr::Undecidable;
use model::ipf::filter::Matcher;
use model::ipf::pool::{PoolDef, PoolEntry, PoolRole, TableType};
use model::ipf::{Addr, FilterRule, PoolKind, PoolName, Pools};

use super::dstlist::DstLists;
use super::grpmap::GroupMaps;
use super::rules::Test;

/// The loaded pools.
#[derive(Debug, Clone, Default)]
pub struct PoolTable {
    /// Trees and hash tables with their entries (`None`: entries not known offline).
    tables: Vec<(TableType, PoolName, PoolRole, Option<Vec<PoolEntry>>)>,
    /// The group maps.
    groups: GroupMaps,
    /// The destination lists.
    dstlists: DstLists,
}

impl PoolTable {
    /// The tables of `pools`.
    pub fn new(pools: &Pools) -> PoolTable {
        let tables = pools
            .defs
            .iter()
            .filter_map(|def| match def {
                PoolDef::Table(t) => Some((
                    t.kind,
                    t.name.clone(),
                    t.role,
                    t.source.entries().map(<[PoolEntry]>::to_vec),
                )),
                _ => None,
            })
            .collect();
        PoolTable {
            tables,
            groups: GroupMaps::new(pools),
            dstlists: DstLists::new(pools),
        }
    }

    /// The destination lists (`to dstlist/NAME`).
    pub fn dstlists(&self) -> &DstLists {
        &self.dstlists
    }

    /// The group maps (`call now srcgrpmap/N`).
    pub fn group_maps(&self) -> &GroupMaps {
        &self.groups
    }

    /// Whether any pool was loaded.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// A rule's `pool/N` or `hash/N` test of `addr`.
    pub fn lookup(&self, kind: PoolKind, name: &PoolName, addr: IpAddr, plen: i64) -> Test {
        self.lookup_in(PoolRole::Ipf, kind, name, addr, plen)
    }

    /// A NAT rule's `from pool/N` (or `hash/N`) test of `addr`: the tables of role
    /// `nat` or `all` (`ipf_nat_rule` resolves them with `IPL_LOGNAT`).
    pub fn nat_lookup(&self, kind: PoolKind, name: &PoolName, addr: IpAddr) -> Test {
        self.lookup_in(PoolRole::Nat, kind, name, addr, 0)
    }

    /// The test of `addr` against table `kind`/`name` of `role` (or `all`).
    fn lookup_in(
        &self,
        role: PoolRole,
        kind: PoolKind,
        name: &PoolName,
        addr: IpAddr,
        _plen: i64,
    ) -> Test {
        let wanted = match kind {
            PoolKind::Tree => TableType::Tree,
            PoolKind::Hash => TableType::Hash,
            PoolKind::DstList => {
                return Test::Unknown(Undecidable::SetUndefined(format!("dstlist/{name:?}")))
            }
        };
        let found = self
            .tables
            .iter()
            .find(|(k, n, r, _)| *k == wanted && n == name && (*r == role || *r == PoolRole::All));
        let Some((kind, _, _, entries)) = found else {
            return Test::Unknown(Undecidable::SetUndefined(pool_label(wanted, name)));
        };
        let Some(entries) = entries else {
            return Test::Unknown(Undecidable::SetUndefined(pool_label(wanted, name)));
        };
        match kind {
            TableType::Tree => PoolTable::entries_match(entries, addr),
            TableType::Hash => PoolTable::hash_match(entries, addr),
        }
    }

    /// A hash table's answer: any entry holding the address (`ipf_iphmfind`).
    pub fn hash_match(entries: &[PoolEntry], addr: IpAddr) -> Test {
        if entries.iter().any(|e| e.net.contains(addr)) {
            Test::Yes
        } else {
            Test::No
        }
    }

    /// A tree's answer: the longest matching entry decides, `!` entries say no.
    pub fn entries_match(entries: &[PoolEntry], addr: IpAddr) -> Test {
        let best = entries
            .iter()
            .filter(|e| e.net.contains(addr))
            .max_by_key(|e| mask_bits(e.net.mask));
        match best {
            Some(e) if !e.negated => Test::Yes,
            _ => Test::No,
        }
    }
}

/// `IPHASH_ANON`: anonymous hash tables are numbered above it.
const IPHASH_ANON: u32 = 0x8000_0000;

/// The hash table loading a rule's `hash=(…)` makes (`makehash` in `ipf_y.y`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnonymousHash {
    /// The number the kernel gave it.
    pub number: u32,
    /// The index of the rule that wrote it.
    pub rule: usize,
    /// Its entries.
    pub entries: Vec<PoolEntry>,
}

impl AnonymousHash {
    /// Its references: one from its creation, one from the rule that uses it.
    pub const REFS: u32 = 2;
}

/// The anonymous hash tables `rules` make as they load after `pools`, in load order
/// (each rule's source before its destination, as `ipf_y.y` parses them).
/// `ipf_htable_create` names each with the first number above `IPHASH_ANON` that no
/// ipf-role hash table has.
pub fn anonymous_hashes(rules: &[FilterRule], pools: &Pools) -> Vec<AnonymousHash> {
    let named: Vec<String> = pools
        .defs
        .iter()
        .filter_map(|def| match def {
            PoolDef::Table(t) if t.kind == TableType::Hash && t.role == PoolRole::Ipf => {
                Some(t.name.clone())
            }
            PoolDef::GroupMap(g) if g.role == PoolRole::Ipf => Some(g.name.clone()),
            _ => None,
        })
        .map(|name| match name {
            PoolName::Number(n) => n.to_string(),
            PoolName::Name(n) => n,
        })
        .collect();
    let mut made: Vec<AnonymousHash> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let Matcher::FromTo { from, to } = &rule.matcher else {
            continue;
        };
        for end in [from, to] {
            let Addr::InlineHash(entries) = &end.addr else {
                continue;
            };
            let taken = |n: u32| {
                named.iter().any(|name| *name == n.to_string())
                    || made.iter().any(|t| t.number == n)
            };
            let Some(number) = (IPHASH_ANON + 1..=u32::MAX).find(|&n| !taken(n)) else {
                continue;
            };
            made.push(AnonymousHash {
                number,
                rule: index,
                entries: entries.clone(),
            });
        }
    }
    made
}

/// `rule` as the kernel holds it once loaded: its `hash=(…)` replaced by `hash/N`, the
/// table `anonymous` says it made.
pub fn rule_as_loaded(index: usize, rule: &FilterRule, anonymous: &[AnonymousHash]) -> FilterRule {
    let mut loaded = rule.clone();
    let mut numbers = anonymous
        .iter()
        .filter(|t| t.rule == index)
        .map(|t| t.number);
    if let Matcher::FromTo { from, to } = &mut loaded.matcher {
        for end in [from, to] {
            if matches!(end.addr, Addr::InlineHash(_)) {
                if let Some(n) = numbers.next() {
                    end.addr = Addr::Pool {
                        kind: PoolKind::Hash,
                        name: PoolName::Number(n),
                    };
                }
            }
        }
    }
    loaded
}

fn mask_bits(mask: IpAddr) -> u32 {
    match mask {
        IpAddr::V4(m) => u32::from(m).count_ones(),
        IpAddr::V6(m) => u128::from(m).count_ones(),
    }
}

fn pool_label(kind: TableType, name: &PoolName) -> String {
    let prefix = match kind {
        TableType::Tree => "pool",
        TableType::Hash => "hash",
    };
    match name {
        PoolName::Number(n) => format!("{prefix}/{n}"),
        PoolName::Name(s) => format!("{prefix}/{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::ipf::pool::{PoolSource, Table};
    use model::ipf::Masked;

    /// p4's pool: `table role = nat type = tree number = 100 { 1.1.1.1/32; !2.2.0.0/16; 2.2.2.0/24; };`
    fn nat_tree() -> PoolTable {
        let entry = |negated: bool, net: &str, len: u8| PoolEntry {
            negated,
            net: Masked::prefix(net.parse().expect("address"), len).expect("prefix"),
            group: None,
        };
        PoolTable::new(&Pools {
            defs: vec![PoolDef::Table(Table {
                origin: model::Origin::default(),
                role: PoolRole::Nat,
                kind: TableType::Tree,
                name: PoolName::Number(100),
                size: None,
                seed: None,
                source: PoolSource::Inline(vec![
                    entry(false, "1.1.1.1", 32),
                    entry(true, "2.2.0.0", 16),
                    entry(false, "2.2.2.0", 24),
                ]),
            })],
        })
    }

    #[test]
    fn nat_rules_see_nat_pools_and_filter_rules_do_not() {
        let pools = nat_tree();
        let at = |a: &str| a.parse::<IpAddr>().expect("address");
        let hundred = PoolName::Number(100);
        for (addr, want) in [
            ("1.1.1.1", Test::Yes),
            ("2.2.2.1", Test::Yes),
            ("2.2.0.1", Test::No),
            ("4.4.1.1", Test::No),
        ] {
            assert_eq!(pools.nat_lookup(PoolKind::Tree, &hundred, at(addr)), want);
        }
        assert!(matches!(
            pools.lookup(PoolKind::Tree, &hundred, at("1.1.1.1"), 0),
            Test::Unknown(_)
        ));
    }
}
