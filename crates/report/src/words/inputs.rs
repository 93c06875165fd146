//! How the inputs were read, in words: the loaders' guesses and what they skipped, shown
//! with the answer's assumptions and the capture's notes.

use model::note::{DialectReason, FamilyReason, InputNote, JsonSkip};
use model::Family;

/// One note on how the inputs were read, as one line.
pub fn input_note(n: &InputNote) -> String {
    match n {
        InputNote::DialectDetected {
            file,
            dialect,
            reason,
        } => format!(
            "{file} read as {}: {} (override with --format)",
            dialect.name(),
            dialect_reason(reason)
        ),
        InputNote::FamilyGuessed {
            file,
            family,
            reason,
        } => format!(
            "{file} read as {}: {} (override with --family)",
            if *family == Family::Ip6 {
                "ip6tables-save (IPv6)"
            } else {
                "iptables-save (IPv4)"
            },
            family_reason(reason)
        ),
        InputNote::JsonSkipped { file, warning } => {
            format!("{file}: {}: {}", warning.path, json_skip(&warning.skipped))
        }
        InputNote::NoRules => "no --rules given: no firewall rules, every hook accepts".into(),
        InputNote::NoRulesOfPacketFamily { family } => format!(
            "no rules of the packet's family ({}) were given: none apply to it",
            super::family_name(*family)
        ),
        InputNote::PortZero => "port 0 is legal on the wire, and netfilter and routing pass it like any other port; no socket listens on port 0".into(),
        InputNote::SnapshotRulesIgnored { snapshot } => {
            format!("{snapshot}: its rules are ignored: --rules was given")
        }
        InputNote::SnapshotUnreadable { why } => format!("snapshot: could not read {why}"),
        InputNote::SnapshotCollection { note } => format!("snapshot: at collection: {note}"),
        InputNote::SnapshotMember { member, note } => format!("snapshot: {member}: {note}"),
        InputNote::LegacyBackendRules { member } => format!(
            "snapshot: {member}: the legacy iptables backend has rules too; both backends' chains run on the same hooks"
        ),
        InputNote::HostDirIgnored { dir, read, ignored } => {
            let ignored: Vec<String> = ignored
                .iter()
                .map(|i| match &i.likely {
                    Some((file, command)) => {
                        format!("{} (meant {file}, from `{command}`?)", i.name)
                    }
                    None => i.name.clone(),
                })
                .collect();
            format!(
                "--host {dir}: read {}; not read (unknown names): {}",
                if read.is_empty() {
                    "nothing".to_string()
                } else {
                    read.join(", ")
                },
                ignored.join(", ")
            )
        }
        InputNote::CommentCut {
            file,
            line,
            bytes,
            kept,
        } => format!(
            "{file}:{line}: the comment is {bytes} bytes; iptables keeps only its first {kept} \
             (the kernel's limit is 256 with the final NUL), and so does this answer"
        ),
        InputNote::Worded(text) => text.clone(),
    }
}

fn dialect_reason(r: &DialectReason) -> String {
    match r {
        DialectReason::JsonObject => "a JSON object with \"nftables\"".into(),
        DialectReason::Line { number, text } => {
            format!("line {number} reads `{}`", shorten(text))
        }
    }
}

/// The line as quoted in a note: its first 40 characters.
fn shorten(line: &str) -> String {
    if line.chars().count() > 40 {
        let s: String = line.chars().take(40).collect();
        format!("{s}...")
    } else {
        line.to_string()
    }
}

fn json_skip(s: &JsonSkip) -> String {
    match s {
        JsonSkip::NotAnObject => "not an object; skipped".into(),
        JsonSkip::UnknownObject(kind) => format!("unknown object `{kind}`; skipped"),
        JsonSkip::UnknownFamily(family) => format!("unknown family `{family}`; skipped"),
        JsonSkip::UndefinedTable { family, table } => {
            format!("table {family} {table} is not defined; skipped")
        }
        JsonSkip::UndefinedChain(chain) => format!("chain {chain} is not defined; skipped"),
        JsonSkip::UndefinedSet(set) => format!("set {set} is not defined; skipped"),
        JsonSkip::NotAStatement => "not a statement object".into(),
        JsonSkip::UnknownStatement(kind) => format!("unknown statement `{kind}`"),
        JsonSkip::UnknownExpression(kind) => format!("unknown expression `{kind}`"),
    }
}

fn family_reason(r: &FamilyReason) -> String {
    match r {
        FamilyReason::Ip6tablesHeader => "the header says it was written by ip6tables-save".into(),
        FamilyReason::Ipv6Addresses => "contains IPv6 addresses".into(),
        FamilyReason::Ipv4Addresses => "contains IPv4 addresses".into(),
        FamilyReason::Icmpv6Protocol => "matches protocol ipv6-icmp".into(),
        FamilyReason::Icmpv6Type => "has --icmpv6-type matches".into(),
        FamilyReason::Ipv6OnlyMatch(m) => format!("uses the IPv6-only match `{m}`"),
        FamilyReason::FileName(base) => format!("the file name `{base}` says IPv6"),
        FamilyReason::NothingSaysIpv6 => {
            "no IPv6 addresses or IPv6-only matches; assuming IPv4".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Dialect;

    #[test]
    fn a_long_telling_line_is_cut_at_40_characters() {
        let note = InputNote::DialectDetected {
            file: "fw".into(),
            dialect: Dialect::NftText,
            reason: DialectReason::Line {
                number: 3,
                text: "table inet firewalld { # a comment that runs on".into(),
            },
        };
        assert_eq!(
            input_note(&note),
            "fw read as nft list ruleset text: line 3 reads \
             `table inet firewalld { # a comment that ...` (override with --format)"
        );
    }

    #[test]
    fn a_json_skip_names_the_file_and_the_path() {
        let note = InputNote::JsonSkipped {
            file: "fw.json".into(),
            warning: model::note::JsonWarning {
                path: "nftables[1].wibble".into(),
                skipped: JsonSkip::UnknownObject("wibble".into()),
            },
        };
        assert_eq!(
            input_note(&note),
            "fw.json: nftables[1].wibble: unknown object `wibble`; skipped"
        );
    }

    #[test]
    fn family_guess_names_the_family_and_why() {
        let note = InputNote::FamilyGuessed {
            file: "rules.v6".into(),
            family: Family::Ip6,
            reason: FamilyReason::FileName("rules.v6".into()),
        };
        assert_eq!(
            input_note(&note),
            "rules.v6 read as ip6tables-save (IPv6): the file name `rules.v6` says IPv6 \
             (override with --family)"
        );
    }

    #[test]
    fn a3_a_half_recognised_host_directory_names_what_was_read_and_what_was_not() {
        let note = InputNote::HostDirIgnored {
            dir: "host".into(),
            read: vec!["ip-route.json".into()],
            ignored: vec![
                model::note::IgnoredFile {
                    name: "addr.json".into(),
                    likely: Some(("ip-addr.json".into(), "ip -j addr".into())),
                },
                model::note::IgnoredFile {
                    name: "notes.txt".into(),
                    likely: None,
                },
            ],
        };
        assert_eq!(
            input_note(&note),
            "--host host: read ip-route.json; not read (unknown names): addr.json (meant \
             ip-addr.json, from `ip -j addr`?), notes.txt"
        );
    }

    #[test]
    fn b7_a_cut_comment_says_how_long_it_was_and_what_iptables_keeps() {
        let note = InputNote::CommentCut {
            file: "rules.v4".into(),
            line: 3,
            bytes: 300,
            kept: 255,
        };
        assert_eq!(
            input_note(&note),
            "rules.v4:3: the comment is 300 bytes; iptables keeps only its first 255 (the \
             kernel's limit is 256 with the final NUL), and so does this answer"
        );
    }
}
