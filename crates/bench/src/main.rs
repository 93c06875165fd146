//! `cargo run --release -p whyblocked-bench`: prints parse time and simulated packets per
//! second on the largest corpus rulesets, each beside a named baseline measured in the
//! same run (timings vary by machine; the ratios travel better).
//!
//! Baselines:
//! - parse: *tokenize only* — split the same text into lines and whitespace tokens, the
//!   floor any parser pays;
//! - prepare: the parse of the same ruleset (preparing the engine's per-hook index happens
//!   once per ruleset, like parsing);
//! - simulate: *empty ruleset* — the same packets through the engine with no rules at all
//!   (routing, conntrack and the report data still built), the engine's fixed cost.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use bench::{corpus_source, parse_nft, varied_packets, NFT_RULESETS, TUM_RULESETS};
use model::{Host, Ruleset};
use std::hint::black_box;
use std::time::{Duration, Instant};

const PACKETS: usize = 10_000;

/// Best of `runs` timings of `f` (the minimum is the least noisy estimate on a shared box).
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn tokenize_only(text: &str) -> usize {
    text.lines().map(|l| l.split_whitespace().count()).sum()
}

fn main() {
    let host = Host::default();
    let options = engine::Options::default();
    println!(
        "{:<28} {:>10} {:>14} {:>12} {:>10}",
        "ruleset", "rules", "measure", "value", "ratio"
    );
    for (label, path, family) in TUM_RULESETS {
        let Some(source) = corpus_source(path) else {
            eprintln!("SKIP {label}: ../shared/corpus/{path} is absent");
            continue;
        };
        let ruleset = match frontends::iptables_save::parse(&source, Some(family)) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{label}: {e}");
                std::process::exit(2);
            }
        };
        let rules = ruleset.rule_count();
        let parse = best_of(10, || {
            frontends::iptables_save::parse(&source, Some(family))
        });
        let tokenize = best_of(10, || tokenize_only(&source.text));
        println!(
            "{:<28} {:>10} {:>14} {:>9.2} ms {:>9.1}x tokenize-only ({:.2} ms)",
            label,
            rules,
            "parse",
            parse.as_secs_f64() * 1e3,
            parse.as_secs_f64() / tokenize.as_secs_f64().max(1e-9),
            tokenize.as_secs_f64() * 1e3
        );
        let prepare = best_of(10, || engine::Prepared::new(&ruleset));
        println!(
            "{:<28} {:>10} {:>14} {:>9.2} ms {:>9.3}x parse (once per ruleset)",
            label,
            rules,
            "prepare",
            prepare.as_secs_f64() * 1e3,
            prepare.as_secs_f64() / parse.as_secs_f64().max(1e-9),
        );
        let packets = varied_packets(&ruleset, family == model::Family::Ip6, PACKETS, 42);
        let prepared = engine::Prepared::new(&ruleset);
        let empty = Ruleset::default();
        let prepared_empty = engine::Prepared::new(&empty);
        let run = |prepared: &engine::Prepared| {
            for p in &packets {
                black_box(engine::simulate_prepared(prepared, &host, p, &options));
            }
        };
        let full = best_of(3, || run(&prepared));
        let baseline = best_of(3, || run(&prepared_empty));
        let pps = PACKETS as f64 / full.as_secs_f64();
        println!(
            "{:<28} {:>10} {:>14} {:>9.0} /s {:>9.1}x slower than empty ruleset ({:.0} /s)",
            label,
            rules,
            "simulate",
            pps,
            full.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
            PACKETS as f64 / baseline.as_secs_f64()
        );
    }
    nft(&host, &options);
}

/// The nft front ends (text and JSON listings of the same rulesets) and the engine on
/// what they read, with the packets of the iptables-save twin; baselines as above.
fn nft(host: &Host, options: &engine::Options) {
    for (label, path, v6, json) in NFT_RULESETS {
        let Some(source) = corpus_source(path) else {
            eprintln!("SKIP {label}: ../shared/corpus/{path} is absent");
            continue;
        };
        let ruleset = match parse_nft(&source, json) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{label}: {e}");
                std::process::exit(2);
            }
        };
        let rules = ruleset.rule_count();
        let parse = best_of(5, || parse_nft(&source, json));
        let tokenize = best_of(10, || tokenize_only(&source.text));
        println!(
            "{:<28} {:>10} {:>14} {:>9.2} ms {:>9.1}x tokenize-only ({:.2} ms)",
            label,
            rules,
            "parse",
            parse.as_secs_f64() * 1e3,
            parse.as_secs_f64() / tokenize.as_secs_f64().max(1e-9),
            tokenize.as_secs_f64() * 1e3
        );
        // The same packets as the iptables-save twin's run, so the numbers compare.
        let (_, twin_path, twin_family) = TUM_RULESETS[usize::from(v6)];
        let twin = corpus_source(twin_path)
            .and_then(|s| frontends::iptables_save::parse(&s, Some(twin_family)).ok());
        let packets = varied_packets(twin.as_ref().unwrap_or(&ruleset), v6, PACKETS, 42);
        let prepared = engine::Prepared::new(&ruleset);
        let empty = Ruleset::default();
        let prepared_empty = engine::Prepared::new(&empty);
        let run = |prepared: &engine::Prepared| {
            for p in &packets {
                black_box(engine::simulate_prepared(prepared, host, p, options));
            }
        };
        let full = best_of(3, || run(&prepared));
        let baseline = best_of(3, || run(&prepared_empty));
        println!(
            "{:<28} {:>10} {:>14} {:>9.0} /s {:>9.1}x slower than empty ruleset ({:.0} /s)",
            label,
            rules,
            "simulate",
            PACKETS as f64 / full.as_secs_f64(),
            full.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
            PACKETS as f64 / baseline.as_secs_f64()
        );
        // A sanity check, not a timing: the listing must decide like its source.
        if let Some(twin) = &twin {
            let twin = engine::Prepared::new(twin);
            let fate = |p: &engine::Prepared, pkt| {
                let o = engine::simulate_prepared(p, host, pkt, options);
                o.decided_fate().map(|f| f.passed())
            };
            // Only where both decide: the listings lack the twin's few `-m recent` rules,
            // whose Unknown leaves the twin undecided.
            let (mut both, mut same) = (0, 0);
            for p in &packets {
                if let (Some(a), Some(b)) = (fate(&prepared, p), fate(&twin, p)) {
                    both += 1;
                    same += usize::from(a == b);
                }
            }
            println!(
                "{:<28} {:>10} {:>14} {:>6} of {} decided by both: same fate as the iptables-save twin",
                label, rules, "agree", same, both
            );
        }
    }
}
