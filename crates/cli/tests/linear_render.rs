//! Issue 11 item D8, the words: rendering an answer is linear in the path's length. A chain
//! of N rules that all match (`counter`, each a step of the path) is answered in text and
//! JSON at N and 4N rules inside `valgrind --tool=cachegrind`; the instructions must grow
//! at most ~4x (plus slack). Numbering each step's rule by counting from the chain's start
//! made it 16x (38 s at 40,000 rules; 1.3 s after). A verdict map of N elements, which
//! expands into N model rules, once copied the rule's whole text into each (12,000
//! elements: 7 s and 6 GB; 0.17 s and 27 MB after).
#![allow(clippy::print_stderr)] // the counts are the point.

use std::path::PathBuf;

/// A chain of `n` matching rules, or (`map`) one rule whose verdict map of `n` elements
/// expands into `n` model rules sharing its text.
fn ruleset(n: usize, map: bool) -> PathBuf {
    let mut s = String::from(
        "table inet t {\n chain input { type filter hook input priority 0; policy drop;\n",
    );
    if map {
        let elements: Vec<String> = (0..n)
            .map(|i| format!("10.{}.{}.{} : accept", i >> 16, (i >> 8) & 255, i & 255))
            .collect();
        s += &format!("  ip saddr vmap {{ {} }}\n", elements.join(", "));
    } else {
        for _ in 0..n {
            s += "  tcp dport 22 counter\n";
        }
    }
    s += " }\n}\n";
    let path = std::env::temp_dir().join(format!(
        "wb-linear-render-{}-{n}-{map}.nft",
        std::process::id()
    ));
    std::fs::write(&path, s).unwrap();
    path
}

fn instructions(n: usize, json: bool, map: bool) -> u64 {
    let rules = ruleset(n, map);
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
    for (json, map) in [(false, false), (true, false), (false, true)] {
        let (small, large) = (instructions(n, json, map), instructions(4 * n, json, map));
        let growth = large as f64 / small as f64;
        eprintln!(
            "answer (json: {json}, verdict map: {map}): {small} instructions at {n} rules, {large} at {}: x{growth:.2}",
            4 * n
        );
        assert!(
            growth <= 5.0,
            "the answer's work grew x{growth:.2} for 4x the rules (json: {json}, verdict map: {map}): a step is worse than linear"
        );
    }
}
