//! Collecting a host snapshot: read-only runs of the commands offline mode needs, into one
//! [`Snapshot`] (the format is documented in [`frontends::host::snapshot`]).
//!
//! Nothing here changes the host: every command lists or saves (`iptables-save`, `nft list`,
//! `ip -j addr`, `sysctl`, `ss`, `conntrack -L`, `ipset save`) and configuration files are
//! only read. Without root some commands fail; each failure is kept in the snapshot with
//! its status and stderr (so the file itself says what is missing), and
//! [`Snapshot::unreadable`] lists them for the caller to print.

use crate::redact::{Redactor, Stats};
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
    /// Also read ufw's and firewalld's configuration directories.
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
        for root in [
            "/etc/ufw",
            "/etc/default/ufw",
            "/lib/ufw/user.rules",
            "/lib/ufw/user6.rules",
            "/etc/firewalld",
        ] {
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
    }
    snap
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
