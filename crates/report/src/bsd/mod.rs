//! The answer on the BSD and Solaris packet filters (`whyblocked --rules ipf.conf ...`,
//! `--rules pf.conf`): one packet through the host's path of IPFilter or pf passes, its
//! fate, the deciding rule, what the sender sees, the log lines, the fixes; as text
//! ([`text`]) and as JSON ([`json`]).

pub mod words;

use frontends::BsdLanguage;
use model::note::DialectReason;

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
