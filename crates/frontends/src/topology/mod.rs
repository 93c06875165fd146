//! A topology (several hosts and the links between them) for `whyblocked path`, from a
//! topology file ([`load_file`]) or from several host inputs ([`from_hosts`]).
//!
//! # The topology file (TOML)
//!
//! ```toml
//! [host.laptop]                         # a Linux host read from a snapshot ...
//! snapshot = "laptop.snap"              # ... or `dir = "laptop/"`; paths are relative to this file
//! rules = ["laptop.rules"]              # optional: rules files instead of the snapshot's
//!
//! [host.router]                         # a Linux host described inline (labs, tests)
//! interfaces.eth0 = { addresses = ["10.0.0.1/24", "fe80::1/64"], mtu = 1500 }
//! interfaces.eth1 = { addresses = ["10.1.0.1/24"], mtu = 1400 }
//! routes = ["10.2.0.0/16 via 10.1.0.2", "default via 10.0.0.254 dev eth0"]
//! rules = ["router.rules"]              # rules files, as --rules reads them
//! sysctls = { "net.ipv4.ip_forward" = 1 }
//! neighbours = ["10.1.0.9 dev eth1 FAILED"]
//! listens = ["tcp/22"]
//!
//! [host.zos]
//! kind = "stub"                         # not Linux: addresses and routes only
//! interfaces.eth0 = { addresses = ["10.1.0.2/24"] }
//! routes = ["default via 10.1.0.1"]
//! listens = ["tcp/2175"]                # absent: a connection is assumed to be accepted
//! ping = false                          # default: it answers echo requests
//!
//! [[link]]
//! name = "wifi"                         # optional
//! ends = ["laptop:wlan0", "router:eth0"]
//! ```
//!
//! The hosts keep the file's order. An inline Linux host has exactly the interfaces listed
//! (plus `lo` with `127.0.0.1/8` and `::1`, as every Linux host) and exactly their addresses
//! (no automatic `fe80::` one: list it); its routes are the ones the kernel adds for those
//! addresses and the `routes` lines, as `ip -j route show table all` would list them (see
//! [`routes`]); `sysctls` not listed have the kernel's defaults; without `rules` it has no
//! firewall. `listens` are wildcard sockets (`ss` would print `*:PORT`). Unknown keys are
//! errors, so a typo is never ignored.
//!
//! Links: every `[[link]]` is complete (no other system is on it). Interfaces that no
//! `[[link]]` names are linked by inference, as for [`from_hosts`] (see [`infer`]).
//!
//! Errors point into the file that is wrong: the topology file (TOML syntax, an unknown
//! key, an address that does not parse, a route the kernel would refuse, a link end that
//! names no host), or the snapshot or rules file it names.

mod file;
pub mod infer;
pub mod node;
pub mod routes;

use crate::host::host_dir;
use crate::{LoadError, NonUtf8, ParseError};
use model::topology::Topology;
use model::SourceFile;
use node::{HostError, NodeError};
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a topology could not be made.
#[derive(Debug)]
pub enum TopologyError {
    /// A file that does not parse: the topology file, or a snapshot or rules file.
    Parse(ParseError),
    /// A file that could not be read or is not text.
    Load(LoadError),
    /// A host directory that could not be read.
    HostDir(host_dir::LoadError),
    /// A snapshot whose rule commands all failed, with no rules given instead.
    RulesUnreadable {
        /// The snapshot.
        source: String,
    },
    /// Two hosts go by the same name.
    DuplicateName {
        /// The name.
        name: String,
        /// Where the first was read from.
        first: String,
        /// Where the second was read from.
        second: String,
    },
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologyError::Parse(e) => e.fmt(f),
            TopologyError::Load(e) => e.fmt(f),
            TopologyError::HostDir(e) => write!(f, "cannot read the host state: {e}"),
            TopologyError::RulesUnreadable { source } => write!(
                f,
                "{source}: no ruleset could be read from it (iptables-save and nft failed; see \
                 the file's %status lines): give its rules with `rules = [...]` in a topology file"
            ),
            TopologyError::DuplicateName {
                name,
                first,
                second,
            } => write!(
                f,
                "two hosts are called `{name}` ({first} and {second}): give them different \
                 names in a topology file"
            ),
        }
    }
}

impl std::error::Error for TopologyError {}

impl From<ParseError> for TopologyError {
    fn from(e: ParseError) -> TopologyError {
        TopologyError::Parse(e)
    }
}

impl From<LoadError> for TopologyError {
    fn from(e: LoadError) -> TopologyError {
        match e {
            LoadError::Parse(p) => TopologyError::Parse(p),
            other => TopologyError::Load(other),
        }
    }
}

impl From<HostError> for TopologyError {
    fn from(e: HostError) -> TopologyError {
        match e {
            HostError::File(e) => e.into(),
            HostError::Dir(host_dir::LoadError::Parse(p)) => TopologyError::Parse(p),
            HostError::Dir(e) => TopologyError::HostDir(e),
        }
    }
}

impl From<NodeError> for TopologyError {
    fn from(e: NodeError) -> TopologyError {
        match e {
            NodeError::Host(e) => e.into(),
            NodeError::Rules(e) => e.into(),
            NodeError::RulesUnreadable { source } => TopologyError::RulesUnreadable { source },
        }
    }
}

/// The topology a topology file describes, with the links it does not declare inferred.
pub fn load_file(path: &Path) -> Result<Topology, TopologyError> {
    let mut topology = read_file(path)?;
    infer::infer_links(&mut topology);
    Ok(topology)
}

/// The topology of several hosts, each path a snapshot file, a host directory or a
/// topology file (of one host or more), named by their snapshot's hostname, else their
/// file's stem, and linked by inference.
pub fn from_hosts(paths: &[PathBuf]) -> Result<Topology, TopologyError> {
    let mut topology = Topology::default();
    for path in paths {
        let part = if !path.is_dir() && is_topology_file(path)? {
            read_file(path)?
        } else {
            let read = node::read_host(path)?;
            let name = node::default_name(path, &read);
            let node = node::linux_node(name, path.display().to_string(), read, &[])?;
            Topology {
                nodes: vec![node],
                links: Vec::new(),
            }
        };
        let offset = topology.nodes.len();
        for node in part.nodes {
            if let Some(first) = topology.nodes.iter().find(|n| n.name == node.name) {
                return Err(TopologyError::DuplicateName {
                    name: node.name.clone(),
                    first: first.source.clone(),
                    second: node.source,
                });
            }
            topology.nodes.push(node);
        }
        topology.links.extend(part.links.into_iter().map(|mut l| {
            for e in &mut l.ends {
                e.node += offset;
            }
            l
        }));
    }
    infer::infer_links(&mut topology);
    Ok(topology)
}

/// The topology file at `path`, without inference.
fn read_file(path: &Path) -> Result<Topology, TopologyError> {
    let source = crate::read_file(path, "a topology file (TOML)", NonUtf8::Anywhere)?;
    let base = path.parent().unwrap_or(Path::new("."));
    file::parse(&source, Some(base))
}

/// The topology a topology file already in memory describes, without inference: the
/// files it names are relative to `base`; with no `base` it may name none (each is an
/// error at its name), so nothing but `source` is read.
pub fn from_source(source: &SourceFile, base: Option<&Path>) -> Result<Topology, TopologyError> {
    file::parse(source, base)
}

/// Whether the file at `path` is a topology file rather than a snapshot: its name ends in
/// `.toml`, or it does not start as a snapshot does and its first line that is not blank
/// or a comment is a TOML table header or key.
fn is_topology_file(path: &Path) -> Result<bool, TopologyError> {
    if path.extension().is_some_and(|e| e == "toml") {
        return Ok(true);
    }
    let source = crate::read_file(
        path,
        "a host directory, snapshot or topology file",
        NonUtf8::Anywhere,
    )?;
    let first = source
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    Ok(first.is_some_and(|l| !l.starts_with('%') && (l.starts_with('[') || l.contains('='))))
}
