//! Snapshots of the words for the reason of a loss (issue 10 parts 5 and 6), from real
//! simulations: the wg-quick host recorded in the engine's fixtures (rp_filter, an nft fib
//! rule), a SYN/ACK without a conntrack entry, a martian destination, and what the sender
//! sees without host state (this host's address on the route back; EPERM on the send).

use report::{Answer, TextOptions};
use std::path::PathBuf;

fn wg_quick_host() -> model::Host {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/wg-quick-host");
    frontends::host::host_dir::load(&dir).unwrap().host
}

/// The text and JSON answers for `spec` through `rules` (nft text) on `host`.
fn answer(rules: &str, host: &model::Host, spec: &str) -> (String, serde_json::Value) {
    let source = model::SourceFile::new("rules.nft", rules);
    let ruleset = frontends::nft::parse_text(&source).unwrap();
    let packet = frontends::packet_spec::packet(spec).unwrap();
    let options = engine::Options::default();
    let outcome = engine::simulate(&ruleset, host, &packet, &options);
    let facts = analysis::AnswerFacts::of(&ruleset, &outcome);
    let answer = Answer {
        ruleset: &ruleset,
        host,
        outcome: &outcome,
        facts: &facts,
        remedies: None,
        rule_reasons: None,
        ping: None,
        input_notes: &[],
    };
    let mut text = Vec::new();
    report::answer::text::render(&mut text, &answer, &TextOptions::default()).unwrap();
    let mut json = Vec::new();
    report::answer::json::render(&mut json, &answer).unwrap();
    (
        String::from_utf8(text).unwrap(),
        serde_json::from_slice(&json).unwrap(),
    )
}

const EMPTY: &str = "table inet f {\n chain pre {\n  type filter hook prerouting priority 0; policy accept;\n }\n}\n";

#[test]
fn rp_filter_on_a_wg_quick_host() {
    let (text, json) = answer(
        EMPTY,
        &wg_quick_host(),
        "tcp 203.0.113.5:40000 192.0.2.10:22 in eth0",
    );
    insta::assert_snapshot!("reason_rp_filter_wg_quick_text", text);
    let reason = &json["reason"];
    assert_eq!(reason["code"], "rp_filter");
    assert_eq!(reason["sysctl"], "net.ipv4.conf.eth0.rp_filter");
    insta::assert_snapshot!(
        "reason_rp_filter_wg_quick_json",
        serde_json::to_string_pretty(reason).unwrap()
    );
}

#[test]
fn fib_rule_on_a_wg_quick_host() {
    let rules = "table inet filter {\n chain pre {\n  type filter hook prerouting priority raw; policy accept;\n  fib saddr . iif oif missing drop\n }\n}\n";
    let (text, json) = answer(
        rules,
        &wg_quick_host(),
        "tcp [2001:db8:99::5]:40000 [2001:db8:1::10]:22 in eth0",
    );
    insta::assert_snapshot!("reason_fib_rule_wg_quick_text", text);
    assert_eq!(json["reason"]["code"], "rp_filter");
    assert_eq!(json["reason"]["reverse_lookup"]["via"], "wg0");
    assert_eq!(
        json["reason"]["reverse_lookup"]["steps"][2]["route"],
        "::/0 dev wg0"
    );
}

#[test]
fn ct_invalid_syn_ack_without_entry() {
    let rules = "table inet f {\n chain in {\n  type filter hook input priority 0; policy accept;\n  ct state invalid drop\n }\n}\n";
    let mut host = model::Host::default();
    host.known.conntrack = true;
    let (text, json) = answer(
        rules,
        &host,
        "tcp 10.0.0.2:80 10.0.0.1:40000 flags SA in eth0",
    );
    insta::assert_snapshot!("reason_ct_invalid_text", text);
    assert_eq!(json["reason"]["code"], "ct_invalid");
    assert_eq!(json["reason"]["ct_invalid"], "no_entry");
}

#[test]
fn martian_destination_is_named() {
    let (text, json) = answer(
        EMPTY,
        &model::Host::default(),
        "tcp 10.0.0.2:40000 0.0.0.0:22 in eth0",
    );
    insta::assert_snapshot!("reason_martian_destination_text", text);
    assert_eq!(json["reason"]["code"], "martian_destination");
}

#[test]
fn senders_view_without_host_state() {
    let rules = "table inet f {\n chain fwd {\n  type filter hook forward priority 0; policy accept;\n  tcp dport 22 reject with icmpx admin-prohibited\n }\n chain out {\n  type filter hook output priority 0; policy accept;\n  udp dport 53 drop\n }\n}\n";
    let host = model::Host::default();
    let (text, json) = answer(
        rules,
        &host,
        "tcp 10.1.1.2:1050 10.1.0.2:22 in tap0 out eno1",
    );
    assert!(!text.contains("0.0.0.0"), "{text}");
    insta::assert_snapshot!("sender_route_back_text", text);
    let response = &json["sender_sees"]["response"];
    assert_eq!(response["from"], serde_json::Value::Null);
    assert_eq!(response["from_route_back_via"], "tap0");
    let (text, json) = answer(rules, &host, "udp 10.0.0.1:1050 8.8.8.8:53");
    assert!(!text.contains("recv()"), "{text}");
    insta::assert_snapshot!("sender_eperm_on_send_text", text);
    assert_eq!(json["sender_sees"]["errno_on_send"], true);
}

/// Part 6 on IPv6 and on a packet whose way out the input does not tell: the ICMPv6 error
/// comes from "this host's address on the route back", never `::`; a packet sent with no
/// routes and no `out IFACE` names its interface as not given, never as an empty word.
#[test]
fn senders_view_without_host_state_ipv6_and_no_interface() {
    let rules = "table inet f {\n chain fwd {\n  type filter hook forward priority 0; policy accept;\n  tcp dport 22 reject with icmpx admin-prohibited\n }\n}\n";
    let host = model::Host::default();
    let (text, json) = answer(
        rules,
        &host,
        "tcp [fd00:1::2]:1050 [fd00:2::2]:22 in tap0 out eno1",
    );
    assert!(!text.contains("from ::"), "{text}");
    insta::assert_snapshot!("sender_route_back_ipv6_text", text);
    assert_eq!(
        json["sender_sees"]["response"]["from"],
        serde_json::Value::Null
    );
    assert_eq!(
        json["sender_sees"]["response"]["from_route_back_via"],
        "tap0"
    );
    let (text, _) = answer(rules, &host, "udp 10.0.0.1:1050 10.1.1.2:53");
    for empty in ["out \n", "out of \n", "out of  ", "out  "] {
        assert!(!text.contains(empty), "{empty:?} in {text}");
    }
    insta::assert_snapshot!("sent_without_an_interface_text", text);
}

/// An FTP data connection with a helperless control connection in the host's table: NEW,
/// dropped by the policy of a chain that accepts RELATED.
#[test]
fn no_helper_for_an_ftp_data_connection() {
    let rules = "table inet f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  tcp dport 21 accept\n }\n}\n";
    let tuple = |src: &str, dst: &str, sport, dport| model::host::CtTuple {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        sport,
        dport,
    };
    let mut host = model::Host::default();
    host.known.conntrack = true;
    host.conntrack.push(model::host::CtEntry {
        proto: model::packet::IpProto::Tcp,
        orig: tuple("10.0.0.2", "10.0.0.1", 40000, 21),
        reply: tuple("10.0.0.1", "10.0.0.2", 21, 40000),
        tcp_state: Some("ESTABLISHED".into()),
        status: 6,
        mark: 0,
        zone: 0,
        timeout: None,
        text: "tcp 6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 sport=40000 dport=21 \
               src=10.0.0.1 dst=10.0.0.2 sport=21 dport=40000 [ASSURED] mark=0 use=1"
            .into(),
    });
    let (text, json) = answer(rules, &host, "tcp 10.0.0.2:40001 10.0.0.1:50000 in eth0");
    insta::assert_snapshot!("reason_no_helper_text", text);
    let reason = &json["reason"];
    assert_eq!(reason["code"], "no_helper");
    assert_eq!(reason["no_helper"]["helper"], "ftp");
    insta::assert_snapshot!(
        "reason_no_helper_json",
        serde_json::to_string_pretty(reason).unwrap()
    );
}
