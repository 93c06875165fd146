//! Every ruleset of OpenBSD's pfctl regression suite (`regress/sbin/pfctl`, the `pfN.in`
//! of its `PFTESTS` in `../shared/corpus/openbsd-pfctl-regress`) read by the pf front end
//! and run through pf's pass with a set of packets, in and out, on the suite's interfaces,
//! with one state table per ruleset (so replies meet the states their requests made).
//!
//! No BSD kernel is here to judge the verdicts; what is checked is what must hold for any
//! pf ruleset: no panic, a rule verdict names a rule of its file whose action is the
//! verdict's, a log line has pflog's form, a passed packet keeps its family, and across the
//! suite every kind of verdict occurs. A per-file table is printed. Without the corpus the
//! test prints SKIP and passes.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use engine::bsd::{Decider, Direction, FilterPass, PassResult, PassVerdict};
use engine::pf::{PfRules, PfState};
use frontends::pf::{parse, Env};
use model::packet::{TcpFlags, L4};
use model::pf::{Action, AnchorCall, Ruleset};
use model::{Origin, Packet};

mod pf_common;
use pf_common::packet;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/openbsd-pfctl-regress"
);

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(CORPUS);
    if dir.join("Makefile").is_file() {
        Some(dir.to_path_buf())
    } else {
        eprintln!("SKIP: {CORPUS} not found (the shared corpus is not beside the checkout)");
        None
    }
}

/// `PFTESTS` of the suite's Makefile.
fn pftests(dir: &Path) -> Vec<String> {
    let makefile = std::fs::read_to_string(dir.join("Makefile")).expect("Makefile");
    makefile
        .lines()
        .filter_map(|l| {
            l.strip_prefix("PFTESTS=")
                .or_else(|| l.strip_prefix("PFTESTS+="))
        })
        .flat_map(|l| l.split_whitespace().map(str::to_string))
        .collect()
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .or_else(|_| std::fs::read_to_string(dir.join("inferred").join(name)))
        .ok()
}

/// The suite's environment, with the include files it names.
fn regress_env(dir: &Path) -> Env {
    let mut env = Env::openbsd_regress();
    for (include, file) in [
        ("./pf95.include", "pf95.include"),
        ("pf103.include", "pf103.include"),
        ("./pf103.include", "pf103.include"),
    ] {
        if let Some(text) = read(dir, file) {
            env.files.insert(include.to_string(), text);
        }
    }
    env
}

/// The packets each ruleset sees, in order, with the interface and direction: requests
/// first, then their replies, then stray segments and errors.
fn traffic() -> Vec<(Packet, Direction, &'static str)> {
    let tcp = |sport, dport, flags| L4::Tcp {
        sport,
        dport,
        flags,
    };
    let synack = TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0);
    #[rustfmt::skip]
    let sent = [
        ("10.0.0.1", "10.0.0.2", tcp(40000, 22, TcpFlags::SYN), Direction::In),
        ("10.0.0.2", "10.0.0.1", tcp(22, 40000, synack), Direction::Out),
        ("127.0.0.1", "192.168.1.1", tcp(40001, 80, TcpFlags::SYN), Direction::Out),
        ("192.168.1.1", "127.0.0.1", tcp(80, 40001, synack), Direction::In),
        ("1.2.3.4", "10.0.0.2", tcp(40002, 2222, TcpFlags::ACK), Direction::In),
        ("10.0.0.1", "10.0.0.2", L4::Udp { sport: 40003, dport: 53 }, Direction::In),
        ("10.0.0.2", "10.0.0.1", L4::Udp { sport: 53, dport: 40003 }, Direction::Out),
        ("192.168.1.1", "10.0.0.2", L4::Icmp { icmp_type: 8, code: 0, id: 9 }, Direction::In),
        ("10.0.0.2", "192.168.1.1", L4::Icmp { icmp_type: 0, code: 0, id: 9 }, Direction::Out),
        ("10.0.0.9", "10.0.0.2", L4::Icmp { icmp_type: 3, code: 3, id: 0 }, Direction::In),
        ("::1", "fe80::1", tcp(40004, 22, TcpFlags::SYN), Direction::In),
        ("2001:db8::1", "2001:db8::2", L4::Icmpv6 { icmp_type: 128, code: 0, id: 3 }, Direction::Out),
    ];
    let mut list = Vec::new();
    for iface in ["lo0", "tun1000000", "enc0"] {
        list.extend(
            sent.iter()
                .map(|&(src, dst, l4, direction)| (packet(src, dst, l4), direction, iface)),
        );
    }
    list
}

/// The actions of the rules written at `origin` (one rule may expand into several),
/// inline anchors' bodies included.
fn actions_at<'a>(rules: &'a Ruleset, origin: &Origin, out: &mut Vec<&'a Action>) {
    for rule in rules.rules() {
        if rule.origin == *origin {
            out.push(&rule.action);
        }
        if let Action::Anchor(AnchorCall {
            body: Some(body), ..
        }) = &rule.action
        {
            actions_at(body, origin, out);
        }
    }
}

/// What must hold for one pass; the reason when it does not.
fn check(ruleset: &Ruleset, result: &PassResult, sent: &Packet) -> Result<(), String> {
    if let Decider::Rule(id) = &result.decider {
        let mut actions = Vec::new();
        actions_at(ruleset, &id.origin, &mut actions);
        if actions.is_empty() {
            return Err(format!("no rule written at line {}", id.origin.line));
        }
        let fits = |a: &&Action| match result.verdict {
            PassVerdict::Pass => matches!(a, Action::Pass),
            PassVerdict::Block { .. } => matches!(a, Action::Block(_)),
            PassVerdict::Undetermined { .. } => true,
        };
        if !actions.iter().any(fits) {
            return Err(format!("{:?} by `{}`", result.verdict, id.origin.text));
        }
    }
    for log in &result.logs {
        let well_formed = log.text.starts_with("rule ") && log.text.contains("/(match) ");
        if !well_formed {
            return Err(format!("log line `{}`", log.text));
        }
    }
    if result.verdict == PassVerdict::Pass && result.packet.src.is_ipv4() != sent.src.is_ipv4() {
        return Err("the passed packet changed family".into());
    }
    Ok(())
}

#[test]
fn regress_rulesets_run_packets_without_surprises() {
    let Some(dir) = corpus() else { return };
    let env = regress_env(&dir);
    let host = pf_common::host(&pf_common::env_interfaces(&env), None);
    let traffic = traffic();
    let (mut files, mut refused, mut passes) = (0, 0, 0);
    let (mut passed, mut blocked, mut unknown, mut by_state, mut logged) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut reasons = std::collections::BTreeMap::new();
    for n in pftests(&dir) {
        let Some(text) = read(&dir, &format!("pf{n}.in")) else {
            continue;
        };
        let ruleset = match parse("stdin", &text, &env) {
            Ok(ruleset) => ruleset,
            Err(_) => {
                refused += 1;
                continue;
            }
        };
        files += 1;
        let rules = PfRules::new(&ruleset, Some(&host));
        let mut state = PfState::default();
        let mut counts = [0usize; 3];
        for (p, direction, iface) in &traffic {
            let result = rules.pass(p, *direction, iface, &mut state);
            passes += 1;
            logged += result.logs.len();
            match result.verdict {
                PassVerdict::Pass => counts[0] += 1,
                PassVerdict::Block { .. } => counts[1] += 1,
                PassVerdict::Undetermined { .. } => counts[2] += 1,
            }
            by_state += usize::from(matches!(result.decider, Decider::State { .. }));
            if let PassVerdict::Undetermined { on } = &result.verdict {
                *reasons.entry(format!("{on:?}")).or_insert(0usize) += 1;
            }
            if let Err(why) = check(&ruleset, &result, p) {
                failures.push(format!("pf{n}: {p:?} {direction:?} {iface}: {why}"));
            }
        }
        eprintln!(
            "pf{n:<4} rules {:>3}  pass {:>2}  block {:>2}  unknown {:>2}",
            ruleset.rules().count(),
            counts[0],
            counts[1],
            counts[2]
        );
        passed += counts[0];
        blocked += counts[1];
        unknown += counts[2];
    }
    eprintln!(
        "{files} rulesets ({refused} refused by the front end), {passes} passes: {passed} pass, \
         {blocked} block, {unknown} unknown; {by_state} by state; {logged} log lines"
    );
    for (reason, count) in &reasons {
        eprintln!("unknown {count:>4}: {reason}");
    }
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} passes broke an invariant",
        failures.len()
    );
    assert!(files >= 80, "only {files} rulesets ran");
    assert!(passed > 0 && blocked > 0 && unknown > 0 && by_state > 0 && logged > 0);
}
