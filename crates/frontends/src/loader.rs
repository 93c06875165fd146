//! The rules loader: rules files of any dialect read into one [`Ruleset`].
//!
//! Each file's dialect is told from its content by [`dialect::detect`] (or forced), each is
//! parsed by its front end, and the results merge into one ruleset: files of different
//! dialects make one mixed host, as on a real one (Docker's iptables-nft tables beside
//! firewalld's `inet firewalld`). How a file was read, when that was a guess, comes back as
//! notes to show with the answer.
//!
//! ```text
//! rules.v4  (*filter ...)            -> iptables-save, family guessed (a note says why)
//! ruleset.nft (table inet fw { ...)  -> nft text (a note says which line told)
//! ruleset.json ({"nftables": [...]}) -> nft JSON (a note; unknown objects are notes too)
//! ```

use crate::dialect::{self, Dialect};
use crate::{iptables_save, nft, ParseError};
use model::note::InputNote;
use model::{Family, Ruleset, SourceFile};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// How to read the files: what the user forced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Read every file as this dialect instead of telling it from the content.
    pub dialect: Option<Dialect>,
    /// The family of every iptables-save file (guessed per file when `None`); nft
    /// rulesets name their families themselves.
    pub family: Option<Family>,
}

/// The rules files, read and merged.
#[derive(Debug, Clone, Default)]
pub struct LoadedRules {
    pub ruleset: Ruleset,
    /// Each iptables-save file with the family it was read as (what `iptables-restore`
    /// needs).
    pub iptables: Vec<(SourceFile, Family)>,
    /// Each nft file (text or JSON), as read.
    pub nft: Vec<SourceFile>,
    /// How files were read when it was a guess, and JSON objects that were skipped.
    pub notes: Vec<InputNote>,
}

/// Why the rules could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// A file could not be read.
    Io { path: PathBuf, error: io::Error },
    /// A file was read but does not parse in its dialect.
    Parse(ParseError),
    /// No line of a non-empty file tells its dialect.
    UnknownDialect { file: String },
    /// The file is empty or holds only whitespace: no rules at all. An answer on it would
    /// be an all-clear without ground.
    Empty { file: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            LoadError::Parse(e) => e.fmt(f),
            LoadError::UnknownDialect { file } => write!(
                f,
                "{file}: cannot tell which rules language this is (no `*table` line of \
                 iptables-save, no `table FAMILY NAME {{` of nft, no JSON \"nftables\" object); \
                 say it with --format iptables|nft|nft-json"
            ),
            LoadError::Empty { file } => write!(
                f,
                "{file} is empty: it holds no rules, so there is nothing to answer from. \
                 `iptables-save > {file}` and `nft list ruleset > {file}` leave it empty when \
                 they are not run as root (their error goes to the terminal): run them with \
                 sudo, or take `sudo whyblocked snapshot` (iptables-save of a host without \
                 rules still lists its tables; an empty `nft list ruleset` as root means there \
                 is no nftables firewall to ask about)"
            ),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { error, .. } => Some(error),
            LoadError::Parse(e) => Some(e),
            LoadError::UnknownDialect { .. } | LoadError::Empty { .. } => None,
        }
    }
}

impl From<ParseError> for LoadError {
    fn from(e: ParseError) -> LoadError {
        LoadError::Parse(e)
    }
}

/// Reads the rules files at `paths`, in order, and merges them (see the module doc).
pub fn load_rules(paths: &[PathBuf], options: LoadOptions) -> Result<LoadedRules, LoadError> {
    let sources = paths.iter().map(|p| read_source(p));
    read_rules(sources, options)
}

/// [`load_rules`] for files already in memory.
pub fn read_rules(
    sources: impl IntoIterator<Item = Result<SourceFile, LoadError>>,
    options: LoadOptions,
) -> Result<LoadedRules, LoadError> {
    let mut out = LoadedRules::default();
    for source in sources {
        let source = source?;
        if source.text.trim().is_empty() {
            return Err(LoadError::Empty {
                file: source.name.to_string(),
            });
        }
        match dialect_of(&source, options.dialect, &mut out.notes)? {
            Dialect::Iptables => {
                let family = match options.family {
                    Some(f) => f,
                    None => guess_family(&source, &mut out.notes),
                };
                out.ruleset
                    .merge(iptables_save::parse(&source, Some(family))?);
                out.iptables.push((source, family));
            }
            Dialect::NftText => {
                out.ruleset.merge(nft::parse_text(&source)?);
                out.nft.push(source);
            }
            Dialect::NftJson => {
                let (ruleset, warnings) = nft::parse_json(&source)?;
                out.notes
                    .extend(warnings.into_iter().map(|warning| InputNote::JsonSkipped {
                        file: source.name.to_string(),
                        warning,
                    }));
                out.ruleset.merge(ruleset);
                out.nft.push(source);
            }
        }
    }
    Ok(out)
}

/// The file at `path`, named as the user gave it.
pub fn read_source(path: &Path) -> Result<SourceFile, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

/// The dialect of a non-empty rules file: `forced` when given, else told from its content,
/// with a note saying how it was read (mixed hosts make this worth stating).
fn dialect_of(
    source: &SourceFile,
    forced: Option<Dialect>,
    notes: &mut Vec<InputNote>,
) -> Result<Dialect, LoadError> {
    if let Some(d) = forced {
        return Ok(d);
    }
    match dialect::detect(&source.text) {
        // iptables files keep their own note (with the family guess).
        Some((Dialect::Iptables, _)) => Ok(Dialect::Iptables),
        Some((d, reason)) => {
            notes.push(InputNote::DialectDetected {
                file: source.name.to_string(),
                dialect: d,
                reason,
            });
            Ok(d)
        }
        None => Err(LoadError::UnknownDialect {
            file: source.name.to_string(),
        }),
    }
}

/// The family of an iptables-save file, guessed from its name and content, with a note.
fn guess_family(source: &SourceFile, notes: &mut Vec<InputNote>) -> Family {
    let (family, reason) = iptables_save::guess_family(&source.name, &source.text);
    notes.push(InputNote::FamilyGuessed {
        file: source.name.to_string(),
        family,
        reason,
    });
    family
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(files: &[(&str, &str)], options: LoadOptions) -> Result<LoadedRules, LoadError> {
        read_rules(
            files.iter().map(|(n, t)| Ok(SourceFile::new(*n, *t))),
            options,
        )
    }

    #[test]
    fn mixed_dialects_merge_into_one_ruleset_with_notes() {
        let loaded = read(
            &[
                (
                    "rules.v6",
                    "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s ::1 -j ACCEPT\nCOMMIT\n",
                ),
                ("fw.nft", "table inet fw {\n chain input {\n }\n}\n"),
                (
                    "fw.json",
                    "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"j\"}}]}",
                ),
            ],
            LoadOptions::default(),
        )
        .unwrap();
        let tables: Vec<_> = loaded
            .ruleset
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.origin.dialect))
            .collect();
        assert_eq!(
            tables,
            [
                ("filter", Some(Dialect::Iptables)),
                ("fw", Some(Dialect::NftText)),
                ("j", Some(Dialect::NftJson)),
            ]
        );
        assert_eq!(loaded.iptables[0].1, Family::Ip6);
        assert_eq!(loaded.nft.len(), 2);
        assert!(matches!(
            &loaded.notes[0],
            InputNote::FamilyGuessed { file, family: Family::Ip6, .. } if file == "rules.v6"
        ));
        assert!(matches!(
            &loaded.notes[1],
            InputNote::DialectDetected {
                file,
                dialect: Dialect::NftText,
                reason: dialect::DialectReason::Line { number: 1, .. },
            } if file == "fw.nft"
        ));
        assert!(matches!(
            &loaded.notes[2],
            InputNote::DialectDetected { file, dialect: Dialect::NftJson, .. } if file == "fw.json"
        ));
    }

    #[test]
    fn forced_dialect_and_family_leave_no_notes() {
        let options = LoadOptions {
            dialect: Some(Dialect::Iptables),
            family: Some(Family::Ip),
        };
        let loaded = read(&[("r", "*filter\nCOMMIT\n")], options).unwrap();
        assert!(loaded.notes.is_empty());
        assert_eq!(loaded.iptables[0].1, Family::Ip);
        // Forced to the wrong dialect: that front end's error.
        let err = read(&[("r", "table ip t {\n}\n")], options).unwrap_err();
        assert!(matches!(err, LoadError::Parse(_)));
    }

    #[test]
    fn unknown_dialect_is_an_error_and_so_is_an_empty_file() {
        let err = read(&[("x", "hello\n")], LoadOptions::default()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("x: cannot tell which rules language"));
        // Empty or whitespace only, whatever --format says: no ground for any answer.
        for text in ["", "\n", "  \n\t\n"] {
            for dialect in [None, Some(Dialect::Iptables), Some(Dialect::NftText)] {
                let options = LoadOptions {
                    dialect,
                    family: None,
                };
                let err = read(&[("rules.v4", text)], options).unwrap_err();
                assert!(matches!(err, LoadError::Empty { .. }), "{err}");
                assert!(err.to_string().starts_with("rules.v4 is empty"), "{err}");
            }
        }
        // A host without a firewall lists empty tables: that is a ruleset.
        let loaded = read(
            &[("r", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")],
            LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(loaded.ruleset.tables.len(), 1);
    }
}
