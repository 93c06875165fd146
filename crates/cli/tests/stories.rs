#![allow(clippy::print_stderr)] // SKIP notices for absent corpus files are the point.
//! The user stories of USER-STORIES.md, end to end: a real ruleset and host state, a packet
//! or a piece of evidence, and the answer the tool must give (fate, deciding rule and its
//! line, what the sender sees, the kernel's log line, the fix).
//!
//! Library-level assertions check the engine's data; `binary_*` tests run `whyblocked`.

use engine::{Decider, Errno, Fate, Listener, Outcome, ResponseKind};
use model::expr::{Reject, Undecidable};
use model::{Family, Host, Packet, Ruleset, SourceFile};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus(relative: &str) -> Option<String> {
    let path = repo().join("../shared/corpus").join(relative);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!(
                "SKIP: {} is absent (../shared/corpus is not beside this clone)",
                path.display()
            );
            None
        }
    }
}

fn parse(name: &str, text: &str, family: Family) -> Ruleset {
    let source = SourceFile::new(name, text);
    frontends::iptables_save::parse(&source, Some(family)).unwrap_or_else(|e| panic!("{e}"))
}

/// A ruleset of `crates/cli/tests/fixtures/stories/` (shared with the kernel-backed
/// `stories_kernel.rs`, which proves the same answers against the real kernel).
fn story_rules(name: &str) -> Ruleset {
    let path = format!("{STORIES}/{name}");
    let text = std::fs::read_to_string(repo().join(&path)).unwrap();
    parse(&path, &text, Family::Ip)
}

const STORIES: &str = "crates/cli/tests/fixtures/stories";

fn host_dir(relative: &str) -> Host {
    frontends::host::host_dir::load(&repo().join(relative))
        .unwrap_or_else(|e| panic!("{e}"))
        .host
}

fn packet(spec: &str) -> Packet {
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    frontends::packet_spec::parse(&args)
        .unwrap_or_else(|e| panic!("{e}"))
        .packet
}

fn simulate(ruleset: &Ruleset, host: &Host, spec: &str) -> Outcome {
    engine::simulate(ruleset, host, &packet(spec), &engine::Options::default())
}

/// The fate every branch agrees on; fails the test when the answer is undecided.
fn fate(outcome: &Outcome) -> &Fate {
    outcome
        .decided_fate()
        .unwrap_or_else(|| panic!("undecided: {outcome:#?}"))
}

/// (chain name, 1-based rule number, line) of the rule that decided the primary trace.
fn deciding_rule(ruleset: &Ruleset, outcome: &Outcome) -> (String, usize, u32) {
    match outcome.primary().decider {
        Decider::Rule(at) => (
            ruleset.chain_at(at.chain_ref()).name.clone(),
            ruleset.chain_at(at.chain_ref()).source_rule_number(at.rule),
            ruleset.rule_at(at).origin.line,
        ),
        ref other => panic!("decided by {other:?}, not a rule"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const UFW_EXAMPLE: &str = "examples/ufw-router/iptables-save.txt";
const UFW_HOST: &str = "examples/ufw-router/host";

fn ufw_example() -> Ruleset {
    let text = std::fs::read_to_string(repo().join(UFW_EXAMPLE)).unwrap();
    parse(UFW_EXAMPLE, &text, Family::Ip)
}

fn line_of(path: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    text.lines().position(|l| l == needle).expect(needle) as u32 + 1
}

// ---------------------------------------------------------------------------------------
// Story 1: port unreachable through a ufw router; ping works.

#[test]
fn story1_ufw_router_rejects_routed_tcp_with_port_unreachable_from_router() {
    let ruleset = ufw_example();
    let host = host_dir(UFW_HOST);
    let outcome = simulate(&ruleset, &host, "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");

    assert_eq!(
        fate(&outcome),
        &Fate::Rejected {
            with: Reject::Icmp(3)
        }
    );
    let reject_line = line_of(
        UFW_EXAMPLE,
        "-A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable",
    );
    assert_eq!(
        deciding_rule(&ruleset, &outcome),
        ("ufw-reject-forward".into(), 1, reject_line)
    );

    let trace = outcome.primary();
    let response = trace
        .sender_sees
        .response
        .as_ref()
        .expect("an ICMP error goes back");
    assert_eq!(
        response.kind,
        ResponseKind::Icmp {
            icmp_type: 3,
            code: 3
        }
    );
    assert_eq!(
        response.from,
        engine::AnswerSource::Addr(ip("10.1.1.1")),
        "the router's tap0 address, not the laptop"
    );
    assert_eq!(trace.sender_sees.errno, Some(Errno::Econnrefused));

    let log = trace
        .logs
        .iter()
        .find(|l| l.text.starts_with("[UFW BLOCK] "))
        .expect("ufw logs the block");
    assert!(
        log.text.starts_with("[UFW BLOCK] IN=tap0 OUT=eno1 "),
        "{}",
        log.text
    );
    for field in [
        "SRC=10.1.1.2 DST=10.1.0.2 LEN=60 ",
        "TTL=63 ",
        "PROTO=TCP SPT=1050 DPT=2175 ",
        " SYN URGP=0",
    ] {
        assert!(
            log.text.contains(field),
            "{field:?} missing in {}",
            log.text
        );
    }
    assert_eq!(
        log.may_be_missing,
        Some(Undecidable::Limit),
        "ufw's LOG is rate-limited"
    );
}

#[test]
fn story1_ping_passes_because_ufw_before_forward_accepts_echo_request() {
    let ruleset = ufw_example();
    let host = host_dir(UFW_HOST);
    let outcome = simulate(
        &ruleset,
        &host,
        "icmp 10.1.1.2 10.1.0.2 in tap0 type echo-request",
    );
    assert!(matches!(fate(&outcome), Fate::Forwarded { oif, .. } if oif == "eno1"));
    let line = line_of(
        UFW_EXAMPLE,
        "-A ufw-before-forward -p icmp -m icmp --icmp-type 8 -j ACCEPT",
    );
    assert_eq!(
        deciding_rule(&ruleset, &outcome),
        ("ufw-before-forward".into(), 5, line)
    );
}

#[test]
fn story1_fix_is_verified_by_resimulation() {
    let ruleset = ufw_example();
    let host = host_dir(UFW_HOST);
    let p = packet("tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");
    let options = engine::Options::default();
    let outcome = engine::simulate(&ruleset, &host, &p, &options);
    let fix = analysis::suggest(&ruleset, &host, &p, &outcome, &options).expect("a fix");
    assert!(fix.command.starts_with("iptables "), "{}", fix.command);
    assert!(
        fix.command.contains("2175"),
        "the fix is narrow: {}",
        fix.command
    );
    assert!(matches!(fix.verified_fate, Fate::Forwarded { ref oif, .. } if oif == "eno1"));
}

/// The real ufw ruleset of the corpus (ufw 0.36 in a namespace, lan0/wan0), renamed to the
/// story's interfaces in memory, without its `route allow` rules and with `ufw default
/// reject routed`: blocked; with `ufw route allow in on tap0 out on eno1` back: forwarded.
#[test]
fn story1_real_corpus_ufw_ruleset_renamed_to_tap0_eno1() {
    let Some(text) = corpus("generated/ufw-in-netns/iptables-save.txt") else {
        return;
    };
    let renamed = text.replace("lan0", "tap0").replace("wan0", "eno1");
    let mut blocked = String::new();
    for line in renamed.lines() {
        if line == "COMMIT" && !blocked.contains("-A ufw-reject-forward -j REJECT") {
            blocked
                .push_str("-A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable\n");
        }
        if !line.starts_with("-A ufw-user-forward ") {
            blocked.push_str(line);
            blocked.push('\n');
        }
    }
    let host = host_dir(UFW_HOST);
    let spec = "tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0";
    let ruleset = parse("ufw-corpus-renamed.txt", &blocked, Family::Ip);
    let outcome = simulate(&ruleset, &host, spec);
    assert_eq!(
        fate(&outcome),
        &Fate::Rejected {
            with: Reject::Icmp(3)
        }
    );
    assert_eq!(deciding_rule(&ruleset, &outcome).0, "ufw-reject-forward");

    let allowed = blocked.replace(
        "-A ufw-reject-forward -j REJECT",
        "-A ufw-user-forward -i tap0 -o eno1 -j ACCEPT\n-A ufw-reject-forward -j REJECT",
    );
    let ruleset = parse("ufw-corpus-allowed.txt", &allowed, Family::Ip);
    let outcome = simulate(&ruleset, &host, spec);
    assert!(matches!(fate(&outcome), Fate::Forwarded { oif, .. } if oif == "eno1"));
    assert_eq!(deciding_rule(&ruleset, &outcome).0, "ufw-user-forward");
}

// ---------------------------------------------------------------------------------------
// Story 3: DNAT then filter, with the kernel's rule numbers.

#[test]
fn story3_dnat_then_filter_input_rule_11_sees_port_2222() {
    let ruleset = story_rules("story3-dnat.rules");
    let mut host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    host.sockets.push(model::host::Socket {
        proto: model::packet::IpProto::Tcp,
        addr: ip("0.0.0.0"),
        port: 2222,
        device: None,
        process: None,
        dual_stack: false,
    });
    let outcome = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0",
    );
    assert!(
        matches!(fate(&outcome), Fate::Delivered { listener: Listener::Open(s) } if s.port == 2222)
    );
    let trace = outcome.primary();
    let steps: Vec<(String, String, usize)> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            engine::Event::Rule { at, .. } => Some((
                ruleset.tables[at.table].name.clone(),
                ruleset.chain_at(at.chain_ref()).name.clone(),
                ruleset.chain_at(at.chain_ref()).source_rule_number(at.rule),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("nat".into(), "PREROUTING".into(), 1),
            ("filter".into(), "INPUT".into(), 11)
        ],
        "the kernel trace shows nat:PREROUTING:rule:1 then filter:INPUT:rule:11"
    );
    assert_eq!(trace.nat.len(), 1);
    assert_eq!(trace.nat[0].before, (ip("192.0.2.10"), Some(22)));
    assert_eq!(trace.nat[0].after, (ip("192.0.2.10"), Some(2222)));
}

// ---------------------------------------------------------------------------------------
// Story 4: closed port vs firewall — both read "Connection refused".

#[test]
fn story4_nothing_listening_is_the_stack_not_the_firewall() {
    let ruleset = story_rules("story4-accept-all.rules");
    let host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    let outcome = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:8080 in eth0",
    );
    assert_eq!(
        fate(&outcome),
        &Fate::Delivered {
            listener: Listener::Closed
        }
    );
    let trace = outcome.primary();
    assert_eq!(trace.decider, Decider::Stack);
    let response = trace.sender_sees.response.as_ref().unwrap();
    assert_eq!(
        (response.kind, response.from.clone(), response.by_stack),
        (
            ResponseKind::TcpRst,
            engine::AnswerSource::Addr(ip("192.0.2.10")),
            true
        )
    );
    assert_eq!(trace.sender_sees.errno, Some(Errno::Econnrefused));
    assert_eq!(
        trace.conntrack.state,
        Some(engine::CtState::New),
        "conntrack -E shows [NEW] ... [UNREPLIED]"
    );
}

/// A ruleset that never asks for conntrack does not turn it on (iptables-nft registers the
/// conntrack hooks only for rules that need them): `conntrack -E` stays silent, and the
/// closed port still answers with the stack's RST.
#[test]
fn story4_stateless_ruleset_leaves_conntrack_off() {
    let ruleset = story_rules("story4-stateless.rules");
    let host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    let outcome = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:8080 in eth0",
    );
    assert_eq!(
        fate(&outcome),
        &Fate::Delivered {
            listener: Listener::Closed
        }
    );
    assert_eq!(
        outcome.primary().conntrack.state,
        None,
        "no conntrack event at all"
    );
    assert_eq!(
        outcome.primary().sender_sees.errno,
        Some(Errno::Econnrefused)
    );
}

#[test]
fn story4_firewall_reset_is_named_as_a_rule() {
    let ruleset = story_rules("story4-reset.rules");
    let host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    let outcome = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:8080 in eth0",
    );
    assert_eq!(
        fate(&outcome),
        &Fate::Rejected {
            with: Reject::TcpReset
        }
    );
    assert_eq!(deciding_rule(&ruleset, &outcome), ("INPUT".into(), 1, 5));
    let trace = outcome.primary();
    let response = trace.sender_sees.response.as_ref().unwrap();
    assert_eq!(
        (response.kind, response.from.clone(), response.by_stack),
        (
            ResponseKind::TcpRst,
            engine::AnswerSource::Addr(ip("192.0.2.10")),
            false
        )
    );
    assert_eq!(trace.sender_sees.errno, Some(Errno::Econnrefused));
}

#[test]
fn story4_raw_drop_happens_before_conntrack_sees_the_packet() {
    let ruleset = story_rules("story4-raw-drop.rules");
    let host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    let outcome = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:8080 in eth0",
    );
    assert_eq!(fate(&outcome), &Fate::Dropped);
    let trace = outcome.primary();
    assert_eq!(trace.conntrack.state, None, "no conntrack event at all");
    assert_eq!(trace.sender_sees.errno, Some(Errno::Etimedout));
}

// ---------------------------------------------------------------------------------------
// Story 5: conntrack knobs decided from the host's sysctls.

fn ct_host(sysctls: &[(&str, &str)]) -> Host {
    let mut host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    for (k, v) in sysctls {
        host.sysctls.0.insert(k.to_string(), v.to_string());
    }
    host.known.sysctls = true;
    host
}

#[test]
fn story5_mid_stream_ack_is_new_with_tcp_loose_and_invalid_without() {
    let ruleset = story_rules("story5-conntrack.rules");
    let spec = "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0 flags A";
    let loose = simulate(
        &ruleset,
        &ct_host(&[("net.netfilter.nf_conntrack_tcp_loose", "1")]),
        spec,
    );
    assert!(fate(&loose).passed());
    assert_eq!(deciding_rule(&ruleset, &loose).1, 4);
    assert!(loose
        .primary()
        .conntrack
        .depends_on
        .iter()
        .any(|k| k == "net.netfilter.nf_conntrack_tcp_loose"));

    let strict = simulate(
        &ruleset,
        &ct_host(&[("net.netfilter.nf_conntrack_tcp_loose", "0")]),
        spec,
    );
    assert_eq!(fate(&strict), &Fate::Dropped);
    assert_eq!(
        strict.primary().conntrack.state,
        Some(engine::CtState::Invalid)
    );
    assert_eq!(deciding_rule(&ruleset, &strict).1, 1);
}

#[test]
fn story5_notrack_makes_the_packet_untracked() {
    let ruleset = story_rules("story5-conntrack.rules");
    let outcome = simulate(
        &ruleset,
        &ct_host(&[]),
        "udp 198.51.100.7:5353 192.0.2.10:5353 in eth0",
    );
    assert_eq!(
        outcome.primary().conntrack.state,
        Some(engine::CtState::Untracked)
    );
    assert_eq!(deciding_rule(&ruleset, &outcome), ("INPUT".into(), 3, 12));
}

#[test]
fn story5_full_conntrack_table_drops_new_flows() {
    let ruleset = story_rules("story5-conntrack.rules");
    let host = ct_host(&[
        ("net.netfilter.nf_conntrack_max", "100"),
        ("net.netfilter.nf_conntrack_count", "100"),
    ]);
    let outcome = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:22 in eth0",
    );
    assert_eq!(fate(&outcome), &Fate::Dropped);
    assert_eq!(outcome.primary().decider, Decider::Conntrack);
}

// ---------------------------------------------------------------------------------------
// Story 7: REJECT on loopback answers on Linux.

#[test]
fn story7_reject_on_loopback_refuses_at_once() {
    let ruleset = story_rules("story7-loopback.rules");
    let host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    for (spec, with) in [
        ("tcp 127.0.0.1:40000 127.0.0.1:5432", Reject::TcpReset),
        ("tcp 127.0.0.1:40001 127.0.0.1:5433", Reject::Icmp(3)),
    ] {
        let outcome = simulate(&ruleset, &host, spec);
        assert_eq!(fate(&outcome), &Fate::Rejected { with }, "{spec}");
        let trace = outcome.primary();
        assert_eq!(
            trace.sender_sees.errno,
            Some(Errno::Econnrefused),
            "{spec}: refused at once, no 30 s wait"
        );
        assert_eq!(trace.sender_sees.timeout_secs, None, "{spec}");
    }
}

// ---------------------------------------------------------------------------------------
// The binary, end to end.

fn whyblocked(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_story1_answer_first_then_path() {
    let (code, out, err) = whyblocked(&[
        "--rules",
        UFW_EXAMPLE,
        "--host",
        UFW_HOST,
        "tcp",
        "10.1.1.2:1050",
        "10.1.0.2:2175",
        "in",
        "tap0",
    ]);
    assert_eq!(code, 1, "rejected exits 1\n{out}\n{err}");
    let first = out.lines().next().unwrap_or("");
    assert!(first.starts_with("REJECTED"), "answer first: {out}");
    let line = line_of(
        UFW_EXAMPLE,
        "-A ufw-reject-forward -j REJECT --reject-with icmp-port-unreachable",
    );
    assert!(out.contains(&format!("{UFW_EXAMPLE}:{line}")), "{out}");
    assert!(out.contains("10.1.1.1"), "{out}");
    assert!(out.contains("ECONNREFUSED"), "{out}");
    assert!(out.contains("[UFW BLOCK] IN=tap0 OUT=eno1"), "{out}");
    let ping = line_of(
        UFW_EXAMPLE,
        "-A ufw-before-forward -p icmp -m icmp --icmp-type 8 -j ACCEPT",
    );
    let why_ping = out
        .lines()
        .find(|l| l.contains("why ping works"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        why_ping.contains(&format!("ufw-before-forward #5   {UFW_EXAMPLE}:{ping}")),
        "{why_ping}"
    );
}

#[test]
fn binary_story1_from_ufw_log_line_names_the_same_rule() {
    let log = "[UFW BLOCK] IN=tap0 OUT=eno1 MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=4242 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0";
    let (code, out, err) = whyblocked(&[
        "--rules",
        UFW_EXAMPLE,
        "--host",
        UFW_HOST,
        "--from-log",
        log,
    ]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("ufw-reject-forward"), "{out}");
}

#[test]
fn binary_json_answers_story1_with_the_documented_fields() {
    let (code, out, err) = whyblocked(&[
        "--json",
        "--rules",
        UFW_EXAMPLE,
        "--host",
        UFW_HOST,
        "tcp",
        "10.1.1.2:1050",
        "10.1.0.2:2175",
        "in",
        "tap0",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["deciding_rule"]["chain"], "ufw-reject-forward", "{out}");
    assert_eq!(v["deciding_rule"]["file"], UFW_EXAMPLE, "{out}");
    assert_eq!(v["ping"]["passes"], true, "{out}");
    assert_eq!(v["ping"]["rule"]["chain"], "ufw-before-forward", "{out}");
    for field in [
        "fate",
        "path",
        "nat",
        "conntrack",
        "route",
        "sender_sees",
        "logs",
        "unknowns",
        "reply",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {out}");
    }
}

#[test]
fn binary_bad_rules_file_points_at_line_and_column() {
    let dir = std::env::temp_dir().join(format!("wb-stories-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.rules");
    std::fs::write(
        &bad,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let bad = bad.to_string_lossy().into_owned();
    let (code, _out, err) = whyblocked(&[
        "--rules",
        &bad,
        "tcp",
        "1.2.3.4:1",
        "5.6.7.8:2",
        "in",
        "eth0",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("{bad}:3:")), "{err}");
    assert!(err.contains('^'), "a caret under the bad value: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Story 2: port forward to a VM times out (nftables: DNAT, then a set that lacks the
// element), from `nft list ruleset` text, the same listed with `-a`, and `nft -j` JSON.

const STORY2_DIR: &str = "crates/frontends/tests/fixtures/nft";
const STORY2_HOST: &str = "crates/cli/tests/fixtures/story2-host";
/// `ssh -p 1222 10.1.2.3` from a client outside, arriving on the router's wan0.
const STORY2_PACKET: &str = "tcp 198.51.100.7:40000 10.1.2.3:1222 in wan0";

fn story2_rules(name: &str) -> Ruleset {
    let path = format!("{STORY2_DIR}/{name}");
    let source = SourceFile::new(
        path.clone(),
        std::fs::read_to_string(repo().join(&path)).unwrap(),
    );
    if name.ends_with(".json") {
        let (rs, warnings) = frontends::nft::parse_json(&source).unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
        rs
    } else {
        frontends::nft::parse_text(&source).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Everything story 2 asks for, from one front end's reading of the ruleset.
fn story2_check(name: &str, handle: Option<u64>) {
    let ruleset = story2_rules(name);
    let host = host_dir(STORY2_HOST);
    let packet = packet(STORY2_PACKET);
    let options = engine::Options::default();
    let outcome = engine::simulate(&ruleset, &host, &packet, &options);
    let trace = outcome.primary();
    assert_eq!(fate(&outcome), &Fate::Dropped, "{name}");

    // The DNAT, by `inet nat prerouting`.
    assert_eq!(trace.nat.len(), 1, "{name}");
    let dnat = &trace.nat[0];
    assert_eq!(dnat.kind, model::expr::NatKind::Dnat);
    assert_eq!(dnat.before, (ip("10.1.2.3"), Some(1222)));
    assert_eq!(dnat.after, (ip("192.168.70.10"), Some(22)));
    let by = dnat.by.expect("a rule did the DNAT");
    assert_eq!(ruleset.chain_at(by.chain_ref()).name, "prerouting");

    // The forward path with the post-NAT address, out of the VM side.
    assert_eq!(trace.final_packet.dst, ip("192.168.70.10"));
    assert!(
        matches!(&trace.route.as_ref().unwrap().kind, engine::RouteKind::Forward { oif, .. } if oif == "virbr0"),
        "{name}: {:?}",
        trace.route
    );

    // The drop in `allowed_dnats`, with file:line and (when listed) handle.
    let engine::Decider::Rule(at) = trace.decider else {
        panic!("{name}: decided by {:?}", trace.decider)
    };
    let table = &ruleset.tables[at.table];
    assert_eq!(
        (table.family, table.name.as_str()),
        (Family::Inet, "filter")
    );
    assert_eq!(ruleset.chain_at(at.chain_ref()).name, "allowed_dnats");
    let origin = &ruleset.rule_at(at).origin;
    // As listed: nft's text, or the rule's JSON expressions for `nft -j`.
    assert!(
        &*origin.text == "drop" || origin.text.contains("\"drop\""),
        "{name}: {}",
        origin.text
    );
    assert!(
        origin.line > 0 && origin.file.ends_with(name),
        "{name}: {origin:?}"
    );
    assert_eq!(origin.handle, handle, "{name}");

    // The client times out: nothing comes back, ETIMEDOUT after ~127 s.
    assert_eq!(trace.sender_sees.response, None);
    assert_eq!(trace.sender_sees.errno, Some(Errno::Etimedout));
    assert_eq!(trace.sender_sees.timeout_secs, Some(127));

    // The fix, in nft's words, verified by re-simulation.
    let fix = analysis::suggest(&ruleset, &host, &packet, &outcome, &options).expect("a fix");
    assert_eq!(
        fix.command, "nft add element inet filter allow_in { 192.168.70.10 . 22 }",
        "{name}"
    );
    assert!(fix.passes, "{name}: {fix:?}");
    assert!(
        matches!(&fix.verified_fate, Fate::Forwarded { oif, .. } if oif == "virbr0"),
        "{name}: {:?}",
        fix.verified_fate
    );
}

#[test]
fn story2_port_forward_to_vm_times_out_from_nft_text() {
    story2_check("story2.nft", None);
}

#[test]
fn story2_port_forward_to_vm_times_out_from_nft_list_with_handles() {
    story2_check("story2.listed-a.nft", Some(6));
}

#[test]
fn story2_port_forward_to_vm_times_out_from_nft_json() {
    story2_check("story2.json", Some(6));
}

#[test]
fn binary_story2_from_text_and_json_shows_dnat_drop_timeout_and_fix() {
    for file in ["story2.nft", "story2.json"] {
        let rules = format!("{STORY2_DIR}/{file}");
        let mut args = vec!["--rules", &rules, "--host", STORY2_HOST];
        args.extend(STORY2_PACKET.split_whitespace());
        let (code, out, err) = whyblocked(&args);
        assert_eq!(code, 1, "{file}: {err}\n{out}");
        assert!(
            out.starts_with("DROPPED  tcp 198.51.100.7:40000 -> 10.1.2.3:1222"),
            "{out}"
        );
        for needle in [
            "inet filter/allowed_dnats #2",
            "dnat 10.1.2.3:1222 -> 192.168.70.10:22",
            "ETIMEDOUT",
            "~127 s",
            "fix (nft)      nft insert rule inet filter forward ",
            "ct state established,related accept",
            "nft add element inet filter allow_in { 192.168.70.10 . 22 }",
            "verified       SYN forwarded, SYN/ACK forwarded back, data both ways",
        ] {
            assert!(out.contains(needle), "{file}: missing {needle:?}:\n{out}");
        }
        let format = if file.ends_with(".json") {
            "nft -j JSON"
        } else {
            "nft list ruleset text"
        };
        assert!(out.contains(&format!("read as {format}")), "{file}:\n{out}");

        args.push("--json");
        let (code, out, _) = whyblocked(&args);
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["deciding_rule"]["chain"], "allowed_dnats");
        assert_eq!(v["deciding_rule"]["family"], "inet");
        assert_eq!(v["final_packet"]["dst"], "192.168.70.10");
        assert_eq!(v["fix"]["breadth"], "service");
        assert_eq!(v["fix"]["verified"], true);
        assert!(
            v["fix"]["kernel_rules"][1]
                .as_str()
                .is_some_and(|c| c.starts_with("nft add element inet filter allow_in")),
            "{out}"
        );
        assert_eq!(v["cross_table"], serde_json::Value::Null);
        if file.ends_with(".json") {
            assert_eq!(v["deciding_rule"]["handle"], 6);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Mixed hosts: an iptables-save file and an nft file at once. An accept in one base chain
// does not save the packet from a drop in another on the same hook.

#[test]
fn binary_mixed_host_nft_accept_then_iptables_drop_says_so() {
    let dir = std::env::temp_dir().join(format!("wb-mixed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ipt = dir.join("rules.v4");
    std::fs::write(
        &ipt,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap();
    let nft = dir.join("t.nft");
    std::fs::write(
        &nft,
        // Priority -10: before iptables' FORWARD (0) whatever the load order (of two base
        // chains at one priority the kernel runs the one registered last first).
        "table inet t {\n\tchain fwd {\n\t\ttype filter hook forward priority filter - 10; policy accept;\n\t\ttcp dport 80 accept\n\t}\n}\n",
    )
    .unwrap();
    let (ipt, nft) = (
        ipt.to_string_lossy().into_owned(),
        nft.to_string_lossy().into_owned(),
    );
    let packet = [
        "tcp",
        "10.0.0.2:4000",
        "10.0.1.2:80",
        "in",
        "eth0",
        "out",
        "eth1",
    ];
    let mut args = vec!["--rules", &nft, "--rules", &ipt];
    args.extend(packet);
    let (code, out, err) = whyblocked(&args);
    args.push("--json");
    let (_, json, _) = whyblocked(&args);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1, "{err}\n{out}");
    assert!(out.starts_with("DROPPED"), "{out}");
    assert!(out.contains("policy drop of filter/FORWARD"), "{out}");
    assert!(
        out.contains("accepted by inet t/fwd #1 (priority -10"),
        "{out}"
    );
    assert!(
        out.contains(
            "an accept ends only its own base chain: on the forward hook, filter/FORWARD (priority 0) still ran and dropped it"
        ),
        "{out}"
    );
    // The fix goes where the drop is, in that table's own dialect.
    assert!(out.contains("iptables -A FORWARD -i eth0 -o eth1"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let x = &v["cross_table"];
    assert_eq!(x["hook"], "forward");
    assert_eq!(x["accepted_by"][0]["base_chain"]["table"], "t");
    assert_eq!(x["accepted_by"][0]["base_chain"]["family"], "inet");
    assert_eq!(x["decided_in"]["table"], "filter");
    assert_eq!(x["decided_in"]["chain"], "FORWARD");
}

/// Library level: the engine runs both tables' base chains on the hook in priority order,
/// the nft accept (priority -10) first, then iptables' FORWARD (0) and its policy drop.
#[test]
fn mixed_host_runs_every_base_chain_of_the_hook() {
    let mut ruleset = frontends::nft::parse_text(&SourceFile::new(
        "t.nft",
        "table inet t {\n chain fwd {\n  type filter hook forward priority -10; policy accept;\n  tcp dport 80 accept\n }\n}\n",
    ))
    .unwrap();
    ruleset.merge(parse(
        "rules.v4",
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
        Family::Ip,
    ));
    let outcome = simulate(
        &ruleset,
        &Host::default(),
        "tcp 10.0.0.2:4000 10.0.1.2:80 in eth0 out eth1",
    );
    assert_eq!(fate(&outcome), &Fate::Dropped);
    let x = analysis::AnswerFacts::of(&ruleset, &outcome)
        .cross_table
        .expect("cross-table note");
    assert_eq!(x.accepted[0].priority, -10);
    assert_eq!(ruleset.tables[x.decided_in.table].name, "filter");
}

/// A REJECT's answer is a packet this host sends: it crosses OUTPUT, and a hardened host's
/// `OUTPUT DROP` policy stops an ICMP error that no RELATED rule lets out. The RST, which
/// the RELATED rule does let out, still refuses at once.
#[test]
fn reject_answer_stopped_by_an_output_drop_policy_leaves_the_sender_waiting() {
    let ruleset = story_rules("answer-output-drop.rules");
    let host = host_dir("crates/frontends/tests/fixtures/host/loopback");
    let icmp = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:24 in eth0",
    );
    assert_eq!(
        fate(&icmp),
        &Fate::Rejected {
            with: Reject::Icmp(3)
        }
    );
    let trace = icmp.primary();
    assert_eq!(
        trace.sender_sees.response, None,
        "the ICMP error never leaves"
    );
    assert_eq!(trace.sender_sees.errno, Some(Errno::Etimedout));
    assert!(trace.warnings.iter().any(|w| matches!(
        w,
        engine::Warning::AnswerStopped {
            by: Decider::Policy(_)
        }
    )));

    let rst = simulate(
        &ruleset,
        &host,
        "tcp 198.51.100.7:40000 192.0.2.10:23 in eth0",
    );
    assert_eq!(rst.primary().sender_sees.errno, Some(Errno::Econnrefused));
}

// ---------------------------------------------------------------------------------------
// Owners: the answer names who wrote the deciding rule and fixes in its language.

const FIREWALLD_1X: &str = "crates/cli/tests/fixtures/owners/firewalld-1x.nft";

#[test]
fn binary_firewalld_reject_names_the_zone_and_fixes_with_firewall_cmd() {
    let args = [
        "--rules",
        FIREWALLD_1X,
        "tcp",
        "198.51.100.7:40000",
        "10.0.0.1:443",
        "in",
        "eth0",
    ];
    let (code, out, err) = whyblocked(&args);
    assert_eq!(code, 1, "{err}\n{out}");
    for needle in [
        "owner          firewalld:",
        "zone           public: its interface eth0 is bound to it, chosen by inet firewalld/filter_INPUT_ZONES #2",
        "fix (firewalld) firewall-cmd --zone=public --add-port=443/tcp",
        "firewall-cmd --permanent --zone=public --add-port=443/tcp",
        "verified       SYN delivered, SYN/ACK sent, data both ways",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
    assert!(!out.contains("nft insert rule inet firewalld"), "{out}");

    // A bound source wins over the interface.
    let mut from_trusted = args;
    from_trusted[3] = "192.0.2.9:40000";
    let (code, out, _) = whyblocked(&from_trusted);
    assert_eq!(code, 0, "{out}");

    let mut json = args.to_vec();
    json.push("--json");
    let (_, out, _) = whyblocked(&json);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["firewalld_zone"]["zone"], "public");
    assert_eq!(v["firewalld_zone"]["why"], "interface");
    assert_eq!(v["firewalld_zone"]["binding"], "eth0");
    assert_eq!(v["deciding_rule"]["owner"]["tool"], "firewalld");
    assert_eq!(v["fix"]["language"], "firewall_cmd");
    assert_eq!(v["fix"]["verified"], true);
    assert!(v["fix"]["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["language"] == "firewall_cmd"));
}

#[test]
fn binary_hand_written_rules_get_the_persistent_file_line() {
    let dir = std::env::temp_dir().join(format!("wb-persist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.v4");
    std::fs::write(
        &rules,
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let rules = rules.to_string_lossy().into_owned();
    let (code, out, err) = whyblocked(&[
        "--rules",
        &rules,
        "udp",
        "192.0.2.7:5353",
        "10.0.0.1:53",
        "in",
        "eth0",
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 1, "{err}\n{out}");
    for needle in [
        "owner          unmanaged: hand-written; kept in /etc/iptables/rules.v4",
        "fix (iptables) iptables -A INPUT -i eth0 -p udp -m udp --dport 53 -j ACCEPT",
        "and in /etc/iptables/rules.v4 (filter/INPUT): -A INPUT -i eth0 -p udp -m udp --dport 53 -j ACCEPT",
        "verified       request delivered, reply sent",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
}
