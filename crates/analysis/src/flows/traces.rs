//! A kernel trace placed in the user's ruleset and compared with the simulation.
//!
//! Each traced step is placed on a model rule, in this order of trust ([`PlacedBy`]):
//! the iptables rule number (legacy `rule:3`, through [`model::Chain::rules_of_source_number`]);
//! the nft handle, through an `nft -a list ruleset` listing; the rule's text (iptables-save
//! form against each rule's original text, or nft form against the listing); and last the
//! verdict, when exactly one rule of the chain has it (or the simulation took one of those
//! that do). A step that cannot be placed says why; nothing is placed by a guess.
//!
//! The fate is read from the last steps: a drop by a rule whose target is REJECT is a reject
//! (the kernel prints both as `drop`); no drop means accepted, and the tracer has no closing
//! event for that, so the last hook seen is stated instead.
//!
//! Then the packet as first traced is simulated (later packets of a flow are given an
//! established conntrack entry, stated as an assumption) and both walks are compared: rule
//! and policy steps of the tables in the ruleset, in order, then the fate.

use engine::{Event, Fate, Options, Outcome, TraceVerdict};
use evidence::nft_listing::Listing;
use evidence::trace::{StepKind, TraceStep, TracedPacket, TracedVerdict};
use model::expr::{Action, Reject, Verdict};
use model::host::{CtEntry, CtTuple};
use model::{ChainRef, Family, Hook, Host, Packet, RuleRef, Ruleset, L4};

/// Where a step landed in the ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    Rule(RuleRef),
    /// The end of a base chain: its policy.
    Policy(ChainRef),
    /// A return from a regular chain.
    Return(ChainRef),
    /// The rule that switched tracing on (`-j TRACE`, `meta nftrace set 1`): not part of the
    /// user's rules.
    TracingRule,
    /// The table or chain is not in the given ruleset.
    NotInRuleset,
    /// The chain is, but the rule could not be told apart from others (the reason).
    Unplaced(&'static str),
}

/// How a step was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacedBy {
    RuleNumber,
    Handle,
    Text,
    /// The only rule of the chain with the traced verdict.
    Verdict,
    /// One of several rules with the traced verdict: the one the simulation took.
    Simulation,
}

/// One traced step with its place.
#[derive(Debug, Clone)]
pub struct PlacedStep {
    pub step: TraceStep,
    pub at: Placed,
    pub by: Option<PlacedBy>,
    /// The hook, from the chain's base chain (or the last base chain for a regular chain).
    pub hook: Option<Hook>,
}

/// What the trace shows happened to the packet.
#[derive(Debug, Clone, PartialEq)]
pub enum TracedFate {
    /// Dropped by a rule, or by a policy (`at` is the step index).
    Dropped {
        at: usize,
    },
    /// Printed as a drop, but the rule's target is REJECT.
    Rejected {
        at: usize,
        with: Option<Reject>,
    },
    Queued {
        at: usize,
        num: u16,
    },
    /// No drop: accepted. The tracer has no closing event; `last_hook` is where it was last
    /// seen.
    Accepted {
        last_hook: Option<Hook>,
    },
}

/// How the trace and the simulation differ.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// The walks differ from step `index` (of the compared steps) on.
    Path {
        index: usize,
        kernel: Option<Stop>,
        engine: Option<Stop>,
    },
    /// The fates differ.
    Fate { kernel: String, engine: String },
}

/// A compared step: where, and the verdict in words both sides share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub at: Placed,
    pub verdict: String,
}

/// One traced packet, placed, judged and compared.
#[derive(Debug, Clone)]
pub struct TraceAnswer {
    pub traced: TracedPacket,
    pub steps: Vec<PlacedStep>,
    pub fate: TracedFate,
    /// `None` when the headers were incomplete (see `TracedPacket::incomplete`).
    pub simulated: Option<Outcome>,
    /// The packet simulated.
    pub packet: Packet,
    pub divergences: Vec<Divergence>,
    /// Assumptions made to simulate (e.g. an established entry for a later packet).
    pub assumptions: Vec<String>,
}

/// Places, judges and compares every traced packet.
pub fn explain_traces(
    ruleset: &Ruleset,
    host: &Host,
    listing: Option<&Listing>,
    packets: &[TracedPacket],
    options: &Options,
) -> Vec<TraceAnswer> {
    let mut seen_flows: Vec<(Packet, usize)> = Vec::new();
    packets
        .iter()
        .map(|tp| {
            let mut assumptions = Vec::new();
            let mut host_here = host.clone();
            let flow_key = flow_of(&tp.packet);
            let later = seen_flows.iter().any(|(k, _)| *k == flow_key);
            if !later {
                seen_flows.push((flow_key.clone(), 0));
            }
            let first_is_syn = matches!(tp.packet.l4, L4::Tcp { flags, .. } if flags.contains(model::TcpFlags::SYN) && !flags.contains(model::TcpFlags::ACK));
            if later && !first_is_syn && host_here.conntrack.iter().all(|e| !entry_is(e, &tp.packet)) {
                host_here.conntrack.push(established(&tp.packet));
                host_here.known.conntrack = true;
                assumptions.push("a later packet of a traced flow: simulated with an established conntrack entry for it".to_string());
            }
            let simulated = tp
                .incomplete
                .is_none()
                .then(|| engine::simulate(ruleset, &host_here, &tp.packet, options));
            let steps = place_steps(ruleset, listing, tp, simulated.as_ref());
            let fate = fate_of(ruleset, &steps);
            let divergences = simulated
                .as_ref()
                .map(|o| compare(ruleset, &steps, &fate, o))
                .unwrap_or_default();
            TraceAnswer {
                traced: tp.clone(),
                steps,
                fate,
                packet: tp.packet.clone(),
                simulated,
                divergences,
                assumptions,
            }
        })
        .collect()
}

/// The flow a packet belongs to (addresses, protocol, ports), for "later packet" detection.
fn flow_of(p: &Packet) -> Packet {
    let l4 = match p.l4 {
        L4::Tcp { sport, dport, .. } => L4::Tcp {
            sport,
            dport,
            flags: model::TcpFlags(0),
        },
        other => other,
    };
    let mut k = Packet::new(p.src, p.dst, l4);
    k.iif = p.iif.clone();
    k
}

fn tuple_of(p: &Packet) -> CtTuple {
    let (sport, dport) = p.l4.ports().unwrap_or((0, 0));
    CtTuple {
        src: p.src,
        dst: p.dst,
        sport,
        dport,
    }
}

fn entry_is(e: &CtEntry, p: &Packet) -> bool {
    e.orig == tuple_of(p) && e.proto == p.proto()
}

/// An assumed ESTABLISHED entry for `p`'s flow (reply seen, not NATed).
fn established(p: &Packet) -> CtEntry {
    let orig = tuple_of(p);
    let reply = CtTuple {
        src: orig.dst,
        dst: orig.src,
        sport: orig.dport,
        dport: orig.sport,
    };
    use frontends::host::conntrack::status;
    CtEntry {
        proto: p.proto(),
        orig,
        reply,
        tcp_state: matches!(p.l4, L4::Tcp { .. }).then(|| "ESTABLISHED".to_string()),
        status: status::CONFIRMED | status::SEEN_REPLY | status::ASSURED,
        mark: 0,
        zone: 0,
        timeout: None,
        text: "(assumed from the trace: a later packet of this flow)".to_string(),
    }
}

fn hook_of_name(name: &str) -> Option<Hook> {
    Some(match name.to_ascii_lowercase().as_str() {
        "prerouting" => Hook::Prerouting,
        "input" => Hook::Input,
        "forward" => Hook::Forward,
        "output" => Hook::Output,
        "postrouting" => Hook::Postrouting,
        _ => return None,
    })
}

fn table_of(ruleset: &Ruleset, family: Family, name: &str) -> Option<usize> {
    ruleset.table(family, name)
}

/// Whether a model rule's verdict is what the tracer printed.
fn verdict_fits(ruleset: &Ruleset, at: RuleRef, traced: &TracedVerdict) -> bool {
    let rule = ruleset.rule_at(at);
    let nat = rule.actions().any(|a| matches!(a, Action::Nat(_)));
    match (rule.verdict(), traced) {
        (Some(Verdict::Accept), TracedVerdict::Accept) => true,
        (Some(Verdict::Drop | Verdict::Reject(_)), TracedVerdict::Drop) => true,
        (Some(Verdict::Jump(a)), TracedVerdict::Jump(b)) => a == b,
        (Some(Verdict::Goto(a)), TracedVerdict::Goto(b)) => a == b,
        (Some(Verdict::Return), TracedVerdict::Return) => true,
        (Some(Verdict::Queue(q)), TracedVerdict::Queue(n)) => q.num == *n,
        (Some(Verdict::Continue) | None, TracedVerdict::Continue) => !nat,
        (None, TracedVerdict::Accept) => nat,
        // Legacy lines carry no verdict.
        (_, TracedVerdict::Other(s)) => s.is_empty(),
        _ => false,
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_tracing_text(t: &str) -> bool {
    t.contains("-j TRACE") || t.contains("nftrace set 1")
}

/// Places every step of `tp` in the ruleset.
pub fn place_steps(
    ruleset: &Ruleset,
    listing: Option<&Listing>,
    tp: &TracedPacket,
    simulated: Option<&Outcome>,
) -> Vec<PlacedStep> {
    let sim_rules: Vec<RuleRef> = simulated
        .map(|o| {
            o.primary()
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Rule { at, .. } => Some(*at),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut last_hook = None;
    tp.steps
        .iter()
        .map(|s| {
            let fam = s.family;
            let text_tracing = s.rule.text.as_deref().is_some_and(is_tracing_text);
            let table = table_of(ruleset, fam, &s.table);
            let chain = table.and_then(|t| {
                ruleset.tables[t]
                    .chain(&s.chain)
                    .map(|c| ChainRef { table: t, chain: c })
            });
            let (at, by) = match chain {
                _ if text_tracing => (Placed::TracingRule, None),
                None => (Placed::NotInRuleset, None),
                Some(c) => match s.kind {
                    StepKind::Policy => (Placed::Policy(c), None),
                    StepKind::Return => (Placed::Return(c), None),
                    StepKind::Rule => place_rule(ruleset, listing, s, c, &sim_rules),
                },
            };
            let hook = chain
                .and_then(|c| ruleset.chain_at(c).base.as_ref().map(|b| b.hook))
                .or_else(|| hook_of_name(&s.chain))
                .or(if chain.is_some() { last_hook } else { None });
            if chain.is_some_and(|c| ruleset.chain_at(c).base.is_some())
                || hook_of_name(&s.chain).is_some()
            {
                last_hook = hook;
            }
            PlacedStep {
                step: s.clone(),
                at,
                by,
                hook,
            }
        })
        .collect()
}

fn place_rule(
    ruleset: &Ruleset,
    listing: Option<&Listing>,
    s: &TraceStep,
    c: ChainRef,
    sim_rules: &[RuleRef],
) -> (Placed, Option<PlacedBy>) {
    let chain = ruleset.chain_at(c);
    let rule_ref = |i: usize| RuleRef {
        table: c.table,
        chain: c.chain,
        rule: i,
    };
    let by_number = |n: usize| {
        let r = chain.rules_of_source_number(n);
        (r.start < chain.rules.len() && !r.is_empty()).then(|| rule_ref(r.start))
    };
    if let Some(n) = s.rule.number {
        return match by_number(n as usize) {
            Some(r) => (Placed::Rule(r), Some(PlacedBy::RuleNumber)),
            None => (
                Placed::Unplaced("the chain has fewer rules than the traced number"),
                None,
            ),
        };
    }
    let listed = listing.and_then(|l| l.chain(s.family, &s.table, &s.chain));
    if let (Some(h), Some(lc)) = (s.rule.handle, listed) {
        if let Some(pos) = lc.rules.iter().position(|(lh, _)| *lh == Some(h)) {
            if let Some(r) = by_number(pos + 1) {
                return (Placed::Rule(r), Some(PlacedBy::Handle));
            }
        }
    }
    if let Some(text) = &s.rule.text {
        let want = normalize(text);
        // iptables-save form against the rules' own text.
        let same: Vec<RuleRef> = (0..chain.rules.len())
            .filter(|&i| normalize(&chain.rules[i].origin.text) == want)
            .map(rule_ref)
            .collect();
        if let Some(r) = pick(&same, sim_rules) {
            return (Placed::Rule(r), Some(PlacedBy::Text));
        }
        // nft form against the listing.
        if let Some(lc) = listed {
            let positions: Vec<RuleRef> = lc
                .rules
                .iter()
                .enumerate()
                .filter(|(_, (_, t))| normalize(t) == want)
                .filter_map(|(i, _)| by_number(i + 1))
                .collect();
            if let Some(r) = pick(&positions, sim_rules) {
                return (Placed::Rule(r), Some(PlacedBy::Text));
            }
        }
    }
    let fitting: Vec<RuleRef> = (0..chain.rules.len())
        .filter(|&i| i == 0 || chain.source_rule_number(i) != chain.source_rule_number(i - 1))
        .map(rule_ref)
        .filter(|&r| verdict_fits(ruleset, r, &s.verdict))
        .collect();
    match fitting.len() {
        0 => (Placed::Unplaced("no rule of the chain has the traced verdict"), None),
        1 => (Placed::Rule(fitting[0]), Some(PlacedBy::Verdict)),
        _ => match fitting.iter().find(|r| sim_rules.contains(r)) {
            Some(r) => (Placed::Rule(*r), Some(PlacedBy::Simulation)),
            None => (
                Placed::Unplaced("several rules have the traced verdict; give `nft -a list ruleset` with --listing"),
                None,
            ),
        },
    }
}

/// One of several equal candidates: the simulation's if it took one, else the first.
fn pick(candidates: &[RuleRef], sim: &[RuleRef]) -> Option<RuleRef> {
    candidates
        .iter()
        .find(|r| sim.contains(r))
        .or(candidates.first())
        .copied()
}

/// The fate the trace shows.
pub fn fate_of(ruleset: &Ruleset, steps: &[PlacedStep]) -> TracedFate {
    for (i, s) in steps.iter().enumerate() {
        let rule = match &s.at {
            Placed::Rule(r) => Some(ruleset.rule_at(*r)),
            _ => None,
        };
        let model_verdict = rule.and_then(|r| r.verdict());
        let verdict = match (&s.step.verdict, model_verdict) {
            // Legacy: the rule's target is the verdict.
            (TracedVerdict::Other(t), Some(v)) if t.is_empty() => match v {
                Verdict::Drop => TracedVerdict::Drop,
                Verdict::Reject(_) => TracedVerdict::Drop,
                Verdict::Queue(q) => TracedVerdict::Queue(q.num),
                _ => TracedVerdict::Continue,
            },
            (TracedVerdict::Other(t), None) if t.is_empty() && s.step.kind == StepKind::Policy => {
                match s.at {
                    Placed::Policy(c) => match ruleset.chain_at(c).base.as_ref().map(|b| &b.policy)
                    {
                        Some(Verdict::Drop) => TracedVerdict::Drop,
                        _ => TracedVerdict::Accept,
                    },
                    _ => TracedVerdict::Continue,
                }
            }
            (v, _) => v.clone(),
        };
        match verdict {
            TracedVerdict::Drop => {
                let with = match model_verdict {
                    Some(Verdict::Reject(r)) => Some(Some(*r)),
                    _ if s
                        .step
                        .rule
                        .text
                        .as_deref()
                        .is_some_and(|t| t.contains("reject") || t.contains("REJECT")) =>
                    {
                        Some(None)
                    }
                    _ => None,
                };
                return match with {
                    Some(with) => TracedFate::Rejected { at: i, with },
                    None => TracedFate::Dropped { at: i },
                };
            }
            TracedVerdict::Queue(num) => return TracedFate::Queued { at: i, num },
            _ => {}
        }
    }
    TracedFate::Accepted {
        last_hook: steps.iter().rev().find_map(|s| s.hook),
    }
}

fn engine_verdict(ruleset: &Ruleset, v: &TraceVerdict) -> String {
    match v {
        TraceVerdict::Accept => "accept".into(),
        TraceVerdict::Drop | TraceVerdict::Reject(_) => "drop".into(),
        TraceVerdict::Queue(q) => format!("queue {}", q.num),
        TraceVerdict::Jump(c) => format!("jump {}", ruleset.chain_at(*c).name),
        TraceVerdict::Goto(c) => format!("goto {}", ruleset.chain_at(*c).name),
        TraceVerdict::Return => "return".into(),
        TraceVerdict::Continue => "continue".into(),
    }
}

/// The kernel's rule and policy steps in the user's tables, as comparable stops.
fn kernel_stops(ruleset: &Ruleset, steps: &[PlacedStep]) -> Vec<Stop> {
    steps
        .iter()
        .filter(|s| {
            matches!(
                s.at,
                Placed::Rule(_) | Placed::Policy(_) | Placed::Unplaced(_)
            )
        })
        .map(|s| {
            let verdict = match (&s.step.verdict, &s.at) {
                (TracedVerdict::Other(t), Placed::Rule(r)) if t.is_empty() => {
                    match ruleset.rule_at(*r).verdict() {
                        Some(Verdict::Reject(_)) | Some(Verdict::Drop) => "drop".to_string(),
                        Some(Verdict::Continue) | None => "continue".to_string(),
                        Some(v) => v.to_string(),
                    }
                }
                (TracedVerdict::Other(t), Placed::Policy(c)) if t.is_empty() => ruleset
                    .chain_at(*c)
                    .base
                    .as_ref()
                    .map(|b| b.policy.to_string())
                    .unwrap_or_default(),
                (v, _) => v.to_string(),
            };
            Stop {
                at: s.at.clone(),
                verdict,
            }
        })
        .collect()
}

fn engine_stops(ruleset: &Ruleset, outcome: &Outcome) -> Vec<Stop> {
    outcome
        .primary()
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Rule { at, verdict, .. } => Some(Stop {
                at: Placed::Rule(*at),
                verdict: engine_verdict(ruleset, verdict),
            }),
            Event::Policy { chain, verdict, .. } => Some(Stop {
                at: Placed::Policy(*chain),
                verdict: engine_verdict(ruleset, verdict),
            }),
            _ => None,
        })
        .collect()
}

/// The kernel's fate in words, for a divergence.
pub fn traced_fate_words(f: &TracedFate) -> String {
    match f {
        TracedFate::Dropped { .. } => "dropped".into(),
        TracedFate::Rejected { with: Some(r), .. } => format!("rejected with {r}"),
        TracedFate::Rejected { with: None, .. } => "rejected".into(),
        TracedFate::Queued { num, .. } => format!("queued to {num}"),
        TracedFate::Accepted { last_hook: Some(h) } => {
            format!("accepted (no closing event; last seen in {h})")
        }
        TracedFate::Accepted { last_hook: None } => "accepted (no closing event)".into(),
    }
}

fn fates_agree(k: &TracedFate, e: &Fate) -> bool {
    match (k, e) {
        (TracedFate::Dropped { .. }, Fate::Dropped) => true,
        (TracedFate::Rejected { .. }, Fate::Rejected { .. }) => true,
        (TracedFate::Queued { num, .. }, Fate::Queued { queue }) => *num == queue.num,
        (TracedFate::Accepted { .. }, f) => f.passed() || matches!(f, Fate::RoutingFailed { .. }),
        _ => false,
    }
}

fn engine_fate_words(f: &Fate) -> String {
    match f {
        Fate::Delivered { .. } => "delivered locally".into(),
        Fate::Forwarded { oif, .. } => format!("forwarded out of {oif}"),
        Fate::Sent { oif } => format!("sent out of {oif}"),
        Fate::Dropped => "dropped".into(),
        Fate::Rejected { with } => format!("rejected with {with}"),
        Fate::Queued { queue } => format!("queued to {}", queue.num),
        Fate::RoutingFailed { .. } => "lost in routing".into(),
        Fate::Undetermined { .. } => "undetermined".into(),
    }
}

fn compare(
    ruleset: &Ruleset,
    steps: &[PlacedStep],
    fate: &TracedFate,
    o: &Outcome,
) -> Vec<Divergence> {
    let k = kernel_stops(ruleset, steps);
    let e = engine_stops(ruleset, o);
    let mut out = Vec::new();
    if let Some(index) = (0..k.len().max(e.len())).find(|&i| k.get(i) != e.get(i)) {
        out.push(Divergence::Path {
            index,
            kernel: k.get(index).cloned(),
            engine: e.get(index).cloned(),
        });
    }
    let ef = &o.primary().fate;
    if !fates_agree(fate, ef) {
        out.push(Divergence::Fate {
            kernel: traced_fate_words(fate),
            engine: engine_fate_words(ef),
        });
    }
    out
}
