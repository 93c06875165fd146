//! Address pools (`ippool.conf`) as the filter looks them up: a tree (`ip_pool.c`) gives
//! the longest matching prefix, and a `!` entry there means "not in the pool"; a hash
//! table (`ip_htable.c`) matches any entry. A pool a rule names that was not loaded
//! never matches (`ipf_check_ipf` treats the lookup's -1 as no match) — but offline that
//! more likely means the pools were not given, so it is Unknown here.

use std::net::IpAddr;

use model::expr::Undecidable;
use model::ipf::pool::{PoolDef, PoolEntry, PoolRole, TableType};
use model::ipf::{PoolKind, PoolName, Pools};

use super::rules::Test;

/// The loaded pools.
#[derive(Debug, Clone, Default)]
pub struct PoolTable {
    /// Trees and hash tables with their entries (`None`: entries not known offline).
    tables: Vec<(TableType, PoolName, PoolRole, Option<Vec<PoolEntry>>)>,
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
        PoolTable { tables }
    }

    /// Whether any pool was loaded.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// A rule's `pool/N` or `hash/N` test of `addr`.
    pub fn lookup(&self, kind: PoolKind, name: &PoolName, addr: IpAddr, _plen: i64) -> Test {
        let wanted = match kind {
            PoolKind::Tree => TableType::Tree,
            PoolKind::Hash => TableType::Hash,
            PoolKind::DstList => {
                return Test::Unknown(Undecidable::SetUndefined(format!("dstlist/{name:?}")))
            }
        };
        let found = self.tables.iter().find(|(k, n, role, _)| {
            *k == wanted && n == name && matches!(role, PoolRole::Ipf | PoolRole::All)
        });
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
