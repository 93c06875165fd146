//! Engine-vs-kernel agreement on the real rulesets of the shared corpus (issue 3 part 9),
//! printed as a Markdown table (the README quotes it).
//!
//! ```text
//! sudo cargo run -p whyblocked-oracle --release --example agreement [-- MAX_PACKETS [--full]]
//! ```
//! Rulesets of one directory are folded into one line unless `--full` is given.
//! Needs root (network namespaces); the host's own firewall is never touched.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use testgen::corpus::{self, CORPUS};

fn main() {
    if !oracle::is_root() {
        eprintln!("agreement: needs root (network namespaces, netfilter tracing)");
        std::process::exit(2);
    }
    let max: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let root = Path::new(CORPUS);
    if !root.is_dir() {
        eprintln!("agreement: no corpus at {}", root.display());
        std::process::exit(2);
    }
    let start = std::time::Instant::now();
    let mut rows = Vec::new();
    for f in corpus::find_files(root) {
        let row = corpus::run_file(&f, max);
        eprintln!(
            "{}: {} packets, {} agree, {} disagree, {} unknown {}",
            row.name, row.packets, row.agree, row.disagree, row.unknown, row.note
        );
        for d in &row.disagreements {
            eprintln!("DISAGREEMENT {d}");
        }
        rows.push(row);
    }
    if std::env::args().any(|a| a == "--full") {
        println!("{}", corpus::markdown(&rows));
    } else {
        println!("{}", corpus::markdown_grouped(&rows));
    }
    println!(
        "_{} packets per ruleset at most, derived from the rules' own conditions; \
         {:.0} s on this machine; `sudo cargo run -p whyblocked-oracle --release --example agreement`._",
        max,
        start.elapsed().as_secs_f64()
    );
}
