//! The kernel differential for fixes (issue 10): random rulesets whose blocking rule hits
//! the reply direction (`testgen::reply_blocks`). For each case the reply, with the entry
//! its request created, is what the admin asks about; every remedy proposed for it that
//! has kernel rules is applied in a fresh load of the ruleset and the whole exchange is run
//! through the kernel. A failure is: the kernel refuses a remedy's commands; the simulated
//! exchange disagrees with the kernel's; a remedy marked verified fails in the kernel; or
//! the primary remedy does not make the connection work. Baseline: with no fix, every
//! case's exchange must fail in the kernel.
//!
//! CI: 500 cases (`WB_FIX_CASES` to change; `WB_SEED` for the first seed).
#![allow(clippy::print_stderr)]
mod common;

use analysis::remedy::exchange::{self, ExchangeEnd};
use analysis::remedy::{remedies, Remedy};
use model::tool_config::ToolConfig;
use oracle::exchange as kx;
use std::time::{Duration, Instant};
use testgen::aim::Topology;
use testgen::lab::Lab;
use testgen::reply_blocks::{generate, ReplyBlock};

#[derive(Default)]
struct Counts {
    cases: usize,
    not_reply_blocks: usize,
    baseline_fails: usize,
    remedies_applied: usize,
    remedies_work: usize,
    marked_verified: usize,
    primary_works: usize,
    no_remedy: usize,
    disagreements: usize,
}

#[test]
fn every_proposed_fix_makes_the_whole_exchange_pass_in_the_kernel() {
    if !common::kernel_tests_enabled(
        "every_proposed_fix_makes_the_whole_exchange_pass_in_the_kernel",
    ) {
        return;
    }
    let target = common::env_usize("WB_FIX_CASES").unwrap_or(500);
    let first_seed = common::env_usize("WB_SEED").unwrap_or(1) as u64;
    // A bound, not a budget: 500 cases take about 4 minutes in a debug build.
    let limit = Duration::from_secs(600);
    let start = Instant::now();
    let topo = Topology::lab();
    let mut lab = Lab::new(topo.clone()).expect("test host");
    kx::silence_peers(&lab.oracle).expect("silent peers");
    let mut n = Counts::default();
    let mut failures: Vec<String> = Vec::new();
    let mut failed = 0usize;
    let mut seed = first_seed;
    while n.cases < target && start.elapsed() < limit {
        let g = generate(seed, &topo);
        seed += 1;
        if let Err(f) = one_case(&mut lab, &g, &mut n) {
            failed += 1;
            let shown = std::env::var("WB_FIX_SHOW").map_or(true, |w| f.contains(&w));
            if failures.len() < 5 && shown {
                failures.push(format!(
                    "seed {}: {f}\n---- rules ----\n{}",
                    seed - 1,
                    g.text
                ));
            }
        }
    }
    eprintln!(
        "fix differential: {} cases (seeds {first_seed}..{seed}) in {:.1}s; {} generated cases \
         were not reply blocks (skipped); baseline: {} of {} exchanges fail with no fix; \
         {} remedies with kernel rules applied, {} make the exchange work in the kernel, \
         {} marked verified; primary works in {} cases; {} cases without a remedy; \
         {failed} failures ({} disagreements of simulation and kernel)",
        n.cases,
        start.elapsed().as_secs_f64(),
        n.not_reply_blocks,
        n.baseline_fails,
        n.cases,
        n.remedies_applied,
        n.remedies_work,
        n.marked_verified,
        n.primary_works,
        n.no_remedy,
        n.disagreements
    );
    drop(lab);
    common::assert_no_namespaces_of_this_process();
    for f in &failures {
        eprintln!("FAILURE {f}");
    }
    assert_eq!(failed, 0, "{failed} failure(s), the first shown above");
    assert_eq!(
        n.baseline_fails, n.cases,
        "every case's exchange fails with no fix"
    );
    assert!(
        n.cases >= target,
        "only {} of {target} cases within {limit:?}",
        n.cases
    );
}

/// One case: the baseline, then every remedy with kernel rules. `Err` names the failure.
fn one_case(lab: &mut Lab, g: &ReplyBlock, n: &mut Counts) -> Result<(), String> {
    let rs = g.parse().map_err(|e| format!("generator bug: {e}"))?;
    let options = engine::Options::default();
    let baseline = exchange::simulate(&rs, &lab.host, &g.request, &options);
    if baseline.end != (ExchangeEnd::Stopped { step: 1 }) {
        n.not_reply_blocks += 1;
        return Ok(());
    }
    n.cases += 1;
    let load = |lab: &mut Lab| -> Result<(), String> {
        lab.load(&[g.source()])
            .map_err(|e| format!("kernel refuses the ruleset: {e}"))?;
        kx::add_endpoints(&lab.oracle).map_err(|e| e.to_string())
    };
    load(lab)?;
    let kernel = kx::run(&mut lab.oracle, &rs, &g.request).map_err(|e| e.to_string())?;
    if !kernel.works() {
        n.baseline_fails += 1;
    }
    let agreement = kx::compare(&baseline, &kernel);
    if !agreement.agree() {
        n.disagreements += 1;
        return Err(format!(
            "baseline: simulation and kernel disagree: {agreement:?}"
        ));
    }

    // The admin asks about the reply, with the entry its request created.
    let first = engine::simulate(&rs, &lab.host, &g.request, &options);
    let mut host = lab.host.clone();
    host.conntrack
        .extend(exchange::entry_after(&lab.host, first.primary()));
    let reply = baseline.steps[1].packet.clone();
    let outcome = engine::simulate(&rs, &host, &reply, &options);
    let Some(found) = remedies(
        &rs,
        &host,
        &reply,
        &outcome,
        &options,
        &ToolConfig::default(),
    ) else {
        n.no_remedy += 1;
        return Err(format!(
            "no remedy for the blocked reply {}",
            testgen::lab::packet_spec(&reply)
        ));
    };
    let mut primary_works = false;
    for (i, remedy) in found.ladder.iter().enumerate() {
        if remedy.kernel_rules.is_empty() {
            continue;
        }
        let works = run_remedy(lab, g, &rs, remedy, load).inspect_err(|e| {
            if e.contains("disagree") {
                n.disagreements += 1;
            }
        })?;
        n.remedies_applied += 1;
        n.remedies_work += usize::from(works);
        n.marked_verified += usize::from(remedy.verified());
        if i == found.primary {
            primary_works = works;
        }
    }
    if !primary_works {
        let p = found.primary();
        return Err(format!(
            "the primary remedy does not make the exchange work in the kernel: {:?} {:?}",
            p.map(|r| r.breadth),
            p.map(|r| r
                .kernel_rules
                .iter()
                .map(|k| k.command.clone())
                .collect::<Vec<_>>())
        ));
    }
    n.primary_works += 1;
    Ok(())
}

/// Loads the ruleset afresh, applies the remedy's rules, runs the exchange; whether it
/// works in the kernel. `Err` when the kernel refuses the rules, disagrees with the
/// simulation, or a remedy marked verified fails.
fn run_remedy(
    lab: &mut Lab,
    g: &ReplyBlock,
    rs: &model::Ruleset,
    remedy: &Remedy,
    load: impl Fn(&mut Lab) -> Result<(), String>,
) -> Result<bool, String> {
    let commands: Vec<&str> = remedy
        .kernel_rules
        .iter()
        .map(|r| r.command.as_str())
        .collect();
    load(lab)?;
    kx::apply(&mut lab.oracle, &remedy.kernel_rules).map_err(|e| e.to_string())?;
    let kernel = kx::run(&mut lab.oracle, rs, &g.request).map_err(|e| e.to_string())?;
    let Some(sim) = &remedy.exchange else {
        return Err(format!(
            "remedy {commands:?} has kernel rules but no simulated exchange"
        ));
    };
    let agreement = kx::compare(sim, &kernel);
    if !agreement.agree() {
        return Err(format!(
            "remedy {commands:?}: simulation and kernel disagree: {agreement:?}"
        ));
    }
    if remedy.verified() && !kernel.works() {
        return Err(format!(
            "remedy {commands:?} is marked verified but fails in the kernel"
        ));
    }
    Ok(kernel.works())
}
