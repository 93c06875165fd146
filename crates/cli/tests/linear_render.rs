//! Issue 11 item D8, the words: rendering an answer is linear in the path's length. A chain
//! of N rules that all match (`counter`, each a step of the path) is answered in text and
//! JSON at N and 4N rules inside `valgrind --tool=cachegrind`; the instructions must grow
//! at most ~4x (plus slack). Numbering each step's rule by counting from the chain's start
//! made it 16x (38 s at 40,000 rules; 1.3 s after).
#![allow(clippy::print_stderr)] // the counts are the point.

use std::path::PathBuf;

fn ruleset(n: usize) -> PathBuf {
    let mut s = String::from(
        "table inet t {\n chain input { type filter hook input priority 0; policy drop;\n",
    );
    for _ in 0..n {
        s += "  tcp dport 22 counter\n";
    }
    s += " }\n}\n";
    let path =
        std::env::temp_dir().join(format!("wb-linear-render-{}-{n}.nft", std::process::id()));
    std::fs::write(&path, s).unwrap();
    path
}

fn instructions(n: usize, json: bool) -> u64 {
    let rules = ruleset(n);
    let mut args = vec!["--rules".to_string(), rules.display().to_string()];
    if json {
        args.push("--json".into());
    }
    args.extend(
        "tcp 10.0.0.5:1 10.0.0.1:22 in eth0"
            .split(' ')
            .map(String::from),
    );
    let count = testgen::counted::instructions(
        env!("CARGO_BIN_EXE_whyblocked").as_ref(),
        &args,
        &[("NO_COLOR", "1".to_string())],
    );
    let _ = std::fs::remove_file(rules);
    count
}

#[test]
fn d8_rendering_a_long_path_grows_linearly() {
    if !testgen::counted::valgrind_or_skip("d8_rendering_a_long_path_grows_linearly") {
        return;
    }
    let n = 1500;
    for json in [false, true] {
        let (small, large) = (instructions(n, json), instructions(4 * n, json));
        let growth = large as f64 / small as f64;
        eprintln!(
            "answer (json: {json}): {small} instructions at {n} rules, {large} at {}: x{growth:.2}",
            4 * n
        );
        assert!(
            growth <= 5.0,
            "the answer's work grew x{growth:.2} for 4x the rules (json: {json}): a step is worse than linear"
        );
    }
}
