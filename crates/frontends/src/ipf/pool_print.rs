//! `ippool -nv`'s printing of a pool (IPFilter's `lib/printpooldata.c`,
//! `printhashdata.c`, `printdstlistdata.c` and their node printers).

use std::fmt::Write;
use std::net::IpAddr;

use model::ipf::pool::{DstListPolicy, PoolDef, PoolEntry, PoolRole, PoolSource, TableType};
use model::ipf::{Masked, PoolName, Pools};

use super::print::mask;

/// The two lines `ippool -nv` prints for one definition (with their newlines).
pub fn pool_def(def: &PoolDef) -> String {
    let mut s = String::new();
    match def {
        PoolDef::Table(t) => {
            let entries = t.source.entries().unwrap_or(&[]);
            let _ = write!(s, "table role={}", role(t.role));
            match t.kind {
                TableType::Tree => {
                    let _ = writeln!(s, " type=tree {}", name(&t.name));
                }
                TableType::Hash => {
                    let size = t.size.unwrap_or_else(|| default_size(entries.len()));
                    let _ = write!(s, " type=hash {} size={size}", name(&t.name));
                    if let Some(seed) = t.seed.filter(|&n| n != 0) {
                        let _ = write!(s, " seed={seed}");
                    }
                    s.push('\n');
                }
            }
            match &t.source {
                PoolSource::File { url, entries: None } => {
                    // Not read: the table as written.
                    s.push_str(&body(std::iter::once(format!("\"{url}\""))));
                }
                PoolSource::Whois {
                    path,
                    entries: None,
                } => {
                    s.push_str(&body(std::iter::once(format!("whois file \"{path}\""))));
                }
                _ => s.push_str(&body(entries.iter().map(|e| entry(e, None)))),
            }
        }
        PoolDef::GroupMap(g) => {
            let size = g.size.unwrap_or_else(|| default_size(g.entries.len()));
            let _ = writeln!(
                s,
                "group-map {} role={} {} size={size}",
                if g.incoming { "in" } else { "out" },
                role(g.role),
                name(&g.name)
            );
            let own = match &g.name {
                PoolName::Number(n) => n.to_string(),
                PoolName::Name(n) => n.clone(),
            };
            s.push_str(&body(g.entries.iter().map(|e| entry(e, Some(&own)))));
        }
        PoolDef::DstList(d) => {
            let _ = write!(
                s,
                "pool {}/dstlist (name {};",
                role(d.role),
                bare_name(&d.name)
            );
            if let Some(p) = d.policy {
                let _ = write!(s, " policy {};", policy(p));
            }
            s.push_str(")\n");
            s.push_str(&body(d.destinations.iter().map(|dst| {
                let addr = ip(dst.addr);
                match &dst.interface {
                    Some(i) => format!("{i}:{addr}"),
                    None => addr,
                }
            })));
        }
    }
    s
}

/// An anonymous hash table a rule's `hash=(…)` made: its number, its entries and its
/// references.
pub type AnonymousTable<'a> = (u32, &'a [PoolEntry], u32);

/// `ipf_lookup_dump`'s text: the trees (`ipf_pool_dump`), then the hash tables and group
/// maps (`ipf_htable_dump`); destination lists are not printed. Each walks its lists by
/// role (`all`, `ipf`, `nat`, `auth`, `count`: the unit + 1 it indexes them by), each
/// list newest first. `anonymous` are the `ipf` tables rules made, in load order: they
/// load after the pools.
pub fn lookup_dump(pools: &Pools, anonymous: &[AnonymousTable]) -> String {
    let mut s = String::from("List of configured pools\n");
    let is_tree = |d: &PoolDef| matches!(d, PoolDef::Table(t) if t.kind == TableType::Tree);
    let is_hash = |d: &PoolDef| !is_tree(d) && !matches!(d, PoolDef::DstList(_));
    let units = [
        PoolRole::All,
        PoolRole::Ipf,
        PoolRole::Nat,
        PoolRole::Auth,
        PoolRole::Count,
    ];
    for unit in units {
        for def in pools.defs.iter().rev() {
            if is_tree(def) && def_role(def) == unit {
                s.push_str(&pool_def(def));
            }
        }
    }
    s.push_str("List of configured hash tables\n");
    for unit in units {
        if unit == PoolRole::Ipf {
            for (number, entries, refs) in anonymous.iter().rev() {
                s.push_str(&anonymous_hash(*number, entries, *refs));
            }
        }
        for def in pools.defs.iter().rev() {
            if is_hash(def) && def_role(def) == unit {
                s.push_str(&pool_def(def));
            }
        }
    }
    s
}

fn def_role(def: &PoolDef) -> PoolRole {
    match def {
        PoolDef::Table(t) => t.role,
        PoolDef::GroupMap(g) => g.role,
        PoolDef::DstList(d) => d.role,
    }
}

/// `printhashdata` of an anonymous table: a comment with its references first.
fn anonymous_hash(number: u32, entries: &[PoolEntry], refs: u32) -> String {
    format!(
        "# 'anonymous' table refs {refs}\ntable role=ipf type=hash number={number} size={}\n{}",
        default_size(entries.len()),
        body(entries.iter().map(|e| entry(e, None)))
    )
}

/// `n * 2 - 1` buckets for `n` entries (at least one), `load_hash`'s default.
fn default_size(entries: usize) -> u32 {
    let n = u32::try_from(entries.max(1)).unwrap_or(u32::MAX / 2);
    n * 2 - 1
}

fn body(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let mut s = String::from("\t{");
    if items.is_empty() {
        s.push(';');
    }
    for i in items {
        let _ = write!(s, " {i};");
    }
    s.push_str(" };\n");
    s
}

fn entry(e: &PoolEntry, own_group: Option<&str>) -> String {
    let mut s = String::new();
    if e.negated {
        s.push_str("! ");
    }
    s.push_str(&net(&e.net));
    if let (Some(own), Some(g)) = (own_group, &e.group) {
        if g != own {
            let _ = write!(s, ", group={g}");
        }
    }
    s
}

/// `printip`: an IPv4 address below 256 as its number.
fn ip(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) if u32::from(v) < 256 => u32::from(v).to_string(),
        other => other.to_string(),
    }
}

fn net(m: &Masked) -> String {
    format!("{}/{}", ip(m.addr), mask(m))
}

fn role(r: PoolRole) -> &'static str {
    match r {
        PoolRole::Ipf => "ipf",
        PoolRole::Nat => "nat",
        PoolRole::Auth => "auth",
        PoolRole::Count => "count",
        PoolRole::All => "all",
    }
}

/// `number=N` or `name=NAME`.
fn name(n: &PoolName) -> String {
    match n {
        PoolName::Number(n) => format!("number={n}"),
        PoolName::Name(n) if n.is_empty() => "number=".to_string(),
        PoolName::Name(n) => format!("name={n}"),
    }
}

fn bare_name(n: &PoolName) -> String {
    match n {
        PoolName::Number(n) => n.to_string(),
        PoolName::Name(n) => n.clone(),
    }
}

fn policy(p: DstListPolicy) -> &'static str {
    match p {
        DstListPolicy::RoundRobin => "round-robin",
        DstListPolicy::WeightedConnection => "weighting connection",
        DstListPolicy::Random => "random",
        DstListPolicy::Hashed => "hash",
        DstListPolicy::SrcHash => "src-hash",
        DstListPolicy::DstHash => "dst-hash",
    }
}
