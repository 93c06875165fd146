//! The path-MTU black hole from captures (issue 12), end to end: `whyblocked pcap --json` on
//! the project's own captures (crates/evidence/tests/fixtures/pcap-pmtu), and, kernel-backed,
//! on captures made afresh by scripts/make-pmtu-captures.sh in network namespaces, judged
//! the same way: the kernel's behaviour today, not only a recording of it.
//!
//! The cases: the router drops its own "fragmentation needed" (a black hole, nothing in
//! the capture); the client's own INPUT drops it (captured, not taken); a firewall between
//! drops it (captured on its wan0, not on its lan0); nothing drops it (the client shrinks its
//! segments: no black hole, the error stays a suspicious finding); and the client's
//! ip6tables drops the ICMPv6 packet too big.
//!
//! With a topology (`--topology`, several `--host`), each failed flow is walked across the
//! hosts from the owner of its source: the black hole's full-size segment is too big for
//! the router's wan0, whose own OUTPUT stops the error; user story 1's SYN is rejected by
//! the router's FORWARD.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures() -> PathBuf {
    repo().join("crates/evidence/tests/fixtures/pcap-pmtu")
}

/// A topology of crates/cli/tests/fixtures/pcap-topology, as an argument.
fn topology_file(name: &str) -> String {
    let dir = repo().join("crates/cli/tests/fixtures/pcap-topology");
    dir.join(name).display().to_string()
}

/// `whyblocked pcap --json FILE ARGS...`: the exit status and the document.
fn pcap(file: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .arg("pcap")
        .arg("--json")
        .arg(file)
        .args(args)
        .env_remove("CI")
        .output()
        .expect("run whyblocked");
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file:?}: {e}: {text}"));
    (out.status.code(), v)
}

/// The one finding of a black-hole capture, checked for what all of them share: the
/// client's first full-size segment (1448 bytes, 1500 on the wire, under the server's MSS of
/// 1460) sent again and again, its 100-byte hello acknowledged.
fn black_hole(file: &Path, fate: &str) -> Value {
    let (code, v) = pcap(file, &[]);
    assert_eq!(code, Some(1), "{file:?}: {v:#}");
    assert_eq!(v["flows"]["failed"], 1, "{file:?}: {v:#}");
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "pmtu_black_hole", "{file:?}: {f:#}");
    assert_eq!(f["severity"], "failed");
    let p = &f["pmtu"];
    assert_eq!(p["sender"], "client");
    assert_eq!((&p["data_len"], &p["ip_len"]), (&1448.into(), &1500.into()));
    assert_eq!(p["receiver_mss"], 1460);
    assert_eq!(p["largest_acked_data_len"], 100);
    assert!(p["sends"].as_u64().unwrap() >= 3, "{p:#}");
    assert_eq!(p["too_big"]["fate"], fate, "{p:#}");
    p.clone()
}

/// Checks the captures of `dir` as the kernel made them.
fn check_captures(dir: &Path) {
    let p = black_hole(&dir.join("pmtu-black-hole.pcap"), "not_captured");
    assert_eq!(p["too_big"]["from"], Value::Null);

    let p = black_hole(&dir.join("pmtu-not-taken.pcap"), "not_taken");
    let t = &p["too_big"];
    assert_eq!((&t["from"], &t["mtu"]), (&"10.1.2.2".into(), &1400.into()));
    assert!(t["sends_after"].as_u64().unwrap() >= 2, "{t:#}");

    let (code, v) = pcap(&dir.join("pmtu6-not-taken.pcap"), &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let p = &v["findings"][0]["pmtu"];
    assert_eq!(
        (&p["data_len"], &p["receiver_mss"]),
        (&1428.into(), &1440.into())
    );
    let t = &p["too_big"];
    assert_eq!(
        (&t["fate"], &t["from"]),
        (&"not_taken".into(), &"fd00:3::2".into())
    );
    assert_eq!(t["mtu"], 1400);

    let file = dir.join("pmtu-one-side.pcapng");
    let p = black_hole(&file, "one_side_only");
    let t = &p["too_big"];
    assert_eq!(
        (&t["seen_on"], &t["missing_on"]),
        (&[1].into(), &[0].into())
    );
    let (_, v) = pcap(&file, &[]);
    assert_eq!(v["interfaces"][1]["name"], "wan0");

    let (code, v) = pcap(&dir.join("pmtu-recovers.pcap"), &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["flows"]["failed"], 0, "{v:#}");
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .all(|f| f["kind"] == "icmp_error" && f["icmp"]["type"] == 3 && f["icmp"]["code"] == 4),
        "{v:#}"
    );

    // On the router, with its ruleset and host state: the stuck segment is too big for
    // wan0 (MTU 1400), and the router's own OUTPUT stops the error it answers with.
    let (_, v) = pcap(
        &dir.join("pmtu-black-hole.pcap"),
        &[
            "--rules",
            &dir.join("pmtu-black-hole.rules").display().to_string(),
            "--host",
            &dir.join("router").display().to_string(),
            "--at",
            "lan0",
        ],
    );
    let report = &v["findings"][0]["simulation"]["report"];
    assert_eq!(report["fate"], "routing_failed", "{report:#}");
    assert_eq!(report["reason"]["code"], "too_big", "{report:#}");
    assert_eq!(report["packet"]["len"], 1500, "{report:#}");
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["code"] == "answer_stopped" && w["rule"]["chain"] == "OUTPUT"),
        "{report:#}"
    );
}

#[test]
fn the_committed_captures_show_each_case() {
    check_captures(&fixtures());
}

/// The `path` of the one finding of `pcap --json FILE ARGS`.
fn path_of(file: &Path, args: &[&str]) -> Value {
    let (code, v) = pcap(file, args);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1), "{v:#}");
    v["findings"][0]["path"].clone()
}

#[test]
fn a_black_hole_walked_across_the_topology_fails_at_the_router() {
    let lab = fixtures().join("lab.toml").display().to_string();
    let p = path_of(
        &fixtures().join("pmtu-black-hole.pcap"),
        &["--topology", &lab],
    );
    assert_eq!(p["from"], "client", "{p:#}");
    assert_eq!(p["outcome"], "fails", "{p:#}");
    assert_eq!(
        (&p["role"], &p["direction"]),
        (&"data".into(), &"there".into())
    );
    assert_eq!(
        (&p["node"], &p["arrived_on"]),
        (&"router".into(), &"lan0".into())
    );
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.contains("too big for the way out (MTU 1400)"),
        "{reason}"
    );
    assert!(reason.contains("filter/OUTPUT #1"), "{reason}");
}

/// Several `--host`: the router from its directory (no rules), the others from a topology
/// file: its "fragmentation needed" gets back, so these hosts do not explain the capture,
/// and the answer says so rather than blame a hop.
#[test]
fn hosts_that_do_not_explain_the_failure_are_said_so() {
    let router = fixtures().join("router").display().to_string();
    let others = topology_file("pmtu-others.toml");
    let p = path_of(
        &fixtures().join("pmtu-black-hole.pcap"),
        &["--host", &router, "--host", &others],
    );
    assert_eq!(
        (&p["from"], &p["outcome"]),
        (&"client".into(), &"works".into()),
        "{p:#}"
    );
    assert_eq!(p["node"], Value::Null);
}

/// User story 1 from its capture and a topology: the SYN is rejected at the router on the
/// way there, by FORWARD's first rule, and the error gets back to the client.
#[test]
fn story1_capture_walked_across_the_topology_names_the_router_and_rule() {
    let capture =
        repo().join("crates/evidence/tests/fixtures/pcap/reject-icmp-port-unreachable.pcap");
    let topology = topology_file("reject.toml");
    let p = path_of(&capture, &["--topology", &topology]);
    assert_eq!(
        (&p["outcome"], &p["role"]),
        (&"fails".into(), &"request".into()),
        "{p:#}"
    );
    assert_eq!(
        (&p["node"], &p["direction"]),
        (&"router".into(), &"there".into())
    );
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("REJECTED by filter/FORWARD #1"),
        "{reason}"
    );
}

/// Nothing listens on the server's 2176/tcp: the walk names the destination's refusal by
/// the answer it sends, as the capture shows it (the server's RST).
#[test]
fn a_refused_connection_is_refused_by_the_destination() {
    let capture = repo().join("crates/evidence/tests/fixtures/pcap/closed-port.pcap");
    let topology = topology_file("reject.toml");
    let (_, v) = pcap(&capture, &["--topology", &topology]);
    let tcp = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "syn_refused")
        .expect("the refused connection");
    let p = &tcp["path"];
    assert_eq!(
        (&p["outcome"], &p["node"]),
        (&"refused".into(), &"server".into()),
        "{p:#}"
    );
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the destination refuses it: it answers tcp 10.1.0.2:2176"),
        "{reason}"
    );
    assert!(reason.ends_with("[ACK RST]"), "{reason}");
}

/// A source no host of the topology owns (an IPv6 client, hosts with IPv4 only) is not
/// walked, and the answer says why.
#[test]
fn a_flow_from_outside_the_topology_is_not_walked() {
    let capture =
        repo().join("crates/evidence/tests/fixtures/pcap/reject6-icmp6-port-unreachable.pcap");
    let ipv4_only = topology_file("pmtu-others.toml");
    let p = path_of(&capture, &["--topology", &ipv4_only]);
    assert_eq!(p["outcome"], "not_walked", "{p:#}");
    assert_eq!(
        p["not_walked"],
        "not walked: no host of the topology owns fd00:1::2, the flow's source"
    );
}

/// A scratch directory of this test process, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The kernel makes every case again, and they read the same.
#[test]
fn the_kernel_makes_each_case_again() {
    if !testgen::kernel_tests::kernel_tests_enabled("the_kernel_makes_each_case_again") {
        return;
    }
    let dir = Scratch(std::env::temp_dir().join(format!("wbp-test-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    // The script bounds its own waits (about 25 s in all); `timeout` bounds the rest.
    let out = Command::new("timeout")
        .arg("180")
        .arg(repo().join("scripts/make-pmtu-captures.sh"))
        .arg(&dir.0)
        .output()
        .expect("run scripts/make-pmtu-captures.sh");
    assert!(
        out.status.success(),
        "make-pmtu-captures.sh: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    check_captures(&dir.0);
}

/// `--rules` and `--at` belong to one host: with several `--host` they are an input error
/// (exit 2) that says where rules go; `log` takes one `--host` only.
#[test]
fn several_hosts_with_one_hosts_options_are_an_input_error() {
    let router = fixtures().join("router").display().to_string();
    let rules = fixtures()
        .join("pmtu-black-hole.rules")
        .display()
        .to_string();
    let file = fixtures()
        .join("pmtu-black-hole.pcap")
        .display()
        .to_string();
    for (args, says) in [
        (
            vec![
                "pcap", &file, "--host", &router, "--host", &router, "--rules", &rules,
            ],
            "--rules and --at are for one host",
        ),
        (
            vec!["log", "--host", &router, "--host", &router, &rules],
            "--host: give one host's state here",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
            .args(&args)
            .env_remove("CI")
            .output()
            .expect("run whyblocked");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
