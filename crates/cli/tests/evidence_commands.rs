//! `whyblocked log`, `explain-trace` and `conntrack`, end to end: the binary on the evidence
//! fixtures of `crates/evidence/tests/fixtures` (real kernel outputs captured in namespaces by
//! its `make.sh`, and hand-written logs), with the answer the user stories ask for.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> String {
    repo()
        .join("crates/evidence/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn example(name: &str) -> String {
    repo()
        .join("examples/ufw-router")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .output()
        .expect("run whyblocked");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, text)
}

fn json(args: &[&str]) -> serde_json::Value {
    let (out, text) = run(args);
    assert!(out.status.code().is_some(), "{:?}", out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// User story 1 from the log line alone plus the ruleset: `ufw-reject-forward` is named.
#[test]
fn story_1_log_file_names_ufw_reject_forward() {
    let (out, text) = run(&[
        "log",
        &fixture("ufw.log"),
        "--rules",
        &example("iptables-save.txt"),
        "--host",
        &example("host"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let first = text
        .lines()
        .find(|l| l.starts_with("tcp 10.1.1.2:1050 -> 10.1.0.2:2175"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(first.contains(" 3 "), "three lines in the flow: {first}");
    assert!(first.contains("REJECTED"), "{first}");
    assert!(first.contains("filter/ufw-reject-forward #1"), "{first}");
    assert!(first.contains("iptables-save.txt:94"), "{first}");
    assert!(
        first.contains("Nov 22 10:00:00") && first.contains("Nov 22 10:00:03"),
        "{first}"
    );
    assert!(
        text.contains("ufw.log:8:"),
        "the malformed line with its line number: {text}"
    );
}

/// A ufw.log with several flows: counts, first/last seen and deciding rules, as JSON.
#[test]
fn log_summary_json_has_counts_and_deciding_rules() {
    let v = json(&[
        "log",
        &fixture("ufw.log"),
        "--rules",
        &example("iptables-save.txt"),
        "--host",
        &example("host"),
        "--json",
    ]);
    assert_eq!(v["records"], 7);
    assert_eq!(v["malformed"], 1);
    assert_eq!(v["malformed_examples"][0]["line"], 8);
    let flows = v["flows"].as_array().unwrap();
    assert_eq!(flows.len(), 4);
    let counts: Vec<u64> = flows.iter().map(|f| f["count"].as_u64().unwrap()).collect();
    assert_eq!(counts, [3, 2, 1, 1]);
    let story = &flows[0]["simulated"];
    assert_eq!(story["fate"], "rejected");
    assert_eq!(story["deciding_rule"]["chain"], "ufw-reject-forward");
    assert_eq!(story["deciding_rule"]["line"], 94);
    assert_eq!(
        story["logged_by"], "on_path",
        "the [UFW BLOCK] LOG rule is on the path"
    );
    assert_eq!(story["ttl_restored"], true);
    let input = &flows[1]["simulated"];
    assert_eq!(input["fate"], "dropped");
}

/// The journal's JSON form reads like the syslog form.
#[test]
fn journal_json_log() {
    let v = json(&[
        "log",
        &fixture("journal.json"),
        "--rules",
        &example("iptables-save.txt"),
        "--json",
    ]);
    assert_eq!(v["flows"][0]["count"], 2);
    assert_eq!(v["flows"][0]["first_seen"], "2024-11-22T10:00:00.000000Z");
    assert_eq!(
        v["flows"][0]["simulated"]["deciding_rule"]["chain"],
        "ufw-reject-forward"
    );
}

/// Without rules the log is only read.
#[test]
fn log_without_rules_reads_from_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(["log", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let text = std::fs::read(fixture("ufw.log")).unwrap();
        child.stdin.take().unwrap().write_all(&text).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("<stdin>: 9 lines, 7 firewall log lines in 4 flows"),
        "{text}"
    );
    assert!(text.contains("not simulated"), "{text}");
}

fn trace_json(file: &str) -> (Option<i32>, serde_json::Value) {
    let (out, text) = run(&[
        "explain-trace",
        &fixture(file),
        "--rules",
        &fixture("router.rules"),
        "--host",
        &fixture("host"),
        "--json",
    ]);
    (
        out.status.code(),
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn packet<'a>(v: &'a serde_json::Value, starts: &str) -> &'a serde_json::Value {
    v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["packet"].as_str().unwrap().starts_with(starts))
        .unwrap_or_else(|| panic!("no packet {starts}"))
}

/// Real `nft monitor trace` output: every traced packet placed, with the rule text, and the
/// simulation agrees on all of them.
#[test]
fn real_nft_monitor_trace_agrees_with_the_simulation() {
    let (code, v) = trace_json("nft-monitor-trace.txt");
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["tracer"], "nft monitor trace");
    for p in v["packets"].as_array().unwrap() {
        assert_eq!(p["agrees"], true, "{p:#}");
    }
    let reject = packet(&v, "tcp 10.1.1.2:41002 -> 10.1.0.2:2175");
    assert_eq!(
        reject["traced_fate"], "rejected",
        "a drop whose rule is REJECT"
    );
    assert_eq!(
        reject["deciding_rule"]["text"],
        "-A FORWARD -j REJECT --reject-with icmp-port-unreachable"
    );
    assert!(reject["deciding_rule"]["file"]
        .as_str()
        .unwrap()
        .ends_with("router.rules"));
    assert_eq!(reject["deciding_rule"]["line"], 28);
    let raw = packet(&v, "tcp 10.1.1.2:41005 -> 10.1.1.1:9");
    assert_eq!(raw["traced_fate"], "dropped");
    assert_eq!(raw["deciding_rule"]["table"], "raw");
    let open = packet(&v, "tcp 10.1.1.2:41001 -> 10.1.0.2:80 [SYN]");
    assert_eq!(open["traced_fate"], "accepted");
    assert!(open["traced_fate_text"]
        .as_str()
        .unwrap()
        .contains("no closing event"));
}

/// Real `xtables-monitor --trace` output: rules placed by their iptables-save text.
#[test]
fn real_xtables_monitor_agrees_with_the_simulation() {
    let (code, v) = trace_json("xtables-monitor.txt");
    assert_eq!(code, Some(0), "{v:#}");
    let reset = packet(&v, "tcp 10.1.1.2:42004 -> 10.1.1.1:23");
    assert_eq!(reset["traced_fate"], "rejected");
    assert_eq!(
        reset["deciding_rule"]["text"],
        "-A INPUT -p tcp -m tcp --dport 23 -j REJECT --reject-with tcp-reset"
    );
    assert_eq!(reset["agrees"], true);
    let placed: Vec<&str> = reset["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["placed"].as_str().unwrap())
        .collect();
    assert!(placed[0].contains("switched tracing on"), "{placed:?}");
    // The ICMP packet's protocol is not printed by xtables-monitor: not simulated.
    let unsimulated = v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["agrees"].is_null())
        .count();
    assert_eq!(unsimulated, 1);
}

/// Hand-written legacy TRACE lines (see fixtures/README.md): placed by rule number.
#[test]
fn legacy_trace_lines_by_rule_number() {
    let (code, v) = trace_json("trace-legacy.txt");
    assert_eq!(code, Some(0), "{v:#}");
    let p = packet(&v, "tcp 10.1.1.2:45002 -> 10.1.0.2:2175");
    assert_eq!(p["traced_fate"], "rejected");
    assert_eq!(p["steps"][2]["placed"], "filter/FORWARD #2 by number");
}

/// A divergence is flagged: the same trace against a ruleset where port 2175 is allowed.
#[test]
fn a_trace_that_contradicts_the_ruleset_diverges() {
    let dir = std::env::temp_dir().join(format!("wbe-evidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = std::fs::read_to_string(fixture("router.rules"))
        .unwrap()
        .replace("--dports 22,80", "--dports 22,80,2175");
    let path = dir.join("changed.rules");
    std::fs::write(&path, rules).unwrap();
    let (out, text) = run(&[
        "explain-trace",
        &fixture("nft-monitor-trace.txt"),
        "--rules",
        path.to_str().unwrap(),
        "--host",
        &fixture("host"),
        "--listing",
        &fixture("nft-list-ruleset.txt"),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("! DIVERGES"), "{text}");
    assert!(text.contains("fate: kernel rejected"), "{text}");
}

/// User story 4 from real conntrack events: the closed port (the SYN got through, a reset
/// answered) against the packet dropped before conntrack (no event), each checked against
/// the simulation.
#[test]
fn story_4_closed_port_vs_dropped_from_conntrack_events() {
    let ask = |spec: &[&str]| {
        let mut args = vec!["conntrack", "--rules", "", "--host", "", "--json", ""];
        let rules = fixture("router.rules");
        let host = fixture("host");
        let events = fixture("conntrack-events.txt");
        args[2] = &rules;
        args[4] = &host;
        args[6] = &events;
        args.extend_from_slice(spec);
        let (out, text) = run(&args);
        (
            out.status.code(),
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{e}: {text}")),
        )
    };
    let (code, closed) = ask(&["tcp", "10.1.1.2:43003", "10.1.1.1:22", "in", "lan0"]);
    assert_eq!(code, Some(0));
    let a = &closed["asked"][0];
    assert_eq!(a["has_events"], true);
    assert!(
        a["proof"].as_str().unwrap().contains("TCP reset answered"),
        "{a:#}"
    );
    assert_eq!(a["simulated_fate"], "delivered");
    assert_eq!(a["agrees"], true);

    let (code, dropped) = ask(&["tcp", "10.1.1.2:43005", "10.1.1.1:9", "in", "lan0"]);
    assert_eq!(code, Some(0));
    let a = &dropped["asked"][0];
    assert_eq!(a["has_events"], false);
    assert_eq!(a["simulated_fate"], "dropped");
    assert_eq!(a["deciding_rule"]["table"], "raw");
    assert_eq!(a["agrees"], true);

    let flows = closed["flows"].as_array().unwrap();
    let open = flows
        .iter()
        .find(|f| f["flow"].as_str().unwrap().ends_with(":80"))
        .unwrap();
    assert_eq!(open["proof"], "handshake completed through this host");
    assert_eq!(open["next_packet"], "established");
}

/// `--table-out` writes the table the events leave, readable as a host's conntrack.txt.
#[test]
fn conntrack_table_out_is_host_state() {
    let dir = std::env::temp_dir().join(format!("wbe-ct-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_path = dir.join("conntrack.txt");
    let (out, _) = run(&[
        "conntrack",
        &fixture("conntrack-events.txt"),
        "--table-out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = std::fs::read_to_string(&out_path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let entries = frontends::host::conntrack::parse(&model::SourceFile::new("t", table)).unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].tcp_state.as_deref(), Some("TIME_WAIT"));
}

/// Input errors: a file that is not a trace is exit 2 with a message.
#[test]
fn not_a_trace_is_an_input_error() {
    let (out, _) = run(&["explain-trace", &fixture("ufw.log")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no trace lines"));
}
