//! The `whyblocked` binary on a live host: `trace` cleans up its table on a normal exit,
//! SIGINT, SIGTERM (caught even when inherited as ignored) and SIGKILL (run inside a
//! throwaway namespace); `trace`, `snapshot` and
//! `counters --watch` without root.
#![allow(clippy::print_stderr)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testgen::kernel_tests::kernel_tests_enabled;

const BIN: &str = env!("CARGO_BIN_EXE_whyblocked");

fn table_in(ns: &str) -> bool {
    live::cmd::in_ns_ok(ns, "nft", &["list", "tables"], None)
        .map(|t| t.contains(live::TRACE_TABLE))
        .unwrap_or(false)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool, limit: Duration) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the child (by its pid) if a test fails while it runs.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn d1_trace_stops_and_cleans_up_on_sigint_and_sigterm_even_inherited_ignored() {
    if !kernel_tests_enabled(
        "d1_trace_stops_and_cleans_up_on_sigint_and_sigterm_even_inherited_ignored",
    ) {
        return;
    }
    let mut p = model::Packet::new(
        "10.1.1.2".parse().unwrap(),
        "10.1.1.1".parse().unwrap(),
        model::L4::Udp { sport: 1, dport: 2 },
    );
    p.iif = Some("lan0".into());
    let host = oracle::netns::TestHost::for_packets(&model::Host::default(), &[p]).unwrap();
    let ns = host.router.name().to_string();
    for how in ["exit", "SIGINT", "SIGTERM", "SIGKILL"] {
        let timeout = if how == "exit" { "2" } else { "60" };
        // Started as a CI runner or a shell without job control starts jobs: with SIGINT
        // and SIGTERM ignored (`trap '' INT TERM`), which exec passes on. whyblocked must
        // catch them itself.
        let script = format!(
            "trap '' INT TERM; exec ip netns exec {ns} {BIN} trace --timeout {timeout} udp any any in lan0"
        );
        let mut child = KillOnDrop(
            Command::new("sh")
                .args(["-c", &script])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        wait_for("the trace table", || table_in(&ns), Duration::from_secs(20));
        let t = Instant::now();
        let pid = child.0.id().to_string();
        match how {
            "SIGINT" | "SIGTERM" => {
                let st = Command::new("kill")
                    .args(["-s", &how[3..], &pid])
                    .status()
                    .unwrap();
                assert!(st.success());
            }
            "SIGKILL" => child.0.kill().unwrap(),
            _ => {}
        }
        wait_for(
            &format!("whyblocked to end after {how}"),
            || matches!(child.0.try_wait(), Ok(Some(_))),
            Duration::from_secs(10),
        );
        let status = child.0.wait().unwrap();
        let mut err = String::new();
        if let Some(mut e) = child.0.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        wait_for(
            &format!("the table to go after {how}"),
            || !table_in(&ns),
            Duration::from_secs(3),
        );
        eprintln!(
            "{how}: whyblocked ended with {status}; table gone {:?} after the signal; {err}",
            t.elapsed()
        );
        match how {
            "exit" => assert!(
                status.success() && err.contains("stopped by timeout"),
                "{status}: {err}"
            ),
            "SIGINT" | "SIGTERM" => assert!(
                status.success() && err.contains(&format!("stopped by {how}")),
                "{how}: {status}: {err}"
            ),
            _ => {}
        }
    }
    // No nft child is left behind either.
    let ps = Command::new("ps")
        .args(["-eo", "pid,ppid,args"])
        .output()
        .unwrap();
    let me = std::process::id().to_string();
    assert!(
        !String::from_utf8_lossy(&ps.stdout)
            .lines()
            .any(|l| l.contains("nft -i") && l.split_whitespace().nth(1) == Some(me.as_str())),
        "an nft -i child survived"
    );
}

/// Runs the binary as `nobody` (when root can drop to it).
fn as_nobody(args: &[&str]) -> Option<std::process::Output> {
    if !live::is_root() {
        return Some(Command::new(BIN).args(args).output().unwrap());
    }
    let mut full = vec!["--reuid=65534", "--regid=65534", "--clear-groups", BIN];
    full.extend_from_slice(args);
    Command::new("setpriv").args(&full).output().ok()
}

#[test]
fn without_root_trace_and_watch_refuse_and_snapshot_says_what_it_missed() {
    let Some(out) = as_nobody(&["trace", "tcp", "any", "any"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs root"), "{err}");

    let out = as_nobody(&["counters", "--watch", "true"]).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("root"));

    // snapshot: what it can, the rest named in the file and on stderr.
    let out = as_nobody(&["snapshot"]).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let file = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(file.starts_with("%whyblocked-snapshot 1"));
    assert!(
        file.contains("%member ip-addr.json\n%command ip -j addr\n%status 0\n"),
        "addresses are readable by anyone"
    );
    assert!(err.contains("could not read iptables-save.txt"), "{err}");
    assert!(file.contains("%meta root no"));
    // Read back: the host state is there, the ruleset is not and that is an error, not "no rules".
    let path = std::env::temp_dir().join(format!("wb-nonroot-{}.snap", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let out = Command::new(BIN)
        .args([
            "--host",
            path.to_str().unwrap(),
            "tcp",
            "10.0.0.1:1",
            "10.0.0.2:2",
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ruleset could be read"));
}
