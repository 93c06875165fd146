//! `ippool.conf` address pools: trees, hash tables, group maps and destination lists.

use super::{Masked, PoolName};
use crate::Origin;

/// The pools of one `ippool.conf`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pools {
    /// The definitions in the order written.
    pub defs: Vec<PoolDef>,
}

/// Which subsystem a pool serves (`role = ipf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolRole {
    /// `ipf`: filter rules.
    Ipf,
    /// `nat`: NAT rules.
    Nat,
    /// `auth`.
    Auth,
    /// `count`: accounting rules.
    Count,
    /// `all`: every subsystem.
    All,
}

/// A table's lookup structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableType {
    /// `type = tree`: longest-prefix match, negated entries exclude.
    Tree,
    /// `type = hash`: exact address under each entry's mask.
    Hash,
}

/// One entry of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    /// `!`: addresses in this network do not match (the longest prefix decides).
    pub negated: bool,
    /// The network.
    pub net: Masked,
    /// `, group = G` (group maps): the rule group packets matching it go to.
    pub group: Option<String>,
}

/// Where a table's entries come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolSource {
    /// Listed in the file (`{ 1.2.3.4/32; !2.2.0.0/16; }`).
    Inline(Vec<PoolEntry>),
    /// `{ "file://PATH"; }`: read from a file when loaded (the front end may have read it).
    File {
        /// The URL as written.
        url: String,
        /// The entries, when the file was read.
        entries: Option<Vec<PoolEntry>>,
    },
    /// `{ whois file "PATH"; }`: networks from a whois reply.
    Whois {
        /// The file as written.
        path: String,
        /// The networks, when the file was read.
        entries: Option<Vec<PoolEntry>>,
    },
}

impl PoolSource {
    /// The entries known offline; `None` when they were not read.
    pub fn entries(&self) -> Option<&[PoolEntry]> {
        match self {
            PoolSource::Inline(entries) => Some(entries),
            PoolSource::File { entries, .. } | PoolSource::Whois { entries, .. } => {
                entries.as_deref()
            }
        }
    }
}

/// `table role = R type = tree|hash number|name = N [size = S] [seed = X] { … };` and
/// `pool R/tree|hash (name N; size S;) { … };`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Where it was written.
    pub origin: Origin,
    /// Its role.
    pub role: PoolRole,
    /// Tree or hash.
    pub kind: TableType,
    /// Its number or name.
    pub name: PoolName,
    /// `size = N` (hash tables).
    pub size: Option<u32>,
    /// `seed = N` (hash tables).
    pub seed: Option<u32>,
    /// The entries.
    pub source: PoolSource,
}

/// `group-map in|out role = R number = N [group = G] { ADDR[, group = G]; … };`: a hash
/// table whose entries name the rule group a packet continues in (`call srcgrpmap/N`).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMap {
    /// Where it was written.
    pub origin: Origin,
    /// `in`: looked up by source (`srcgrpmap`); `out`: by destination (`dstgrpmap`).
    pub incoming: bool,
    /// Its role.
    pub role: PoolRole,
    /// Its number or name.
    pub name: PoolName,
    /// `size = N`, when written.
    pub size: Option<u32>,
    /// The default group of entries that name none.
    pub group: Option<String>,
    /// The entries (each with its group, the default filled in).
    pub entries: Vec<PoolEntry>,
}

/// How a destination list picks its next destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DstListPolicy {
    /// `round-robin`.
    RoundRobin,
    /// `weighted connection`: the one with fewest connections.
    WeightedConnection,
    /// `random`.
    Random,
    /// `hash`: by a hash of the addresses.
    Hashed,
    /// `src-hash`.
    SrcHash,
    /// `dst-hash`.
    DstHash,
}

/// One destination of a list (`bge0:5.5.5.5` or `3.3.3.3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The interface to send it out of, when written.
    pub interface: Option<String>,
    /// The address.
    pub addr: std::net::IpAddr,
}

/// `pool R/dstlist (name N; policy P;) { … };`: the targets of NAT `rewrite`/`divert`.
#[derive(Debug, Clone, PartialEq)]
pub struct DstList {
    /// Where it was written.
    pub origin: Origin,
    /// Its role.
    pub role: PoolRole,
    /// Its name.
    pub name: PoolName,
    /// How it picks.
    pub policy: Option<DstListPolicy>,
    /// The destinations.
    pub destinations: Vec<Destination>,
}

/// One definition in `ippool.conf`.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolDef {
    /// A tree or hash table.
    Table(Table),
    /// A group map.
    GroupMap(GroupMap),
    /// A destination list.
    DstList(DstList),
}
