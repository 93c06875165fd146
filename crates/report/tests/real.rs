//! Snapshots of whole answers from real simulations: the bundled ufw-router example
//! (user story 1) parsed by the front ends, walked by the engine, fixed by the analysis.

use report::Answer;
use report::TextOptions;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn story1(spec: &str) -> (String, String) {
    story1_owned(spec, false)
}

/// Story 1's answer, with the rules' owners recognised first when `owned`.
fn story1_owned(spec: &str, owned: bool) -> (String, String) {
    let name = "examples/ufw-router/iptables-save.txt";
    let text = std::fs::read_to_string(repo().join(name)).unwrap();
    let source = model::SourceFile::new(name, text);
    let mut ruleset = frontends::iptables_save::parse(&source, Some(model::Family::Ip)).unwrap();
    if owned {
        owners::recognise(&mut ruleset, &model::tool_config::ToolConfig::default());
    }
    let host = frontends::host::host_dir::load(&repo().join("examples/ufw-router/host"))
        .unwrap()
        .host;
    let args: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
    let packet = frontends::packet_spec::parse(&args).unwrap().packet;
    let options = engine::Options::default();
    let outcome = engine::simulate(&ruleset, &host, &packet, &options);
    let remedies = analysis::remedy::remedies(
        &ruleset,
        &host,
        &packet,
        &outcome,
        &options,
        &model::tool_config::ToolConfig::default(),
    );
    let facts = analysis::AnswerFacts::of(&ruleset, &outcome);
    let answer = Answer {
        ruleset: &ruleset,
        host: &host,
        outcome: &outcome,
        facts: &facts,
        remedies: remedies.as_ref(),
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
        String::from_utf8(json).unwrap(),
    )
}

#[test]
fn story1_tcp_2175_is_rejected_by_ufw_reject_forward() {
    let (text, json) = story1("tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0");
    assert!(text.starts_with("REJECTED"), "{text}");
    insta::assert_snapshot!("real_story1_text", text);
    insta::assert_snapshot!("real_story1_json", json);
}

#[test]
fn story1_ping_is_forwarded() {
    let (text, _) = story1("icmp 10.1.1.2 10.1.0.2 in tap0 type echo-request");
    assert!(text.starts_with("FORWARDED"), "{text}");
    insta::assert_snapshot!("real_story1_ping_text", text);
}

/// Every rule on the JSON path names its owner, as `deciding_rule.owner` does: on story 1's
/// path every rule is in ufw's chains (or ufw's jumps into them).
#[test]
fn every_rule_on_the_path_names_its_owner() {
    let (_, json) = story1_owned("tcp 10.1.1.2:1050 10.1.0.2:2175 in tap0", true);
    let answer: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rules: Vec<&serde_json::Value> = answer["path"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|step| step.get("rule").filter(|r| !r.is_null()))
        .collect();
    assert!(rules.len() >= 5, "{} rules on the path", rules.len());
    for rule in rules {
        assert_eq!(rule["owner"]["tool"], "ufw", "{rule}");
        assert!(rule["owner"]["evidence"]
            .as_str()
            .is_some_and(|e| !e.is_empty()));
    }
    assert_eq!(answer["deciding_rule"]["owner"]["tool"], "ufw");
}
