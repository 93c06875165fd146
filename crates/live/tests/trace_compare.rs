//! `whyblocked trace --compare` on the kernel-oracle corpus (issue 5): the live tracer runs
//! in a lab router namespace with each ruleset loaded, the packets of the differential and
//! corpus tests are injected, and every traced packet's offline simulation (on the tracer's
//! own snapshot of the namespace) must agree with the kernel's walk — path and fate — unless
//! the simulation meets an Unknown.
//!
//! Rulesets: a sample of the random iptables generator's ([`testgen::generate`]), a sample
//! of `../shared/corpus` (skipped, loudly, when the corpus is absent) and a few random nft
//! rulesets ([`testgen::nft`]). The whole test stays within [`BOUND`].
//!
//! The tracer's selector matches the injected packets by their tags (`ip id` / `ip6
//! flowlabel` in a range of the run's own), its rate limit is far above what is sent, and
//! it is stopped once a sentinel packet sent after the others on each path has been traced
//! (the kernel handles veth and raw-socket sends synchronously, so by then every earlier
//! packet's events have been read). After each run no `wbtrace` table may remain.
#![allow(clippy::print_stderr)]
mod common;

use common::Seen;
use live::tracer::{self, Selector};
use model::{Family, Packet, RuleRef, Ruleset, SourceFile, L4};
use oracle::inject::Via;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testgen::aim::{self, Topology};
use testgen::corpus::{self, CORPUS};
use testgen::lab::{flow_rounds, packet_spec, Lab};
use testgen::nft as gen_nft;
use testgen::{generate, Rng};

/// The whole test's time bound.
const BOUND: Duration = Duration::from_secs(60);
/// Rulesets and packets per ruleset of each part.
const GEN_RULESETS: usize = 40;
const CORPUS_RULESETS: usize = 15;
const NFT_RULESETS: usize = 5;
const PER_RULESET: usize = 10;
/// Tags of one tracer run: `[base, base + TAG_SPAN)`.
const TAG_SPAN: u32 = 64;

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    rulesets: usize,
    injected: usize,
    traced: usize,
    compared: usize,
    agree: usize,
    unknown: usize,
    /// Locally generated packets the kernel never let into the output hook (no route: the
    /// raw socket's send fails before any hook, so there is nothing to trace).
    untraced_local: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.rulesets += o.rulesets;
        self.injected += o.injected;
        self.traced += o.traced;
        self.compared += o.compared;
        self.agree += o.agree;
        self.unknown += o.unknown;
        self.untraced_local += o.untraced_local;
    }
}

/// One ruleset to trace.
struct Item<'a> {
    label: String,
    text: String,
    files: Vec<(SourceFile, Family)>,
    ruleset: &'a Ruleset,
    packets: Vec<Packet>,
}

/// Everything wrong found (the first divergences in full, untraced packets, leftovers).
#[derive(Default)]
struct Problems {
    divergences: Vec<String>,
    /// One line per divergence.
    lines: Vec<String>,
    divergent: usize,
    other: Vec<String>,
}

fn trace_table_exists(lab: &Lab) -> bool {
    lab.oracle
        .host
        .router
        .exec("nft", &["list", "tables"], None)
        .map(|t| t.contains(live::TRACE_TABLE))
        .unwrap_or(false)
}

/// The tags' selector: `ip id` (IPv4) or `ip6 flowlabel` (IPv6) in `[base, base + span)`.
fn tag_selector(v6: bool, base: u32) -> Selector {
    let key = if v6 { "ip6 flowlabel" } else { "ip id" };
    Selector::nft(&format!("{key} {base}-{}", base + TAG_SPAN - 1)).expect("selector")
}

/// A packet sent after the others along `via`, whose trace says the others were handled:
/// UDP to the router's own address on that interface (from a peer), or from the router to
/// its first interface's peer (a connected route, so the raw socket reaches the output hook).
fn sentinel(lab: &Lab, via: &Via, v6: bool) -> Packet {
    let pick = |ns: &[ipnet::IpNet]| {
        ns.iter()
            .map(ipnet::IpNet::addr)
            .find(|a| a.is_ipv6() == v6)
    };
    let iface = match via {
        Via::Iface(n) => lab.topo.iface(n).expect("interface of the topology"),
        Via::Local => &lab.topo.ifaces[0],
    };
    let router: IpAddr = if v6 {
        IpAddr::V6(iface.v6.0)
    } else {
        IpAddr::V4(iface.v4.0)
    };
    let peer = lab
        .oracle
        .host
        .peer_of(&iface.name)
        .and_then(|p| pick(&p.addrs))
        .expect("the peer's address");
    let (src, dst) = match via {
        Via::Iface(_) => (peer, router),
        Via::Local => (router, peer),
    };
    let mut p = Packet::new(src, dst, L4::Udp { sport: 9, dport: 9 });
    p.iif = match via {
        Via::Iface(n) => Some(n.clone()),
        Via::Local => None,
    };
    p
}

/// The traced packet that is `p` as injected with `tag`.
fn traced_for<'a>(seen: &'a [Seen], p: &Packet, tag: u32) -> Option<&'a Seen> {
    seen.iter().find(|t| {
        t.headers.tag == tag
            && t.headers.src == p.src
            && t.headers.dst == p.dst
            && t.headers.proto == p.proto().number()
    })
}

/// One tracer run on the loaded ruleset: `packets` (one family, distinct flows) tagged from
/// `base`, then the sentinels; returns what the tracer emitted.
fn trace_round(lab: &Lab, packets: &[Packet], base: u32, problems: &mut Problems) -> Vec<Seen> {
    let v6 = packets[0].is_ipv6();
    let stop = Arc::new(AtomicBool::new(false));
    let o = tracer::Options {
        count: 10_000,
        timeout: Duration::from_secs(15),
        rate: 100_000,
        compare: true,
        stop: Some(Arc::clone(&stop)),
        catch_signals: false,
    };
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let ns = lab.oracle.host.router.name().to_string();
    let sel = tag_selector(v6, base);
    let h = std::thread::spawn(move || {
        tracer::run_in(
            &ns,
            sel,
            o,
            Box::new(move |p: &_, rs: &_| sink.lock().expect("sink").push(Seen::new(p, rs))),
        )
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !trace_table_exists(lab) {
        assert!(Instant::now() < deadline, "the trace table never appeared");
        if h.is_finished() {
            panic!("the tracer stopped early: {:?}", h.join());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let inj = lab.oracle.injector();
    let mut vias = BTreeSet::new();
    for (i, p) in packets.iter().enumerate() {
        inj.send(p, base + i as u32).expect("inject");
        vias.insert(Via::of(p));
    }
    let mut sentinels = Vec::new();
    for (j, via) in vias.iter().enumerate() {
        let s = sentinel(lab, via, v6);
        let tag = base + packets.len() as u32 + j as u32;
        inj.send(&s, tag).expect("inject a sentinel");
        sentinels.push((s, tag));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = {
            let seen = seen.lock().expect("sink");
            sentinels
                .iter()
                .all(|(s, tag)| traced_for(&seen, s, *tag).is_some())
        };
        if all {
            break;
        }
        if Instant::now() > deadline || h.is_finished() {
            problems.other.push(format!(
                "sentinels not all traced within 5 s ({} packets seen)",
                seen.lock().expect("sink").len()
            ));
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let summary = h.join().expect("tracer thread").expect("tracer run");
    if trace_table_exists(lab) {
        problems.other.push(format!(
            "the trace table outlived the run ({})",
            summary.stopped_by
        ));
    }
    let seen = seen.lock().expect("sink").clone();
    seen
}

/// Loads `item` in the lab (without the oracle's own trace table: the tracer brings its
/// own), traces its packets round by round and compares.
/// `Err`: the kernel refused the ruleset.
fn run_item(
    lab: &mut Lab,
    item: &Item,
    next_base: &mut u32,
    problems: &mut Problems,
) -> Result<Tally, String> {
    let mut t = Tally::default();
    lab.load(&item.files)
        .map_err(|e| format!("{}: the kernel refused the ruleset: {e}", item.label))?;
    lab.oracle
        .host
        .router
        .exec("nft", &["delete", "table", "inet", live::TRACE_TABLE], None)
        .expect("removing the oracle's trace table");
    t.rulesets = 1;
    // Distinct flows per round (as the differential tests do), and one family per round
    // (the selector names one tag field).
    let prepared = engine::Prepared::new(item.ruleset);
    let finals: Vec<Option<Packet>> = item
        .packets
        .iter()
        .map(|p| {
            let run = std::panic::AssertUnwindSafe(|| {
                engine::simulate_prepared(&prepared, &lab.host, p, &engine::Options::default())
            });
            std::panic::catch_unwind(run)
                .ok()
                .map(|o| o.primary().final_packet.clone())
        })
        .collect();
    let finals_ref: Vec<Option<&Packet>> = finals.iter().map(Option::as_ref).collect();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for v6 in [false, true] {
        let idx: Vec<usize> = (0..item.packets.len())
            .filter(|&i| item.packets[i].is_ipv6() == v6)
            .collect();
        let ps: Vec<Packet> = idx.iter().map(|&i| item.packets[i].clone()).collect();
        let fs: Vec<Option<&Packet>> = idx.iter().map(|&i| finals_ref[i]).collect();
        for r in flow_rounds(&ps, &fs) {
            rounds.push(r.into_iter().map(|j| idx[j]).collect());
        }
    }
    for (n, round) in rounds.iter().enumerate() {
        if n > 0 {
            lab.oracle.flush_conntrack().expect("conntrack flush");
        }
        let base = *next_base;
        *next_base = if base + 2 * TAG_SPAN > 0xff00 {
            0x1000
        } else {
            base + TAG_SPAN
        };
        let packets: Vec<Packet> = round.iter().map(|&i| item.packets[i].clone()).collect();
        let seen = trace_round(lab, &packets, base, problems);
        for (i, p) in packets.iter().enumerate() {
            t.injected += 1;
            let Some(tp) = traced_for(&seen, p, base + i as u32) else {
                if p.iif.is_none() {
                    t.untraced_local += 1;
                } else {
                    problems
                        .other
                        .push(format!("{}: not traced: {}", item.label, packet_spec(p)));
                }
                continue;
            };
            t.traced += 1;
            let Some(off) = &tp.offline else {
                problems
                    .other
                    .push(format!("{}: no --compare result", item.label));
                continue;
            };
            if off.unknown {
                t.unknown += 1;
                continue;
            }
            t.compared += 1;
            if tp.divergence.is_none() {
                t.agree += 1;
                continue;
            }
            problems.divergent += 1;
            problems.lines.push(format!(
                "{}: {} — {}",
                item.label,
                packet_spec(p),
                tp.divergence.as_deref().unwrap_or("")
            ));
            if problems.divergences.len() < 3 {
                problems.divergences.push(format!(
                    "{}\n---- ruleset ----\n{}\n---- packet (as injected) ----\n{}\n---- trace --compare ----\n{}\n---- side by side ----\n{}",
                    item.label,
                    item.text,
                    packet_spec(p),
                    tp.render_text(),
                    tp.side_by_side
                ));
            }
        }
    }
    Ok(t)
}

/// Packets aimed at a generated ruleset's rules, as the differential test makes them.
fn gen_packets(ruleset: &Ruleset, topo: &Topology, lab: &Lab, seed: u64) -> Vec<Packet> {
    let mut rng = Rng::new(seed ^ 0x7ace_0000_0000);
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
            aim::random_packet(topo, false, &mut rng)
        } else {
            let at = refs[(i * 7 + seed as usize) % refs.len()];
            let p = aim::aim(ruleset, at, topo, false, &mut rng);
            let free = !aim::rule_fixes_sport(ruleset, at);
            let mut p = if rng.chance(30) {
                aim::perturb(&p, topo, &mut rng)
            } else {
                p
            };
            aim::uniquify(&mut p, &mut used, free);
            p
        };
        aim::uniquify(&mut p, &mut used, false);
        packets.push(p);
    }
    unicast_when_forwarded(ruleset, lab, &mut packets);
    packets
}

/// The open engine gap the differential test also steps around: a broadcast or multicast
/// frame the router would forward is dropped by `ip_forward` before any forward hook, and
/// the engine forwards it. Such packets are sent as unicast frames.
fn unicast_when_forwarded(ruleset: &Ruleset, lab: &Lab, packets: &mut [Packet]) {
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

fn report(part: &str, t: &Tally, took: Duration) {
    eprintln!(
        "trace --compare, {part}: {} rulesets, {} packets injected, {} traced ({} local ones without a route never reach a hook), {} compared: {} agree, {} disagree; {} unknown (skipped); {:.1}s",
        t.rulesets,
        t.injected,
        t.traced,
        t.untraced_local,
        t.compared,
        t.agree,
        t.compared - t.agree,
        t.unknown,
        took.as_secs_f64()
    );
}

#[test]
fn trace_compare_agrees_on_the_kernel_oracle_corpus() {
    if !common::kernel_tests_enabled("trace_compare_agrees_on_the_kernel_oracle_corpus") {
        return;
    }
    let start = Instant::now();
    let mut problems = Problems::default();
    let mut total = Tally::default();
    let mut next_base = 0x1000u32;
    let mut cut_short: Vec<String> = Vec::new();

    // 1. Random iptables rulesets (and a few random nft ones) in the differential lab.
    let t0 = Instant::now();
    let mut lab = Lab::new(Topology::lab()).expect("test host");
    let mut part = Tally::default();
    let gen_budget = BOUND.mul_f64(0.45);
    for k in 0..GEN_RULESETS {
        if start.elapsed() > gen_budget {
            cut_short.push(format!("generated: {k} of {GEN_RULESETS} rulesets"));
            break;
        }
        let seed = 1000 + k as u64 * 37;
        let g = generate(seed);
        let text = g.to_text();
        let src = SourceFile::new(format!("seed{seed}.rules"), text.clone());
        let ruleset = frontends::iptables_save::parse(&src, Some(Family::Ip))
            .unwrap_or_else(|e| panic!("generator bug (seed {seed}): {e}\n{text}"));
        let packets = gen_packets(&ruleset, &lab.topo, &lab, seed);
        let item = Item {
            label: format!("generated seed {seed}"),
            text,
            files: vec![(src, Family::Ip)],
            ruleset: &ruleset,
            packets,
        };
        match run_item(&mut lab, &item, &mut next_base, &mut problems) {
            Ok(t) => part.add(&t),
            Err(e) => problems.other.push(format!("generator bug: {e}")),
        }
    }
    report("random iptables rulesets", &part, t0.elapsed());
    total.add(&part);

    let t0 = Instant::now();
    let mut part = Tally::default();
    let nft_budget = BOUND.mul_f64(0.55);
    for k in 0..NFT_RULESETS {
        if start.elapsed() > nft_budget {
            cut_short.push(format!("nft: {k} of {NFT_RULESETS} rulesets"));
            break;
        }
        let seed = 500 + k as u64 * 11;
        let g = gen_nft::generate(seed);
        let text = g.to_text();
        let src = SourceFile::new(format!("seed{seed}.nft"), text.clone());
        let ruleset = frontends::nft::parse_text(&src)
            .unwrap_or_else(|e| panic!("generator bug (nft seed {seed}): {e}\n{text}"));
        let mut rng = Rng::new(seed ^ 0x6e66_7400_0000);
        let packets = gen_nft::packets(&g, &ruleset, &lab.topo, PER_RULESET, &mut rng);
        let item = Item {
            label: format!("nft seed {seed}"),
            text,
            files: vec![(src, Family::Inet)],
            ruleset: &ruleset,
            packets,
        };
        match run_item(&mut lab, &item, &mut next_base, &mut problems) {
            Ok(t) => part.add(&t),
            Err(e) => problems.other.push(format!("generator bug: {e}")),
        }
    }
    report("random nft rulesets", &part, t0.elapsed());
    total.add(&part);
    let lab_ns = lab.oracle.host.router.name().to_string();
    drop(lab);

    // 2. Real rulesets of the shared corpus, each in a router shaped after it.
    let t0 = Instant::now();
    let root = Path::new(CORPUS);
    if root.is_dir() {
        let files = corpus::find_files(root);
        assert!(!files.is_empty(), "no iptables-save files in the corpus");
        let mut part = Tally::default();
        let step = (files.len() / CORPUS_RULESETS).max(1);
        let mut i = 0;
        while part.rulesets < CORPUS_RULESETS && i < files.len() {
            if start.elapsed() > BOUND.mul_f64(0.92) {
                cut_short.push(format!(
                    "corpus: {} of {CORPUS_RULESETS} rulesets",
                    part.rulesets
                ));
                break;
            }
            let f = &files[i];
            i += step;
            let short = f.strip_prefix(root).unwrap_or(f).display().to_string();
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            let Ok(prep) = corpus::prepare(&short, &text) else {
                continue;
            };
            let Ok(mut lab) = Lab::new(prep.topo.clone()) else {
                continue;
            };
            let packets = corpus::packets(&prep, PER_RULESET, 0xc0ffee);
            let item = Item {
                label: format!("corpus {short}"),
                text: prep.source.text.to_string(),
                files: vec![(prep.source.clone(), prep.family)],
                ruleset: &prep.ruleset,
                packets,
            };
            // Rulesets the kernel refuses are not part of the corpus run either.
            if let Ok(t) = run_item(&mut lab, &item, &mut next_base, &mut problems) {
                part.add(&t);
            }
        }
        report("corpus rulesets", &part, t0.elapsed());
        total.add(&part);
    } else {
        eprintln!(
            "SKIP (corpus part): corpus not found at {} (a fresh clone has no shared/)",
            root.display()
        );
    }

    let took = start.elapsed();
    report("total", &total, took);
    for c in &cut_short {
        eprintln!("time bound: {c}");
    }
    common::assert_no_namespaces_of_this_process();
    assert!(
        !oracle::netns::list_ours().contains(&lab_ns),
        "the lab namespace remained"
    );
    for o in &problems.other {
        eprintln!("PROBLEM {o}");
    }
    if let Some(first) = problems.divergences.first() {
        eprintln!("FIRST DIVERGENCE ({} in all):\n{first}", problems.divergent);
        for d in problems.divergences.iter().skip(1) {
            eprintln!("DIVERGENCE\n{d}");
        }
        for l in &problems.lines {
            eprintln!("DIVERGES {l}");
        }
    }
    assert_eq!(
        problems.divergent, 0,
        "trace --compare disagrees with the kernel (first divergence above)"
    );
    assert!(
        problems.other.is_empty(),
        "{} problem(s), see above",
        problems.other.len()
    );
    assert!(total.compared > 0, "nothing was compared");
    assert!(took <= BOUND + Duration::from_secs(5), "took {took:?}");
}
