//! Helpers shared by the kernel-backed test suites of every crate (oracle, live, cli): the
//! root check (a loud skip, or a failure under `CI=true`) and small builders of rulesets,
//! packets and a router host.
#![allow(clippy::print_stderr)]

use model::{Family, Packet, Ruleset, SourceFile, TcpFlags, L4};

/// Names the file a skipped kernel-backed test appends its name to (one per line), so
/// that `scripts/test` can count the skips after the suite.
pub const SKIP_LOG_ENV: &str = "WB_SKIPPED_KERNEL_TESTS";

/// Whether kernel-backed tests can run. Not root: reports a SKIP and returns false, except
/// under `CI=true`, where not being root is a failure.
///
/// libtest captures `eprintln!` and shows the test as `ok`, which reads as "passed": the
/// SKIP line is written to the process's stderr directly (libtest captures only the print
/// macros), and the test's name is appended to the file [`SKIP_LOG_ENV`] names, for the
/// runner's summary.
pub fn kernel_tests_enabled(test: &str) -> bool {
    if oracle::is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: kernel-backed test needs root, and CI=true forbids skipping");
    }
    report_skip(test);
    false
}

/// The SKIP line on the real stderr, and the name in the skip log when one is set.
fn report_skip(test: &str) {
    use std::io::Write as _;
    let line = format!(
        "SKIP (not root): {test} needs root (network namespaces, netfilter tracing); \
         it checked nothing\n"
    );
    // Best effort: a test that cannot report its skip still skips.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(log) = std::env::var_os(SKIP_LOG_ENV) {
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| writeln!(f, "{test}"));
    }
}

pub fn iptables(name: &str, text: &str) -> (SourceFile, Ruleset) {
    let src = SourceFile::new(name, text);
    let rs = frontends::iptables_save::parse(&src, Some(Family::Ip)).expect("test ruleset parses");
    (src, rs)
}

pub fn tcp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: &str,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Tcp {
            sport,
            dport,
            flags: TcpFlags::from_letters(flags).unwrap(),
        },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

pub fn udp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    iif: Option<&str>,
    oif: Option<&str>,
) -> Packet {
    let mut p = Packet::new(
        src.parse().unwrap(),
        dst.parse().unwrap(),
        L4::Udp { sport, dport },
    );
    p.iif = iif.map(str::to_string);
    p.oif = oif.map(str::to_string);
    p
}

/// No `wb*` namespace of this process remains.
pub fn assert_no_namespaces_of_this_process() {
    let me = std::process::id();
    let left: Vec<String> = oracle::netns::list_ours()
        .into_iter()
        .filter(|n| oracle::netns::creator_pid(n) == Some(me))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// Deletes a lab's namespaces and checks they are gone (tests of one file run in parallel
/// in one process: each checks its own).
pub fn close_lab(lab: crate::lab::Lab) {
    let names = lab.oracle.host.namespace_names();
    drop(lab);
    let left: Vec<String> = oracle::netns::list_ours()
        .into_iter()
        .filter(|n| names.contains(n))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// Prints each disagreement with the kernel and fails when there is any.
pub fn assert_no_disagreements(failures: &[String]) {
    for f in failures {
        eprintln!("DISAGREEMENT {f}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s), see above",
        failures.len()
    );
}

/// A router: lan0 10.1.1.1/24, wan0 10.1.0.1/24, connected routes, forwarding on (user
/// story 3's shape).
pub fn router() -> model::Host {
    use model::host::{IfAddr, Interface, Route, RouteType, Scope};
    let mut h = model::Host::default();
    for (name, a, net) in [
        ("lan0", "10.1.1.1", "10.1.1.0/24"),
        ("wan0", "10.1.0.1", "10.1.0.0/24"),
    ] {
        h.interfaces.push(Interface {
            name: name.into(),
            up: true,
            addrs: vec![IfAddr {
                addr: a.parse().unwrap(),
                prefix_len: 24,
                scope: Scope::Universe,
                broadcast: None,
                temporary: false,
                secondary: false,
                deprecated: false,
                dad: model::host::DadState::Done,
            }],
            ..Interface::default()
        });
        h.routes.push(Route {
            table: 254,
            dst: net.parse().unwrap(),
            route_type: RouteType::Unicast,
            gateway: None,
            dev: Some(name.into()),
            prefsrc: Some(a.parse().unwrap()),
            metric: 0,
            scope: Scope::Link,
            protocol: Some("kernel".into()),
            nexthops: vec![],
            text: format!("{net} dev {name} proto kernel scope link src {a}"),
        });
    }
    h.sysctls.0.insert("net.ipv4.ip_forward".into(), "1".into());
    h.known.addresses = true;
    h.known.routes = true;
    h.known.sysctls = true;
    h
}

/// A whole number from the environment (case counts, seeds of the differential tests).
pub fn env_usize(k: &str) -> Option<usize> {
    std::env::var(k).ok().and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Set in the child run of [`d4_a_skipped_kernel_test_is_visible_despite_the_capture`].
    const CHILD: &str = "WB_D4_SKIP_CHILD";

    /// Runs this test binary's own test again as `nobody`, without `--nocapture`, as
    /// `cargo test` would: the SKIP must show in its output and in the skip log.
    #[test]
    fn d4_a_skipped_kernel_test_is_visible_despite_the_capture() {
        if std::env::var_os(CHILD).is_some() {
            assert!(!kernel_tests_enabled("d4_child_kernel_test"));
            return;
        }
        if !kernel_tests_enabled("d4_a_skipped_kernel_test_is_visible_despite_the_capture") {
            return;
        }
        let dir = std::env::temp_dir().join(format!("wb-d4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // nobody writes the skip log.
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
            .unwrap();
        let log = dir.join("skipped");
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kernel_tests::tests::d4_a_skipped_kernel_test_is_visible_despite_the_capture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .env(SKIP_LOG_ENV, &log)
            .env_remove("CI")
            .output()
            .expect("setpriv runs");
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(
            stdout.contains("1 passed"),
            "the child ran: {stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("SKIP (not root): d4_child_kernel_test needs root"),
            "the skip is visible without --nocapture:\n{stdout}\n{stderr}"
        );
        assert_eq!(logged, "d4_child_kernel_test\n");
    }
}
