//! Real rulesets against the kernel (issue 3 part 9): each iptables-save file of the shared
//! corpus that the kernel accepts is loaded into a test router with the interfaces its
//! rules name; packets derived from its rules are compared with the engine. Every case
//! whose engine path has no Unknown must agree.
//!
//! CI: at most 30 packets per ruleset within a time bound. `WB_CORPUS_FULL=1`: 100 packets
//! per ruleset, no time bound. The summary table: `cargo run -p whyblocked-oracle --example
//! agreement`.
#![allow(clippy::print_stderr)]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};
use testgen::corpus::{self, CORPUS};

#[test]
fn corpus_rulesets_agree_with_the_kernel() {
    if !common::kernel_tests_enabled("corpus_rulesets_agree_with_the_kernel") {
        return;
    }
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        eprintln!(
            "SKIP: corpus not found at {} (a fresh clone has no shared/)",
            root.display()
        );
        return;
    }
    let full = std::env::var("WB_CORPUS_FULL").is_ok_and(|v| v == "1");
    let (per_ruleset, limit) = if full {
        (100, Duration::from_secs(24 * 3600))
    } else {
        (30, Duration::from_secs(200))
    };
    let files = corpus::find_files(root);
    assert!(!files.is_empty(), "no iptables-save files in the corpus");
    let start = Instant::now();
    let mut rows = Vec::new();
    for f in &files {
        if start.elapsed() > limit {
            eprintln!(
                "time bound reached after {} of {} rulesets",
                rows.len(),
                files.len()
            );
            break;
        }
        rows.push(corpus::run_file(f, per_ruleset));
    }
    common::assert_no_namespaces_of_this_process();
    let run = rows.iter().filter(|r| r.packets > 0).count();
    let packets: usize = rows.iter().map(|r| r.packets).sum();
    let agree: usize = rows.iter().map(|r| r.agree).sum();
    let unknown: usize = rows.iter().map(|r| r.unknown).sum();
    let refused: Vec<String> = rows
        .iter()
        .filter(|r| r.packets == 0 && !r.note.is_empty())
        .map(|r| format!("{}: {}", r.name, r.note))
        .collect();
    eprintln!(
        "corpus: {} rulesets found, {run} run, {packets} packets: {agree} agree, {unknown} unknown (skipped), {} disagree, in {:.1}s",
        rows.len(),
        packets - agree - unknown,
        start.elapsed().as_secs_f64()
    );
    for r in &refused {
        eprintln!("not run: {r}");
    }
    let disagreements: Vec<&String> = rows.iter().flat_map(|r| &r.disagreements).collect();
    for d in &disagreements {
        eprintln!("DISAGREEMENT {d}");
    }
    assert!(run > 0, "no corpus ruleset could be run");
    assert_eq!(
        packets - agree - unknown,
        0,
        "engine and kernel disagree on corpus rulesets (see above)"
    );
}
