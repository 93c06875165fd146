//! A host snapshot: one file that carries everything offline mode reads from a live host
//! (`whyblocked snapshot` writes it, `--host FILE` reads it back).
//!
//! # Format (version 1)
//!
//! A sectioned text archive, readable with `less` and exact to read back: every member is
//! the output of one command (or one configuration file), stored byte for byte with its
//! length, the command that produced it, its exit status and its stderr.
//!
//! ```text
//! %whyblocked-snapshot 1
//! %meta hostname web1                 (any number of `%meta KEY VALUE` lines)
//! %member ip-addr.json                (a member: its name ...)
//! %command ip -j addr                 (... the command that produced it ...)
//! %status 0                           (... its exit status: `0`, `1`, `signal 9`, `not run: why`)
//! %note truncated to 10000 entries    (... any number of notes ...)
//! %stdout 1234                        (... N bytes of output, then one newline ...)
//! [{"ifindex":1, ...}]
//! %stderr 0                           (... N bytes of stderr, then one newline)
//!
//! %end
//! %eof                                (the last line: a file without it was cut short)
//! ```
//!
//! Lines outside members that start with `#` are comments. Member names follow the host
//! directory layout of [`crate::host::host_dir`] (`ip-addr.json`, `ip-link.json`,
//! `ip-neigh.json`, `ip-route.json`, `sysctl.txt`, ...) plus the rule sources (`iptables-save.txt`, `ip6tables-save.txt`,
//! `iptables-legacy-save.txt`, `ip6tables-legacy-save.txt`, `nft-ruleset.txt`,
//! `nft-ruleset.json`) and the firewall tools' configuration: files as `file:PATH`
//! (`file:/etc/ufw/user.rules`) and tool commands as `cmd/STEM.txt`
//! (`cmd/ufw-status-numbered.txt`, the stems of [`crate::host::host_dir::TOOL_COMMANDS`]),
//! read into [`Loaded::state`]'s `config` named by host path and by command, as a host
//! directory's `etc/**` and `cmd/` are.
//!
//! A member whose command failed and printed nothing is *unreadable*: its part of the host
//! stays unknown and [`Loaded::notes`] says so; nothing is guessed.

use crate::host::host_dir::{command_of_stem, HostState};
use model::diag::{ErrorKind, ParseError};
use model::note::InputNote;
use model::tool_config::ToolConfig;
use model::{Family, Ruleset, SourceFile, Span};
use std::fmt::Write as _;

/// The first line of every snapshot.
pub const MAGIC: &str = "%whyblocked-snapshot 1";

/// One snapshot, in memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// `%meta` lines: who collected it, when, as which user, what could not be read.
    pub meta: Vec<(String, String)>,
    pub members: Vec<Member>,
}

/// The output of one command (or one file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Member {
    pub name: String,
    pub command: String,
    /// `0`, `1`, `signal 9`, `not run: <why>`.
    pub status: String,
    pub notes: Vec<String>,
    pub stdout: String,
    pub stderr: String,
}

impl Member {
    /// Whether this member can be used: the command succeeded, or it failed part-way but
    /// still printed something (e.g. `sysctl` skipping keys it may not read).
    pub fn readable(&self) -> bool {
        self.status == "0" || !self.stdout.trim().is_empty()
    }

    /// Why it cannot be used (for notes and stderr), when it cannot.
    pub fn why_unreadable(&self) -> Option<String> {
        if self.readable() {
            return None;
        }
        let err = self
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output");
        Some(format!(
            "{} (`{}`, status {}): {err}",
            self.name, self.command, self.status
        ))
    }
}

impl Snapshot {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// Members that could not be read, with why.
    pub fn unreadable(&self) -> Vec<String> {
        self.members
            .iter()
            .filter_map(Member::why_unreadable)
            .collect()
    }

    /// The archive text (see the module doc).
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(MAGIC);
        s.push('\n');
        s.push_str(
            "# whyblocked host snapshot: read it back with `whyblocked --host THIS-FILE PACKET`.\n",
        );
        s.push_str(
            "# Each member: %command, %status, %stdout N (N bytes follow), %stderr N, %end.\n",
        );
        for (k, v) in &self.meta {
            let _ = writeln!(s, "%meta {} {}", one_line(k), one_line(v));
        }
        for m in &self.members {
            let _ = writeln!(s, "%member {}", one_line(&m.name));
            let _ = writeln!(s, "%command {}", one_line(&m.command));
            let _ = writeln!(s, "%status {}", one_line(&m.status));
            for n in &m.notes {
                let _ = writeln!(s, "%note {}", one_line(n));
            }
            let _ = writeln!(s, "%stdout {}", m.stdout.len());
            s.push_str(&m.stdout);
            s.push('\n');
            let _ = writeln!(s, "%stderr {}", m.stderr.len());
            s.push_str(&m.stderr);
            s.push('\n');
            s.push_str("%end\n");
        }
        s.push_str("%eof\n");
        s
    }

    /// Reads an archive. Errors point at the offending line of `source`.
    pub fn parse(source: &SourceFile) -> Result<Snapshot, ParseError> {
        Reader { source, pos: 0 }.snapshot()
    }
}

/// Header values are single lines; a newline would end the header early.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

struct Reader<'a> {
    source: &'a SourceFile,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn text(&self) -> &'a str {
        &self.source.text
    }

    fn err(&self, start: usize, end: usize, message: String) -> ParseError {
        ParseError::new(
            self.source,
            Span::new(start, end.max(start)),
            ErrorKind::Structure { message },
        )
    }

    /// The next line (without its newline) and its start, or None at the end.
    fn line(&mut self) -> Option<(usize, &'a str)> {
        let text: &'a str = &self.source.text;
        if self.pos >= text.len() {
            return None;
        }
        let start = self.pos;
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        self.pos = (end + 1).min(text.len());
        Some((start, &text[start..end]))
    }

    /// A `%KEY value` header line that must be `key`.
    fn header(&mut self, key: &str) -> Result<(usize, String), ParseError> {
        let at = self.pos;
        match self.line() {
            Some((start, l)) => match l.strip_prefix('%').and_then(|r| r.split_once(' ')) {
                Some((k, v)) if k == key => Ok((start, v.to_string())),
                _ if l.strip_prefix('%') == Some(key) => Ok((start, String::new())),
                _ => {
                    let end = start + l.len();
                    Err(self.err(start, end, format!("expected `%{key}`, found `{l}`")))
                }
            },
            None => Err(self.err(at, at, format!("expected `%{key}`, found end of file"))),
        }
    }

    /// `%KEY N` then N bytes then a newline.
    fn blob(&mut self, key: &str) -> Result<String, ParseError> {
        let (start, n) = self.header(key)?;
        let len: usize = n.trim().parse().map_err(|_| {
            self.err(
                start,
                self.pos,
                format!("`%{key}` needs a byte count, found `{n}`"),
            )
        })?;
        let from = self.pos;
        let to = from.checked_add(len).filter(|&t| t < self.text().len() + 1);
        let Some(to) = to else {
            return Err(self.err(
                start,
                self.pos,
                format!("`%{key} {len}` runs past the end of the file (truncated snapshot?)"),
            ));
        };
        let Some(body) = self.text().get(from..to) else {
            return Err(self.err(
                start,
                self.pos,
                format!("`%{key} {len}` does not end on a character boundary (edited by hand?)"),
            ));
        };
        let body = body.to_string();
        if self.text().as_bytes().get(to) != Some(&b'\n') {
            return Err(self.err(
                to,
                to + 1,
                format!("`%{key} {len}`: expected a newline after {len} bytes (edited by hand? fix the count)"),
            ));
        }
        self.pos = to + 1;
        Ok(body)
    }

    fn snapshot(mut self) -> Result<Snapshot, ParseError> {
        match self.line() {
            Some((_, l)) if l.trim_end() == MAGIC => {}
            Some((s, l)) => {
                return Err(self.err(
                    s,
                    s + l.len(),
                    format!("not a whyblocked snapshot: expected `{MAGIC}` on the first line"),
                ))
            }
            None => return Err(self.err(0, 0, "empty file: not a whyblocked snapshot".into())),
        }
        let mut snap = Snapshot::default();
        let mut complete = false;
        while let Some((start, l)) = self.line() {
            let l = l.trim_end_matches('\r');
            if l.trim().is_empty() || l.starts_with('#') {
                continue;
            }
            if l == "%eof" {
                complete = true;
                break;
            }
            if let Some(rest) = l.strip_prefix("%meta ") {
                let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                snap.meta.push((k.to_string(), v.to_string()));
            } else if let Some(name) = l.strip_prefix("%member ") {
                let name = name.to_string();
                let (_, command) = self.header("command")?;
                let (_, status) = self.header("status")?;
                let mut notes = Vec::new();
                while self.text()[self.pos..].starts_with("%note") {
                    notes.push(self.header("note")?.1);
                }
                let stdout = self.blob("stdout")?;
                let stderr = self.blob("stderr")?;
                self.header("end")?;
                snap.members.push(Member {
                    name,
                    command,
                    status,
                    notes,
                    stdout,
                    stderr,
                });
            } else {
                let end = start + l.len();
                return Err(self.err(
                    start,
                    end,
                    format!("expected `%meta`, `%member` or `%eof`, found `{l}`"),
                ));
            }
        }
        if !complete {
            let end = self.text().len();
            return Err(self.err(end, end, "no `%eof` line: the snapshot is truncated".into()));
        }
        Ok(snap)
    }
}

/// The language of a rule source inside a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `iptables-save -c` / `ip6tables-save -c` (nft or legacy backend).
    IptablesSave(Family),
    /// `nft -a list ruleset`.
    NftText,
    /// `nft -j list ruleset`.
    NftJson,
}

/// A rule source found in a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSource {
    pub kind: RuleKind,
    pub member: String,
    pub source: SourceFile,
}

/// What a snapshot says about its host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Loaded {
    pub state: HostState,
    /// Readable rule sources, in the order they should be read.
    pub rules: Vec<RuleSource>,
    /// Whether any rule source at all could be read (an unreadable ruleset is not "no rules").
    pub rules_known: bool,
    /// What could not be read or was guessed.
    pub notes: Vec<InputNote>,
}

/// The source of member `m`, named `FILE[member]` so errors point into the member.
fn member_source(file: &str, m: &Member) -> SourceFile {
    SourceFile::new(format!("{file}[{}]", m.name), m.stdout.clone())
}

/// Whether iptables-save output has anything in it beyond empty built-in chains with
/// ACCEPT policies (an unused legacy backend prints those, or nothing).
fn iptables_has_rules(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("-A ")
            || (l.starts_with(':') && !l.contains(" ACCEPT ") && !l.contains(" - "))
    })
}

/// Reads the host state and rule sources of `snap` (`file` names it in messages).
pub fn load(file: &str, snap: &Snapshot) -> Result<Loaded, ParseError> {
    let mut out = Loaded::default();
    for why in snap.unreadable() {
        out.notes.push(InputNote::SnapshotUnreadable { why });
    }
    for (k, v) in &snap.meta {
        if k == "unreadable" {
            out.notes
                .push(InputNote::SnapshotCollection { note: v.clone() });
        }
    }
    let get = |name: &str| {
        snap.member(name)
            .filter(|m| m.readable())
            .map(|m| member_source(file, m))
    };
    let host = &mut out.state.host;
    if let Some(s) = get("ip-addr.json") {
        host.interfaces = crate::host::iproute::parse_addrs(&s)?;
        host.known.addresses = true;
    }
    if let Some(s) = get("ip-link.json") {
        crate::host::iproute::merge_links(
            &mut host.interfaces,
            crate::host::iproute::parse_links(&s)?,
        );
        host.known.links = true;
    }
    if let Some(s) = get("ip-neigh.json") {
        host.neighbours = crate::host::iproute::parse_neighbours(&s)?;
        host.known.neighbours = true;
    }
    if let Some(s) = get("ip-route.json") {
        host.routes = crate::host::iproute::parse_routes(&s, false)?;
        host.routes.retain(|r| r.dst.addr().is_ipv4());
        host.known.routes = true;
    }
    if let Some(s) = get("ip6-route.json") {
        host.routes
            .extend(crate::host::iproute::parse_routes(&s, true)?);
        host.known.routes = true;
    }
    for (name, v6) in [("ip-rule.json", false), ("ip6-rule.json", true)] {
        if let Some(s) = get(name) {
            host.rules
                .extend(crate::host::iproute::parse_rules(&s, v6)?);
            host.known.policy_rules = true;
        }
    }
    if let Some(s) = get("sysctl.txt") {
        host.sysctls = crate::host::sysctl::parse(&s)?;
        host.known.sysctls = true;
    }
    if let Some(s) = get("ss.txt") {
        host.sockets = crate::host::ss::parse(&s)?;
        host.known.sockets = true;
    }
    if let Some(m) = snap.member("conntrack.txt").filter(|m| m.readable()) {
        host.conntrack = crate::host::conntrack::parse(&member_source(file, m))?;
        host.known.conntrack = true;
        for n in &m.notes {
            out.notes.push(InputNote::SnapshotMember {
                member: "conntrack.txt".to_string(),
                note: n.clone(),
            });
        }
    }
    if let Some(s) = get("ipset.txt") {
        out.state.ipsets = crate::host::ipset::parse(&s)?;
    }
    out.state.config = tool_config(snap);

    for (name, family, legacy) in [
        ("iptables-save.txt", Family::Ip, false),
        ("ip6tables-save.txt", Family::Ip6, false),
        ("iptables-legacy-save.txt", Family::Ip, true),
        ("ip6tables-legacy-save.txt", Family::Ip6, true),
    ] {
        let Some(m) = snap.member(name).filter(|m| m.readable()) else {
            continue;
        };
        out.rules_known = true;
        if legacy && !iptables_has_rules(&m.stdout) {
            continue;
        }
        if legacy {
            out.notes.push(InputNote::LegacyBackendRules {
                member: name.to_string(),
            });
        }
        out.rules.push(RuleSource {
            kind: RuleKind::IptablesSave(family),
            member: name.to_string(),
            source: member_source(file, m),
        });
    }
    for (name, kind) in [
        ("nft-ruleset.txt", RuleKind::NftText),
        ("nft-ruleset.json", RuleKind::NftJson),
    ] {
        if let Some(m) = snap.member(name).filter(|m| m.readable()) {
            out.rules_known = true;
            out.rules.push(RuleSource {
                kind,
                member: name.to_string(),
                source: member_source(file, m),
            });
        }
    }
    Ok(out)
}

/// The readable `file:PATH` and `cmd/STEM.txt` members, named by path and by command.
fn tool_config(snap: &Snapshot) -> ToolConfig {
    let files = snap
        .members
        .iter()
        .filter(|m| m.readable())
        .filter_map(|m| {
            let name = match m.name.strip_prefix("file:") {
                Some(path) => path.to_string(),
                None => command_of_stem(m.name.strip_prefix("cmd/")?.strip_suffix(".txt")?),
            };
            Some(SourceFile::new(name, m.stdout.clone()))
        })
        .collect();
    ToolConfig { files }
}

/// A snapshot's ruleset, its iptables sources with their families (what `verify` and
/// `iptables-restore` need), and notes.
pub type SnapshotRules = (Ruleset, Vec<(SourceFile, Family)>, Vec<InputNote>);

/// The ruleset of a snapshot's rule sources, each iptables source with its family (what
/// `verify` loads), and notes.
///
/// iptables-nft tables appear twice, in `iptables-save` and in `nft list ruleset`: they are
/// read from `iptables-save` (exact iptables semantics and line numbers), and only the
/// other tables from the nft listing (text preferred for its rule text; JSON when the text
/// does not parse).
pub fn ruleset(rules: &[RuleSource]) -> Result<SnapshotRules, ParseError> {
    let mut ruleset = Ruleset::default();
    let mut sources = Vec::new();
    let mut notes = Vec::new();
    for r in rules {
        if let RuleKind::IptablesSave(f) = r.kind {
            ruleset.merge(crate::iptables_save::parse(&r.source, Some(f))?);
            sources.push((r.source.clone(), f));
        }
    }
    let from_iptables: Vec<(Family, String)> = ruleset
        .tables
        .iter()
        .map(|t| (t.family, t.name.clone()))
        .collect();
    let text = rules.iter().find(|r| r.kind == RuleKind::NftText);
    let json = rules.iter().find(|r| r.kind == RuleKind::NftJson);
    let mut nft = None;
    let mut failures = Vec::new();
    if let Some(t) = text {
        match crate::nft::parse_text(&t.source) {
            Ok(rs) => nft = Some(rs),
            Err(e) => failures.push(e),
        }
    }
    if nft.is_none() {
        if let Some(j) = json {
            match crate::nft::parse_json(&j.source) {
                Ok((rs, warnings)) => {
                    notes.extend(warnings.into_iter().map(|warning| InputNote::JsonSkipped {
                        file: j.source.name.to_string(),
                        warning,
                    }));
                    nft = Some(rs);
                }
                Err(e) => failures.push(e),
            }
        }
    }
    match nft {
        Some(mut rs) => {
            rs.tables
                .retain(|t| !from_iptables.contains(&(t.family, t.name.clone())));
            if !rs.tables.is_empty() {
                ruleset.merge(rs);
            }
        }
        None if !failures.is_empty() => {
            // Native nft tables would be missing: that is only harmless if every table of
            // the listing is an iptables one, which cannot be told without parsing it.
            return Err(failures.swap_remove(0));
        }
        None => {}
    }
    Ok((ruleset, sources, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            meta: vec![("hostname".into(), "web1".into())],
            members: vec![
                Member {
                    name: "ip-addr.json".into(),
                    command: "ip -j addr".into(),
                    status: "0".into(),
                    notes: vec![],
                    stdout: "[]\n".into(),
                    stderr: String::new(),
                },
                Member {
                    name: "ipset.txt".into(),
                    command: "ipset save".into(),
                    status: "1".into(),
                    notes: vec!["a note".into()],
                    stdout: String::new(),
                    stderr: "ipset v7.17: Operation not permitted\n%end\n".into(),
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        let text = s.render();
        let back = Snapshot::parse(&SourceFile::new("s", text)).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn unreadable_members_are_named_with_their_error() {
        let u = sample().unreadable();
        assert_eq!(u.len(), 1);
        assert!(
            u[0].contains("ipset.txt") && u[0].contains("Operation not permitted"),
            "{u:?}"
        );
        let l = load("s", &sample()).unwrap();
        assert!(l.state.host.known.addresses);
        assert!(!l.rules_known);
        assert!(
            l.notes.iter().any(
                |n| matches!(n, InputNote::SnapshotUnreadable { why } if why.contains("ipset save"))
            ),
            "{:?}",
            l.notes
        );
    }

    #[test]
    fn tool_files_and_commands_are_read_into_the_config_by_path_and_command() {
        let mut snap = sample();
        let member = |name: &str, command: &str, status: &str, stdout: &str| Member {
            name: name.into(),
            command: command.into(),
            status: status.into(),
            stdout: stdout.into(),
            ..Member::default()
        };
        snap.members.extend([
            member(
                "file:/etc/ufw/user.rules",
                "read /etc/ufw/user.rules",
                "0",
                "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n",
            ),
            member(
                "cmd/ufw-status-numbered.txt",
                "ufw status numbered",
                "0",
                "Status: active\n",
            ),
            member(
                "cmd/firewall-cmd-get-default-zone.txt",
                "firewall-cmd --get-default-zone",
                "0",
                "public\n",
            ),
            member(
                "file:/etc/nftables.conf",
                "read /etc/nftables.conf",
                "1",
                "",
            ),
        ]);
        let back = Snapshot::parse(&SourceFile::new("s", snap.render())).unwrap();
        let config = load("s", &back).unwrap().state.config;
        let names: Vec<&str> = config.files.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "/etc/ufw/user.rules",
                "ufw status numbered",
                "firewall-cmd --get-default-zone"
            ]
        );
        assert!(config
            .file("/etc/ufw/user.rules")
            .is_some_and(|f| f.text.starts_with("### tuple ### allow tcp 22")));
        assert_eq!(
            config
                .file("firewall-cmd --get-default-zone")
                .map(|f| &*f.text),
            Some("public\n")
        );
    }

    #[test]
    fn not_a_snapshot() {
        let e = Snapshot::parse(&SourceFile::new("s", "*filter\n")).unwrap_err();
        assert!(e.to_string().contains("not a whyblocked snapshot"), "{e}");
        assert!(Snapshot::parse(&SourceFile::new("s", "")).is_err());
    }

    #[test]
    fn truncated_snapshot() {
        let text = sample().render();
        for cut in [
            text.len() / 2,
            text.len() - 6,
            text.len() - 3,
            MAGIC.len() + 3,
        ] {
            let r = Snapshot::parse(&SourceFile::new("s", text[..cut].to_string()));
            assert!(r.is_err(), "cut at {cut} parsed");
        }
    }

    #[test]
    fn wrong_count() {
        let text = sample().render().replace("%stdout 3\n", "%stdout 2\n");
        let e = Snapshot::parse(&SourceFile::new("s", text)).unwrap_err();
        assert!(e.to_string().contains("expected `%stderr`"), "{e}");
        let text = sample().render().replace("%stdout 3\n", "%stdout 1\n");
        let e = Snapshot::parse(&SourceFile::new("s", text)).unwrap_err();
        assert!(e.to_string().contains("expected a newline"), "{e}");
    }

    #[test]
    fn legacy_with_only_accept_policies_is_empty() {
        assert!(!iptables_has_rules(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
        ));
        assert!(iptables_has_rules("*filter\n:INPUT DROP [0:0]\nCOMMIT\n"));
        assert!(iptables_has_rules("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n"));
    }
}
