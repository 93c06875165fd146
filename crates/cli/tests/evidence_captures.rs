//! User stories 1, 4, 6 and 9 end to end from evidence: the `whyblocked` binary on the
//! project's own captures (crates/evidence/tests/fixtures/pcap, recorded in network
//! namespaces by scripts/make-captures.sh) and real conntrack events
//! (crates/evidence/tests/fixtures, recorded by its make.sh), with the text answer's key facts,
//! the `--json` fields and the exit codes (0 nothing failed, 1 something failed, 2 input
//! error). `evidence_commands.rs` covers the log/trace/conntrack commands on their own.

use std::path::{Path, PathBuf};
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

fn capture(name: &str) -> String {
    fixture(&format!("pcap/{name}.pcap"))
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
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    // After the subcommand: trailing PACKET words would take it otherwise.
    let mut all = args.to_vec();
    all.insert(1, "--json");
    let (out, text) = run(&all);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out.status.code(), v)
}

/// A scratch directory of this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("wbc-e2e-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The records of a classic little-endian pcap: (offset, length) of each, header included.
fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian pcap"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push((at, 16 + len));
        at += 16 + len;
    }
    assert_eq!(at, bytes.len());
    out
}

// ---- user story 1 ------------------------------------------------------------------------

const STORY1_LOG_LINE: &str = "Nov 22 10:00:00 router kernel: [12345.100000] [UFW BLOCK] IN=tap0 OUT=eno1 MAC=1a:a0:0e:97:bf:63:52:54:00:65:43:21:08:00 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=4711 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0";

fn story1_args() -> Vec<String> {
    vec![
        "pcap".into(),
        capture("story1-ufw"),
        "--rules".into(),
        example("iptables-save.txt"),
        "--host".into(),
        example("host"),
        "--at".into(),
        "tap0".into(),
    ]
}

/// Story 1 from the capture recorded on a router running the real ufw ruleset: the ICMP port
/// unreachable comes from the router 10.1.1.1 (not the destination 10.1.0.2), the ruleset
/// names `ufw-reject-forward` with its line, and the ping beside it passes by
/// ufw-before-forward's echo-request allowance.
#[test]
fn story_1_capture_with_the_ufw_ruleset_names_the_router_and_the_rule() {
    let args = story1_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, text) = run(&args);
    assert_eq!(out.status.code(), Some(1), "a flow failed: {text}");
    assert!(text.contains("1 failed, 0 suspicious, 1 fine"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("10.1.1.2:1050 -> 10.1.0.2:2175") && l.trim_start().starts_with('1'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("rejected on the way: ICMP port unreachable"),
        "{row}"
    );
    assert!(row.contains("10.1.1.1 (on the way)"), "{row}");
    assert!(
        text.contains(
            "ICMP port unreachable from 10.1.1.1 (the router: this host, its address on tap0; not the destination 10.1.0.2)"
        ),
        "{text}"
    );
    assert!(
        text.contains("REJECTED  tcp 10.1.1.2:1050 -> 10.1.0.2:2175 [SYN]"),
        "{text}"
    );
    assert!(
        text.contains("decided by filter/ufw-reject-forward #1 (")
            && text.contains("iptables-save.txt:94)"),
        "{text}"
    );
    assert!(
        text.contains("-A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable"),
        "{text}"
    );
    assert!(
        text.contains("sender sees ICMP port unreachable from 10.1.1.1"),
        "{text}"
    );
    // The ping passed, and why.
    let ping = text
        .lines()
        .find(|l| l.contains("fine: ping answered"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        ping.contains("icmp") && ping.contains("-> 10.1.0.2"),
        "{ping}"
    );
    assert!(
        text.contains("1 echo request to 10.1.0.2, 1 echo reply from it"),
        "{text}"
    );
    assert!(
        text.contains("decided by filter/ufw-before-forward #5 (")
            && text.contains("iptables-save.txt:68)"),
        "{text}"
    );
    assert!(
        text.contains("-A ufw-before-forward -p icmp -m icmp --icmp-type 8 -j ACCEPT"),
        "{text}"
    );
}

#[test]
fn story_1_capture_json() {
    let args = story1_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, v) = json(&args);
    assert_eq!(code, Some(1));
    assert_eq!(v["schema"], "whyblocked-capture/1");
    assert_eq!(v["stopped_by"], serde_json::Value::Null);
    assert_eq!(v["flows"]["failed"], 1);
    assert_eq!(v["flows"]["ok"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "icmp_error");
    assert_eq!(f["severity"], "failed");
    assert_eq!(f["client"]["address"], "10.1.1.2");
    assert_eq!(f["client"]["port"], 1050);
    assert_eq!(f["server"]["address"], "10.1.0.2");
    assert_eq!(f["server"]["port"], 2175);
    assert_eq!(f["answered_by"]["address"], "10.1.1.1");
    assert_eq!(f["answered_by"]["role"], "on_the_way");
    assert_eq!(f["answered_by"]["host_interface"], "tap0");
    assert_eq!(f["icmp"]["type"], 3);
    assert_eq!(f["icmp"]["code"], 3);
    assert_eq!(f["icmp"]["quoted"]["dst"], "10.1.0.2");
    assert_eq!(f["icmp"]["quoted"]["dport"], 2175);
    let sim = &f["simulation"]["report"];
    assert_eq!(sim["fate"], "rejected");
    assert_eq!(sim["packet"]["iif"], "tap0");
    let rule = &sim["deciding_rule"];
    assert_eq!(rule["table"], "filter");
    assert_eq!(rule["chain"], "ufw-reject-forward");
    assert_eq!(rule["line"], 94);
    assert!(rule["file"]
        .as_str()
        .unwrap()
        .ends_with("ufw-router/iptables-save.txt"));
    assert_eq!(sim["sender_sees"]["response"]["from"], "10.1.1.1");
    assert_eq!(sim["sender_sees"]["errno"], "ECONNREFUSED");

    let fine = v["fine"].as_array().unwrap();
    assert_eq!(fine.len(), 1);
    assert_eq!(fine[0]["kind"], "echo_answered");
    assert_eq!(fine[0]["protocol"], "icmp");
    assert_eq!(fine[0]["server"]["address"], "10.1.0.2");
    let ping = &fine[0]["simulation"]["report"];
    assert_eq!(ping["fate"], "forwarded");
    assert_eq!(ping["deciding_rule"]["chain"], "ufw-before-forward");
    assert_eq!(ping["deciding_rule"]["line"], 68);
}

/// Story 1 from the `[UFW BLOCK]` line alone plus the ruleset, and from the capture: both name
/// the same rule for the same flow.
#[test]
fn story_1_log_line_and_capture_name_the_same_rule() {
    let dir = Scratch::new("story1");
    let log = dir.write("ufw.log", format!("{STORY1_LOG_LINE}\n").as_bytes());
    let rules = example("iptables-save.txt");
    let host = example("host");
    let (out, text) = run(&["log", &log, "--rules", &rules, "--host", &host]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("tcp 10.1.1.2:1050 -> 10.1.0.2:2175"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("REJECTED"), "{row}");
    assert!(row.contains("filter/ufw-reject-forward #1"), "{row}");
    assert!(row.contains("iptables-save.txt:94"), "{row}");

    let (code, from_log) = json(&["log", &log, "--rules", &rules, "--host", &host]);
    assert_eq!(code, Some(0));
    assert_eq!(from_log["records"], 1);
    assert_eq!(from_log["malformed"], 0);
    let logged = &from_log["flows"][0]["simulated"];
    assert_eq!(logged["fate"], "rejected");

    let args = story1_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, from_capture) = json(&args);
    let finding = &from_capture["findings"][0];
    let captured = &finding["simulation"]["report"];
    for key in ["table", "chain", "index", "file", "line", "text"] {
        assert_eq!(
            logged["deciding_rule"][key], captured["deciding_rule"][key],
            "{key}: log {logged:#} vs capture {captured:#}"
        );
    }
    assert_eq!(captured["deciding_rule"]["chain"], "ufw-reject-forward");
    // The same flow: the log line's addresses and ports are the capture's.
    assert_eq!(finding["client"]["port"], 1050);
    assert_eq!(finding["server"]["port"], 2175);
}

// ---- user story 4 ------------------------------------------------------------------------

/// Story 4 from the plain `conntrack -E` events (no timestamps), in text: the closed port
/// (events: the SYN passed, a reset answered) against a firewall REJECT (no event at all, and
/// the simulation names the REJECT rule). Both read "Connection refused" to the client.
/// (`evidence_commands.rs` checks the timestamped events as JSON.)
#[test]
fn story_4_closed_port_vs_firewall_reject_in_text() {
    let events = fixture("conntrack-events-plain.txt");
    let rules = fixture("router.rules");
    let host = fixture("host");
    let (out, text) = run(&[
        "conntrack",
        &events,
        "--rules",
        &rules,
        "--host",
        &host,
        "tcp",
        "10.1.1.2:44003",
        "10.1.1.1:22",
        "in",
        "lan0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("8 events in 2 flows"), "{text}");
    let closed = text
        .split("\n\n")
        .find(|b| b.starts_with("tcp 10.1.1.2:44003 -> 10.1.1.1:22"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(closed.contains("NEW, DESTROY"), "{closed}");
    assert!(
        closed.contains("the first packet passed this host's firewall, then a TCP reset answered"),
        "{closed}"
    );
    assert!(closed.contains("agrees with the events"), "{closed}");

    let (out, text) = run(&[
        "conntrack",
        &events,
        "--rules",
        &rules,
        "--host",
        &host,
        "tcp",
        "10.1.1.2:44009",
        "10.1.0.2:2175",
        "in",
        "lan0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let rejected = text
        .split("\n\n")
        .find(|b| b.starts_with("tcp 10.1.1.2:44009 -> 10.1.0.2:2175"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(rejected.contains("none for this flow"), "{rejected}");
    assert!(
        rejected.contains("never got past this host's firewall"),
        "{rejected}"
    );
    assert!(rejected.contains("REJECTED"), "{rejected}");
    assert!(
        rejected.contains("filter/FORWARD #4") && rejected.contains("router.rules:28"),
        "{rejected}"
    );
    assert!(rejected.contains("agrees with the events"), "{rejected}");
}

/// Story 4, the other way round: events prove the SYN passed, but the ruleset given says the
/// firewall would have refused it (port 22 no longer allowed): exit 1 and the disagreement.
#[test]
fn story_4_events_that_contradict_the_ruleset_exit_1() {
    let dir = Scratch::new("story4");
    let rules = std::fs::read_to_string(fixture("router.rules"))
        .unwrap()
        .replace("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n", "");
    let rules = dir.write("no-ssh.rules", rules.as_bytes());
    let host = fixture("host");
    let (code, v) = json(&[
        "conntrack",
        &fixture("conntrack-events-plain.txt"),
        "--rules",
        &rules,
        "--host",
        &host,
        "tcp",
        "10.1.1.2:44003",
        "10.1.1.1:22",
        "in",
        "lan0",
    ]);
    assert_eq!(code, Some(1), "{v:#}");
    let a = &v["asked"][0];
    assert_eq!(a["has_events"], true);
    assert_eq!(a["simulated_fate"], "dropped");
    assert_eq!(a["agrees"], false);
}

// ---- user story 6 ------------------------------------------------------------------------

/// Story 6 (broken reverse NAT): the SYN went to 10.1.1.1:1222, the SYN/ACK came back from
/// 10.1.0.2:80 (the DNAT target, never contacted), and the client answered it with RST.
#[test]
fn story_6_synack_from_the_wrong_address_then_the_clients_rst() {
    let file = capture("dnat-broken-reply");
    let (out, text) = run(&["pcap", &file]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("SYN/ACK from the wrong address"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("-> 10.1.1.1:1222"), "{row}");
    assert!(row.trim_end().ends_with("10.1.0.2:80"), "{row}");
    assert!(
        text.contains("the SYN went to 10.1.1.1:1222, the SYN/ACK came from 10.1.0.2:80 (3 times), and the client answered it with RST (3 times)"),
        "{text}"
    );
    assert!(text.contains("broken reverse NAT"), "{text}");

    let (code, v) = json(&["pcap", &file]);
    assert_eq!(code, Some(1));
    assert_eq!(v["flows"]["failed"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "wrong_answer");
    assert_eq!(f["severity"], "failed");
    assert_eq!(f["server"]["address"], "10.1.1.1");
    assert_eq!(f["server"]["port"], 1222);
    assert_eq!(f["wrong_answer"]["from"]["address"], "10.1.0.2");
    assert_eq!(f["wrong_answer"]["from"]["port"], 80);
    assert_eq!(f["wrong_answer"]["synacks"], 3);
    assert_eq!(f["wrong_answer"]["client_rsts"], 3);
    assert_eq!(f["answered_by"]["role"], "wrong_endpoint");
}

// ---- user story 9 ------------------------------------------------------------------------

/// Story 9: the server sent the fatal unknown_ca alert after the client's certificate: it does
/// not trust the client certificate's issuer (the rogue CA), and asked for the trusted one.
#[test]
fn story_9_unknown_ca_names_the_side_and_the_meaning() {
    let file = capture("tls12-unknown-ca");
    let (out, text) = run(&["pcap", &file]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("TLS: fatal unknown_ca"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("10.1.0.2:4433"), "{row}");
    assert!(row.trim_end().ends_with("the server"), "{row}");
    assert!(
        text.contains("the server sent a fatal alert unknown_ca (48) after ClientHello, ServerHello, CertificateRequest, the client's Certificate"),
        "{text}"
    );
    assert!(
        text.contains("the server does not trust the issuer of the certificate the client sent (O=elsewhere, CN=Unknown Rogue CA)"),
        "{text}"
    );
    assert!(
        text.contains("it asked for: O=whyblocked test, CN=Trusted Test CA"),
        "{text}"
    );
    assert!(
        text.contains("Alert  from the server: fatal unknown_ca"),
        "{text}"
    );

    let (code, v) = json(&["pcap", &file]);
    assert_eq!(code, Some(1));
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "tls_alert");
    assert_eq!(f["answered_by"]["role"], "server");
    assert_eq!(f["answered_by"]["address"], "10.1.0.2");
    let tls = &f["tls"];
    let alert = &tls["alerts"][0];
    assert_eq!(alert["sender"], "server");
    assert_eq!(alert["level"], "fatal");
    assert_eq!(alert["description"], "unknown_ca");
    assert_eq!(alert["visibility"], "clear");
    let client_cert = tls["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sender"] == "client")
        .unwrap();
    assert_eq!(client_cert["issuer"], "O=elsewhere, CN=Unknown Rogue CA");
    assert_eq!(
        tls["certificate_request_cas"][0],
        "O=whyblocked test, CN=Trusted Test CA"
    );
    assert!(f["means"]
        .as_str()
        .unwrap()
        .contains("does not trust the issuer"));
}

// ---- exit codes --------------------------------------------------------------------------

/// Exit 0 when nothing failed: story 1's capture with only the ping kept.
#[test]
fn exit_0_when_nothing_failed() {
    let bytes = std::fs::read(capture("story1-ufw")).unwrap();
    let recs = records(&bytes);
    assert_eq!(recs.len(), 4, "SYN, ICMP error, echo request, echo reply");
    let mut ping = bytes[..24].to_vec();
    for &(at, len) in &recs[2..] {
        ping.extend_from_slice(&bytes[at..at + len]);
    }
    let dir = Scratch::new("exit0");
    let file = dir.write("ping.pcap", &ping);
    let args = story1_args();
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args[1] = &file;
    let (out, text) = run(&args);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 failed, 0 suspicious, 1 fine"), "{text}");
    assert!(text.contains("no failed or suspicious flow"), "{text}");
    assert!(text.contains("fine: ping answered"), "{text}");
    let (code, v) = json(&args);
    assert_eq!(code, Some(0));
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    assert_eq!(v["fine"][0]["simulation"]["report"]["fate"], "forwarded");
}

fn input_error(file: &str) -> String {
    let (out, text) = run(&["pcap", file]);
    assert_eq!(out.status.code(), Some(2), "{file}: {text}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 on garbage, with the byte offset where reading failed; never a panic.
#[test]
fn exit_2_on_garbage_with_the_byte_offset() {
    let dir = Scratch::new("exit2");
    let bytes = std::fs::read(capture("story1-ufw")).unwrap();

    let garbage: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let err = input_error(&dir.write("garbage.pcap", &garbage));
    assert!(
        err.contains("at byte 0") && err.contains("not a pcap or pcapng file"),
        "{err}"
    );

    // Cut inside the file header.
    let err = input_error(&dir.write("short.pcap", &bytes[..10]));
    assert!(
        err.contains("at byte 0") && err.contains("ends inside its header"),
        "{err}"
    );

    // A valid header, then garbage: reported up to that point, then exit 2 with the offset.
    let mut broken = bytes[..24].to_vec();
    broken.extend(&garbage[..100]);
    let file = dir.write("broken.pcap", &broken);
    let err = input_error(&file);
    assert!(err.contains("at byte 24"), "{err}");
    let (code, v) = json(&["pcap", &file]);
    assert_eq!(code, Some(2));
    assert_eq!(v["stopped_by"]["offset"], 24);

    // Valid records, then a corrupt record header after them: the flows before it are still
    // diagnosed, and the offset of the corrupt record is given.
    let recs = records(&bytes);
    let (at, len) = recs[1];
    let mut tail_broken = bytes[..at + len].to_vec();
    tail_broken.extend(&garbage[..64]);
    let file = dir.write("tail-broken.pcap", &tail_broken);
    let (out, text) = run(&["pcap", &file]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("rejected on the way: ICMP port unreachable"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("at byte {}", at + len)), "{err}");

    // Not a file at all.
    let missing = dir.0.join("missing.pcap");
    let err = input_error(missing.to_str().unwrap());
    assert!(err.contains("cannot read"), "{err}");
}

/// A capture cut short inside a record (a tcpdump killed mid-write, a copy of a file still
/// being written) is not an input error: what came before is diagnosed, the cut is noted with
/// its byte offset, and the exit code is that of the flows read. Every cut of every fixture
/// is read without a panic and with exit 0, 1 or 2, or 3 when the cut leaves no IP packet
/// (nothing to judge).
#[test]
fn a_capture_cut_short_is_read_up_to_the_cut() {
    let dir = Scratch::new("cut");
    let bytes = std::fs::read(capture("story1-ufw")).unwrap();
    let recs = records(&bytes);
    let (at, _) = recs[2];
    let cut = at + 20;
    let file = dir.write("cut.pcap", &bytes[..cut]);
    let (out, text) = run(&["pcap", &file]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "the file ends inside a record at byte {at} (cut short)"
        )),
        "{text}"
    );
    let (_, v) = json(&["pcap", &file]);
    assert_eq!(v["truncated_at"], at);
    assert_eq!(v["frames"], 2);

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/fixtures/pcap");
    let mut n = 0;
    for name in ["story1-ufw", "dnat-broken-reply", "tls12-unknown-ca"] {
        let bytes = std::fs::read(fixtures.join(format!("{name}.pcap"))).unwrap();
        for cut in (0..bytes.len()).step_by(bytes.len() / 6 + 1) {
            let file = dir.write(&format!("{name}-{cut}.pcap"), &bytes[..cut]);
            let (out, _) = run(&["pcap", &file]);
            assert!(
                matches!(out.status.code(), Some(0..=3)),
                "{name} cut at {cut}: {:?}",
                out.status
            );
            n += 1;
        }
    }
    assert!(n >= 18);
}
