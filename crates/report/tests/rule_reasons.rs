//! Snapshots of rule-level reasons as users read them (text and the JSON `rule_reasons`
//! block): user story 2's missed set lookup, an ipset rule reading the wrong side of the
//! packet, a DROP shadowed by an earlier ACCEPT and a rule added twice.

use analysis::reasons::RuleReasons;
use report::{Answer, TextOptions};
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text answer and the JSON `rule_reasons` block of `spec` on `ruleset`.
fn answer(ruleset: &model::Ruleset, spec: &str) -> (String, String) {
    let packet = frontends::packet_spec::packet(spec).unwrap();
    let host = model::Host::default();
    let options = engine::Options::default();
    let outcome = engine::simulate(ruleset, &host, &packet, &options);
    let facts = analysis::AnswerFacts::of(ruleset, &outcome);
    let reasons = RuleReasons::of(ruleset, &host, &packet, &outcome, &options);
    let answer = Answer {
        ruleset,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        rule_reasons: Some(&reasons),
        remedies: None,
        ping: None,
        input_notes: &[],
    };
    let mut text = Vec::new();
    report::answer::text::render(&mut text, &answer, &TextOptions::default()).unwrap();
    let json = report::answer::json::report(&answer);
    (
        String::from_utf8(text).unwrap(),
        serde_json::to_string_pretty(&json.rule_reasons).unwrap(),
    )
}

#[test]
fn story2_set_miss() {
    let text =
        std::fs::read_to_string(repo().join("crates/frontends/tests/fixtures/nft/story2.nft"))
            .unwrap();
    let rs = frontends::nft::parse_text(&model::SourceFile::new("story2.nft", text)).unwrap();
    let (text, json) = answer(&rs, "tcp 198.51.100.7:40000 10.1.2.3:1222 in eth0 out eth1");
    insta::assert_snapshot!("story2_text", text);
    insta::assert_snapshot!("story2_json", json);
}

/// firewalld's and iptables' `-m set --match-set NAME src,dst` shape on a `hash:ip,port`
/// set that holds the server's address and port.
#[test]
fn ipset_other_direction() {
    let mut rs = frontends::iptables_save::parse(
        &model::SourceFile::new(
            "rules.v4",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -m set --match-set allow src,dst -j ACCEPT\nCOMMIT\n",
        ),
        Some(model::Family::Ip),
    )
    .unwrap();
    rs.ipsets = frontends::host::ipset::parse(&model::SourceFile::new(
        "ipset.save",
        "create allow hash:ip,port family inet\nadd allow 192.168.70.10,tcp:22\nadd allow 192.168.70.10,tcp:80\n",
    ))
    .unwrap();
    let (text, json) = answer(&rs, "tcp 10.0.0.7:40000 192.168.70.10:22 in eth0");
    insta::assert_snapshot!("ipset_text", text);
    insta::assert_snapshot!("ipset_json", json);
}

/// "My DROP never sees it": an ACCEPT for the port before the DROP of the host, and a
/// rule a script added twice.
#[test]
fn shadowed_and_repeated() {
    let rs = frontends::iptables_save::parse(
        &model::SourceFile::new(
            "rules.v4",
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -s 203.0.113.5/32 -j DROP\nCOMMIT\n",
        ),
        Some(model::Family::Ip),
    )
    .unwrap();
    let (text, json) = answer(&rs, "tcp 203.0.113.5:40000 192.0.2.1:22 in eth0");
    insta::assert_snapshot!("shadowed_text", text);
    insta::assert_snapshot!("shadowed_json", json);
}
