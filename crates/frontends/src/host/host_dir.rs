//! A directory of captured host state, read into one [`model::Host`] (plus its ipsets).
//!
//! Layout: every file is optional; a file that is absent leaves its part of the host unknown
//! (`host.known.*` stays false), so the engine says "assumed" instead of guessing. Other
//! entries are not read: they are listed in [`HostState::ignored`], each with the file it was
//! likely meant to be (`addr.json` -> `ip-addr.json`), for the answer to note.
//!
//! | file             | made with                          | fills                          |
//! |------------------|------------------------------------|--------------------------------|
//! | `ip-addr.json`   | `ip -j addr` (or `ip -j -d addr`)  | interfaces and addresses       |
//! | `ip-link.json`   | `ip -j -d link` (or `ip -j link`)  | every device's MTU, state (`UP`, `LOWER_UP`), master and kind, joined to the interfaces by name (a device without addresses too) |
//! | `ip-neigh.json`  | `ip -j neigh` (both families)      | neighbour tables (ARP / ND states) |
//! | `ip-route.json`  | `ip -j route show table all`       | routes (IPv4; IPv6 too if no `ip6-route.json`) |
//! | `ip6-route.json` | `ip -6 -j route show table all`    | IPv6 routes                    |
//! | `ip-rule.json`   | `ip -j rule`                       | IPv4 policy rules              |
//! | `ip6-rule.json`  | `ip -6 -j rule`                    | IPv6 policy rules              |
//! | `sysctl.txt`     | `sysctl -a`                        | sysctls                        |
//! | `ss.txt`         | `ss -ltnuH` (or `ss -ltnupH`)      | listening sockets              |
//! | `conntrack.txt`  | `conntrack -L`                     | conntrack entries              |
//! | `ipset.txt`      | `ipset save`                       | ipsets (for `-m set` rules)    |
//! | `etc/**`         | a copy of the tools' files under `/etc` | [`HostState::config`], each named by its host path (`etc/ufw/user.rules` is `/etc/ufw/user.rules`) |
//! | `cmd/NAME.txt`   | a tool's command (see [`TOOL_COMMANDS`]) | [`HostState::config`], named by the command (`cmd/ufw-status-numbered.txt` is `ufw status numbered`) |
//!
//! The tools' files whyblocked reads (`whyblocked snapshot` collects the same): ufw's
//! `/etc/ufw/**` (`user.rules`, `user6.rules`, `ufw.conf`, ...) and `/etc/default/ufw`;
//! firewalld's `/etc/firewalld/**` (`firewalld.conf`, `zones/*.xml`, `policies/*.xml`, ...);
//! `/etc/nftables.conf`; `/etc/iptables/rules.v4` and `rules.v6`; `/etc/docker/daemon.json`.
//! Never `/etc/wireguard`: it holds private keys, and whyblocked collects no key material. A
//! `NAME` not in [`TOOL_COMMANDS`] is read as its words joined by spaces
//! (`cmd/nft-list-ruleset.txt` is `nft list ruleset`). At most [`MAX_CONFIG_FILES`] files
//! are read, each up to [`MAX_CONFIG_BYTES`]; bytes that are not UTF-8 are kept escaped (`<NN>`).
//!
//! Collect it on a real host (as root; each command may fail harmlessly if its tool is
//! missing):
//!
//! ```sh
//! d=host; mkdir -p $d/cmd; ip -j addr > $d/ip-addr.json; ip -j -d link > $d/ip-link.json; ip -j neigh > $d/ip-neigh.json; ip -4 -j route show table all > $d/ip-route.json; ip -6 -j route show table all > $d/ip6-route.json; ip -j rule > $d/ip-rule.json; ip -6 -j rule > $d/ip6-rule.json; sysctl -a > $d/sysctl.txt 2>/dev/null; ss -ltnupH > $d/ss.txt; conntrack -L > $d/conntrack.txt 2>/dev/null; ipset save > $d/ipset.txt 2>/dev/null; ufw status numbered > $d/cmd/ufw-status-numbered.txt; cp -r --parents /etc/ufw /etc/default/ufw /etc/firewalld /etc/nftables.conf /etc/iptables /etc/docker/daemon.json $d 2>/dev/null
//! ```
//!
//! `ip -j route show table all` without `-4` also lists IPv6 routes; when `ip6-route.json`
//! is present too, the IPv6 routes of `ip-route.json` are dropped so none is counted twice.

use model::diag::ParseError;
use model::note::IgnoredFile;
use model::ruleset::NamedSet;
use model::tool_config::ToolConfig;
use model::{Host, SourceFile};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything read from a host directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostState {
    pub host: Host,
    /// From `ipset.txt`: sets that iptables `-m set` rules refer to.
    pub ipsets: Vec<NamedSet>,
    /// The firewall tools' own configuration (ufw's `user.rules`, firewalld's zones...).
    pub config: ToolConfig,
    /// The directory's entries that were read (`ip-addr.json`, `etc/`), sorted.
    pub read: Vec<String>,
    /// The directory's entries that were not read, each with the file it was likely meant
    /// to be: a caller notes them, so `addr.json` is not silently ignored.
    pub ignored: Vec<IgnoredFile>,
}

/// Why a host directory could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// The directory or one of its files could not be read.
    Io { path: PathBuf, error: io::Error },
    /// A file was read but does not parse.
    Parse(ParseError),
    /// No file of a host directory is in it: an answer would say "no host state" after
    /// being given a directory. `found` lists what is there instead.
    NothingRecognised {
        dir: PathBuf,
        found: Vec<IgnoredFile>,
    },
    /// A file of the directory is binary, not the text its command prints.
    NotText(crate::NotText),
}

/// The files a host directory may hold, with the command that makes each.
const FILES: [(&str, &str); 11] = [
    ("ip-addr.json", "ip -j addr"),
    ("ip-link.json", "ip -j -d link"),
    ("ip-neigh.json", "ip -j neigh"),
    ("ip-route.json", "ip -j route show table all"),
    ("ip6-route.json", "ip -6 -j route show table all"),
    ("ip-rule.json", "ip -j rule"),
    ("ip6-rule.json", "ip -6 -j rule"),
    ("sysctl.txt", "sysctl -a"),
    ("ss.txt", "ss -ltnuH"),
    ("conntrack.txt", "conntrack -L"),
    ("ipset.txt", "ipset save"),
];

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::NothingRecognised { dir, found } => {
                let expected: Vec<String> = FILES
                    .iter()
                    .map(|(file, command)| format!("{file} (`{command}`)"))
                    .collect();
                write!(
                    f,
                    "{}: no file of a host directory in it (found: {}); expected any of {}, \
                     or etc/ and cmd/ with the tools' configuration",
                    dir.display(),
                    if found.is_empty() {
                        "nothing".to_string()
                    } else {
                        found
                            .iter()
                            .map(|i| match &i.likely {
                                Some((file, _)) => format!("{} (meant {file}?)", i.name),
                                None => i.name.clone(),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                    expected.join(", ")
                )
            }
            LoadError::Parse(e) => e.fmt(f),
            LoadError::NotText(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { error, .. } => Some(error),
            LoadError::Parse(e) => Some(e),
            LoadError::NothingRecognised { .. } | LoadError::NotText(_) => None,
        }
    }
}

impl From<ParseError> for LoadError {
    fn from(e: ParseError) -> LoadError {
        LoadError::Parse(e)
    }
}

/// Reads the host directory `dir` (see the module doc for its layout).
pub fn load(dir: &Path) -> Result<HostState, LoadError> {
    let meta = std::fs::metadata(dir).map_err(|error| LoadError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    if !meta.is_dir() {
        return Err(LoadError::Io {
            path: dir.to_path_buf(),
            error: io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a directory (expected a host directory)",
            ),
        });
    }
    let mut state = HostState::default();
    let host = &mut state.host;

    if let Some(s) = read(dir, "ip-addr.json")? {
        host.interfaces = crate::host::iproute::parse_addrs(&s)?;
        host.known.addresses = true;
    }
    if let Some(s) = read(dir, "ip-link.json")? {
        crate::host::iproute::merge_links(
            &mut host.interfaces,
            crate::host::iproute::parse_links(&s)?,
        );
        host.known.links = true;
    }
    if let Some(s) = read(dir, "ip-neigh.json")? {
        host.neighbours = crate::host::iproute::parse_neighbours(&s)?;
        host.known.neighbours = true;
    }
    let v6_routes = read(dir, "ip6-route.json")?;
    if let Some(s) = read(dir, "ip-route.json")? {
        let mut routes = crate::host::iproute::parse_routes(&s, false)?;
        if v6_routes.is_some() {
            routes.retain(|r| r.dst.addr().is_ipv4());
        }
        host.routes = routes;
        host.known.routes = true;
    }
    if let Some(s) = v6_routes {
        host.routes
            .extend(crate::host::iproute::parse_routes(&s, true)?);
        host.known.routes = true;
    }
    for (name, v6) in [("ip-rule.json", false), ("ip6-rule.json", true)] {
        if let Some(s) = read(dir, name)? {
            host.rules
                .extend(crate::host::iproute::parse_rules(&s, v6)?);
            host.known.policy_rules = true;
        }
    }
    if let Some(s) = read(dir, "sysctl.txt")? {
        host.sysctls = crate::host::sysctl::parse(&s)?;
        host.known.sysctls = true;
    }
    if let Some(s) = read(dir, "ss.txt")? {
        host.sockets = crate::host::ss::parse(&s)?;
        host.known.sockets = true;
    }
    if let Some(s) = read(dir, "conntrack.txt")? {
        host.conntrack = crate::host::conntrack::parse(&s)?;
        host.known.conntrack = true;
    }
    if let Some(s) = read(dir, "ipset.txt")? {
        state.ipsets = crate::host::ipset::parse(&s)?;
    }
    state.config = read_config(dir)?;
    let (read, ignored) = entries_read_and_ignored(dir)?;
    if read.is_empty() && state.config.files.is_empty() {
        return Err(LoadError::NothingRecognised {
            dir: dir.to_path_buf(),
            found: ignored,
        });
    }
    state.read = read;
    state.ignored = ignored;
    Ok(state)
}

/// The entries of `dir` that a host directory reads (its [`FILES`], `etc/`, `cmd/`), and the
/// others (with `cmd/` files that are not `*.txt`), each sorted.
fn entries_read_and_ignored(dir: &Path) -> Result<(Vec<String>, Vec<IgnoredFile>), LoadError> {
    let names = |d: &Path| -> Result<Vec<(String, bool)>, LoadError> {
        let mut names = std::fs::read_dir(d)
            .and_then(|entries| {
                entries
                    .map(|e| {
                        let e = e?;
                        Ok((
                            e.file_name().to_string_lossy().into_owned(),
                            e.file_type()?.is_dir(),
                        ))
                    })
                    .collect::<io::Result<Vec<_>>>()
            })
            .map_err(|error| LoadError::Io {
                path: d.to_path_buf(),
                error,
            })?;
        names.sort();
        Ok(names)
    };
    let (mut read, mut ignored) = (Vec::new(), Vec::new());
    for (name, is_dir) in names(dir)? {
        if is_dir && (name == "etc" || name == "cmd") {
            read.push(format!("{name}/"));
        } else if !is_dir && FILES.iter().any(|(file, _)| *file == name) {
            read.push(name);
        } else {
            let likely = likely_file(&name).map(|(f, c)| (f.to_string(), c.to_string()));
            let name = if is_dir { format!("{name}/") } else { name };
            ignored.push(IgnoredFile { name, likely });
        }
    }
    if dir.join("cmd").is_dir() {
        for (name, is_dir) in names(&dir.join("cmd"))? {
            if is_dir || !name.ends_with(".txt") {
                ignored.push(IgnoredFile {
                    name: format!("cmd/{name}"),
                    likely: None,
                });
            }
        }
    }
    Ok((read, ignored))
}

/// What else a saved neighbour table is called (`neighbours.json`, `ip-neighbor.json`,
/// `arp.txt`): the stem, without `ip-` and a plural `s`.
const NEIGH_WORDS: [&str; 4] = ["neighbour", "neighbor", "arp", "ndp"];

/// The file of [`FILES`] (with its command) that `name` was most likely meant to be:
/// the same stem up to case, `_` for `-`, a plural or a missing `ip-` (`addr.json`,
/// `routes.json`, `IP_ADDR.txt`), a name of the neighbour table ([`NEIGH_WORDS`]), or a
/// letter or two apart (`ip-adr.json`, `ss-out.txt`); only for a name a command's output is
/// saved under (`.json`, `.txt`, `.out` or none).
fn likely_file(name: &str) -> Option<(&'static str, &'static str)> {
    let stem_of = |n: &str| -> String {
        let n = n.to_ascii_lowercase().replace('_', "-");
        let stem = n.split('.').next().unwrap_or("").to_string();
        stem.strip_suffix('s')
            .filter(|s| !s.is_empty() && *s != "s")
            .map_or(stem.clone(), str::to_string)
    };
    // Only what a command's output is saved as: `rules.v4` is a rules file, not `ip rule`.
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
    let stem = stem_of(name);
    if stem.is_empty() || !["", "json", "txt", "out"].contains(&extension) {
        return None;
    }
    let bare = stem.strip_prefix("ip-").unwrap_or(&stem);
    let same = FILES.iter().find(|(file, _)| {
        let known = stem_of(file);
        known == stem
            || known.strip_prefix("ip-") == Some(stem.as_str())
            || NEIGH_WORDS.contains(&bare) && *file == "ip-neigh.json"
    });
    let close = || {
        FILES
            .iter()
            .map(|f| (stem_of(f.0), f))
            .map(|(known, f)| (edit_distance(&known, &stem), known.len(), f))
            .filter(|(d, len, _)| *d * 3 <= *len)
            .min_by_key(|(d, _, _)| *d)
            .map(|(_, _, f)| f)
    };
    same.or_else(close).map(|(f, c)| (*f, *c))
}

/// Levenshtein distance of two short ASCII names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The firewall tools' commands a host directory (`cmd/STEM.txt`) and a snapshot (member
/// `cmd/STEM.txt`) carry the output of: the file stem, then the command.
pub const TOOL_COMMANDS: &[(&str, &str)] = &[
    ("ufw-status-numbered", "ufw status numbered"),
    (
        "firewall-cmd-get-active-zones",
        "firewall-cmd --get-active-zones",
    ),
    (
        "firewall-cmd-get-default-zone",
        "firewall-cmd --get-default-zone",
    ),
    ("fail2ban-client-status", "fail2ban-client status"),
];

/// At most this many configuration files are read from a host directory.
pub const MAX_CONFIG_FILES: usize = 300;
/// Each configuration file is read up to this many bytes.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The command whose output `cmd/STEM.txt` holds: from [`TOOL_COMMANDS`], else the stem's
/// words (split at dashes) joined by spaces.
pub fn command_of_stem(stem: &str) -> String {
    TOOL_COMMANDS
        .iter()
        .find(|(s, _)| *s == stem)
        .map_or_else(|| stem.replace('-', " "), |(_, c)| (*c).to_string())
}

/// `etc/**` and `cmd/*.txt` of `dir`, named by host path and by command.
fn read_config(dir: &Path) -> Result<ToolConfig, LoadError> {
    let mut config = ToolConfig::default();
    let mut files = Vec::new();
    files_under(&dir.join("etc"), &mut files)?;
    for path in files {
        let Ok(relative) = path.strip_prefix(dir) else {
            continue;
        };
        let name = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
        config.files.push(SourceFile::new(name, read_lossy(&path)?));
    }
    let mut commands = Vec::new();
    files_under(&dir.join("cmd"), &mut commands)?;
    for path in commands {
        let (Some(stem), Some("txt")) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|e| e.to_str()),
        ) else {
            continue;
        };
        config
            .files
            .push(SourceFile::new(command_of_stem(stem), read_lossy(&path)?));
    }
    Ok(config)
}

/// The regular files under `root`, recursively, sorted, at most [`MAX_CONFIG_FILES`] in all
/// (symbolic links are not followed); nothing when `root` is absent.
fn files_under(root: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |error| LoadError::Io {
        path: root.to_path_buf(),
        error,
    };
    let meta = match std::fs::symlink_metadata(root) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    if meta.is_file() {
        if out.len() < MAX_CONFIG_FILES {
            out.push(root.to_path_buf());
        }
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(root)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort();
    for e in entries {
        files_under(&e, out)?;
    }
    Ok(())
}

/// A configuration file's text, up to [`MAX_CONFIG_BYTES`], bytes that are not UTF-8 kept
/// escaped (`<NN>`) as in every other input.
fn read_lossy(path: &Path) -> Result<String, LoadError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES).read_to_end(&mut bytes))
        .map_err(|error| LoadError::Io {
            path: path.to_path_buf(),
            error,
        })?;
    Ok(model::source::DecodedText::lossy(&bytes).text)
}

/// The file `name` of `dir` as a [`SourceFile`] named by its path, or `None` when absent.
/// Read as [`crate::read_text`] reads any input: a binary file is refused for what it looks
/// like, a byte that is not UTF-8 is kept escaped where it is free text.
fn read(dir: &Path, name: &str) -> Result<Option<SourceFile>, LoadError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let expected = FILES.iter().find(|(file, _)| *file == name).map_or_else(
                || "text".to_string(),
                |(_, command)| format!("the output of `{command}`"),
            );
            // ipset names are matched by rules; every other file is a command's output.
            let non_utf8 = if name == "ipset.txt" {
                crate::NonUtf8::FreeTextOnly
            } else {
                crate::NonUtf8::Anywhere
            };
            match crate::read_text(path.display().to_string(), &bytes, &expected, non_utf8) {
                Ok(source) => Ok(Some(source)),
                Err(crate::TextError::Encoding(e)) => Err(LoadError::Parse(e)),
                Err(crate::TextError::NotText(e)) => Err(LoadError::NotText(e)),
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(LoadError::Io { path, error }),
    }
}
