//! Notes on how the inputs were read: the guesses the loaders made (which language a rules
//! file is in, which family an iptables-save file is) and what they skipped, as facts.
//! `report` puts them into words beside the answer's assumptions; callers filter them by
//! variant, never by text.

use crate::{Dialect, Family};

/// One note on how the inputs were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputNote {
    /// A rules file's language was told from its content (`--format` was not given).
    DialectDetected {
        /// The file, named as the user gave it.
        file: String,
        /// The language it was read as.
        dialect: Dialect,
        /// What in the file told it.
        reason: DialectReason,
    },
    /// An iptables-save file's family was guessed (`--family` was not given).
    FamilyGuessed {
        /// The file, named as the user gave it.
        file: String,
        /// The family it was read as: [`Family::Ip`] or [`Family::Ip6`].
        family: Family,
        /// What the guess rests on.
        reason: FamilyReason,
    },
    /// Something of an `nft -j` file was not understood and skipped.
    JsonSkipped {
        /// The file, named as the user gave it.
        file: String,
        /// Where in the document, and what was skipped there.
        warning: JsonWarning,
    },
    /// Neither `--rules` nor a host snapshot gave rules: every hook accepts.
    NoRules,
    /// Rules were given, but no table of them sees the packet's family.
    NoRulesOfPacketFamily {
        /// The packet's family: [`Family::Ip`] or [`Family::Ip6`].
        family: Family,
    },
    /// The packet's source or destination port is 0: legal on the wire, and netfilter and
    /// routing pass it like any other port, but no socket can listen on it.
    PortZero,
    /// A host snapshot's rules were not read because `--rules` was given.
    SnapshotRulesIgnored {
        /// The snapshot, named as the user gave it (or the live host).
        snapshot: String,
    },
    /// A member of a host snapshot could not be collected: its state is unknown.
    SnapshotUnreadable {
        /// The member and the error recorded at collection, as the snapshot holds them.
        why: String,
    },
    /// A note the collector recorded in the snapshot about what it could not read.
    SnapshotCollection {
        /// The note, as the snapshot holds it.
        note: String,
    },
    /// A note the collector recorded on one member (e.g. the conntrack table was cut).
    SnapshotMember {
        /// The member's name (`conntrack.txt`).
        member: String,
        /// The note, as the snapshot holds it.
        note: String,
    },
    /// The legacy iptables backend of a snapshot has rules too: both backends' chains run
    /// on the same hooks.
    LegacyBackendRules {
        /// The member holding the legacy rules (`iptables-legacy-save.txt`).
        member: String,
    },
    /// A host directory holds files that were not read (a misnamed `addr.json`): what was
    /// read and what was not, so a half-recognised directory is visible.
    HostDirIgnored {
        /// The directory, named as the user gave it.
        dir: String,
        /// The files and folders read (`ip-route.json`, `etc/`), sorted.
        read: Vec<String>,
        /// The entries not read, sorted.
        ignored: Vec<IgnoredFile>,
    },
    /// An iptables comment longer than the kernel holds: iptables keeps its first `kept`
    /// bytes, and so did the reader.
    CommentCut {
        /// The file, named as the user gave it.
        file: String,
        /// The rule's line, from 1.
        line: u32,
        /// The comment's length as written, in bytes.
        bytes: usize,
        /// How many bytes iptables keeps.
        kept: usize,
    },
    /// A note given in words by a caller that has no variant for it (tests' fixtures).
    Worded(String),
}

/// An entry of a host directory that was not read (see [`InputNote::HostDirIgnored`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredFile {
    /// Its name in the directory (`addr.json`, `cmd/ufw.out`).
    pub name: String,
    /// The file of a host directory it was most likely meant to be (`ip-addr.json`), with
    /// the command that makes that file.
    pub likely: Option<(String, String)>,
}

/// What told a rules file's language (see [`InputNote::DialectDetected`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialectReason {
    /// The file is a JSON document with an `"nftables"` key.
    JsonObject,
    /// The first telling line.
    Line {
        /// Its line number, from 1.
        number: usize,
        /// The line, trimmed.
        text: String,
    },
}

/// What an iptables-save file's family was guessed from, strongest evidence first (see
/// [`InputNote::FamilyGuessed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyReason {
    /// A header comment says `ip6tables-save` wrote it.
    Ip6tablesHeader,
    /// An address match holds an IPv6 address.
    Ipv6Addresses,
    /// An address match holds an IPv4 address (and none an IPv6 one).
    Ipv4Addresses,
    /// A rule matches protocol `ipv6-icmp`.
    Icmpv6Protocol,
    /// A rule has `--icmpv6-type`.
    Icmpv6Type,
    /// A rule uses a match that exists only in ip6tables (`hl`, `rt`, `frag`, ...).
    Ipv6OnlyMatch(String),
    /// The file's base name (lower-cased) says IPv6 (`rules.v6`, `user6.rules`).
    FileName(String),
    /// Nothing says IPv6: IPv4 is assumed.
    NothingSaysIpv6,
}

/// Something an `nft -j` document holds that the reader skipped (see
/// [`InputNote::JsonSkipped`]): tolerated so a newer nft's output still reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonWarning {
    /// The JSON path of the skipped value (`nftables[3].rule.expr[1]`).
    pub path: String,
    /// What was skipped.
    pub skipped: JsonSkip,
}

/// What an `nft -j` reader skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonSkip {
    /// An item of the `nftables` array is not an object.
    NotAnObject,
    /// An object kind the reader does not know.
    UnknownObject(String),
    /// A table of a family the kernel does not have.
    UnknownFamily(String),
    /// An object of a table the document does not define.
    UndefinedTable {
        /// The family, as written.
        family: String,
        /// The table's name.
        table: String,
    },
    /// A rule of a chain the document does not define.
    UndefinedChain(String),
    /// Elements of a set the document does not define.
    UndefinedSet(String),
    /// A statement that is not an object (the rule keeps it as unknown).
    NotAStatement,
    /// A statement kind the reader does not know (the rule keeps it as unknown).
    UnknownStatement(String),
    /// An expression kind the reader does not know (kept as opaque).
    UnknownExpression(String),
}
