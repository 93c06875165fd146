//! The user stories on the BSD and Solaris packet filters, end to end through the
//! `whyblocked` binary: story 7 (a reject on the loopback) on every platform of the
//! platform table, and IPFilter and pf versions of story 1 (a router refusing forwarded TCP
//! with ICMP while ping passes) and story 2 (a redirect, then a block: the filter sees the
//! translated packet). Each asserts the fate, the deciding line, the sender's view, the log
//! line and the fix (proved by walking again), and snapshots the whole text answer.
//!
//! Every JSON answer read here is checked against `docs/bsd-answer.schema.json`.
//!
//! No BSD or Solaris kernel runs here: the platform facts come from the sources cited in
//! `docs/platforms.md`, and these tests check that the answer follows them.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

// The checker `docs/path.schema.json`'s tests use, on this answer's own schema: only its
// `violations` serves here (the rest reads the path schema).
#[allow(dead_code)]
#[path = "../../report/tests/schema/mod.rs"]
mod schema;

const FIXTURES: &str = "crates/cli/tests/fixtures/bsd";

/// `docs/bsd-answer.schema.json`.
fn bsd_schema() -> Value {
    let path = repo().join("docs/bsd-answer.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("docs/bsd-answer.schema.json"))
        .expect("the schema is JSON")
}

/// Panics with every place `answer` breaks the BSD answer's schema.
fn assert_schema_valid(answer: &Value) {
    let errors = schema::violations(&bsd_schema(), answer);
    assert!(
        errors.is_empty(),
        "not valid against docs/bsd-answer.schema.json:\n{}",
        errors.join("\n")
    );
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `whyblocked ARGS`: exit status, stdout, stderr.
fn whyblocked(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_whyblocked"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .output()
        .expect("the whyblocked binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON answer of `args`, with its exit status.
fn json(args: &[&str]) -> (i32, Value) {
    let mut with = vec!["--json"];
    with.extend_from_slice(args);
    let (code, stdout, stderr) = whyblocked(&with);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    assert_schema_valid(&v);
    (code, v)
}

/// The text answer as one reviewable document.
fn text(args: &[&str]) -> String {
    let (code, stdout, stderr) = whyblocked(args);
    format!(
        "$ whyblocked {}\nexit status: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    )
}

/// `--rules FILE... --os OS PACKET...`.
fn command<'a>(rules: &[&'a String], os: &'a str, packet: &'a str) -> Vec<&'a str> {
    let mut args = Vec::new();
    for r in rules {
        args.extend(["--rules", r.as_str()]);
    }
    args.extend(["--os", os]);
    args.extend(packet.split_whitespace());
    args
}

fn fixture(path: &str) -> String {
    format!("{FIXTURES}/{path}")
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} is not a string in {v:#}"))
}

/// The first proved fix: its rule, and that the walk with it showed the connection
/// succeeding with the reply passing back.
fn proved_fix(v: &Value) -> String {
    let fix = v
        .pointer("/fixes/0")
        .unwrap_or_else(|| panic!("no fix in {v:#}"));
    assert_eq!(fix["reply_passes"], Value::Bool(true), "{fix:#}");
    fix["rule"].as_str().unwrap().to_string()
}

const LOOPBACK_SSH: [&str; 4] = ["tcp", "127.0.0.1:40000", "127.0.0.1:22", "in"];

/// Story 7 on pf: pf filters lo0 (no `set skip`), and its `return-rst` is sent through the
/// stack like any answer (`pf_send_tcp()`), tagged so pf does not filter it again: the
/// client is refused at once, on OpenBSD and FreeBSD alike.
#[test]
fn story7_pf_refuses_at_once_on_every_pf_platform() {
    let rules = fixture("story7/pf.conf");
    for os in ["openbsd", "freebsd"] {
        let mut args = vec!["--rules", rules.as_str(), "--os", os];
        args.extend(LOOPBACK_SSH);
        args.push("lo0");
        let (code, v) = json(&args);
        assert_eq!(code, 1, "{os}: {v:#}");
        assert_eq!(s(&v, "/headline"), "REJECTED", "{os}");
        assert_eq!(s(&v, "/path_kind"), "to_self");
        assert_eq!(v["deciding_rule"]["line"], 4);
        assert_eq!(s(&v, "/decided_by"), "quick");
        assert_eq!(s(&v, "/sender_sees/response/kind"), "tcp_rst");
        assert_eq!(s(&v, "/sender_sees/response/from"), "127.0.0.1");
        assert_eq!(s(&v, "/sender_sees/errno"), "ECONNREFUSED");
        assert!(v["sender_sees"]["timeout_secs"].is_null());
        assert!(
            s(&v, "/logs/0/text")
                .starts_with("rule 1/(match) block in on lo0: 127.0.0.1.40000 > 127.0.0.1.22: S"),
            "{os}: {}",
            v["logs"]
        );
        assert_eq!(
            proved_fix(&v),
            "pass in quick on lo0 inet proto tcp from 127.0.0.1 to 127.0.0.1 port 22 flags S/SA keep state"
        );
        assert_eq!(v["fixes"][0]["line"], 4);
        assert_eq!(v["fixes"][0]["decided_by_fix"], true);
        insta::assert_snapshot!(format!("story7_pf_{os}"), text(&args));
    }
}

/// Story 2 on pf: `match ... rdr-to` rewrites the destination, the rules after it see
/// 192.168.70.10:22, which `<allow_in>` lacks, so `block log all` wins as the last match
/// and the client times out. The fix names the translated address and goes after the block.
#[test]
fn story2_pf_rdr_then_block_drops_the_translated_packet() {
    let rules = fixture("story2/pf.conf");
    let args = command(
        &[&rules],
        "openbsd",
        "tcp 198.51.100.7:40000 10.1.2.3:1222 in em0 out em1",
    );
    let (code, v) = json(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/headline"), "DROPPED");
    assert_eq!(v["deciding_rule"]["line"], 7);
    assert_eq!(s(&v, "/decided_by"), "last_match");
    assert_eq!(s(&v, "/nat/0/after"), "192.168.70.10:22", "{}", v["nat"]);
    assert!(v["sender_sees"]["response"].is_null());
    assert_eq!(s(&v, "/sender_sees/errno"), "ETIMEDOUT");
    assert!(s(&v, "/logs/0/text")
        .starts_with("rule 1/(match) block in on em0: 198.51.100.7.40000 > 192.168.70.10.22: S"));
    // The admin's structure first: the translated address into the table the pass rule
    // names; then a pass after the block, naming the translated address.
    assert_eq!(
        proved_fix(&v),
        "table <allow_in> { 192.168.70.10 192.168.70.20 }"
    );
    assert_eq!(s(&v, "/fixes/0/placement"), "table_entry");
    assert_eq!(v["fixes"][0]["line"], 5);
    assert_eq!(
        s(&v, "/fixes/1/rule"),
        "pass in on em0 inet proto tcp from 198.51.100.7 to 192.168.70.10 port 22 flags S/SA keep state"
    );
    assert_eq!(s(&v, "/fixes/1/placement"), "after");
    assert_eq!(v["fixes"][1]["reply_passes"], true);
    insta::assert_snapshot!("story2_pf", text(&args));
}

/// What a loopback client sees on one platform in story 7 on IPFilter.
struct Loopback {
    os: &'static str,
    exit: i32,
    headline: &'static str,
    /// `answer.outcome`; `None`: no rule asked for one (the loopback is not filtered).
    answer: Option<&'static str>,
    errno: Option<&'static str>,
    timeout_secs: Option<u64>,
}

impl Loopback {
    /// Refused at once: the RST reaches the client (`answer` says how).
    fn refused(os: &'static str, answer: &'static str) -> Loopback {
        Loopback {
            os,
            exit: 1,
            headline: "REJECTED",
            answer: Some(answer),
            errno: Some("ECONNREFUSED"),
            timeout_secs: None,
        }
    }
}

/// Story 7 on IPFilter, on every platform of the table (docs/platforms.md): Solaris 10 with
/// `pfil` never filters the loopback; Solaris 10 with the hooks filters it (the rules say
/// `set intercept_loopback true;`) but its `return-rst` has no NIC to leave by, so the
/// client waits for ETIMEDOUT; the loopback fix (Solaris 10 patched, Solaris 11, illumos)
/// turns the SYN itself into the RST; FreeBSD and NetBSD send the RST through the stack.
#[test]
fn story7_ipf_on_every_platform() {
    let rules = fixture("story7/ipf.rules");
    let table = [
        Loopback {
            os: "solaris10-pfil",
            exit: 0,
            headline: "DELIVERED",
            answer: None,
            errno: None,
            timeout_secs: None,
        },
        Loopback {
            os: "solaris10",
            exit: 1,
            headline: "DROPPED",
            answer: Some("not_sent"),
            errno: Some("ETIMEDOUT"),
            timeout_secs: Some(180),
        },
        Loopback::refused("solaris10-fixed", "rewritten_in_place"),
        Loopback::refused("solaris11", "rewritten_in_place"),
        Loopback::refused("illumos", "rewritten_in_place"),
        Loopback::refused("freebsd", "sent"),
        Loopback::refused("netbsd", "sent"),
    ];
    for row in table {
        let mut args = vec!["--rules", rules.as_str(), "--os", row.os];
        args.extend(LOOPBACK_SSH);
        args.push("lo0");
        let (code, v) = json(&args);
        let os = row.os;
        assert_eq!(code, row.exit, "{os}: {v:#}");
        assert_eq!(s(&v, "/headline"), row.headline, "{os}");
        assert_eq!(v["answer"]["outcome"].as_str(), row.answer, "{os}");
        assert_eq!(v["sender_sees"]["errno"].as_str(), row.errno, "{os}");
        assert_eq!(
            v["sender_sees"]["timeout_secs"].as_u64(),
            row.timeout_secs,
            "{os}"
        );
        if row.answer.is_none() {
            // Not filtered: no rule decides, nothing is logged, nothing to fix.
            assert!(v["deciding_rule"].is_null(), "{os}");
            assert_eq!(s(&v, "/path/0/decided_by"), "skipped", "{os}");
            assert!(v["logs"].as_array().unwrap().is_empty(), "{os}");
            assert!(v["fixes"].as_array().unwrap().is_empty(), "{os}");
        } else {
            assert_eq!(v["deciding_rule"]["line"], 6, "{os}");
            assert_eq!(s(&v, "/decided_by"), "quick", "{os}");
            assert_eq!(
                s(&v, "/logs/0/text"),
                "lo0 @0:2 b 127.0.0.1,40000 -> 127.0.0.1,22 PR tcp len 20 60 -S IN",
                "{os}"
            );
            assert_eq!(
                proved_fix(&v),
                "pass in quick on lo0 proto tcp from 127.0.0.1/32 to 127.0.0.1/32 port = 22 flags S keep state",
                "{os}"
            );
        }
        if row.answer == Some("not_sent") {
            assert_eq!(s(&v, "/answer/not_sent"), "loopback_no_nic");
            assert!(v["sender_sees"]["response"].is_null());
        } else if row.answer.is_some() {
            assert_eq!(s(&v, "/sender_sees/response/kind"), "tcp_rst", "{os}");
            assert_eq!(s(&v, "/sender_sees/response/from"), "127.0.0.1", "{os}");
        }
        insta::assert_snapshot!(format!("story7_ipf_{os}"), text(&args));
        if os == "solaris10" {
            // The story itself: the JSON document scripts read, whole.
            let mut with_json = vec!["--json"];
            with_json.extend_from_slice(&args);
            insta::assert_snapshot!("story7_ipf_solaris10_json", whyblocked(&with_json).1);
        }
    }
}

/// Story 1 on one filter: the rules, the platform, the deciding line, the ipmon/pflog
/// line, the fix, and the line of the rule that passes ping.
struct Story1 {
    name: &'static str,
    rules: &'static str,
    os: &'static str,
    deciding_line: u64,
    log: &'static str,
    fix: &'static str,
    ping_line: u64,
}

/// Story 1 on an IPFilter router (illumos) and a pf router (FreeBSD): TCP from the client
/// is answered with ICMP port unreachable from the router's address on the client's side,
/// while ping is forwarded.
#[test]
fn story1_router_refuses_tcp_with_icmp_and_forwards_ping() {
    let host = fixture("story1/host-freebsd");
    for story in [
        Story1 {
            name: "ipf",
            rules: "story1/ipf.rules",
            os: "illumos",
            deciding_line: 4,
            log: "em0 @0:2 b 10.1.1.2,1050 -> 10.1.0.2,2175 PR tcp len 20 60 -S IN",
            fix: "pass in quick on em0 proto tcp from 10.1.1.2/32 to 10.1.0.2/32 port = 2175 flags S keep state",
            ping_line: 3,
        },
        Story1 {
            name: "pf",
            rules: "story1/pf.conf",
            os: "freebsd",
            deciding_line: 7,
            log: "rule 1/(match) block in on em0: 10.1.1.2.1050 > 10.1.0.2.2175: S",
            fix: "pass in quick on em0 inet proto tcp from 10.1.1.2 to 10.1.0.2 port 2175 flags S/SA keep state",
            ping_line: 6,
        },
    ] {
        let rules = fixture(story.rules);
        let base = ["--rules", rules.as_str(), "--host", host.as_str(), "--os", story.os];
        let mut tcp = base.to_vec();
        tcp.extend(["tcp", "10.1.1.2:1050", "10.1.0.2:2175", "in", "em0"]);
        let (code, v) = json(&tcp);
        let name = story.name;
        assert_eq!(code, 1, "{name}: {v:#}");
        assert_eq!(s(&v, "/headline"), "REJECTED", "{name}");
        assert_eq!(v["deciding_rule"]["line"], story.deciding_line, "{name}");
        assert_eq!(s(&v, "/sender_sees/response/kind"), "icmp", "{name}");
        assert_eq!(v["sender_sees"]["response"]["icmp_type"], 3, "{name}");
        assert_eq!(v["sender_sees"]["response"]["icmp_code"], 3, "{name}");
        assert_eq!(s(&v, "/sender_sees/response/from"), "10.1.1.1", "{name}");
        assert_eq!(s(&v, "/sender_sees/errno"), "ECONNREFUSED", "{name}");
        assert!(s(&v, "/logs/0/text").starts_with(story.log), "{name}: {}", v["logs"]);
        assert_eq!(proved_fix(&v), story.fix, "{name}");
        insta::assert_snapshot!(format!("story1_{name}_tcp"), text(&tcp));

        let mut ping = base.to_vec();
        ping.extend(["icmp", "10.1.1.2", "10.1.0.2", "in", "em0"]);
        let (code, v) = json(&ping);
        assert_eq!(code, 0, "{name}: {v:#}");
        assert_eq!(s(&v, "/headline"), "FORWARDED", "{name}");
        assert_eq!(v["path"][0]["rule"]["line"], story.ping_line, "{name}");
        assert!(v["logs"].as_array().unwrap().is_empty(), "{name}");
        insta::assert_snapshot!(format!("story1_{name}_ping"), text(&ping));
    }
}

/// A block after a pass from a pool the client is not in: the client's address in the
/// pool (ippool.conf) is offered first, proved by the pass rule then deciding; the rules
/// an admin could type instead follow.
#[test]
fn ipf_pool_entry_is_offered_first() {
    let rules = fixture("pool/ipf.rules");
    let pools = fixture("pool/ippool.conf");
    let args = command(
        &[&rules, &pools],
        "illumos",
        "tcp 198.51.100.7:40000 192.0.2.10:22 in em0",
    );
    let (code, v) = json(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/headline"), "DROPPED");
    assert_eq!(v["deciding_rule"]["line"], 3);
    assert_eq!(s(&v, "/read_as/1/language"), "ippool");
    assert_eq!(
        proved_fix(&v),
        "{ 198.51.100.7/32; 10.0.0.0/8; 192.168.0.0/16; };"
    );
    assert_eq!(s(&v, "/fixes/0/placement"), "table_entry");
    assert_eq!(s(&v, "/fixes/0/file"), pools);
    assert_eq!(v["fixes"][0]["decided_by_fix"], false);
    assert_eq!(s(&v, "/fixes/1/placement"), "before");
    insta::assert_snapshot!("ipf_pool_entry", text(&args));
}

/// Story 2 on FreeBSD's older `rdr on` form: the translation comes before every filter
/// rule, the block sees the translated packet, and the fix names it.
#[test]
fn story2_freebsd_rdr_on_then_block() {
    let rules = fixture("story2/pf-freebsd.conf");
    let args = command(
        &[&rules],
        "freebsd",
        "tcp 198.51.100.7:40000 10.1.2.3:1222 in em0 out em1",
    );
    let (code, v) = json(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/headline"), "DROPPED");
    assert_eq!(v["deciding_rule"]["line"], 5);
    assert_eq!(s(&v, "/nat/0/after"), "192.168.70.10:22");
    assert_eq!(v["nat"][0]["by"]["line"], 4);
    assert_eq!(s(&v, "/sender_sees/errno"), "ETIMEDOUT");
    assert!(s(&v, "/logs/0/text")
        .starts_with("rule 0/(match) block in on em0: 198.51.100.7.40000 > 192.168.70.10.22: S"));
    assert_eq!(
        proved_fix(&v),
        "pass in on em0 inet proto tcp from 198.51.100.7 to 192.168.70.10 port 22 flags S/SA keep state"
    );
    assert_eq!(s(&v, "/fixes/0/placement"), "after");
    insta::assert_snapshot!("story2_pf_freebsd", text(&args));
}

/// The request passes without state and the reply is blocked on its way out: the answer
/// is lost, and the fix is state on the request's own rule, edited in place and proved.
#[test]
fn a_blocked_reply_is_fixed_with_state_on_the_request_rule() {
    for (rules, os, fixed) in [
        (
            "reply/ipf.rules",
            "illumos",
            "pass in quick on em0 proto tcp from any to any port = 22 keep state",
        ),
        (
            "reply/pf.conf",
            "openbsd",
            "pass in quick on em0 proto tcp to port 22 keep state",
        ),
    ] {
        let rules = fixture(rules);
        let args = command(&[&rules], os, "tcp 198.51.100.7:40000 192.0.2.10:22 in em0");
        let (code, v) = json(&args);
        assert_eq!(code, 1, "{os}: {v:#}");
        assert_eq!(s(&v, "/headline"), "ANSWER LOST", "{os}");
        assert_eq!(s(&v, "/connection"), "answer_lost", "{os}");
        assert_eq!(v["reply"]["blocked_at"], 1, "{os}");
        assert_eq!(s(&v, "/sender_sees/errno"), "ETIMEDOUT", "{os}");
        assert_eq!(proved_fix(&v), fixed, "{os}");
        assert_eq!(s(&v, "/fixes/0/placement"), "keep_state", "{os}");
        assert_eq!(v["fixes"][0]["line"], 2, "{os}");
        insta::assert_snapshot!(format!("reply_blocked_{os}"), text(&args));
    }
}

/// Story 2 on IPFilter: `rdr` (ipnat.conf) rewrites the destination before the `in`
/// rules are read (`ipf_check()`: `ipf_nat_checkin()` first), so the block of the VM's
/// network sees 192.168.70.10:22 and the client times out; the fix names the translated
/// address, before the blocking `quick` rule.
#[test]
fn story2_ipf_rdr_then_block_drops_the_translated_packet() {
    let rules = fixture("story2/ipf.rules");
    let nat = fixture("story2/ipnat.rules");
    let args = command(
        &[&rules, &nat],
        "illumos",
        "tcp 198.51.100.7:40000 10.1.2.3:1222 in em0 out em1",
    );
    let (code, v) = json(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/headline"), "DROPPED");
    assert_eq!(v["deciding_rule"]["line"], 4);
    assert_eq!(s(&v, "/decided_by"), "quick");
    assert_eq!(s(&v, "/nat/0/after"), "192.168.70.10:22");
    assert_eq!(s(&v, "/nat/0/by/file"), nat);
    assert!(v["sender_sees"]["response"].is_null());
    assert_eq!(s(&v, "/sender_sees/errno"), "ETIMEDOUT");
    assert_eq!(
        s(&v, "/logs/0/text"),
        "em0 @0:2 b 198.51.100.7,40000 -> 192.168.70.10,22 PR tcp len 20 60 -S IN"
    );
    assert_eq!(
        proved_fix(&v),
        "pass in quick on em0 proto tcp from 198.51.100.7/32 to 192.168.70.10/32 port = 22 flags S keep state"
    );
    assert_eq!(s(&v, "/fixes/0/placement"), "before");
    insta::assert_snapshot!("story2_ipf", text(&args));
}

/// A rule whose match cannot be decided offline (`probability`) decides nothing: the
/// answer is UNDECIDED (exit status 3), names the rule, and offers no fix.
#[test]
fn an_undecidable_rule_is_undecided_not_guessed() {
    let rules = fixture("undecided/pf.conf");
    let args = command(
        &[&rules],
        "openbsd",
        "tcp 198.51.100.7:40000 192.0.2.10:22 in em0",
    );
    let (code, v) = json(&args);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(s(&v, "/headline"), "UNDECIDED");
    assert_eq!(s(&v, "/fate"), "undetermined");
    assert_eq!(s(&v, "/decided_by"), "undetermined");
    assert_eq!(v["deciding_rule"]["line"], 3);
    assert!(v["fixes"].as_array().unwrap().is_empty());
    assert!(v["no_fix"].is_null());
    insta::assert_snapshot!("undecided_pf", text(&args));
}

/// Story 7 from what `pfctl -sr -vv` lists on the host (rule numbers and counters) rather
/// than from pf.conf: the same answer, the listing's `@1` named, and the fix said to go
/// into the pf.conf the listing came from.
#[test]
fn story7_from_a_pfctl_listing() {
    let rules = fixture("story7/pfctl-sr-vv.txt");
    let mut args = vec!["--rules", rules.as_str(), "--os", "openbsd"];
    args.extend(LOOPBACK_SSH);
    args.push("lo0");
    let (code, v) = json(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/read_as/0/language"), "pf_listing");
    assert_eq!(s(&v, "/headline"), "REJECTED");
    assert_eq!(v["deciding_rule"]["line"], 3);
    assert_eq!(v["deciding_rule"]["number"], 1);
    assert_eq!(s(&v, "/sender_sees/errno"), "ECONNREFUSED");
    assert_eq!(
        proved_fix(&v),
        "pass in quick on lo0 inet proto tcp from 127.0.0.1 to 127.0.0.1 port 22 flags S/SA keep state"
    );
    insta::assert_snapshot!("story7_pfctl_listing", text(&args));
}

/// Story 7 for UDP: before the loopback fix the ICMP error is never sent and the client's
/// `recv()` waits for its own timeout; with it (illumos) the datagram itself becomes the
/// ICMP port unreachable and `recv()` fails at once with ECONNREFUSED.
#[test]
fn story7_ipf_udp_before_and_after_the_loopback_fix() {
    let rules = fixture("story7/ipf-udp.rules");
    for (os, headline, errno) in [
        ("solaris10", "DROPPED", None),
        ("illumos", "REJECTED", Some("ECONNREFUSED")),
    ] {
        let args = command(&[&rules], os, "udp 127.0.0.1:40000 127.0.0.1:53 in lo0");
        let (code, v) = json(&args);
        assert_eq!(code, 1, "{os}: {v:#}");
        assert_eq!(s(&v, "/headline"), headline, "{os}");
        assert_eq!(v["sender_sees"]["errno"].as_str(), errno, "{os}");
        assert_eq!(v["sender_sees"]["recv_times_out"], errno.is_none(), "{os}");
        assert_eq!(v["deciding_rule"]["line"], 6, "{os}");
        assert_eq!(
            s(&v, "/logs/0/text"),
            "lo0 @0:2 b 127.0.0.1,40000 -> 127.0.0.1,53 PR udp len 20 28 IN",
            "{os}"
        );
        assert_eq!(
            proved_fix(&v),
            "pass in quick on lo0 proto udp from 127.0.0.1/32 to 127.0.0.1/32 port = 53 keep state",
            "{os}"
        );
        insta::assert_snapshot!(format!("story7_ipf_udp_{os}"), text(&args));
    }
}

/// With `set skip on lo` (OpenBSD's default pf.conf) the loopback is not filtered: the
/// block is never read, the answer says why, and nothing is logged or fixed.
#[test]
fn story7_pf_set_skip_on_lo_skips_the_block() {
    let rules = fixture("story7/pf-skip-lo.conf");
    let args = command(
        &[&rules],
        "openbsd",
        "tcp 127.0.0.1:40000 127.0.0.1:22 in lo0",
    );
    let (code, v) = json(&args);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(s(&v, "/headline"), "DELIVERED");
    assert_eq!(s(&v, "/path/0/decided_by"), "skipped");
    assert!(v["logs"].as_array().unwrap().is_empty());
    assert!(v["fixes"].as_array().unwrap().is_empty());
    let text = text(&args);
    assert!(
        text.contains("lo0 is not filtered (a `set skip on` option names it)"),
        "{text}"
    );
    insta::assert_snapshot!("story7_pf_skip_lo", text);
}

/// The schema is no rubber stamp: a story's answer with a field missing, a field it does
/// not document, or a code outside its lists is refused, each at its place.
#[test]
fn the_schema_refuses_what_the_answer_never_writes() {
    let rules = fixture("story7/pf.conf");
    let args = command(
        &[&rules],
        "openbsd",
        "tcp 127.0.0.1:40000 127.0.0.1:22 in lo0",
    );
    let (_, answer) = json(&args);
    let schema = bsd_schema();
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut v = answer.clone();
        edit(&mut v);
        schema::violations(&schema, &v).join("\n")
    };
    let e = broken(&|v| {
        v.as_object_mut().unwrap().remove("headline");
    });
    assert!(e.contains("headline"), "{e}");
    let e = broken(&|v| v["verdict_guess"] = Value::Bool(true));
    assert!(e.contains("verdict_guess"), "{e}");
    let e = broken(&|v| v["path"][0]["decided_by"] = "first_match".into());
    assert!(e.contains("$.path[0].decided_by"), "{e}");
    let e = broken(&|v| v["sender_sees"]["errno"] = "EWOULDBLOCK".into());
    assert!(e.contains("$.sender_sees.errno"), "{e}");
}

/// The codes of `v`'s assumptions.
fn assumption_codes(v: &Value) -> Vec<&str> {
    v["assumptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect()
}

/// A fate that rests on what the input did not give says so: IPFilter's default pass (a
/// kernel built with IPFILTER_DEFAULT_BLOCK blocks), and the reply's way back when no
/// route says it. With the host's routes the reply's interface is theirs, unsaid.
#[test]
fn a_default_pass_and_a_reply_way_not_given_are_assumptions() {
    // No rule of these is for UDP in; the reply is stopped out on em0.
    let rules = fixture("reply/ipf.rules");
    let args = command(&[&rules], "illumos", "udp 10.1.1.2:1050 10.1.0.2:53 in em0");
    let (code, v) = json(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/connection"), "answer_lost", "{v:#}");
    assert_eq!(s(&v, "/path/0/decided_by"), "default", "{v:#}");
    let codes = assumption_codes(&v);
    assert!(codes.contains(&"ipf_default_pass"), "{codes:?}");
    assert!(codes.contains(&"reply_by_arrival"), "{codes:?}");
    let text = text(&args);
    assert!(
        text.contains("how a reply gets back to 10.1.1.2 is not in the host's routes"),
        "{text}"
    );

    let host = fixture("story1/host-freebsd");
    let rules = fixture("story1/pf.conf");
    let (code, v) = json(&[
        "--rules", &rules, "--host", &host, "--os", "freebsd", "icmp", "10.1.1.2", "10.1.0.2",
        "in", "em0",
    ]);
    assert_eq!(code, 0, "{v:#}");
    let codes = assumption_codes(&v);
    assert!(!codes.contains(&"reply_by_arrival"), "{codes:?}");
    assert!(!codes.contains(&"ipf_default_pass"), "{codes:?}");
}

/// A router without a route for the packet answers it as 4.4BSD's `ip_forward()` does on
/// the BSDs (ICMP host unreachable, from its address on the arrival interface, through the
/// filter's out pass); where the sources read do not say (illumos) the sender's view is an
/// unknown, said, never "silently dropped". A host's own packet without a route: the same.
#[test]
fn without_a_route_the_sender_sees_what_the_platform_sends_or_an_unknown() {
    let host = fixture("story1/host-freebsd");
    let answer = |rules: &str, os: &str, packet: &str| {
        let rules = fixture(rules);
        let mut args = vec![
            "--rules",
            rules.as_str(),
            "--host",
            host.as_str(),
            "--os",
            os,
        ];
        args.extend(packet.split_whitespace());
        json(&args)
    };
    let (code, v) = answer(
        "story1/pf.conf",
        "openbsd",
        "udp 10.1.1.2:1050 203.0.113.5:53 in em1",
    );
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/fate"), "no_route");
    assert_eq!(s(&v, "/sender_sees/response/kind"), "icmp", "{v:#}");
    assert_eq!(v["sender_sees"]["response"]["icmp_type"], 3);
    assert_eq!(v["sender_sees"]["response"]["icmp_code"], 1);
    assert_eq!(s(&v, "/sender_sees/response/from"), "10.1.0.1", "{v:#}");
    assert_eq!(s(&v, "/path/1/leg"), "answer");
    assert_eq!(s(&v, "/path/1/direction"), "out");

    for (rules, os, packet) in [
        (
            "story1/ipf.rules",
            "illumos",
            "udp 10.1.1.2:1050 203.0.113.5:53 in em1",
        ),
        (
            "story1/pf.conf",
            "openbsd",
            "udp 10.1.1.1:1050 203.0.113.5:53",
        ),
    ] {
        let (code, v) = answer(rules, os, packet);
        assert_eq!(code, 1, "{v:#}");
        assert_eq!(s(&v, "/fate"), "no_route");
        assert!(v["sender_sees"]["response"].is_null(), "{v:#}");
        assert!(v["sender_sees"]["errno"].is_null(), "{v:#}");
        let text = v["sender_sees"]["text"].to_string();
        assert!(!text.contains("silently dropped"), "{os}: {text}");
        assert!(
            assumption_codes(&v).contains(&"platform_fact_unknown"),
            "{os}: {:?}",
            assumption_codes(&v)
        );
    }
}

/// OpenBSD's default /etc/pf.conf (src/etc/pf.conf rev. 1.55, the file every install
/// ships; pf.conf(5)) loads without the host's passwd: `user _pbuild` is taken as written,
/// the rule's test is Unknown for a packet this host sends (its socket's owner is not
/// given), never a match for a forwarded one, and the answer says so.
#[test]
fn openbsd_default_pf_conf_loads_without_the_hosts_passwd() {
    let conf = fixture("default/pf.conf");
    let sent = command(
        &[&conf],
        "openbsd",
        "tcp 10.1.1.1:40000 203.0.113.9:443 out em0",
    );
    insta::assert_snapshot!("openbsd_default_user_unresolved", text(&sent));
    let (code, v) = json(&sent);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(s(&v, "/fate"), "undetermined");
    assert_eq!(v.pointer("/deciding_rule/line"), Some(&Value::from(14)));
    assert!(assumption_codes(&v).contains(&"user_unresolved"), "{v:#}");

    let forwarded = command(
        &[&conf],
        "openbsd",
        "tcp 10.1.0.9:40000 203.0.113.9:443 in em1 out em0",
    );
    let (code, v) = json(&forwarded);
    assert_eq!(code, 0, "{v:#}");
    assert!(assumption_codes(&v).contains(&"user_unresolved"), "{v:#}");
}

/// With the host's passwd and group (`--host DIR/passwd`, `DIR/group`) names resolve as
/// pfctl resolves them: nothing is assumed, and a name neither file holds is pfctl's error.
#[test]
fn the_hosts_passwd_resolves_users_and_refuses_unknown_ones() {
    let conf = fixture("default/pf.conf");
    let host = fixture("default/host");
    let mut args = vec!["--host", host.as_str()];
    args.extend(command(
        &[&conf],
        "openbsd",
        "tcp 203.0.113.9:50000 10.1.1.1:22 in em0",
    ));
    let (code, v) = json(&args);
    assert_eq!(code, 0, "{v:#}");
    assert!(!assumption_codes(&v).contains(&"user_unresolved"), "{v:#}");

    let dir = std::env::temp_dir().join(format!("wb-bsd-passwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["ifconfig.txt", "netstat.txt", "group"] {
        std::fs::copy(repo().join(&host).join(file), dir.join(file)).unwrap();
    }
    std::fs::write(dir.join("passwd"), "root:*:0:0:Charlie &:/root:/bin/ksh\n").unwrap();
    let dir_arg = dir.to_string_lossy().into_owned();
    let mut args = vec!["--host", dir_arg.as_str()];
    args.extend(command(
        &[&conf],
        "openbsd",
        "tcp 203.0.113.9:50000 10.1.1.1:22 in em0",
    ));
    let (code, stdout, stderr) = whyblocked(&args);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("undefined user `_pbuild`"), "{stderr}");
    assert!(stderr.contains("pf.conf:14:"), "{stderr}");
}

/// An IPFilter rule the kernel refuses (`call now srcgrpmap/1010` with no group map 1010:
/// `ipf_grpmapinit` fails with ESRCH) is named as `not loaded`, as `ipf -f` reports it, and
/// the answer is the other rules'.
#[test]
fn ipf_rules_the_kernel_refuses_are_named() {
    let rules = fixture("notloaded/ipf.rules");
    let args = command(
        &[&rules],
        "illumos",
        "tcp 192.0.2.9:40000 192.0.2.1:22 in e1000g0",
    );
    insta::assert_snapshot!("ipf_not_loaded", text(&args));
    let (_, v) = json(&args);
    let not_loaded = v["not_loaded"].as_array().expect("not_loaded");
    assert_eq!(not_loaded.len(), 1, "{v:#}");
    assert_eq!(not_loaded[0]["line"], Value::from(2));
    assert_eq!(not_loaded[0]["code"], Value::from("group_map_missing"));
    assert_eq!(s(&v, "/fate"), "blocked");
}

/// The files a pf.conf names (`table <t> file`, `load anchor … from`) are read beside it
/// (an absolute name by its last component); one not there leaves its table or anchor
/// Unknown, not empty, and the answer says which.
#[test]
fn pf_files_are_read_beside_the_conf_and_a_missing_one_is_unknown() {
    let conf = fixture("files/pf.conf");
    let trusted = command(
        &[&conf],
        "openbsd",
        "tcp 203.0.113.9:50000 192.0.2.10:22 in em0",
    );
    let (code, v) = json(&trusted);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v.pointer("/path/0/rule/line"), Some(&Value::from(6)));
    assert!(
        assumption_codes(&v).contains(&"table_file_missing"),
        "{v:#}"
    );

    let ftp = command(
        &[&conf],
        "openbsd",
        "tcp 203.0.113.9:50000 192.0.2.10:21 in em0",
    );
    let (code, v) = json(&ftp);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(s(&v, "/deciding_rule/file"), "/etc/pf.ftp");

    let other = command(
        &[&conf],
        "openbsd",
        "tcp 198.51.100.1:50000 192.0.2.10:22 in em0",
    );
    let mut args = other.clone();
    args.push("--no-fix");
    insta::assert_snapshot!("pf_table_file_missing", text(&args));
    let (code, v) = json(&other);
    assert_eq!(code, 3, "{v:#}");
    assert_eq!(s(&v, "/fate"), "undetermined");
    assert_eq!(v.pointer("/deciding_rule/line"), Some(&Value::from(7)));
}
