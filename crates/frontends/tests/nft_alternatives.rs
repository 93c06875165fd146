//! Issue 11 D7, found by fuzzing the nft text parser: every multi-valued statement of a rule
//! multiplies its alternatives, and a rule of a few dozen of them exhausted memory (4 GiB,
//! out-of-memory in libFuzzer). A rule that expands beyond what is simulated is an input
//! error at the statement where it overflows; a large verdict map (a kube-proxy service
//! map) still expands.

use model::SourceFile;

fn parse(text: &str) -> Result<model::Ruleset, model::diag::ParseError> {
    frontends::nft::parse_text(&SourceFile::new("rules.nft", text))
}

#[test]
fn d7_a_rule_whose_alternatives_multiply_is_an_input_error_not_out_of_memory() {
    let dnats = vec!["dnat ip to 192.168.1.1"; 30].join(" ");
    let text = format!(
        "table inet t {{\n chain c {{\n  type nat hook prerouting priority dstnat; policy accept;\n  ip daddr 10.1.2.3 {dnats}\n }}\n}}\n"
    );
    let e = parse(&text).expect_err("a rule of 2^30 alternatives is refused");
    let message = e.to_string();
    assert!(
        message.contains("expand into more than 2000000 steps"),
        "{message}"
    );
    assert_eq!(e.line_col().0, 4, "{message}");
}

#[test]
fn d7_a_verdict_map_of_thirty_thousand_elements_still_expands() {
    let elements: Vec<String> = (0..30_000)
        .map(|i| format!("10.{}.{}.{} : accept", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    let text = format!(
        "table inet t {{\n chain c {{\n  type filter hook input priority 0; policy drop;\n  ip daddr vmap {{ {} }}\n }}\n}}\n",
        elements.join(", ")
    );
    let rs = parse(&text).expect("a kube-proxy-sized map parses");
    assert_eq!(rs.tables[0].chains[0].rules.len(), 30_000);
}
