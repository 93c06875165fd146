//! `-m ecn` proven against the real kernel: each packet goes through `whyblocked verify`,
//! which builds the host in throwaway network namespaces, loads the ruleset with
//! iptables-restore, injects the packet and compares the kernel's own trace with the
//! simulation step by step. Every rule is tried with a packet it matches and one it does
//! not. Needs root: skips loudly otherwise, and fails instead under `CI=true`.
//!
//! The packet grammar sets TCP flags (`E` is ECE, `C` is CWR) but not the TOS byte: packets
//! leave with TOS 0 (ECN field not-ECT), so `--ecn-ip-ect` is proven with the codepoint 0
//! matching and the others not.

#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;
use testgen::kernel_tests::kernel_tests_enabled;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One rule per destination port, so that each packet meets exactly one `-m ecn` rule.
const RULES: &str = "\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp --dport 22 -m ecn --ecn-tcp-ece ! --ecn-tcp-cwr -j DROP
-A INPUT -p tcp --dport 23 -m ecn --ecn-tcp-cwr -j REJECT --reject-with tcp-reset
-A INPUT -p tcp --dport 24 -m ecn ! --ecn-tcp-ece -j DROP
-A INPUT -p tcp --dport 25 -m ecn --ecn-ip-ect 0 -j DROP
-A INPUT -p tcp --dport 26 -m ecn ! --ecn-ip-ect 0 -j DROP
-A INPUT -p tcp --dport 27 -m ecn --ecn-ip-ect 2 --ecn-tcp-ece -j DROP
COMMIT
";

/// The ruleset in a temporary file, removed when dropped.
struct RulesFile(PathBuf);

impl RulesFile {
    fn new(test: &str) -> RulesFile {
        let name = format!("wb-{}-{test}.rules", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, RULES).unwrap();
        RulesFile(path)
    }
}

impl Drop for RulesFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `whyblocked verify` and asserts the kernel and the simulation agree, and that the
/// kernel's fate is `fate` (so that both a match and a non-match are proven).
fn assert_kernel_agrees(test: &str, rules: &RulesFile, packet: &str, fate: &str) {
    let rules = rules.0.to_string_lossy().into_owned();
    let host = repo().join("crates/frontends/tests/fixtures/host/loopback");
    let host = host.to_string_lossy().into_owned();
    let mut args = vec!["verify", "--rules", &rules, "--host", &host];
    args.extend(packet.split_whitespace());
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(&args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(0) && stdout.contains("AGREE") && !stdout.contains("DISAGREE"),
        "{test}: kernel and simulation must agree on `{packet}`\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("kernel   {fate}\n")),
        "{test}: the kernel's fate of `{packet}` must be `{fate}`\n{stdout}"
    );
}

const DROPPED: &str = "dropped";
const DELIVERED: &str = "delivered locally";
const RESET: &str = "rejected with tcp reset";

#[test]
fn kernel_agrees_on_ecn_tcp_flags() {
    let test = "kernel_agrees_on_ecn_tcp_flags";
    if !kernel_tests_enabled(test) {
        return;
    }
    let rules = RulesFile::new(test);
    for (packet, fate) in [
        // ECE without CWR: dropped; plain SYN and ECE+CWR (an ECN-setup SYN): not matched.
        (
            "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0 flags SE",
            DROPPED,
        ),
        (
            "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0 flags S",
            DELIVERED,
        ),
        (
            "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0 flags SEC",
            DELIVERED,
        ),
        // CWR: reset by the rule; without it: delivered (and the closed port answers).
        (
            "tcp 198.51.100.7:40000 192.0.2.10:23 in eth0 flags SC",
            RESET,
        ),
        (
            "tcp 198.51.100.7:40000 192.0.2.10:23 in eth0 flags S",
            DELIVERED,
        ),
        // Not ECE: dropped; ECE: not matched.
        (
            "tcp 198.51.100.7:40000 192.0.2.10:24 in eth0 flags S",
            DROPPED,
        ),
        (
            "tcp 198.51.100.7:40000 192.0.2.10:24 in eth0 flags SE",
            DELIVERED,
        ),
    ] {
        assert_kernel_agrees(test, &rules, packet, fate);
    }
}

#[test]
fn kernel_agrees_on_ecn_ip_codepoint() {
    let test = "kernel_agrees_on_ecn_ip_codepoint";
    if !kernel_tests_enabled(test) {
        return;
    }
    let rules = RulesFile::new(test);
    for (packet, fate) in [
        // TOS 0 is not-ECT: `--ecn-ip-ect 0` matches, its negation and ECT(0) do not.
        ("tcp 198.51.100.7:40000 192.0.2.10:25 in eth0", DROPPED),
        ("tcp 198.51.100.7:40000 192.0.2.10:26 in eth0", DELIVERED),
        (
            "tcp 198.51.100.7:40000 192.0.2.10:27 in eth0 flags SE",
            DELIVERED,
        ),
    ] {
        assert_kernel_agrees(test, &rules, packet, fate);
    }
}
