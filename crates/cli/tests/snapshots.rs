//! Whole-output snapshots of what users read: the text and JSON answer of every user story
//! (USER-STORIES.md, on the fixtures `stories.rs` uses) and of every capture fixture, bare
//! and with its ruleset, so that no word changes without a reviewed snapshot. The usage
//! errors of issue 11 C4 are here too: they are words users read.
//!
//! Runs the built binary from the repository root with relative paths and `NO_COLOR=1`, so
//! the output is the same on every machine.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `whyblocked ARGS`, as one reviewable document: the command, the exit status, stdout
/// (JSON pretty-printed when it is JSON) and stderr.
fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("the whyblocked binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stdout = pretty_json(&stdout).unwrap_or_else(|| stdout.into_owned());
    format!(
        "$ whyblocked {}\nexit status: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status
            .code()
            .map_or("killed by a signal".to_string(), |c| c.to_string()),
        stdout,
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every line of `s` that is a JSON document, pretty-printed (`None`: `s` is not JSON).
fn pretty_json(s: &str) -> Option<String> {
    let mut out = String::new();
    for line in s.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        out += &serde_json::to_string_pretty(&v).ok()?;
        out.push('\n');
    }
    Some(out)
}

/// The text answer and the JSON answer of one invocation, as two snapshots.
fn text_and_json(name: &str, args: &[&str]) {
    insta::assert_snapshot!(format!("{name}__text"), run(args));
    let mut json = args.to_vec();
    json.insert(
        usize::from(args.first().is_some_and(|a| !a.starts_with('-'))),
        "--json",
    );
    insta::assert_snapshot!(format!("{name}__json"), run(&json));
}

const STORIES: &str = "crates/cli/tests/fixtures/stories";
const UFW_EXAMPLE: &str = "examples/ufw-router/iptables-save.txt";
const UFW_HOST: &str = "examples/ufw-router/host";
const STORY2_DIR: &str = "crates/frontends/tests/fixtures/nft";
const STORY2_HOST: &str = "crates/cli/tests/fixtures/story2-host";
const LOOPBACK_HOST: &str = "crates/frontends/tests/fixtures/host/loopback";
const CAPTURES: &str = "crates/evidence/tests/fixtures/pcap";
const PMTU_CAPTURES: &str = "crates/evidence/tests/fixtures/pcap-pmtu";

/// A simulation: `--rules RULES [--host HOST] PACKET...`.
fn answer(name: &str, rules: &str, host: Option<&str>, packet: &str) {
    let mut args = vec!["--rules", rules];
    if let Some(h) = host {
        args.extend(["--host", h]);
    }
    args.extend(packet.split_whitespace());
    text_and_json(name, &args);
}

#[test]
fn story1_ufw_router_rejects_routed_tcp() {
    let packet = "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0";
    answer("story1_with_host", UFW_EXAMPLE, Some(UFW_HOST), packet);
    // The README's first command: no host state, the way given by the packet spec.
    answer(
        "story1_readme_without_host",
        UFW_EXAMPLE,
        None,
        "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0 out eno1",
    );
    answer(
        "story1_ping_passes",
        UFW_EXAMPLE,
        Some(UFW_HOST),
        "icmp 10.1.1.2 10.1.0.2 in tap0 type echo-request",
    );
    text_and_json(
        "story1_from_ufw_log_line",
        &[
            "--rules",
            UFW_EXAMPLE,
            "--host",
            UFW_HOST,
            "--from-log",
            "[UFW BLOCK] IN=tap0 OUT=eno1 SRC=10.1.1.2 DST=10.1.0.2 PROTO=TCP SPT=1050 DPT=2175 SYN",
        ],
    );
}

#[test]
fn story2_port_forward_to_vm_times_out() {
    let packet = "tcp 198.51.100.7:40000 10.1.2.3:1222 in wan0";
    for file in ["story2.nft", "story2.listed-a.nft", "story2.json"] {
        let rules = format!("{STORY2_DIR}/{file}");
        let name = format!("story2_{}", file.replace(['.', '-'], "_"));
        answer(&name, &rules, Some(STORY2_HOST), packet);
    }
}

#[test]
fn story3_dnat_then_filter() {
    answer(
        "story3_dnat_then_filter",
        &format!("{STORIES}/story3-dnat.rules"),
        Some(LOOPBACK_HOST),
        "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0",
    );
}

#[test]
fn story4_closed_port_vs_firewall() {
    let packet = "tcp 198.51.100.7:40000 192.0.2.10:8080 in eth0";
    for rules in [
        "story4-accept-all",
        "story4-stateless",
        "story4-reset",
        "story4-raw-drop",
    ] {
        let name = rules.replace('-', "_");
        answer(
            &name,
            &format!("{STORIES}/{rules}.rules"),
            Some(LOOPBACK_HOST),
            packet,
        );
    }
}

#[test]
fn story5_conntrack_knobs() {
    let rules = format!("{STORIES}/story5-conntrack.rules");
    answer(
        "story5_mid_stream_ack",
        &rules,
        Some(LOOPBACK_HOST),
        "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0 flags A",
    );
    answer(
        "story5_udp",
        &rules,
        Some(LOOPBACK_HOST),
        "udp 198.51.100.7:5353 192.0.2.10:5353 in eth0",
    );
}

#[test]
fn story7_reject_on_loopback() {
    let rules = format!("{STORIES}/story7-loopback.rules");
    answer(
        "story7_tcp_reset",
        &rules,
        Some(LOOPBACK_HOST),
        "tcp 127.0.0.1:40000 127.0.0.1:5432",
    );
    answer(
        "story7_icmp",
        &rules,
        Some(LOOPBACK_HOST),
        "tcp 127.0.0.1:40001 127.0.0.1:5433",
    );
}

/// A queue that may rewrite ports, after conntrack, on a redirected flow: queued, with the
/// warning to move the hook to raw.
#[test]
fn story6_nfqueue_plus_redirect() {
    answer(
        "story6_queued_after_conntrack",
        &format!("{STORIES}/story6-nfqueue.rules"),
        None,
        "tcp 198.51.100.7:40000 192.0.2.10:80 in eth0",
    );
}

/// The rules whose counters moved between two `iptables-save -c` listings: the path.
#[test]
fn story10_counters_tell() {
    text_and_json(
        "story10_counters",
        &[
            "counters",
            &format!("{STORIES}/story10-before.rules"),
            &format!("{STORIES}/story10-after.rules"),
        ],
    );
}

const EVIDENCE: &str = "crates/evidence/tests/fixtures";

/// The evidence commands on the evidence fixtures (real `conntrack -E` events and kernel
/// traces recorded in namespaces, ufw log lines): story 4's conntrack events, story 1's log,
/// and the kernel traces held against the simulation.
#[test]
fn evidence_fixtures() {
    let rules = format!("{EVIDENCE}/router.rules");
    let host = format!("{EVIDENCE}/host");
    let with = |command: &str, file: &str| {
        let file = format!("{EVIDENCE}/{file}");
        let args = [command, &file, "--rules", &rules, "--host", &host];
        let name =
            format!("{command}_{}", file.rsplit('/').next().unwrap()).replace(['-', '.'], "_");
        text_and_json(&name, &args);
    };
    with("conntrack", "conntrack-events.txt");
    with("log", "ufw.log");
    for trace in [
        "nft-monitor-trace.txt",
        "xtables-monitor.txt",
        "trace-legacy.txt",
    ] {
        with("explain-trace", trace);
    }
}

/// Every capture fixture (stories 1, 4, 8 and 9 among them), read alone and diagnosed with
/// the ruleset and host state it was recorded with.
#[test]
fn every_capture_fixture() {
    let dir = repo().join(CAPTURES);
    let mut captures: Vec<String> = std::fs::read_dir(&dir)
        .expect("the capture fixtures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".pcap").map(str::to_string))
        .collect();
    captures.sort();
    assert!(captures.len() >= 20, "capture fixtures: {captures:?}");
    for name in &captures {
        let file = format!("{CAPTURES}/{name}.pcap");
        let key = name.replace('-', "_");
        text_and_json(&format!("pcap_{key}"), &["pcap", &file]);
        let (rules, host, at) = if name == "story1-ufw" {
            (UFW_EXAMPLE.to_string(), UFW_HOST.to_string(), "tap0")
        } else {
            (
                format!("{CAPTURES}/{name}.rules"),
                format!("{CAPTURES}/router"),
                "lan0",
            )
        };
        assert!(Path::new(&repo().join(&rules)).is_file(), "{rules}");
        text_and_json(
            &format!("pcap_{key}_with_rules"),
            &[
                "pcap", &file, "--rules", &rules, "--host", &host, "--at", at,
            ],
        );
    }
}

/// The path-MTU captures (issue 12): each read alone, and the black hole with the
/// router's ruleset and host state (its stuck segment too big for the router's wan0, whose
/// "fragmentation needed" the router's own OUTPUT drops).
#[test]
fn every_pmtu_capture_fixture() {
    let mut captures: Vec<String> = std::fs::read_dir(repo().join(PMTU_CAPTURES))
        .expect("the path-MTU capture fixtures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    captures.sort();
    assert_eq!(captures.len(), 5, "{captures:?}");
    for name in &captures {
        let key = name.split('.').next().unwrap_or(name).replace('-', "_");
        text_and_json(&key, &["pcap", &format!("{PMTU_CAPTURES}/{name}")]);
    }
    let file = format!("{PMTU_CAPTURES}/pmtu-black-hole.pcap");
    let rules = format!("{PMTU_CAPTURES}/pmtu-black-hole.rules");
    let host = format!("{PMTU_CAPTURES}/router");
    text_and_json(
        "pmtu_black_hole_with_rules",
        &[
            "pcap", &file, "--rules", &rules, "--host", &host, "--at", "lan0",
        ],
    );
}

/// Captures whose failed flows are walked across a topology (issue 12): the path-MTU black
/// hole across the four namespaces it was recorded in, user story 1's rejected SYN, and
/// connections the server refuses.
#[test]
fn pcap_across_a_topology() {
    let file = format!("{PMTU_CAPTURES}/pmtu-black-hole.pcap");
    let lab = format!("{PMTU_CAPTURES}/lab.toml");
    text_and_json(
        "pcap_pmtu_black_hole_across_the_lab",
        &["pcap", &file, "--topology", &lab],
    );
    let file = format!("{CAPTURES}/reject-icmp-port-unreachable.pcap");
    let topology = "crates/cli/tests/fixtures/pcap-topology/reject.toml";
    text_and_json(
        "pcap_story1_reject_across_the_topology",
        &["pcap", &file, "--topology", topology],
    );
    // Nothing listens on 2176/tcp or 5354/udp (the router's rule is about 2175 only): the
    // server refuses both.
    let file = format!("{CAPTURES}/closed-port.pcap");
    text_and_json(
        "pcap_closed_port_across_the_topology",
        &["pcap", &file, "--topology", topology],
    );
}

#[test]
fn c4_usage_errors_are_words_users_read() {
    insta::assert_snapshot!("c4_mistyped_subcommand", run(&["tarce"]));
    insta::assert_snapshot!(
        "c4_mistyped_subcommand_with_options",
        run(&["tarce", "--nft", "tcp dport 22"])
    );
    insta::assert_snapshot!("c4_mistyped_subcommand_json", run(&["--json", "tarce"]));
    insta::assert_snapshot!("c4_bare_whyblocked", run(&[]));
    insta::assert_snapshot!(
        "c4_json_parse_error",
        run(&[
            "--json",
            "--rules",
            "README.md",
            "tcp",
            "1.2.3.4:5",
            "6.7.8.9:10"
        ])
    );
    insta::assert_snapshot!(
        "c4_json_unreadable_file",
        run(&[
            "--json",
            "--rules",
            "no/such/file",
            "tcp",
            "1.2.3.4:5",
            "6.7.8.9:10"
        ])
    );
}

#[test]
fn c4_help_about_help_succeeds() {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(["help", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Which firewall rule is blocking me"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(["help", "trace", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Trace real packets"));
}

#[test]
fn c4_a_json_error_is_an_error_object_on_stdout() {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args([
            "--json",
            "--rules",
            "README.md",
            "tcp",
            "1.2.3.4:5",
            "6.7.8.9:10",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let e = &v["error"];
    assert_eq!(e["kind"], "parse", "{v}");
    assert_eq!(e["file"], "README.md");
    assert!(e["line"].as_u64().is_some_and(|l| l >= 1), "{v}");
    assert!(e["col"].as_u64().is_some_and(|c| c >= 1), "{v}");
    assert_eq!(e["exit_status"], 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("error: "),
        "the text still goes to stderr"
    );
}

/// The README's first command exits 1 by design; the line under it must say so, with the
/// status the command really ends with.
#[test]
fn d3_readme_first_command_says_what_its_exit_status_means() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.contains("&& whyblocked --rules"));
    let command = lines.next().expect("the README's first whyblocked command");
    let under = lines.next().unwrap_or_default();
    let args: Vec<&str> = command
        .split_once("&& whyblocked ")
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let code = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(&args)
        .current_dir(repo())
        .output()
        .unwrap()
        .status
        .code()
        .unwrap();
    assert!(
        under.contains(&format!("exits {code}")),
        "the line under the README's first command must state its exit status {code}: {under:?}"
    );
}

/// Interface names the input did not give are never printed blank (`out of ` + nothing).
#[test]
fn c1_no_blank_interface_in_any_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for blank in [
            "out of \n",
            "out of ,",
            "out of )",
            "out of `",
            "via \n",
            " in \n",
        ] {
            assert!(!text.contains(blank), "{}: `{blank}`", path.display());
        }
        for debug in ["Some(", "None,", " { icmp_type"] {
            assert!(
                !text.contains(debug),
                "{}: Debug text `{debug}`",
                path.display()
            );
        }
    }
}

const PATH_STORY1: &str = "crates/frontends/tests/fixtures/topology/story1/topology.toml";
const PATH_BLACKHOLE: &str = "crates/cli/tests/fixtures/path/blackhole.toml";

#[test]
fn path_story1_from_the_zos_stub_through_the_ufw_router() {
    text_and_json(
        "path_story1",
        &[
            "path",
            "--topology",
            PATH_STORY1,
            "tcp",
            "zos",
            "10.1.0.2:2175",
        ],
    );
}

#[test]
fn path_a_pmtu_black_hole_names_where_the_error_is_dropped() {
    text_and_json(
        "path_blackhole",
        &[
            "path",
            "--topology",
            PATH_BLACKHOLE,
            "tcp",
            "client",
            "10.0.2.2:443",
            "--size",
            "1500",
        ],
    );
}

#[test]
fn path_two_snapshots_linked_by_their_shared_subnet() {
    let pair = "crates/frontends/tests/fixtures/topology/pair";
    text_and_json(
        "path_pair",
        &[
            "path",
            "--host",
            &format!("{pair}/alpha.snap"),
            "--host",
            &format!("{pair}/beta.snap"),
            "ping",
            "2001:db8:1::1",
            "2001:db8:1::2",
        ],
    );
}

#[test]
fn path_a_ping_between_host_names_works() {
    insta::assert_snapshot!(
        "path_ping_names",
        run(&["path", "--topology", PATH_STORY1, "ping", "laptop", "zos"])
    );
}

#[test]
fn path_input_errors_name_what_is_wrong() {
    // An address no host has, one that needs a port, a bind address not the sender's, an
    // interface to bind, `in`, too few words.
    let packets: [&[&str]; 6] = [
        &["tcp", "10.9.9.9:1", "server:443"],
        &["tcp", "client", "server"],
        &["-I", "10.0.2.1", "ping", "client", "server"],
        &["-I", "wlan9", "ping", "client", "server"],
        &["tcp", "client", "10.0.2.2:443", "in", "eth0"],
        &["tcp", "client"],
    ];
    let errors: Vec<String> = packets
        .iter()
        .map(|p| run(&[&["path", "--topology", PATH_BLACKHOLE][..], p].concat()))
        .collect();
    insta::assert_snapshot!("path_input_errors", errors.join("\n"));
}
