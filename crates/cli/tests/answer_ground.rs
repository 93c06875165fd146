//! The main answer's headline and exit status have ground (issue 11 A2, A4, A8): they follow
//! what the *connection* experiences, a family without rules is no all-clear, and the
//! packet given (by words or by a log line) is the packet the kernel saw.
//!
//! The binary end to end, on the bundled ufw router (its real `iptables-save`,
//! `ip6tables-save` and host state) and the small rules files of
//! `tests/fixtures/answer-ground`.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{whyblocked, Run};

impl Run {
    fn headline(&self) -> &str {
        self.out.lines().next().unwrap_or("")
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.out))
    }
    /// The lines of the text answer's field `label` (its first line and continuations).
    fn field(&self, label: &str) -> Vec<&str> {
        let mut lines = Vec::new();
        let mut inside = false;
        for line in self.out.lines() {
            if let Some(rest) = line.strip_prefix("  ") {
                if rest.starts_with(label) && rest[label.len()..].starts_with("  ") {
                    inside = true;
                    lines.push(rest[label.len()..].trim());
                    continue;
                }
                if inside && rest.starts_with("   ") {
                    lines.push(rest.trim());
                    continue;
                }
            }
            inside = false;
        }
        lines
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> String {
    repo()
        .join("examples/ufw-router")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// `whyblocked` on `rules` with the bundled router's host state (when `host`), then the
/// words of `rest` (the packet and options, split at spaces).
fn ask(rules: &str, host: bool, rest: &str) -> Run {
    let host_dir = example("host");
    let mut args = vec!["--rules", rules];
    if host {
        args.extend(["--host", host_dir.as_str()]);
    }
    args.extend(rest.split_whitespace());
    whyblocked(&args)
}

/// A rules file of `tests/fixtures/answer-ground`.
fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/answer-ground")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------
// A2: a packet of a family for which no rules were given.

#[test]
fn a2_ipv6_packet_without_ipv6_rules_is_not_an_all_clear() {
    let v4 = example("iptables-save.txt");
    let packet = "tcp [2001:db8::2]:1050 [2001:db8:1::2]:22 in eth0";
    let r = ask(&v4, false, packet);
    assert_eq!(r.code, 3, "{}", r.out);
    assert!(
        r.headline().starts_with("UNDECIDED  ") && r.headline().ends_with("(no IPv6 rules given)"),
        "{}",
        r.out
    );
    assert!(
        r.field("undecided")[0].contains("no IPv6 rules were given (ip6tables-save"),
        "{}",
        r.out
    );

    let j = ask(&v4, false, &format!("--json {packet}"));
    assert_eq!(j.code, 3);
    let v = j.json();
    assert_eq!(v["connection"], "undecided");
    assert_eq!(v["no_rules_of_family"], "ip6");
}

#[test]
fn a2_ipv4_packet_with_only_ipv6_rules_is_not_an_all_clear() {
    let v6 = fixture("accept.v6");
    let r = ask(&v6, false, "tcp 10.0.0.2:1050 10.0.0.1:22 in eth0");
    assert_eq!(r.code, 3, "{}", r.out);
    assert!(r.headline().ends_with("(no IPv4 rules given)"), "{}", r.out);
}

#[test]
fn a2_nft_ip_tables_do_not_cover_an_ipv6_packet_but_inet_tables_do() {
    let packet = "tcp [2001:db8::2]:1050 [2001:db8:1::2]:22 in eth0";
    let ip_only = fixture("ip-only.nft");
    let r = ask(&ip_only, false, packet);
    assert_eq!(r.code, 3, "{}", r.out);
    assert!(r.headline().ends_with("(no IPv6 rules given)"), "{}", r.out);

    // A bridge or netdev table sees IPv6 too, but is not the family's firewall.
    let bridge_netdev = fixture("bridge-netdev-ip.nft");
    assert_eq!(ask(&bridge_netdev, false, packet).code, 3);

    // An inet table holds the IPv6 firewall: the answer is grounded.
    let inet = fixture("inet.nft");
    let r = ask(&inet, false, packet);
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(r.headline().starts_with("DELIVERED  "), "{}", r.out);
    assert!(r.field("undecided").is_empty(), "{}", r.out);
}

#[test]
fn a2_a_snapshot_listing_every_family_proves_the_family_has_no_firewall() {
    // The snapshot holds the kernel's whole listing (iptables-save, ip6tables-save and
    // `nft list ruleset`, the last two empty): no IPv6 rule is a fact, not a gap.
    let snapshot = fixture("v4-only.snapshot");
    let packet = [
        "tcp",
        "[2001:db8::2]:1050",
        "[2001:db8:1::2]:22",
        "in",
        "eth0",
    ];
    let r = whyblocked(&[&["--host", snapshot.as_str()][..], &packet[..]].concat());
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.headline().starts_with("DELIVERED  "), "{}", r.out);

    // Rules given with --rules replace the snapshot's: only they were looked at.
    let v4 = fixture("accept.v4");
    let r = whyblocked(
        &[
            &["--rules", v4.as_str(), "--host", snapshot.as_str()][..],
            &packet[..],
        ]
        .concat(),
    );
    assert_eq!(r.code, 3, "{}", r.out);
}

#[test]
fn a2_a_packet_routing_stops_stays_blocked_without_rules_of_its_family() {
    // No firewall can let through what routing loses: no rules of the family changes
    // nothing about a NO ROUTE.
    let v4 = example("iptables-save.txt");
    let r = ask(
        &v4,
        true,
        "tcp [2001:db8::2]:1050 [2001:db8:1::2]:22 in tap0",
    );
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.headline().starts_with("NO ROUTE  "), "{}", r.out);
}

// ---------------------------------------------------------------------------------------
// A4: the fate and exit status follow what the connection experiences.

#[test]
fn a4_closed_port_is_refused_exit_1_with_no_syn_ack_reply() {
    let rules = fixture("accept.v4");
    let packet = "tcp 10.1.1.2:1050 10.1.1.1:80 in tap0 --no-fix";
    let r = ask(&rules, true, packet);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.headline().starts_with("REFUSED  "), "{}", r.out);
    let sees = r.field("sender sees");
    assert!(sees[0].starts_with("TCP RST from 10.1.1.1"), "{}", r.out);
    assert!(sees[1].contains("ECONNREFUSED"), "{}", r.out);
    // The peer's reply (a SYN/ACK) does not exist: the stack's RST is the answer.
    assert!(r.field("reply").is_empty(), "{}", r.out);
    assert!(!r.out.contains("[ACK SYN]"), "{}", r.out);

    let j = ask(&rules, true, &format!("--json {packet}"));
    assert_eq!(j.code, 1);
    let v = j.json();
    assert_eq!(v["fate"], "delivered");
    assert_eq!(v["connection"], "refused");
    assert_eq!(v["reply"], Value::Null);
    assert_eq!(v["sender_sees"]["errno"], "ECONNREFUSED");
}

#[test]
fn a4_udp_to_a_closed_port_is_refused_too() {
    let rules = fixture("accept.v4");
    let r = ask(&rules, true, "udp 10.1.1.2:1050 10.1.1.1:53 in tap0");
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.headline().starts_with("REFUSED  "), "{}", r.out);
}

#[test]
fn a4_ipv6_syn_ack_that_cannot_be_routed_back_is_not_delivered() {
    // The link-local address of eno1 answers, but the host has no route back to the
    // global source: the SYN/ACK never leaves and connect() times out.
    let v6 = example("ip6tables-save.txt");
    let packet = "tcp [2001:db8:9::2]:1050 [fe80::38ef:98ff:feba:7c21]:22 in eno1 --no-fix";
    let r = ask(&v6, true, packet);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.headline().starts_with("ANSWER LOST  "), "{}", r.out);
    assert!(r.field("sender sees")[0].contains("ETIMEDOUT"), "{}", r.out);

    let j = ask(&v6, true, &format!("--json {packet}"));
    assert_eq!(j.code, 1);
    assert_eq!(j.json()["connection"], "answer_lost");
}

#[test]
fn a4_forwarded_syn_whose_syn_ack_the_firewall_drops_is_answer_lost() {
    let rules = fixture("no-way-back.v4");
    let packet = "tcp 10.1.1.2:1050 10.1.0.2:80 in tap0";
    let r = ask(&rules, true, packet);
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.headline().starts_with("ANSWER LOST  "), "{}", r.out);
    let reply = r.field("reply");
    assert_eq!(
        reply[0], "tcp 10.1.0.2:80 -> 10.1.1.2:1050 [ACK SYN]",
        "{}",
        r.out
    );
    assert!(
        reply
            .iter()
            .any(|l| l.starts_with("does not get back: dropped, by the policy of filter/FORWARD")),
        "{}",
        r.out
    );

    let v = ask(&rules, true, &format!("--json {packet}")).json();
    assert_eq!(v["fate"], "forwarded");
    assert_eq!(v["connection"], "answer_lost");
    assert_eq!(v["reply_not_through"]["fate"], "dropped");
    assert_eq!(v["reply_not_through"]["decided_by"], "policy");
    assert_eq!(v["reply_not_through"]["rule"]["chain"], "FORWARD");

    // The fix is for the answer: the missing established accept, verified for the whole
    // connection from the SYN.
    assert!(
        r.out.contains(
            "fix (iptables) iptables -I FORWARD 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        ),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("verified       SYN forwarded, SYN/ACK forwarded back, data both ways"),
        "{}",
        r.out
    );
    assert!(v["fix"].is_object(), "{v}");
}

#[test]
fn a4_open_port_with_a_way_back_succeeds_exit_0() {
    let v4 = example("iptables-save.txt");
    let packet = "tcp 10.1.1.2:1050 10.1.1.1:22 in tap0";
    let r = ask(&v4, true, packet);
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(r.headline().starts_with("DELIVERED  "), "{}", r.out);
    assert_eq!(
        r.field("reply")[0],
        "tcp 10.1.1.1:22 -> 10.1.1.2:1050 [ACK SYN]"
    );
    let j = ask(&v4, true, &format!("--json {packet}"));
    assert_eq!(j.json()["connection"], "succeeds");
}

// ---------------------------------------------------------------------------------------
// A8: TTL, ICMP errors, log lines and the packet spec's limits.

#[test]
fn a8_ttl_1_is_headlined_ttl_exceeded_not_no_route() {
    let rules = fixture("accept.v4");
    let r = ask(&rules, true, "tcp 10.1.1.2:1050 10.1.0.2:80 in tap0 ttl 1");
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.headline().starts_with("TTL EXCEEDED  "), "{}", r.out);
}

#[test]
fn a8_icmp_error_creates_no_entry_gets_nothing_back_and_its_unknown_quote_is_undecided() {
    let rules = fixture("related.v4");
    let packet = "icmp 10.1.1.2 10.1.1.1 in tap0 type port-unreachable";
    let r = ask(&rules, true, packet);
    // RELATED (a tracked flow quoted) it is accepted, INVALID (none) dropped: without the
    // conntrack table that is not known.
    assert_eq!(r.code, 3, "{}", r.out);
    assert!(
        r.headline().starts_with("UNDECIDED  ")
            && r.headline().ends_with("(depends on the conntrack table)"),
        "{}",
        r.out
    );
    let ct = r.field("conntrack");
    assert_eq!(ct.first(), Some(&"related"), "{}", r.out);
    assert!(!ct.iter().any(|l| l.starts_with("creates")), "{}", r.out);
    assert!(r.field("reply").is_empty(), "{}", r.out);
    assert!(r.field("sender sees").is_empty(), "{}", r.out);
    assert!(
        !r.field("assumed")
            .iter()
            .any(|l| l.starts_with("the first packet of its flow")),
        "{}",
        r.out
    );

    let v = ask(&rules, true, &format!("--json {packet}")).json();
    assert_eq!(v["conntrack"]["new_entry"], Value::Null);
    assert_eq!(v["reply"], Value::Null);
    assert_eq!(v["sender_sees"]["response"], Value::Null);
    assert_eq!(v["connection"], "undecided");
    assert_eq!(v["if_quoting_no_flow"], "blocked");

    // Where the state decides nothing, the answer stands.
    let r = ask(&fixture("accept.v4"), true, packet);
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(r.headline().starts_with("DELIVERED  "), "{}", r.out);
}

/// A ufw log line for a SYN the router forwarded from tap0 to eno1, as it logs it: the TTL
/// after `ip_forward()` decremented it.
const FORWARD_LINE: &str = "[UFW BLOCK] IN=tap0 OUT=eno1 MAC=1a:a0:0e:97:bf:63:02:00:00:00:00:01:08:00 SRC=10.1.1.2 DST=10.1.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=TCP SPT=1050 DPT=2175 WINDOW=64240 RES=0x00 SYN URGP=0";

/// The JSON answer for the packet of a log line, on the bundled router.
fn from_log(line: &str) -> Value {
    let v4 = example("iptables-save.txt");
    let host = example("host");
    whyblocked(&[
        "--rules",
        &v4,
        "--host",
        &host,
        "--json",
        "--no-fix",
        "--from-log",
        line,
    ])
    .json()
}

#[test]
fn a8_from_log_forward_line_arrived_with_one_more_ttl() {
    let v = from_log(FORWARD_LINE);
    assert_eq!(v["packet"]["ttl"], 64);
    // The line the simulation predicts for it is the line that was given.
    let logged: Vec<&str> = v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(logged.iter().any(|l| l.contains(" TTL=63 ")), "{logged:?}");

    // A line logged on the way in (no OUT=) shows the arrival TTL itself.
    let input_line = FORWARD_LINE
        .replace("OUT=eno1", "OUT=")
        .replace("DST=10.1.0.2", "DST=10.1.1.1");
    assert_eq!(from_log(&input_line)["packet"]["ttl"], 63);

    // A line without `TTL=` leaves the default arrival TTL alone (64, logged as 63).
    let without_ttl = FORWARD_LINE.replace(" TTL=63", "");
    assert_ne!(without_ttl, FORWARD_LINE);
    assert_eq!(from_log(&without_ttl)["packet"]["ttl"], 64);
}

#[test]
fn a8_len_shorter_than_the_headers_is_an_input_error_with_a_caret() {
    let rules = fixture("accept.v4");
    let r = ask(
        &rules,
        false,
        "tcp 10.0.0.2:1050 10.0.0.1:22 in eth0 len 39",
    );
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(
        r.err
            .contains("shorter than the headers: at least 40 bytes"),
        "{}",
        r.err
    );
    assert!(r.err.contains("^^"), "{}", r.err);
    // The shortest legal TCP segment (no options) is fine.
    let r = ask(
        &rules,
        false,
        "tcp 10.0.0.2:1050 10.0.0.1:22 in eth0 len 40",
    );
    assert_ne!(r.code, 2, "{}", r.err);
    let r = ask(
        &rules,
        false,
        "udp [2001:db8::2]:1050 [2001:db8::1]:53 len 47",
    );
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(
        r.err.contains("at least 48 bytes for IPv6 udp"),
        "{}",
        r.err
    );
}

#[test]
fn a8_port_zero_is_accepted_with_a_note() {
    // The kernel forwards and delivers port 0 like any other port (oracle: `verify` agrees,
    // see crates/oracle/tests/answer_ground_kernel.rs).
    let rules = fixture("accept.v4");
    let r = ask(&rules, true, "tcp 10.1.1.2:1050 10.1.0.2:0 in tap0");
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.field("assumed")
            .iter()
            .any(|l| l.starts_with("port 0 is legal on the wire")),
        "{}",
        r.out
    );
}
