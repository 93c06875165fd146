//! `cargo bench -p whyblocked-bench --bench bsd [-- PACKETS]`: packets per second through
//! pf's and IPFilter's pass (`FilterPass::pass`, one `in` pass with fresh state tables)
//! and through a BSD host's whole path (`engine::bsd::simulate`: the passes in and out,
//! the reply back through the states), each as a ratio to baselines measured in the same
//! run on the same packets:
//!
//! - the pass: against an *empty ruleset* through the same pass, so what remains is the
//!   rules' cost;
//! - the path: against the *Linux engine* (`engine::simulate_prepared`) on an iptables
//!   ruleset of as many rules, generated alike.
//!
//! Rulesets: the largest `pfN.in` of OpenBSD's pfctl regress and the largest `regress/f*`
//! of IPFilter's (read in place from `../shared/corpus`; SKIP when absent), and a
//! pf.conf, an ipf.conf and an iptables-save of 1,000 and 10,000 rules made here. The
//! generated rules are `pass` without `quick` after a `block` (last match wins: every rule
//! is read; the iptables twin accepts first and drops last) on sources no packet comes
//! from. Nothing here passes or fails on time.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use bench::{corpus_dir, Rng};
use engine::bsd::{Direction, Filter, FilterPass, Os, Platform};
use model::{Family, Host, Packet, SourceFile, L4};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// Packets per ruleset unless given on the command line.
const DEFAULT_PACKETS: usize = 20_000;
/// Sizes of the generated rulesets.
const GENERATED: [usize; 2] = [1_000, 10_000];

/// The interfaces the packets arrive on (the generated rules name `em0`; the pfctl
/// regress names `lo0` and `em0`..; IPFilter's `le0`, `ppp0`, `hme0`).
const INTERFACES: [&str; 5] = ["em0", "em0", "lo0", "le0", "hme0"];

/// The shortest of `runs` timings of `f` (the least disturbed by the other jobs).
fn fastest(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// A deterministic stream of TCP, UDP and ICMP packets from 10.0.0.0/14, 127.0.0.1 and
/// 192.0.2.0/24 sources, arriving on [`INTERFACES`].
fn packets(count: usize, seed: u64) -> Vec<Packet> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let mut octet = |n: usize| rng.below(n) as u8;
            let src = match octet(4) {
                0 => Ipv4Addr::LOCALHOST,
                1 => Ipv4Addr::new(192, 0, 2, octet(250)),
                _ => Ipv4Addr::new(10, octet(4), octet(250), octet(250)),
            };
            let dst = Ipv4Addr::new(192, 0, 2, 1 + octet(9));
            let sport = 1024 + rng.below(60_000) as u16;
            let dport = 1000 + rng.below(12_000) as u16;
            let l4 = match rng.below(6) {
                0 => L4::Udp { sport, dport },
                1 => L4::Icmp {
                    icmp_type: 8,
                    code: 0,
                    id: 1,
                },
                _ => L4::Tcp {
                    sport,
                    dport,
                    flags: model::TcpFlags::SYN,
                },
            };
            let mut p = Packet::new(IpAddr::V4(src), IpAddr::V4(dst), l4);
            p.iif = Some(INTERFACES[rng.below(INTERFACES.len())].to_string());
            p
        })
        .collect()
}

/// A generated ruleset: `head`, then `rules` rules written by `rule` (given the `i`th
/// source network, 10.4.0.0/24 onward, none of the packets' 10.0.0.0/14, and port
/// 1000 + i), then `tail`. Every rule is read for every packet on em0.
fn generated(rules: usize, head: &str, tail: &str, rule: fn(&str, usize) -> String) -> String {
    let mut text = head.to_string();
    for i in 0..rules {
        let net = format!("10.{}.{}.0/24", 4 + i / 250 % 200, i % 250);
        text.push_str(&rule(&net, 1000 + i));
    }
    text.push_str(tail);
    text
}

fn generated_pf(rules: usize) -> String {
    generated(rules, "block in on em0\n", "", |net, port| {
        format!("pass in on em0 proto tcp from {net} to any port {port}\n")
    })
}

fn generated_ipf(rules: usize) -> String {
    generated(rules, "block in on em0 all\n", "", |net, port| {
        format!("pass in on em0 proto tcp from {net} to any port = {port}\n")
    })
}

fn generated_iptables(rules: usize) -> String {
    generated(
        rules,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        "-A INPUT -i em0 -j DROP\nCOMMIT\n",
        |net, port| format!("-A INPUT -i em0 -s {net} -p tcp --dport {port} -j ACCEPT\n"),
    )
}

/// One ruleset of one filter, ready for packets.
struct Subject<'a, F: FilterPass> {
    label: String,
    rules: usize,
    filter: &'a F,
    empty: &'a F,
}

/// Times `subject` and prints its two lines; `linux`, when given, is the Linux engine's
/// time on the same packets through as many iptables rules.
fn measure<F: FilterPass>(subject: &Subject<'_, F>, linux: Option<Duration>, packets: &[Packet]) {
    let per_second = |d: Duration| packets.len() as f64 / d.as_secs_f64().max(1e-9);
    let pass_through = |filter: &F| {
        for p in packets {
            let mut state = F::State::default();
            let iif = p.iif.as_deref().unwrap_or("em0");
            black_box(filter.pass(p, Direction::In, iif, &mut state));
        }
    };
    let pass = fastest(3, || pass_through(subject.filter));
    let empty = fastest(3, || pass_through(subject.empty));
    println!(
        "{:<34} {:>7} {:>6} {:>10.0} /s {:>7.1}x slower than an empty ruleset ({:.0} /s)",
        subject.label,
        subject.rules,
        "pass",
        per_second(pass),
        pass.as_secs_f64() / empty.as_secs_f64().max(1e-9),
        per_second(empty),
    );
    let os = match subject.filter.filter() {
        Filter::Pf => Os::OpenBsd,
        Filter::Ipf => Os::FreeBsd,
    };
    let platform = Platform::new(os);
    let host = Host::default();
    let path = fastest(3, || {
        for p in packets {
            black_box(engine::bsd::simulate(subject.filter, &platform, &host, p));
        }
    });
    let mut line = format!(
        "{:<34} {:>7} {:>6} {:>10.0} /s {:>7.1}x the pass's time",
        subject.label,
        subject.rules,
        "path",
        per_second(path),
        path.as_secs_f64() / pass.as_secs_f64().max(1e-9),
    );
    if let Some(linux) = linux {
        line.push_str(&format!(
            "; {:.2}x the Linux engine's on as many iptables rules",
            path.as_secs_f64() / linux.as_secs_f64().max(1e-9)
        ));
    }
    println!("{line}");
}

/// The Linux engine's time for `packets` through `ruleset` (prepared once), printed.
fn linux_baseline(ruleset: &model::Ruleset, rules: usize, packets: &[Packet]) -> Duration {
    let prepared = engine::Prepared::new(ruleset);
    let options = engine::Options::default();
    let host = Host::default();
    let time = fastest(3, || {
        for p in packets {
            black_box(engine::simulate_prepared(&prepared, &host, p, &options));
        }
    });
    println!(
        "{:<34} {:>7} {:>6} {:>10.0} /s (the Linux engine: the baseline of the paths below)",
        "generated iptables-save",
        rules,
        "path",
        packets.len() as f64 / time.as_secs_f64().max(1e-9),
    );
    time
}

/// The largest (by rules read) of `names` that `parse` reads.
fn largest<T>(
    names: Vec<String>,
    parse: impl Fn(&str) -> Option<(T, usize)>,
) -> Option<(String, T, usize)> {
    names
        .into_iter()
        .filter_map(|name| parse(&name).map(|(t, n)| (name, t, n)))
        .max_by_key(|(name, _, n)| (*n, std::cmp::Reverse(name.clone())))
}

fn corpus_names(dir: &std::path::Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| keep(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn pf_rules(ruleset: &model::pf::Ruleset) -> usize {
    ruleset.rules().count()
}

fn run_pf(
    label: String,
    ruleset: &model::pf::Ruleset,
    linux: Option<Duration>,
    packets: &[Packet],
) {
    let empty_ruleset = model::pf::Ruleset::default();
    let filter = engine::pf::PfRules::new(ruleset, None);
    let empty = engine::pf::PfRules::new(&empty_ruleset, None);
    let rules = pf_rules(ruleset);
    measure(
        &Subject {
            label,
            rules,
            filter: &filter,
            empty: &empty,
        },
        linux,
        packets,
    );
}

fn run_ipf(
    label: String,
    rules: &model::ipf::IpfRules,
    linux: Option<Duration>,
    packets: &[Packet],
) {
    let none = model::ipf::Pools::default();
    let filter = engine::ipf::Ipf::new(rules, &none, None, Default::default());
    let empty = engine::ipf::Ipf::new(&Default::default(), &none, None, Default::default());
    let count = rules.rules.len();
    measure(
        &Subject {
            label,
            rules: count,
            filter: &filter,
            empty: &empty,
        },
        linux,
        packets,
    );
}

fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_PACKETS);
    let stream = packets(count, 42);
    println!("{count} packets per ruleset (TCP SYN, UDP, ICMP echo; 5 interfaces)");
    println!(
        "{:<34} {:>7} {:>6} {:>13}",
        "ruleset", "rules", "what", "packets"
    );
    match corpus_dir() {
        Some(corpus) => {
            let pfctl = corpus.join("openbsd-pfctl-regress");
            let env = frontends::pf::Env::openbsd_regress();
            let names = corpus_names(&pfctl, |n| n.starts_with("pf") && n.ends_with(".in"));
            let pf = largest(names, |name| {
                let text = std::fs::read_to_string(pfctl.join(name)).ok()?;
                let ruleset = frontends::pf::parse(name, &text, &env).ok()?;
                let n = pf_rules(&ruleset);
                Some((ruleset, n))
            });
            match pf {
                Some((name, ruleset, _)) => {
                    run_pf(format!("pfctl regress {name}"), &ruleset, None, &stream)
                }
                None => eprintln!("SKIP pfctl regress: no pfN.in read in {}", pfctl.display()),
            }
            let regress = corpus.join("ipfilter/test/regress");
            let names = corpus_names(&regress, |n| n.starts_with('f'));
            let options = frontends::ipf::ParseOptions::default();
            let ipf = largest(names, |name| {
                let text = std::fs::read_to_string(regress.join(name)).ok()?;
                let rules =
                    frontends::ipf::parse_ipf(&SourceFile::new(name, text), &options).ok()?;
                let n = rules.rules.len();
                Some((rules, n))
            });
            match ipf {
                Some((name, rules, _)) => {
                    run_ipf(format!("IPFilter regress {name}"), &rules, None, &stream)
                }
                None => eprintln!(
                    "SKIP IPFilter regress: no regress/f* read in {}",
                    regress.display()
                ),
            }
        }
        None => eprintln!("SKIP corpus rulesets: ../shared/corpus is absent"),
    }
    for size in GENERATED {
        let linux_text = generated_iptables(size);
        let linux = frontends::iptables_save::parse(
            &SourceFile::new("generated.rules", linux_text),
            Some(Family::Ip),
        )
        .expect("the generated iptables-save reads");
        let pf = frontends::pf::parse(
            "generated-pf.conf",
            &generated_pf(size),
            &Default::default(),
        )
        .expect("the generated pf.conf reads");
        let linux = linux_baseline(&linux, linux.rule_count(), &stream);
        run_pf("generated pf.conf".to_string(), &pf, Some(linux), &stream);
        let ipf = frontends::ipf::parse_ipf(
            &SourceFile::new("generated-ipf.conf", generated_ipf(size)),
            &Default::default(),
        )
        .expect("the generated ipf.conf reads");
        run_ipf("generated ipf.conf".to_string(), &ipf, Some(linux), &stream);
    }
}
