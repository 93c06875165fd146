//! The answer on the BSD and Solaris packet filters (`whyblocked --rules ipf.conf ...`,
//! `--rules pf.conf`): one packet through the host's path of IPFilter or pf passes, its
//! fate, the deciding rule, what the sender sees, the log lines, the fixes; as text
//! ([`text`]) and as JSON ([`json`]).

pub mod json;
pub mod text;
pub mod words;

use analysis::fix_bsd::BsdFixes;
use engine::bsd::path::BsdTrace;
use engine::bsd::{Filter, Platform};
use engine::Connection;
use frontends::BsdLanguage;
use model::note::DialectReason;
use model::Host;

/// Everything a BSD answer is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct BsdAnswer<'a> {
    /// Which filter the rules are for.
    pub filter: Filter,
    /// The platform the path ran on.
    pub platform: &'a Platform,
    /// No `--os`: the platform was assumed.
    pub os_assumed: bool,
    /// The simulated path.
    pub trace: &'a BsdTrace,
    /// The host it ran on (to name its addresses).
    pub host: &'a Host,
    /// What the connection experiences ([`BsdTrace::connection`]); the headline
    /// and exit status follow it.
    pub connection: Connection,
    /// How each `--rules` file was read.
    pub detected: &'a [DetectedFile],
    /// The fixes, when the exchange is blocked and they were searched for.
    pub fixes: Option<&'a BsdFixes>,
    /// What reading the rules left undecided or left out.
    pub loaded: &'a Loaded,
}

/// What the filter was given beyond the rules' own text: names read without the host's
/// files, rules the kernel refuses to load.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// pf `user`/`group` names read without the host's passwd/group: their tests are
    /// Unknown on packets whose socket owner is not known.
    pub unresolved_names: Vec<frontends::pf::UnresolvedName>,
    /// IPFilter rules the kernel refuses (`call now srcgrpmap/N` with no such group map:
    /// `ipf_grpmapinit` fails with ESRCH); `ipf -f` reports each and loads the rest.
    pub not_loaded: Vec<model::Origin>,
    /// pf files the rules name (`table <t> file`, `load anchor … from`) not found beside the
    /// pf.conf: that table's or anchor's contents are Unknown, not empty.
    pub missing_files: Vec<MissingFile>,
}

/// A file a pf rule names that was not given.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingFile {
    /// The file, as the rule names it.
    pub file: String,
    /// What it would fill.
    pub fills: FileFills,
    /// The statement naming it.
    pub origin: model::Origin,
}

/// What a missing pf file would fill.
#[derive(Debug, Clone, PartialEq)]
pub enum FileFills {
    /// The table of this name.
    Table(String),
    /// The anchor of this name.
    Anchor(String),
}

/// How a `--rules` file's language was told.
#[derive(Debug, Clone, PartialEq)]
pub enum ToldBy {
    /// Its first telling line.
    Line(DialectReason),
    /// `--format`.
    Format,
    /// Its rules read the same in ipf.conf and pf.conf, and the platform runs only this
    /// filter.
    Platform {
        /// The platform's name.
        os: String,
    },
    /// Its rules read the same in ipf.conf and pf.conf, and another file given with it is
    /// of this filter.
    Companion {
        /// That file.
        file: String,
    },
}

/// A `--rules` file of a BSD filter and how its language was told.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedFile {
    /// The file, named as the user gave it.
    pub file: String,
    /// Its language (never [`BsdLanguage::IpfOrPf`]).
    pub language: BsdLanguage,
    /// What told it.
    pub told_by: ToldBy,
}
