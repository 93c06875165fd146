//! Collecting a host snapshot: read-only runs of the commands offline mode needs, into one
//! [`Snapshot`] (the format is documented in [`frontends::host::snapshot`]).
//!
//! Nothing here changes the host: every command lists or saves (`iptables-save`, `nft list`,
//! `ip -j addr`, `ip -j -d link`, `ip -j neigh`, `sysctl`, `ss`, `conntrack -L`, `ipset save`, and the tools' own listings
//! `ufw status numbered`, `firewall-cmd --get-active-zones`, `firewall-cmd
//! --get-default-zone`, `fail2ban-client status`) and configuration files are only read.
//!
//! The tools' configuration ([`CONFIG_ROOTS`], members `file:PATH`; the tool commands of
//! [`TOOL_COMMANDS`], members `cmd/STEM.txt`) is what the owners of rules are recognised
//! from. A file that does not exist, or a tool that is not installed, is simply absent; a
//! tool command that fails (firewalld not running, ufw without root) is named in a
//! `%meta tool-command` line, not kept as a member. Never collected: `/etc/wireguard` and
//! anything else holding private keys; redaction ([`redact`]) covers these members like the
//! others. Without root some commands fail; each failure is kept in the snapshot with
//! its status and stderr (so the file itself says what is missing), and
//! [`Snapshot::unreadable`] lists them for the caller to print.

use crate::redact::{Redactor, Stats};
use frontends::host::host_dir::TOOL_COMMANDS;
use frontends::host::snapshot::{Member, Snapshot};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// At most this many `conntrack -L` entries (the rest is cut and the member says so).
    pub conntrack_max: usize,
    /// Deadline of each command.
    pub timeout: Duration,
    /// Run the commands inside this network namespace (`ip netns exec NS`); files are read
    /// from this mount namespace either way.
    pub netns: Option<String>,
    /// Also read the firewall tools' configuration ([`CONFIG_ROOTS`]) and run their
    /// listing commands ([`TOOL_COMMANDS`]).
    pub config_files: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            conntrack_max: 10_000,
            timeout: Duration::from_secs(20),
            netns: None,
            config_files: true,
        }
    }
}

/// The tools' configuration files and directories a snapshot reads: ufw (`/etc/ufw/**`
/// with `user.rules` and `user6.rules`, `/etc/default/ufw`, and the older `/lib/ufw`
/// copies), firewalld (`/etc/firewalld/**`: `firewalld.conf`, `zones/*.xml`,
/// `policies/*.xml`, ...), the persistent rule files of hand-written rules, and Docker's
/// daemon settings. No key material: `/etc/wireguard` is deliberately not here.
pub const CONFIG_ROOTS: &[&str] = &[
    "/etc/ufw",
    "/etc/default/ufw",
    "/lib/ufw/user.rules",
    "/lib/ufw/user6.rules",
    "/etc/firewalld",
    "/etc/nftables.conf",
    "/etc/iptables/rules.v4",
    "/etc/iptables/rules.v6",
    "/etc/docker/daemon.json",
];

/// At most this many configuration files, each at most this many bytes.
const MAX_FILES: usize = 300;
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The commands of a snapshot: member name, program, arguments, line limit.
fn commands(o: &Options) -> Vec<(&'static str, &'static str, Vec<&'static str>, Option<usize>)> {
    let nft_backend = which("iptables-nft-save");
    let (v4, v6) = if nft_backend {
        ("iptables-nft-save", "ip6tables-nft-save")
    } else {
        ("iptables-save", "ip6tables-save")
    };
    let mut c = vec![
        ("ip-addr.json", "ip", vec!["-j", "addr"], None),
        ("ip-link.json", "ip", vec!["-j", "-d", "link"], None),
        ("ip-neigh.json", "ip", vec!["-j", "neigh"], None),
        (
            "ip-route.json",
            "ip",
            vec!["-4", "-j", "route", "show", "table", "all"],
            None,
        ),
        (
            "ip6-route.json",
            "ip",
            vec!["-6", "-j", "route", "show", "table", "all"],
            None,
        ),
        ("ip-rule.json", "ip", vec!["-4", "-j", "rule"], None),
        ("ip6-rule.json", "ip", vec!["-6", "-j", "rule"], None),
        (
            "sysctl.txt",
            "sysctl",
            vec![
                "net.ipv4",
                "net.ipv6",
                "net.netfilter",
                "net.bridge",
                "net.core",
            ],
            None,
        ),
        ("ss.txt", "ss", vec!["-ltnupH"], None),
        (
            "conntrack.txt",
            "conntrack",
            vec!["-L"],
            Some(o.conntrack_max),
        ),
        ("ipset.txt", "ipset", vec!["save"], None),
        ("iptables-save.txt", v4, vec!["-c"], None),
        ("ip6tables-save.txt", v6, vec!["-c"], None),
    ];
    if which("iptables-legacy-save") {
        c.push((
            "iptables-legacy-save.txt",
            "iptables-legacy-save",
            vec!["-c"],
            None,
        ));
        c.push((
            "ip6tables-legacy-save.txt",
            "ip6tables-legacy-save",
            vec!["-c"],
            None,
        ));
    }
    c.push((
        "nft-ruleset.txt",
        "nft",
        vec!["-a", "list", "ruleset"],
        None,
    ));
    c.push((
        "nft-ruleset.json",
        "nft",
        vec!["-a", "-j", "list", "ruleset"],
        None,
    ));
    c
}

/// Whether `program` is on the PATH (or in the sbin directories root's PATH has).
pub fn which(program: &str) -> bool {
    find(program).is_some()
}

fn find(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(Into::into))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Runs one command with a deadline, keeping at most `max_lines` lines of its output (then
/// it is stopped, by the pid of the child we spawned).
pub fn run_member(
    name: &str,
    program: &str,
    args: &[&str],
    max_lines: Option<usize>,
    o: &Options,
) -> Member {
    let mut shown = vec![program.to_string()];
    shown.extend(args.iter().map(|a| a.to_string()));
    let mut member = Member {
        name: name.to_string(),
        command: shown.join(" "),
        ..Member::default()
    };
    let Some(path) = find(program) else {
        member.status = format!("not run: {program} is not installed");
        return member;
    };
    let mut cmd = match &o.netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&path);
            c
        }
        None => Command::new(&path),
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Untranslated messages, numeric output.
        .env("LC_ALL", "C");
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            member.status = format!("not run: {e}");
            return member;
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let limit = max_lines.unwrap_or(usize::MAX);
    let out = thread::spawn(move || {
        let mut text = String::new();
        let mut lines = 0usize;
        let mut cut = false;
        if let Some(s) = stdout {
            let mut r = BufReader::new(s);
            let mut line = Vec::new();
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if lines >= limit => {
                        cut = true;
                        // Keep counting (bounded by the deadline) to say how many were cut.
                        lines += 1;
                    }
                    Ok(_) => {
                        text.push_str(&String::from_utf8_lossy(&line));
                        lines += 1;
                    }
                }
            }
        }
        (text, lines, cut)
    });
    let err = thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(mut e) = stderr {
            let _ = e.by_ref().take(1 << 20).read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    });
    let deadline = Instant::now() + o.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let (text, lines, cut) = out.join().unwrap_or_default();
    member.stdout = text;
    member.stderr = err.join().unwrap_or_default();
    member.status = match status {
        Some(s) => match (s.code(), s.success()) {
            (_, true) => "0".into(),
            (Some(c), _) => c.to_string(),
            (None, _) => format!("{s}"),
        },
        None => format!("timeout after {} s", o.timeout.as_secs()),
    };
    if cut {
        member.notes.push(format!(
            "truncated: the first {limit} of {lines} lines are kept (state of flows past them is unknown)"
        ));
    }
    member
}

/// Reads one configuration file as a member named `file:PATH`.
fn file_member(path: &Path) -> Member {
    let mut m = Member {
        name: format!("file:{}", path.display()),
        command: format!("read {}", path.display()),
        ..Member::default()
    };
    match std::fs::File::open(path) {
        Ok(f) => {
            let mut bytes = Vec::new();
            match f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
                Ok(_) => {
                    if bytes.len() as u64 > MAX_FILE_BYTES {
                        bytes.truncate(MAX_FILE_BYTES as usize);
                        m.notes.push(format!("truncated to {MAX_FILE_BYTES} bytes"));
                    }
                    m.stdout = String::from_utf8_lossy(&bytes).into_owned();
                    m.status = "0".into();
                }
                Err(e) => {
                    m.status = "1".into();
                    m.stderr = e.to_string();
                }
            }
        }
        Err(e) => {
            m.status = "1".into();
            m.stderr = e.to_string();
        }
    }
    m
}

/// Files under `root` (recursively, sorted, bounded), or `root` itself if it is a file.
fn files_under(root: &Path, out: &mut Vec<std::path::PathBuf>, unreadable: &mut Vec<String>) {
    if out.len() >= MAX_FILES {
        return;
    }
    match std::fs::symlink_metadata(root) {
        Ok(m) if m.is_file() => out.push(root.to_path_buf()),
        Ok(m) if m.is_dir() => match std::fs::read_dir(root) {
            Ok(rd) => {
                let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
                entries.sort();
                for e in entries {
                    files_under(&e, out, unreadable);
                }
            }
            Err(e) => unreadable.push(format!("{}: {e}", root.display())),
        },
        _ => {}
    }
}

/// Collects a snapshot of this host (or of `o.netns`).
pub fn collect(o: &Options) -> Snapshot {
    let mut snap = Snapshot::default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    snap.meta.push((
        "collected-by".into(),
        format!("whyblocked {}", env!("CARGO_PKG_VERSION")),
    ));
    snap.meta.push(("time-unix".into(), now.to_string()));
    snap.meta
        .push(("hostname".into(), read("/proc/sys/kernel/hostname")));
    snap.meta
        .push(("kernel".into(), read("/proc/sys/kernel/osrelease")));
    snap.meta.push((
        "root".into(),
        if crate::is_root() {
            "yes"
        } else {
            "no (some parts may be missing)"
        }
        .into(),
    ));
    if let Some(ns) = &o.netns {
        snap.meta.push(("netns".into(), ns.clone()));
    }
    for (name, program, args, max) in commands(o) {
        snap.members.push(run_member(name, program, &args, max, o));
    }
    if o.config_files {
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for root in CONFIG_ROOTS {
            files_under(Path::new(root), &mut files, &mut unreadable);
        }
        if files.len() >= MAX_FILES {
            snap.meta.push((
                "note".into(),
                format!("configuration files: only the first {MAX_FILES} were kept"),
            ));
        }
        for f in files {
            snap.members.push(file_member(&f));
        }
        for u in unreadable {
            snap.meta.push(("unreadable".into(), u));
        }
        for (stem, command) in TOOL_COMMANDS {
            match tool_member(stem, command, o) {
                Some(Ok(m)) => snap.members.push(m),
                Some(Err(why)) => snap.meta.push(("tool-command".into(), why)),
                None => {}
            }
        }
    }
    snap
}

/// The output of one tool command as member `cmd/STEM.txt`: `None` when the tool is not
/// installed, `Err` with why when it ran and failed.
fn tool_member(stem: &str, command: &str, o: &Options) -> Option<Result<Member, String>> {
    let mut words = command.split_whitespace();
    let program = words.next()?;
    if !which(program) {
        return None;
    }
    let args: Vec<&str> = words.collect();
    let m = run_member(&format!("cmd/{stem}.txt"), program, &args, None, o);
    Some(match m.why_unreadable() {
        None => Ok(m),
        Some(why) => Err(why),
    })
}

/// Redacts every member and meta value with one key; says in the snapshot what was done
/// and what is not exact.
pub fn redact(snap: &mut Snapshot, r: &Redactor) -> Stats {
    let mut st = Stats::default();
    for (_, v) in snap.meta.iter_mut() {
        *v = r.redact(v, &mut st);
    }
    let mut json_ranges = 0;
    for m in snap.members.iter_mut() {
        m.stdout = r.redact(&m.stdout, &mut st);
        m.stderr = r.redact(&m.stderr, &mut st);
        m.command = r.redact(&m.command, &mut st);
        for n in m.notes.iter_mut() {
            *n = r.redact(n, &mut st);
        }
        if m.name.ends_with(".json") {
            json_ranges += m.stdout.matches("\"range\"").count();
        }
        if m.name.starts_with("file:") {
            m.name = r.redact(&m.name, &mut st);
        }
    }
    snap.meta.push((
        "redacted".into(),
        format!(
            "yes: {} addresses, {} MACs, {} host names replaced consistently (prefix-preserving; the key is not kept)",
            st.addresses, st.macs, st.names
        ),
    ));
    let ranges = st.ranges + json_ranges;
    if ranges > 0 {
        snap.meta.push((
            "note".into(),
            format!(
                "redaction: {ranges} address ranges (A-B) were mapped endpoint by endpoint; answers about addresses inside them may differ from the original host's"
            ),
        ));
    }
    st
}

/// A redactor that also hides this host's name (and its FQDN, if known).
pub fn host_redactor() -> Redactor {
    let mut r = Redactor::new();
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let domain = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap_or_default();
    let (name, domain) = (name.trim(), domain.trim());
    if !domain.is_empty() && domain != "(none)" {
        r.hide_name(&format!("{name}.{domain}"), "redacted-host.invalid");
    }
    r.hide_name(name, "redacted-host");
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_recorded_not_fatal() {
        let m = run_member(
            "x.txt",
            "whyblocked-no-such-program",
            &["--list"],
            None,
            &Options::default(),
        );
        assert!(!m.readable());
        assert!(m.status.starts_with("not run"), "{}", m.status);
        assert!(m.why_unreadable().unwrap().contains("not installed"));
    }

    #[test]
    fn a_failing_command_keeps_its_stderr() {
        let m = run_member(
            "f.txt",
            "sh",
            &[
                "-c",
                "echo 'Permission denied (you must be root)' >&2; exit 1",
            ],
            None,
            &Options::default(),
        );
        assert_eq!(m.status, "1");
        assert!(!m.readable());
        assert!(m.why_unreadable().unwrap().contains("you must be root"));
    }

    #[test]
    fn output_is_bounded_by_lines() {
        let m = run_member("c.txt", "seq", &["1", "50"], Some(10), &Options::default());
        assert_eq!(m.stdout.lines().count(), 10);
        assert!(m.notes[0].contains("first 10 of 50"), "{:?}", m.notes);
    }

    #[test]
    fn tool_commands_are_members_named_by_stem_absent_or_failed_are_not() {
        let o = Options::default();
        let m = tool_member("echo-status", "echo Status: active", &o)
            .expect("echo is installed")
            .expect("echo succeeds");
        assert_eq!(m.name, "cmd/echo-status.txt");
        assert_eq!(m.command, "echo Status: active");
        assert_eq!(m.stdout, "Status: active\n");
        assert!(tool_member("x", "whyblocked-no-such-tool --get-default-zone", &o).is_none());
        let why = tool_member("f", "false", &o)
            .expect("false is installed")
            .unwrap_err();
        assert!(
            why.contains("cmd/f.txt") && why.contains("status 1"),
            "{why}"
        );
        // Every tool command is a member a snapshot reads back into the configuration.
        for (stem, command) in TOOL_COMMANDS {
            assert_eq!(frontends::host::host_dir::command_of_stem(stem), *command);
        }
    }

    #[test]
    fn no_key_material_is_collected() {
        assert!(CONFIG_ROOTS
            .iter()
            .all(|r| !r.contains("wireguard") && !r.contains("ssh") && !r.ends_with(".key")));
    }

    #[test]
    fn tool_members_are_redacted() {
        let mut snap = Snapshot::default();
        snap.members.push(Member {
            name: "cmd/ufw-status-numbered.txt".into(),
            command: "ufw status numbered".into(),
            status: "0".into(),
            stdout: "[ 2] Anywhere                   DENY IN     192.168.60.99\n".into(),
            ..Member::default()
        });
        snap.members.push(Member {
            name: "file:/etc/firewalld/zones/internal.xml".into(),
            command: "read /etc/firewalld/zones/internal.xml".into(),
            status: "0".into(),
            stdout: "<zone><source address=\"10.1.2.0/24\"/></zone>\n".into(),
            ..Member::default()
        });
        let st = redact(&mut snap, &Redactor::new());
        assert_eq!(st.addresses, 2);
        assert!(!snap.members[0].stdout.contains("192.168.60.99"));
        assert!(!snap.members[1].stdout.contains("10.1.2.0/24"));
        assert!(snap.members[1].stdout.contains("/24\""));
    }

    #[test]
    fn commands_are_bounded_in_time() {
        let o = Options {
            timeout: Duration::from_millis(200),
            ..Options::default()
        };
        let t = Instant::now();
        let m = run_member("s.txt", "sleep", &["5"], None, &o);
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(m.status.starts_with("timeout"), "{}", m.status);
    }
}
