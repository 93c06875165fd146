//! Issue 11 A5: evidence sets the assumptions it implies (a trace's hooks, a log line's
//! `IN=`/`OUT=`, the hop that answered and the TTL it quotes), and where host state still
//! makes the simulation take another way, the answer says the evidence contradicts it.
//! On the user story 1 capture and the recorded traces of `crates/evidence/tests/fixtures`.

mod support;

use std::path::{Path, PathBuf};
use support::{repo, run_in_repo as run};

/// The block of `text` that starts with the line starting with `head`, to the blank line.
fn block<'a>(text: &'a str, head: &str) -> &'a str {
    let start = text
        .find(&format!("\n{head}"))
        .unwrap_or_else(|| panic!("no {head:?} in {text}"))
        + 1;
    let end = text[start..].find("\n\n").map_or(text.len(), |e| start + e);
    &text[start..end]
}

/// A copy of the host directory `from` in which `addr` (one of the host's addresses)
/// becomes `to`: a host on which the packet's destination is local. Removed on drop.
struct AlteredHost(PathBuf);

impl AlteredHost {
    fn new(tag: &str, from: &str, addr: &str, to: &str) -> AlteredHost {
        let dir = std::env::temp_dir().join(format!("wb-a5-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(repo().join(from)).unwrap() {
            let path = e.unwrap().path();
            if path.is_file() {
                let text = std::fs::read_to_string(&path).unwrap();
                let text = text.replace(&format!("\"{addr}\""), &format!("\"{to}\""));
                std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
            }
        }
        AlteredHost(dir)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for AlteredHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.0));
    }
}

const STORY1_PCAP: &str = "crates/evidence/tests/fixtures/pcap/story1-ufw.pcap";
const UFW_RULES: &str = "examples/ufw-router/iptables-save.txt";
const ROUTER_RULES: &str = "crates/evidence/tests/fixtures/router.rules";
const ROUTER_HOST: &str = "crates/evidence/tests/fixtures/host";

/// Without `--host`, the ICMP port unreachable from the hop 10.1.1.1 quoting the SYN one
/// TTL lower than captured shows this host forwarded it: it is simulated forwarded, and
/// ufw's forward REJECT is named (it was simulated delivered to this host before).
#[test]
fn a5_pcap_without_host_simulates_the_forwarding_the_capture_shows() {
    let (code, text) = run(
        &["pcap", STORY1_PCAP, "--rules", UFW_RULES, "--at", "tap0"],
        "",
    );
    assert_eq!(code, Some(1), "{text}");
    insta::assert_snapshot!(block(&text, "flow 1 "), @r#"
    flow 1  tcp 10.1.1.2:1050 -> 10.1.0.2:2175  (FAILED, frame 1)
      seen         ICMP port unreachable from 10.1.1.1 (a hop on the way (a router), not the destination 10.1.0.2), 0 hops from the capture point (sent from the captured link itself)
      means        the hop 10.1.1.1 refused to forward it: a firewall REJECT there (icmp-port-unreachable, REJECT's default); the client sees ECONNREFUSED "Connection refused"
      quoted       tcp 10.1.1.2:1050 -> 10.1.0.2:2175 ttl 63 (captured with ttl 64: decremented 1 time past the capture point before it was refused)
      assumed      taken as forwarded by this host from the capture (an ICMP error quotes it with ttl 63, captured arriving with ttl 64: this host decremented it), out of an interface it does not show (rules on the output interface see none)
      simulated    REJECTED  tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN]  (seen arriving on tap0, the capture point)
                   decided by filter/ufw-reject-forward #1 (examples/ufw-router/iptables-save.txt:94)
                     -A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable
                   sender sees ICMP port unreachable from this host's address on the route back (via tap0)
                   sender sees connect() fails at once: ECONNREFUSED "Connection refused"
    "#);
    let (_, json) = run(
        &[
            "pcap",
            "--json",
            STORY1_PCAP,
            "--rules",
            UFW_RULES,
            "--at",
            "tap0",
        ],
        "",
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sim = &v["findings"][0]["simulation"];
    assert_eq!(sim["report"]["fate"], "rejected", "{sim}");
    assert!(
        sim["implied"].as_str().unwrap().contains("forwarded"),
        "{sim}"
    );
    assert!(sim["contradiction"].is_null(), "{sim}");
}

/// With host state on which the destination is this host's own address, the simulation
/// delivers the SYN locally while the capture shows it forwarded: said as a contradiction.
#[test]
fn a5_pcap_host_state_that_contradicts_the_capture_is_said_so() {
    let host = AlteredHost::new("pcap", "examples/ufw-router/host", "10.1.0.1", "10.1.0.2");
    let (_, text) = run(
        &[
            "pcap",
            STORY1_PCAP,
            "--rules",
            UFW_RULES,
            "--host",
            host.path(),
            "--at",
            "tap0",
        ],
        "",
    );
    let flow = block(&text, "flow 1 ");
    let line = flow
        .lines()
        .find(|l| l.contains("contradicts"))
        .unwrap_or_else(|| panic!("{flow}"));
    assert_eq!(
        line.trim(),
        "!            evidence contradicts the simulation: the capture shows the packet forwarded by this host (an ICMP error about it came from 10.1.1.1, this host's address, not the destination); the simulation has it delivered to this host. The host state or the ruleset given differ from the host the capture comes from, so the simulation does not explain it"
    );
}

/// Without `--host`, each traced packet is simulated on the way its hooks show (FORWARD
/// out of the interface it printed): the recorded traces agree with the simulation (they
/// diverged on every forwarded packet, simulated as local, before).
#[test]
fn a5_explain_trace_without_host_follows_the_traced_hooks() {
    for trace in [
        "trace-legacy.txt",
        "xtables-monitor.txt",
        "nft-monitor-trace.txt",
    ] {
        let file = format!("crates/evidence/tests/fixtures/{trace}");
        let (code, text) = run(&["explain-trace", &file, "--rules", ROUTER_RULES], "");
        assert_eq!(code, Some(0), "{trace}: {text}");
        assert!(!text.contains("DIVERGES"), "{trace}: {text}");
        assert!(
            text.contains("assumed       taken as forwarded by this host from the trace (traced in the forward hook), out of wan0"),
            "{trace}: {text}"
        );
    }
}

/// With host state on which the destination is local, the trace's FORWARD contradicts the
/// simulation: said as such, before the divergences it causes.
#[test]
fn a5_explain_trace_host_state_that_contradicts_the_trace_is_said_so() {
    let host = AlteredHost::new("trace", ROUTER_HOST, "10.1.0.1", "10.1.0.2");
    let file = "crates/evidence/tests/fixtures/trace-legacy.txt";
    let (code, text) = run(
        &[
            "explain-trace",
            file,
            "--rules",
            ROUTER_RULES,
            "--host",
            host.path(),
        ],
        "",
    );
    assert_eq!(code, Some(1), "{text}");
    let packet = block(&text, "packet 1 ");
    let lines: Vec<&str> = packet.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("! evidence contradicts"))
        .unwrap_or_else(|| panic!("{packet}"));
    assert!(
        lines[at].contains("the trace shows the packet forwarded by this host (traced in the forward hook); the simulation has it delivered to this host"),
        "{packet}"
    );
    assert!(lines[at + 1].starts_with("! DIVERGES"), "{packet}");
}

/// A log line with `IN=` and `OUT=` shows a forwarded packet: with host state that
/// delivers it locally, the flow says the evidence contradicts the simulation.
#[test]
fn a5_log_line_interfaces_that_contradict_the_host_state_are_said_so() {
    let host = AlteredHost::new("log", ROUTER_HOST, "10.1.0.1", "10.1.0.2");
    let line = "Nov 22 10:00:00 router kernel: [WBE BLOCK] IN=lan0 OUT=wan0 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=45002 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0\n";
    let (_, text) = run(
        &["log", "-", "--rules", ROUTER_RULES, "--host", host.path()],
        line,
    );
    assert!(
        text.contains("    ! evidence contradicts the simulation: the log line shows the packet forwarded by this host (IN=lan0 OUT=wan0); the simulation has it delivered to this host."),
        "{text}"
    );
    // The real host state: no contradiction.
    let (_, text) = run(
        &["log", "-", "--rules", ROUTER_RULES, "--host", ROUTER_HOST],
        line,
    );
    assert!(!text.contains("contradicts"), "{text}");
}

/// The ICMP port unreachable came from this host's own address (with `--host`): a ruleset
/// that lets the SYN through contradicts the capture, and says so instead of showing a
/// forwarded packet under FAILED.
#[test]
fn a5_pcap_refused_by_this_host_but_passed_by_the_rules_is_said_so() {
    let accept_all = "crates/cli/tests/fixtures/stories/story4-accept-all.rules";
    let (code, text) = run(
        &[
            "pcap",
            STORY1_PCAP,
            "--rules",
            accept_all,
            "--host",
            "examples/ufw-router/host",
            "--at",
            "tap0",
        ],
        "",
    );
    assert_eq!(code, Some(1), "{text}");
    let flow = block(&text, "flow 1 ");
    assert!(
        flow.contains("!            evidence contradicts the simulation: the capture shows this host refused the packet (an ICMP error refusing it came from 10.1.1.1, this host's address); the simulation lets it through."),
        "{flow}"
    );
}
