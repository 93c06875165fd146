//! One host of a topology, read from what `--host` takes: a whyblocked snapshot file or a
//! host directory. The CLI's `--host` reads its one host with [`read_host`] too, so a host
//! means the same thing to every command.
//!
//! Owner recognition (which tool wrote the rules) is the caller's: it needs the `owners`
//! crate, and [`Node::tool_config`] carries what it reads.

use crate::host::host_dir::{self, HostState};
use crate::host::snapshot::{self, RuleSource, Snapshot};
use crate::{LoadError, LoadOptions, NonUtf8, ParseError};
use model::note::InputNote;
use model::topology::{Node, NodeKind};
use model::Ruleset;
use std::path::{Path, PathBuf};

/// A host read from a snapshot file or a host directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostRead {
    /// The snapshot's `%meta hostname`, when it has one.
    pub hostname: Option<String>,
    /// The host state, its ipsets and the tools' configuration.
    pub state: HostState,
    /// The firewall rules the input carries.
    pub rules: RulesIn,
    /// What could not be read or was guessed, and a directory's entries that were not read.
    pub notes: Vec<InputNote>,
}

/// The firewall rules an input carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RulesIn {
    /// None: a host directory holds state only (its rules are given apart).
    #[default]
    NotCarried,
    /// A snapshot whose rule commands all failed: its ruleset is unknown, which is not
    /// "no rules".
    Unreadable,
    /// A snapshot's readable rule sources, in the order they are read.
    Sources(Vec<RuleSource>),
}

/// Why a host could not be read.
#[derive(Debug)]
pub enum HostError {
    /// The file could not be read, is not text, or does not parse.
    File(LoadError),
    /// The host directory could not be read.
    Dir(host_dir::LoadError),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::File(e) => e.fmt(f),
            HostError::Dir(e) => write!(f, "cannot read the host state: {e}"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<ParseError> for HostError {
    fn from(e: ParseError) -> HostError {
        HostError::File(LoadError::Parse(e))
    }
}

/// Reads the host at `path`: a host directory, or a whyblocked snapshot file.
pub fn read_host(path: &Path) -> Result<HostRead, HostError> {
    if path.is_dir() {
        let state = host_dir::load(path).map_err(HostError::Dir)?;
        let mut notes = Vec::new();
        if !state.ignored.is_empty() {
            notes.push(InputNote::HostDirIgnored {
                dir: path.display().to_string(),
                read: state.read.clone(),
                ignored: state.ignored.clone(),
            });
        }
        return Ok(HostRead {
            hostname: None,
            state,
            rules: RulesIn::NotCarried,
            notes,
        });
    }
    let source = crate::read_file(
        path,
        "a host directory or a whyblocked snapshot",
        NonUtf8::Anywhere,
    )
    .map_err(HostError::File)?;
    let snap = Snapshot::parse(&source)?;
    Ok(from_snapshot(&source.name, &snap)?)
}

/// Reads the host a snapshot in memory describes (`name` names it in messages).
pub fn from_snapshot(name: &str, snap: &Snapshot) -> Result<HostRead, ParseError> {
    let loaded = snapshot::load(name, snap)?;
    let hostname = snap
        .meta
        .iter()
        .find(|(k, v)| k == "hostname" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string());
    let rules = match (loaded.rules_known, loaded.rules) {
        (false, _) => RulesIn::Unreadable,
        (true, sources) => RulesIn::Sources(sources),
    };
    Ok(HostRead {
        hostname,
        state: loaded.state,
        rules,
        notes: loaded.notes,
    })
}

/// The name a host read from `path` goes by: its snapshot's hostname, else the file's
/// stem or the directory's name.
pub fn default_name(path: &Path, read: &HostRead) -> String {
    if let Some(h) = &read.hostname {
        return h.clone();
    }
    let trimmed = path.components().as_path();
    trimmed
        .file_stem()
        .or_else(|| trimmed.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Why a host of a topology has no firewall to simulate.
#[derive(Debug)]
pub enum NodeError {
    /// The host could not be read.
    Host(HostError),
    /// Its rules files could not be read.
    Rules(LoadError),
    /// A snapshot from which no ruleset could be read, and no rules were given instead.
    RulesUnreadable {
        /// The snapshot.
        source: String,
    },
}

/// The Linux node `name` of the host `read` from `source`, its firewall from `rules`
/// when given (a snapshot's own rules are then ignored, with a note), else from the
/// snapshot. A host directory without rules files has no firewall (`rules_given` false).
pub fn linux_node(
    name: String,
    source: String,
    read: HostRead,
    rules: &[PathBuf],
) -> Result<Node, NodeError> {
    let mut node = Node {
        name,
        kind: NodeKind::Linux,
        host: read.state.host,
        ruleset: Ruleset::default(),
        tool_config: read.state.config,
        source,
        rules_given: false,
        iptables_sources: Vec::new(),
        nft_sources: Vec::new(),
        notes: read.notes,
    };
    if !rules.is_empty() {
        if !matches!(read.rules, RulesIn::NotCarried) {
            node.notes.push(InputNote::SnapshotRulesIgnored {
                snapshot: node.source.clone(),
            });
        }
        add_rules_files(&mut node, rules).map_err(NodeError::Rules)?;
    } else {
        match read.rules {
            RulesIn::NotCarried => {}
            RulesIn::Unreadable => {
                return Err(NodeError::RulesUnreadable {
                    source: node.source,
                })
            }
            RulesIn::Sources(sources) => {
                let (ruleset, iptables, notes) =
                    snapshot::ruleset(&sources).map_err(|e| NodeError::Host(HostError::from(e)))?;
                node.ruleset = ruleset;
                node.iptables_sources = iptables;
                // Like `--host FILE`, only the iptables sources are kept to load: the nft
                // listing repeats the iptables-nft tables, so loading it too would double them.
                node.notes.extend(notes);
                node.rules_given = true;
            }
        }
    }
    node.ruleset.ipsets.extend(read.state.ipsets);
    Ok(node)
}

/// Loads the rules files `paths` (any dialect, as `--rules` reads them) into `node`.
pub fn add_rules_files(node: &mut Node, paths: &[PathBuf]) -> Result<(), LoadError> {
    let loaded = crate::load_rules(paths, LoadOptions::default())?;
    let ipsets = std::mem::take(&mut node.ruleset.ipsets);
    node.ruleset.merge(loaded.ruleset);
    node.ruleset.ipsets.extend(ipsets);
    node.iptables_sources.extend(loaded.iptables);
    node.nft_sources.extend(loaded.nft);
    node.notes.extend(loaded.notes);
    node.rules_given = true;
    Ok(())
}
