//! A reusable kernel lab for many rulesets: one test host (namespaces built once), each
//! ruleset loaded in turn (`nft flush ruleset`, `iptables-restore`), conntrack flushed, many
//! packets sent per load and each compared with the engine's simulation. Used by the
//! differential tester (random rulesets) and the corpus agreement run (real ones).

use super::aim::{flow_key, Topology};
use super::Generated;
use analysis::agree::{depends_on_unknown, Comparison, Verification};
use engine::Outcome;
use model::{Family, Host, Packet, Ruleset, SourceFile, L4};
use oracle::netns::{Plan, TestHost};
use oracle::{LiveError, Oracle};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

/// How one case came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Agree,
    Disagree,
    /// The engine's path met an Unknown match or an unmodelled target (not counted).
    Unknown,
    /// The engine panicked (a bug: counted as a disagreement by the callers).
    EngineFailed(String),
}

/// One (ruleset, packet) case.
#[derive(Debug, Clone)]
pub struct Case {
    pub class: Class,
    pub report: Verification,
}

/// A test host kept for many rulesets.
#[derive(Debug)]
pub struct Lab {
    pub oracle: Oracle,
    pub host: Host,
    pub topo: Topology,
}

/// An endpoint-order-free flow key: a packet and its reply give the same key.
type FlowKey = (u8, (IpAddr, u16), (IpAddr, u16));

fn norm(k: (u8, IpAddr, u16, IpAddr, u16)) -> FlowKey {
    let a = (k.1, k.2);
    let b = (k.3, k.4);
    if a <= b {
        (k.0, a, b)
    } else {
        (k.0, b, a)
    }
}

/// Splits `packets` into rounds of distinct flows: packets whose flows would meet in
/// conntrack (same tuple, or one the reply of another, before or after NAT as `finals`, the
/// engine's packets after NAT, says) go in different rounds. Returns indexes into `packets`,
/// in order; each round is meant for a fresh conntrack table.
pub fn flow_rounds(packets: &[Packet], finals: &[Option<&Packet>]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<(BTreeSet<FlowKey>, Vec<usize>)> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let mut keys = vec![norm(flow_key(p))];
        if let Some(f) = finals.get(i).copied().flatten() {
            keys.push(norm(flow_key(f)));
        }
        let slot = rounds
            .iter()
            .position(|(used, _)| keys.iter().all(|k| !used.contains(k)));
        let slot = slot.unwrap_or_else(|| {
            rounds.push((BTreeSet::new(), Vec::new()));
            rounds.len() - 1
        });
        rounds[slot].0.extend(keys);
        rounds[slot].1.push(i);
    }
    rounds.into_iter().map(|(_, idx)| idx).collect()
}

impl Lab {
    /// Builds the namespaces for `topo`.
    pub fn new(topo: Topology) -> Result<Lab, LiveError> {
        if !oracle::is_root() {
            return Err(LiveError::NotRoot);
        }
        oracle::sweep_stale()?;
        let host = topo.host();
        let th = TestHost::build(&Plan::new(&host, &[]))?;
        let oracle = Oracle::new(th)?;
        Ok(Lab { oracle, host, topo })
    }

    /// Replaces the ruleset (and empties conntrack).
    pub fn load(&mut self, files: &[(SourceFile, Family)]) -> Result<(), LiveError> {
        self.oracle.load(files)?;
        self.oracle.flush_conntrack()
    }

    /// Sends `packets` through the loaded ruleset (parsed as `ruleset`) and compares each
    /// with the engine. Packets whose flows would meet in conntrack (same tuple, or one the
    /// reply of another, before or after the engine's NAT) go in separate rounds, with
    /// conntrack emptied in between: every packet is the first of its flow.
    pub fn run(&mut self, ruleset: &Ruleset, packets: &[Packet]) -> Result<Vec<Case>, LiveError> {
        let prepared = engine::Prepared::new(ruleset);
        let opts = engine::Options::default();
        let outcomes: Vec<Result<Outcome, String>> = packets
            .iter()
            .map(|p| {
                let run = std::panic::AssertUnwindSafe(|| {
                    engine::simulate_prepared(&prepared, &self.host, p, &opts)
                });
                std::panic::catch_unwind(run).map_err(|e| {
                    e.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".into())
                })
            })
            .collect();
        let finals: Vec<Option<&Packet>> = outcomes
            .iter()
            .map(|o| o.as_ref().ok().map(|o| &o.primary().final_packet))
            .collect();
        let rounds = flow_rounds(packets, &finals);
        let mut kernel: Vec<Option<model::kernel_walk::KernelWalk>> = vec![None; packets.len()];
        for (n, idx) in rounds.iter().enumerate() {
            if n > 0 {
                self.oracle.flush_conntrack()?;
            }
            let batch: Vec<Packet> = idx.iter().map(|&i| packets[i].clone()).collect();
            let traces = self.oracle.run(ruleset, &batch)?;
            for (&i, t) in idx.iter().zip(traces) {
                kernel[i] = Some(t);
            }
        }
        let notes = self.oracle.host.notes.clone();
        Ok(packets
            .iter()
            .zip(outcomes)
            .zip(kernel)
            .map(|((p, outcome), k)| {
                let k = k.expect("every packet ran");
                let (engine, engine_error) = match outcome {
                    Ok(o) => (Some(o), None),
                    Err(e) => (None, Some(e)),
                };
                let comparison = engine
                    .as_ref()
                    .map(|o| analysis::agree::compare(ruleset, &k, o.primary()));
                let agree = comparison.as_ref().is_some_and(Comparison::agree);
                let class = match (&engine, &engine_error) {
                    (_, Some(e)) => Class::EngineFailed(e.clone()),
                    (Some(o), _) if depends_on_unknown(o) => Class::Unknown,
                    _ if agree => Class::Agree,
                    _ => Class::Disagree,
                };
                Case {
                    class,
                    report: Verification {
                        packet: p.clone(),
                        kernel: k,
                        engine,
                        engine_error,
                        comparison,
                        agree,
                        notes: notes.clone(),
                        ruleset: ruleset.clone(),
                    },
                }
            })
            .collect())
    }

    /// Loads a generated ruleset and runs one packet; `None` when the front end or the
    /// kernel refuses its text.
    pub fn run_generated<G: Generated>(&mut self, g: &G, packet: &Packet) -> Option<Case> {
        let (src, family) = g.source();
        let rs = G::parse(&src)?;
        self.load(&[(src, family)]).ok()?;
        self.run(&rs, std::slice::from_ref(packet)).ok()?.pop()
    }

    /// The one shrinker: drops tables, rules, matches and DROP policies (whatever
    /// [`Generated::shrink_candidates`] offers) while the packet still disagrees (at most
    /// `budget` kernel runs). Returns the smallest ruleset found and its case.
    /// `None` when the packet alone, on a fresh conntrack table, agrees: the disagreement
    /// depended on the other packets of its batch.
    pub fn shrink<G: Generated>(
        &mut self,
        g: &G,
        packet: &Packet,
        budget: usize,
    ) -> Option<(G, Case)> {
        let bad = |c: &Case| matches!(c.class, Class::Disagree | Class::EngineFailed(_));
        let mut best = g.clone();
        let mut best_case = self.run_generated(&best, packet)?;
        if !bad(&best_case) {
            return None;
        }
        let mut tries = 0;
        'outer: loop {
            for cand in best.shrink_candidates() {
                if tries >= budget {
                    break 'outer;
                }
                tries += 1;
                if let Some(c) = self.run_generated(&cand, packet) {
                    if bad(&c) {
                        best = cand;
                        best_case = c;
                        continue 'outer;
                    }
                }
            }
            break;
        }
        Some((best, best_case))
    }
}

/// A packet in the command-line grammar of `whyblocked` (plus what it cannot say).
pub fn packet_spec(p: &Packet) -> String {
    let ep = |a: IpAddr, port: Option<u16>| match (a, port) {
        (IpAddr::V6(a), Some(n)) => format!("[{a}]:{n}"),
        (a, Some(n)) => format!("{a}:{n}"),
        (a, None) => a.to_string(),
    };
    let ports = p.l4.ports();
    let mut s = format!(
        "{} {} {}",
        p.proto(),
        ep(p.src, ports.map(|x| x.0)),
        ep(p.dst, ports.map(|x| x.1))
    );
    if let Some(i) = &p.iif {
        let _ = write!(s, " in {i}");
    }
    if let Some(o) = &p.oif {
        let _ = write!(s, " out {o}");
    }
    match p.l4 {
        L4::Tcp { flags, .. } => {
            let letters: String = [
                (0x02, 'S'),
                (0x10, 'A'),
                (0x08, 'P'),
                (0x04, 'R'),
                (0x01, 'F'),
                (0x20, 'U'),
                (0x40, 'E'),
                (0x80, 'C'),
            ]
            .iter()
            .filter(|(b, _)| flags.0 & b != 0)
            .map(|(_, c)| *c)
            .collect();
            if letters.is_empty() {
                s.push_str(" flags none");
            } else {
                let _ = write!(s, " flags {letters}");
            }
        }
        L4::Icmp {
            icmp_type, code, ..
        }
        | L4::Icmpv6 {
            icmp_type, code, ..
        } => {
            let _ = write!(s, " type {icmp_type} code {code}");
        }
        _ => {}
    }
    if p.mark != 0 {
        let _ = write!(s, " mark {:#x}", p.mark);
    }
    if p.len != p.minimal_len() {
        let _ = write!(s, " len {}", p.len);
    }
    if p.ttl != 64 {
        let _ = write!(s, " ttl {}", p.ttl);
    }
    let mut extra = Vec::new();
    if p.tos != 0 {
        extra.push(format!("tos {:#04x}", p.tos));
    }
    if p.pkttype != model::packet::PktType::Unicast {
        extra.push(format!("pkttype {:?}", p.pkttype));
    }
    if !extra.is_empty() {
        let _ = write!(s, "   (also: {})", extra.join(", "));
    }
    s
}

/// A disagreement, printed for a human: the ruleset, the packet and both paths.
pub fn render_repro(text: &str, case: &Case) -> String {
    let r = &case.report;
    let mut s = String::new();
    let _ = writeln!(s, "---- ruleset (iptables-save) ----\n{text}");
    let _ = writeln!(s, "---- packet ----\n{}", packet_spec(&r.packet));
    let _ = writeln!(s, "---- verdict ----\n{}", report::verify::render_text(r));
    s
}
