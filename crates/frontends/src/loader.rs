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
use model::diag::ParseError as Diag;
use model::note::InputNote;
use model::source::{BinaryKind, DecodedText};
use model::{Family, Origin, Ruleset, SourceFile, Span};
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
    /// The file is binary (a capture, compressed, an executable), not text.
    NotText(NotText),
}

/// A binary file given where text is expected, named for what it looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotText {
    /// The file, named as the user gave it.
    pub file: String,
    /// What its first bytes say it is.
    pub kind: BinaryKind,
    /// What was expected instead, as a phrase (`a ruleset`, `a log`).
    pub expected: String,
}

/// Why a file's bytes are not text that can be read (see [`read_text`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TextError {
    /// The file is binary.
    NotText(NotText),
    /// A byte that is not UTF-8 where it would be part of a name, at its position.
    Encoding(Diag),
}

impl From<TextError> for LoadError {
    fn from(e: TextError) -> LoadError {
        match e {
            TextError::NotText(e) => LoadError::NotText(e),
            TextError::Encoding(e) => LoadError::Parse(e),
        }
    }
}

impl fmt::Display for NotText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let looks_like = match self.kind {
            BinaryKind::Pcap => "a pcap capture (read it with `whyblocked pcap`)",
            BinaryKind::Pcapng => "a pcapng capture (read it with `whyblocked pcap`)",
            BinaryKind::Gzip => "gzip-compressed data (decompress it first, e.g. `zcat`)",
            BinaryKind::Xz => "xz-compressed data (decompress it first, e.g. `xzcat`)",
            BinaryKind::Zstd => "zstd-compressed data (decompress it first, e.g. `zstdcat`)",
            BinaryKind::Bzip2 => "bzip2-compressed data (decompress it first, e.g. `bzcat`)",
            BinaryKind::Zip => "a zip archive",
            BinaryKind::Elf => "an executable (ELF)",
            BinaryKind::Journal => {
                "a systemd journal file (export its text with `journalctl -k --file FILE`)"
            }
            BinaryKind::Other => "binary data (it holds NUL bytes), not text",
        };
        write!(
            f,
            "{} is not {}: it looks like {looks_like}",
            self.file, self.expected
        )
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            LoadError::Parse(e) => e.fmt(f),
            LoadError::NotText(e) => e.fmt(f),
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
            LoadError::UnknownDialect { .. } | LoadError::Empty { .. } | LoadError::NotText(_) => {
                None
            }
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
                let ruleset = iptables_save::parse(&source, Some(family))?;
                note_cut_comments(&source, &ruleset, &mut out.notes);
                out.ruleset.merge(ruleset);
                out.iptables.push((source, family));
            }
            Dialect::NftText => {
                let ruleset = nft::parse_text(&source)?;
                refuse_long_comments(&source, &ruleset, NFT_TEXT_COMMENT_MAX)?;
                out.ruleset.merge(ruleset);
                out.nft.push(source);
            }
            Dialect::NftJson => {
                let (ruleset, warnings) = nft::parse_json(&source)?;
                refuse_long_comments(&source, &ruleset, NFT_JSON_COMMENT_MAX)?;
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

/// The rules file at `path`, named as the user gave it, read as [`read_text`] reads it.
pub fn read_source(path: &Path) -> Result<SourceFile, LoadError> {
    read_file(path, "a ruleset", NonUtf8::FreeTextOnly)
}

/// The text file at `path`, named as the user gave it, read as [`read_text`] reads it;
/// `expected` says what it should have been when it is binary.
pub fn read_file(path: &Path, expected: &str, non_utf8: NonUtf8) -> Result<SourceFile, LoadError> {
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(read_text(
        path.display().to_string(),
        &bytes,
        expected,
        non_utf8,
    )?)
}

/// Where a byte that is not UTF-8 may stand in a text file (it is kept escaped, `<NN>`,
/// wherever it is allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonUtf8 {
    /// Only in free text: a quoted string, a comment or log prefix, a `#` comment. Anywhere
    /// else it would be part of a name or keyword of a ruleset, and is refused at its
    /// position.
    FreeTextOnly,
    /// Anywhere: a command's output (sysctl values, process names, log lines) whose bytes
    /// are shown, not matched as names.
    Anywhere,
}

/// The bytes of a file named `name` as text: a binary file is refused for what it looks like
/// (`expected` says what was wanted instead); a byte that is not UTF-8 is kept escaped
/// (`<NN>`) where `non_utf8` allows it and refused at its line and column anywhere else.
pub fn read_text(
    name: String,
    bytes: &[u8],
    expected: &str,
    non_utf8: NonUtf8,
) -> Result<SourceFile, TextError> {
    let decoded = DecodedText::decode(bytes).map_err(|kind| {
        TextError::NotText(NotText {
            file: name.clone(),
            kind,
            expected: expected.to_string(),
        })
    })?;
    let source = SourceFile::new(name, decoded.text);
    let in_a_name = match non_utf8 {
        NonUtf8::FreeTextOnly => escape_in_a_name(&source.text, &decoded.escaped),
        NonUtf8::Anywhere => None,
    };
    if let Some(at) = in_a_name {
        let escape = &source.text[at..at + 4];
        return Err(TextError::Encoding(Diag::invalid_value(
            &source,
            Span::new(at, at + 4),
            "byte",
            escape,
            "not UTF-8, and outside a quoted string, comment or log prefix, where it would be \
             part of a name",
        )));
    }
    Ok(source)
}

/// The first of the `escaped` offsets of `text` that is not in free text (see
/// [`read_text`]). One pass over each line that holds an escape.
fn escape_in_a_name(text: &str, escaped: &[usize]) -> Option<usize> {
    /// The words after which the next word is free text in iptables-save and nft.
    const FREE_AFTER: [&str; 5] = [
        "--comment",
        "--log-prefix",
        "--nflog-prefix",
        "comment",
        "prefix",
    ];
    let mut pending = escaped.iter().copied().peekable();
    for line in crate::lines::lines(text) {
        let end = line.start + line.text.len();
        if pending.peek().is_none_or(|&at| at >= end) {
            continue;
        }
        let (mut quoted, mut escaped_char, mut comment) = (false, false, false);
        let mut word_start = 0;
        let mut previous_word = "";
        let mut free_word = false;
        for (i, c) in line.text.char_indices() {
            let at = line.start + i;
            if pending.peek() == Some(&at) {
                pending.next();
                if !(quoted || comment || free_word) {
                    return Some(at);
                }
            }
            if escaped_char {
                escaped_char = false;
            } else if quoted {
                match c {
                    '\\' => escaped_char = true,
                    '"' => quoted = false,
                    _ => {}
                }
            } else if c == '"' {
                quoted = true;
            } else if c == '#' {
                comment = true;
            } else if c.is_whitespace() {
                if word_start < i {
                    previous_word = &line.text[word_start..i];
                }
                word_start = i + c.len_utf8();
                free_word = false;
            } else if word_start == i {
                free_word = FREE_AFTER.contains(&previous_word);
            }
        }
        while pending.peek().is_some_and(|&at| at < end) {
            pending.next();
        }
    }
    None
}

/// The longest comment `nft -f` loads, in bytes: nft 1.0.6 refuses a longer one ("comment
/// too long, 128 characters maximum allowed", `NFTNL_UDATA_COMMENT_MAXLEN`), whatever it is
/// on (table, chain, set, rule). Checked with nft in a namespace.
const NFT_TEXT_COMMENT_MAX: usize = 128;
/// The longest comment `nft -j -f` loads: its JSON parser does not check, but the comment
/// and its two-byte TLV header and NUL must fit the kernel's `NFT_USERDATA_MAXLEN` (256);
/// 254 bytes fail ("Memory allocation failure"). Checked with nft 1.0.6 in a namespace.
const NFT_JSON_COMMENT_MAX: usize = 253;

/// Every origin of `ruleset` that can carry a comment: tables, chains, sets, rules.
fn origins(ruleset: &Ruleset) -> impl Iterator<Item = &Origin> {
    ruleset.tables.iter().flat_map(|t| {
        std::iter::once(&t.origin)
            .chain(
                t.chains.iter().flat_map(|c| {
                    std::iter::once(&c.origin).chain(c.rules.iter().map(|r| &r.origin))
                }),
            )
            .chain(t.sets.iter().map(|s| &s.origin))
    })
}

/// An nft file with a comment longer than `max` bytes is refused, at the comment, as nft
/// refuses it: a ruleset the kernel would never hold is not answered about.
fn refuse_long_comments(
    source: &SourceFile,
    ruleset: &Ruleset,
    max: usize,
) -> Result<(), LoadError> {
    let Some(origin) = origins(ruleset).find(|o| o.comment.as_ref().is_some_and(|c| c.len() > max))
    else {
        return Ok(());
    };
    let comment = origin.comment.as_deref().unwrap_or_default();
    let from = (origin.span.start as usize).min(source.text.len());
    let quoted = format!("\"{comment}\"");
    let span = source.text[from..].find(&quoted).map_or(origin.span, |at| {
        Span::new(from + at, from + at + quoted.len())
    });
    let shown: String = comment.chars().take(40).collect();
    Err(LoadError::Parse(Diag::invalid_value(
        source,
        span,
        "comment",
        &format!("{shown}…"),
        &format!(
            "{} bytes; nft loads comments of at most {max} bytes and refuses this file",
            comment.len()
        ),
    )))
}

/// Notes each iptables rule whose comment iptables cut: `-m comment` keeps the first
/// [`iptables_save::COMMENT_MAX`] bytes (the kernel's `XT_MAX_COMMENT_LEN` is 256 with the
/// NUL), silently, in iptables-restore and iptables alike (checked with 1.8.9, both
/// backends, in a namespace); the parser has already cut it the same way.
fn note_cut_comments(source: &SourceFile, ruleset: &Ruleset, notes: &mut Vec<InputNote>) {
    for origin in origins(ruleset) {
        let Ok(tokens) = iptables_save::lexer::tokenize(&origin.text, 0) else {
            continue;
        };
        let longest = tokens
            .windows(2)
            .filter(|w| w[0].text == "--comment")
            .map(|w| w[1].text.len())
            .max();
        if let Some(bytes) = longest.filter(|&b| b > iptables_save::COMMENT_MAX) {
            notes.push(InputNote::CommentCut {
                file: source.name.to_string(),
                line: origin.line,
                bytes,
                kept: iptables_save::COMMENT_MAX,
            });
        }
    }
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

    fn text(bytes: &[u8]) -> Result<SourceFile, TextError> {
        read_text("rules.v4".into(), bytes, "a ruleset", NonUtf8::FreeTextOnly)
    }

    #[test]
    fn b4_a_latin1_comment_or_log_prefix_is_read_with_the_byte_kept_escaped() {
        for (line, comment) in [
            (
                &b"-A INPUT -p tcp --dport 22 -m comment --comment \"caf\xe9\" -j DROP"[..],
                "caf<E9>",
            ),
            (b"-A INPUT -m comment --comment caf\xe9 -j DROP", "caf<E9>"),
            (b"-A INPUT -j LOG --log-prefix \"d\xe9ny \"", ""),
            (b"# \xe9crit par moi\n-A INPUT -j DROP", ""),
        ] {
            let mut bytes = b"*filter\n:INPUT ACCEPT [0:0]\n".to_vec();
            bytes.extend_from_slice(line);
            bytes.extend_from_slice(b"\nCOMMIT\n");
            let source = text(&bytes).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
            let loaded = read_rules([Ok(source)], LoadOptions::default()).unwrap();
            let rule = &loaded.ruleset.tables[0].chains[0].rules[0];
            if !comment.is_empty() {
                assert_eq!(rule.origin.comment.as_deref(), Some(comment));
            }
        }
    }

    #[test]
    fn b4_a_byte_that_is_not_utf8_in_a_name_is_refused_at_its_line_and_column() {
        let err = text(b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i eth\xe9 -j DROP\nCOMMIT\n")
            .unwrap_err();
        let TextError::Encoding(e) = err else {
            panic!("{err:?}");
        };
        assert_eq!(e.line_col(), (3, 16));
        assert_eq!(
            &e.source.text[e.span.start as usize..e.span.end as usize],
            "<E9>"
        );
        assert!(
            e.to_string()
                .starts_with("rules.v4:3:16: invalid byte `<E9>`: not UTF-8"),
            "{e}"
        );
        // In nft a name is a quoted string: the byte there is kept.
        assert!(text(b"table ip t {\n chain c {\n iifname \"eth\xe9\" drop\n }\n}\n").is_ok());
        // A command's output keeps it anywhere.
        let kept = read_text("ss.txt".into(), b"x\xe9", "ss", NonUtf8::Anywhere).unwrap();
        assert_eq!(&*kept.text, "x<E9>");
    }

    #[test]
    fn b4_a_binary_rules_file_is_not_a_ruleset_but_what_it_looks_like() {
        for (bytes, looks_like) in [
            (
                &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0][..],
                "it looks like a pcap capture",
            ),
            (
                &[0x1f, 0x8b, 8, 0][..],
                "it looks like gzip-compressed data",
            ),
            (
                b"*filter\n\x00\x01\x02",
                "it looks like binary data (it holds NUL bytes)",
            ),
        ] {
            let err = LoadError::from(text(bytes).unwrap_err());
            assert!(matches!(err, LoadError::NotText(_)), "{err:?}");
            assert!(
                err.to_string()
                    .starts_with(&format!("rules.v4 is not a ruleset: {looks_like}")),
                "{err}"
            );
        }
    }

    #[test]
    fn b7_an_iptables_comment_over_255_bytes_is_cut_as_iptables_cuts_it_and_noted() {
        let long = "a".repeat(300);
        let rules = format!(
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"{long}\" -j DROP\n\
             -A INPUT -m comment --comment \"{}\" -j DROP\nCOMMIT\n",
            "b".repeat(255)
        );
        let loaded = read(&[("rules.v4", &rules)], LoadOptions::default()).unwrap();
        let rules = &loaded.ruleset.tables[0].chains[0].rules;
        assert_eq!(rules[0].origin.comment.as_deref(), Some(&long[..255]));
        assert_eq!(rules[1].origin.comment.as_ref().map(String::len), Some(255));
        let cut: Vec<_> = loaded
            .notes
            .iter()
            .filter(|n| matches!(n, InputNote::CommentCut { .. }))
            .collect();
        assert_eq!(
            cut,
            [&InputNote::CommentCut {
                file: "rules.v4".into(),
                line: 3,
                bytes: 300,
                kept: 255
            }]
        );
    }

    #[test]
    fn b7_an_nft_comment_longer_than_nft_loads_is_refused_at_the_comment() {
        let rule = |n: usize| {
            format!(
                "table ip t {{\n chain c {{\n  accept comment \"{}\"\n }}\n}}\n",
                "a".repeat(n)
            )
        };
        assert!(read(&[("fw.nft", &rule(128))], LoadOptions::default()).is_ok());
        let err = read(&[("fw.nft", &rule(129))], LoadOptions::default()).unwrap_err();
        let LoadError::Parse(e) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(e.line_col(), (3, 18));
        assert_eq!(e.span.len(), 129 + 2);
        assert!(
            err.to_string().ends_with(
                "129 bytes; nft loads comments of at most 128 bytes and refuses this file"
            ),
            "{err}"
        );
        let json = |n: usize| {
            format!(
                "{{\"nftables\": [{{\"table\": {{\"family\": \"ip\", \"name\": \"t\"}}}}, \
                 {{\"chain\": {{\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\"}}}}, \
                 {{\"rule\": {{\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \
                 \"comment\": \"{}\", \"expr\": [{{\"accept\": null}}]}}}}]}}",
                "a".repeat(n)
            )
        };
        assert!(read(&[("fw.json", &json(253))], LoadOptions::default()).is_ok());
        let err = read(&[("fw.json", &json(254))], LoadOptions::default()).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "254 bytes; nft loads comments of at most 253 bytes and refuses this file"
            ),
            "{err}"
        );
    }
}
