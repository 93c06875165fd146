//! The kernel's walk against the engine's prediction.
//!
//! Both sides are reduced to the same [`Step`]s — (hook, rule or chain end or policy,
//! verdict) in the user's rule positions — then compared in order; then the fate, the
//! addresses after NAT, and conntrack's state. A REJECT is a drop to the kernel's trace: the
//! model's rule (and the answer the kernel sent, when traced) tells the two apart.

use crate::kernel::{KernelFate, KernelTrace};
use crate::nftrace::{KernelVerdict, TraceType};
use engine::{Event, Fate, Trace, TraceVerdict};
use model::{ChainRef, Hook, Reject, RuleRef, Ruleset};
use std::fmt;

/// Where a step happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepAt {
    Rule(RuleRef),
    /// The end of a base chain: its policy.
    Policy(ChainRef),
    /// The end of a regular chain.
    ChainEnd(ChainRef),
    /// A kernel event the mapping could not place in the user's ruleset.
    Unmapped {
        table: String,
        chain: String,
        handle: Option<u64>,
    },
}

/// What a step did, in terms both sides share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepVerdict {
    Accept,
    Drop,
    Reject,
    Queue(u16),
    Jump(String),
    Goto(String),
    Return,
    Continue,
    Other(String),
}

impl fmt::Display for StepVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepVerdict::Accept => f.write_str("accept"),
            StepVerdict::Drop => f.write_str("drop"),
            StepVerdict::Reject => f.write_str("reject"),
            StepVerdict::Queue(n) => write!(f, "queue {n}"),
            StepVerdict::Jump(c) => write!(f, "jump {c}"),
            StepVerdict::Goto(c) => write!(f, "goto {c}"),
            StepVerdict::Return => f.write_str("return"),
            StepVerdict::Continue => f.write_str("continue"),
            StepVerdict::Other(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub hook: Option<Hook>,
    pub at: StepAt,
    pub verdict: StepVerdict,
}

impl Step {
    fn same(&self, other: &Step) -> bool {
        let hooks = match (self.hook, other.hook) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        hooks && self.at == other.at && self.verdict == other.verdict
    }

    /// `input  filter INPUT #3 (rules.v4:12) -> drop`
    pub fn render(&self, ruleset: &Ruleset) -> String {
        let hook = self
            .hook
            .map(|h| h.to_string())
            .unwrap_or_else(|| "?".into());
        let chain = |c: ChainRef| {
            let t = &ruleset.tables[c.table];
            format!("{} {} {}", t.family, t.name, t.chains[c.chain].name)
        };
        let at = match &self.at {
            StepAt::Rule(r) => {
                let o = &ruleset.rule_at(*r).origin;
                let place = if o.line > 0 {
                    format!(" ({}:{})", o.file, o.line)
                } else {
                    String::new()
                };
                format!("{} #{}{place}", chain(r.chain_ref()), r.rule + 1)
            }
            StepAt::Policy(c) => format!("{} policy", chain(*c)),
            StepAt::ChainEnd(c) => format!("{} end", chain(*c)),
            StepAt::Unmapped {
                table,
                chain,
                handle,
            } => {
                format!(
                    "{table} {chain} handle {} (not in the given ruleset)",
                    handle.unwrap_or(0)
                )
            }
        };
        format!("{hook:<11} {at} -> {}", self.verdict)
    }
}

/// The kernel's steps.
pub fn kernel_steps(k: &KernelTrace) -> Vec<Step> {
    k.steps
        .iter()
        .map(|s| {
            let unmapped = || StepAt::Unmapped {
                table: s.table.clone(),
                chain: s.chain.clone(),
                handle: s.handle,
            };
            let at = match (s.kind, s.rule, s.chain_ref) {
                (TraceType::Rule, Some(r), _) => StepAt::Rule(r),
                (TraceType::Policy, _, Some(c)) => StepAt::Policy(c),
                (TraceType::Return, _, Some(c)) => StepAt::ChainEnd(c),
                _ => unmapped(),
            };
            let verdict = match (&s.verdict, s.rejects) {
                (KernelVerdict::Drop, Some(_)) => StepVerdict::Reject,
                (KernelVerdict::Drop, None) => StepVerdict::Drop,
                (KernelVerdict::Accept, _) => StepVerdict::Accept,
                (KernelVerdict::Queue(n), _) => StepVerdict::Queue(*n),
                (KernelVerdict::Jump(c), _) => StepVerdict::Jump(c.clone()),
                (KernelVerdict::Goto(c), _) => StepVerdict::Goto(c.clone()),
                (KernelVerdict::Return, _) => StepVerdict::Return,
                (KernelVerdict::Continue | KernelVerdict::Break, _) => StepVerdict::Continue,
                (v, _) => StepVerdict::Other(v.to_string()),
            };
            // The end of a regular chain carries the "continue" of the caller; it is a return.
            let verdict = if s.kind == TraceType::Return {
                StepVerdict::Return
            } else {
                verdict
            };
            Step {
                hook: s.hook,
                at,
                verdict,
            }
        })
        .collect()
}

fn engine_verdict(ruleset: &Ruleset, v: &TraceVerdict) -> StepVerdict {
    let name = |c: &ChainRef| ruleset.chain_at(*c).name.clone();
    match v {
        TraceVerdict::Accept => StepVerdict::Accept,
        TraceVerdict::Drop => StepVerdict::Drop,
        TraceVerdict::Reject(_) => StepVerdict::Reject,
        TraceVerdict::Queue(q) => StepVerdict::Queue(q.num),
        TraceVerdict::Jump(c) => StepVerdict::Jump(name(c)),
        TraceVerdict::Goto(c) => StepVerdict::Goto(name(c)),
        TraceVerdict::Return => StepVerdict::Return,
        TraceVerdict::Continue => StepVerdict::Continue,
    }
}

/// The engine's steps (rule, policy and chain-end events).
pub fn engine_steps(ruleset: &Ruleset, t: &Trace) -> Vec<Step> {
    t.events
        .iter()
        .filter_map(|e| match e {
            Event::Rule { hook, at, verdict } => Some(Step {
                hook: Some(*hook),
                at: StepAt::Rule(*at),
                verdict: engine_verdict(ruleset, verdict),
            }),
            Event::Policy {
                hook,
                chain,
                verdict,
            } => Some(Step {
                hook: Some(*hook),
                at: StepAt::Policy(*chain),
                verdict: engine_verdict(ruleset, verdict),
            }),
            Event::ChainEnd { hook, chain } => Some(Step {
                hook: Some(*hook),
                at: StepAt::ChainEnd(*chain),
                verdict: StepVerdict::Return,
            }),
            _ => None,
        })
        .collect()
}

/// How the kernel and the engine differ.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// The walks differ from step `index` on (a missing step is `None`).
    Path {
        index: usize,
        kernel: Option<Step>,
        engine: Option<Step>,
    },
    Fate {
        kernel: String,
        engine: String,
    },
    /// Addresses/ports after NAT.
    Nat {
        kernel: String,
        engine: String,
    },
    Conntrack {
        kernel: engine::CtState,
        engine: engine::CtState,
    },
    /// Whether the RST/ICMP answer got out of the host (OUTPUT/POSTROUTING may stop it).
    Answer {
        kernel_stopped: bool,
        engine_stopped: bool,
    },
}

impl Divergence {
    pub fn render(&self, ruleset: &Ruleset) -> String {
        let side = |s: &Option<Step>| {
            s.as_ref()
                .map_or("(nothing)".to_string(), |s| s.render(ruleset))
        };
        match self {
            Divergence::Path {
                index,
                kernel,
                engine,
            } => {
                format!(
                    "step {}: kernel {} | engine {}",
                    index + 1,
                    side(kernel),
                    side(engine)
                )
            }
            Divergence::Fate { kernel, engine } => {
                format!("fate: kernel {kernel} | engine {engine}")
            }
            Divergence::Nat { kernel, engine } => {
                format!("after NAT: kernel {kernel} | engine {engine}")
            }
            Divergence::Conntrack { kernel, engine } => {
                format!("conntrack: kernel {kernel:?} | engine {engine:?}")
            }
            Divergence::Answer {
                kernel_stopped,
                engine_stopped,
            } => {
                let said = |stopped: &bool| {
                    if *stopped {
                        "stopped on its way out"
                    } else {
                        "got out"
                    }
                };
                format!(
                    "the answer: kernel {} | engine {}",
                    said(kernel_stopped),
                    said(engine_stopped)
                )
            }
        }
    }
}

/// The result of comparing one packet.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub kernel: Vec<Step>,
    pub engine: Vec<Step>,
    /// Empty when they agree; the path divergence (if any) first.
    pub divergences: Vec<Divergence>,
}

impl Comparison {
    pub fn agree(&self) -> bool {
        self.divergences.is_empty()
    }
    pub fn first(&self) -> Option<&Divergence> {
        self.divergences.first()
    }

    /// Both walks side by side, the first differing step marked `>>`.
    pub fn side_by_side(&self, ruleset: &Ruleset) -> String {
        let k: Vec<String> = self.kernel.iter().map(|s| s.render(ruleset)).collect();
        let e: Vec<String> = self.engine.iter().map(|s| s.render(ruleset)).collect();
        let width = k
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let first = match self.first() {
            Some(Divergence::Path { index, .. }) => Some(*index),
            _ => None,
        };
        let mut out = format!("   {:<width$} | engine\n", "kernel");
        for i in 0..k.len().max(e.len()) {
            let mark = if Some(i) == first { ">>" } else { "  " };
            let l = k.get(i).map_or("", String::as_str);
            let r = e.get(i).map_or("", String::as_str);
            out.push_str(&format!("{mark} {l:<width$} | {r}\n"));
        }
        out
    }
}

/// The wire form of a REJECT: what ICMP type/code (or RST) the kernel sends for it.
pub fn reject_on_wire(r: Reject, v6: bool) -> Reject {
    match (r, v6) {
        (Reject::Icmpx(c), false) => Reject::Icmp(match c {
            0 => 0,
            1 => 3,
            2 => 1,
            3 => 13,
            c => c,
        }),
        (Reject::Icmpx(c), true) => Reject::Icmpv6(match c {
            0 => 0,
            1 => 4,
            2 => 3,
            3 => 1,
            c => c,
        }),
        (r, _) => r,
    }
}

fn fate_matches(k: &KernelFate, e: &Fate, v6: bool) -> bool {
    match (k, e) {
        (KernelFate::Delivered, Fate::Delivered { .. }) => true,
        (KernelFate::Forwarded { oif: a }, Fate::Forwarded { oif: b, .. }) => a == b,
        (KernelFate::Sent { oif: a }, Fate::Sent { oif: b }) => a == b,
        (KernelFate::Dropped { .. }, Fate::Dropped) => true,
        (KernelFate::Rejected { with: None, .. }, Fate::Rejected { .. }) => true,
        (KernelFate::Rejected { with: Some(a), .. }, Fate::Rejected { with: b }) => {
            reject_on_wire(*a, v6) == reject_on_wire(*b, v6)
        }
        (KernelFate::Queued { num }, Fate::Queued { queue }) => *num == queue.num,
        (KernelFate::Vanished { .. }, Fate::RoutingFailed { .. }) => true,
        _ => false,
    }
}

/// The engine's fate in a few words.
pub fn fate_text(f: &Fate) -> String {
    match f {
        Fate::Delivered { .. } => "delivered locally".into(),
        Fate::Forwarded { oif, .. } => format!("forwarded out of {oif}"),
        Fate::Sent { oif } => format!("sent out of {oif}"),
        Fate::Dropped => "dropped".into(),
        Fate::Rejected { with } => format!("rejected with {with}"),
        Fate::Queued { queue } => format!("queued to {}", queue.num),
        Fate::RoutingFailed { reason } => format!("lost in routing ({reason:?})"),
        other => format!("{other:?}"),
    }
}

/// Compares one packet's kernel walk with the engine's trace of it.
pub fn compare(ruleset: &Ruleset, kernel: &KernelTrace, engine: &Trace) -> Comparison {
    let ks = kernel_steps(kernel);
    let mut es = engine_steps(ruleset, engine);
    // Built-in chains the file never declared: the front end creates them (as
    // iptables-legacy has every built-in chain), iptables-nft creates only those a file
    // names, so the kernel has no such chain to trace. An empty one with policy accept
    // changes nothing; its policy step is left out of the comparison.
    es.retain(|s| match (&s.at, &s.verdict) {
        (StepAt::Policy(c), StepVerdict::Accept) => {
            let chain = ruleset.chain_at(*c);
            !(chain.rules.is_empty() && chain.origin.line == 0 && chain.origin.span.is_empty())
        }
        _ => true,
    });
    let mut divergences = Vec::new();
    let n = ks.len().max(es.len());
    // Rules of one source rule are one rule to the user (the front end may split a rule
    // the kernel keeps whole, see `mapping::kernel_positions`).
    let same = |a: &Step, b: &Step| match (&a.at, &b.at) {
        (StepAt::Rule(x), StepAt::Rule(y)) if x != y && x.chain_ref() == y.chain_ref() => {
            let (rx, ry) = (ruleset.rule_at(*x), ruleset.rule_at(*y));
            !rx.origin.span.is_empty()
                && rx.origin.span == ry.origin.span
                && a.verdict == b.verdict
                && (a.hook.is_none() || b.hook.is_none() || a.hook == b.hook)
        }
        _ => a.same(b),
    };
    if let Some(index) = (0..n).find(|&i| match (ks.get(i), es.get(i)) {
        (Some(a), Some(b)) => !same(a, b),
        _ => true,
    }) {
        divergences.push(Divergence::Path {
            index,
            kernel: ks.get(index).cloned(),
            engine: es.get(index).cloned(),
        });
    }
    // The answer (RST/ICMP) the engine predicts either gets out or is stopped by OUTPUT or
    // POSTROUTING; the kernel's own walk of it says which, when it was traced apart.
    let stopped_by = engine.warnings.iter().find_map(|w| match w {
        engine::Warning::AnswerStopped { by } => Some(by),
        _ => None,
    });
    let engine_stopped = stopped_by.is_some();
    let undecided = engine
        .warnings
        .iter()
        .any(|w| matches!(w, engine::Warning::AnswerUncertain));
    // An answer stopped by a REJECT makes a second answer, traced before the rule event that
    // made it and under an entangled trace id: the oracle cannot yet tell the first
    // answer's drop apart from the second's walk, so that shape is not compared (the
    // kernel drops it: `reject_tg` returns NF_DROP once `ip_local_out` reached OUTPUT).
    let nested_reject = matches!(stopped_by, Some(engine::Decider::Rule(at))
        if matches!(ruleset.rule_at(*at).verdict(), Some(model::Verdict::Reject(_))));
    let engine_answers = engine_stopped
        || engine
            .sender_sees
            .response
            .as_ref()
            .is_some_and(|r| !matches!(r.kind, engine::ResponseKind::SynAck));
    // Only for received packets: a locally generated packet's answer loops back through
    // `lo` to the local socket, a walk the engine does not model.
    let received = kernel.packet.iif.is_some();
    if let (true, true, false, false, Some(kernel_stopped)) = (
        received,
        engine_answers,
        nested_reject,
        undecided,
        kernel.answer_stopped,
    ) {
        if kernel_stopped != engine_stopped {
            divergences.push(Divergence::Answer {
                kernel_stopped,
                engine_stopped,
            });
        }
    }
    let v6 = kernel.packet.is_ipv6();
    if !fate_matches(&kernel.fate, &engine.fate, v6) {
        divergences.push(Divergence::Fate {
            kernel: kernel.fate.to_string(),
            engine: fate_text(&engine.fate),
        });
    }
    if engine.fate.passed() {
        if let Some(h) = &kernel.final_headers {
            let p = &engine.final_packet;
            let kp = h.ports;
            let ep = p.l4.ports();
            if h.src != p.src || h.dst != p.dst || (kp.is_some() && ep.is_some() && kp != ep) {
                let fmt = |s: std::net::IpAddr, d: std::net::IpAddr, ports: Option<(u16, u16)>| {
                    match ports {
                        Some((a, b)) => format!("{s}:{a} -> {d}:{b}"),
                        None => format!("{s} -> {d}"),
                    }
                };
                divergences.push(Divergence::Nat {
                    kernel: fmt(h.src, h.dst, kp),
                    engine: fmt(p.src, p.dst, ep),
                });
            }
        }
    }
    if let (Some(k), Some(e)) = (kernel.ct_state, engine.conntrack.state) {
        if k != e {
            divergences.push(Divergence::Conntrack {
                kernel: k,
                engine: e,
            });
        }
    }
    Comparison {
        kernel: ks,
        engine: es,
        divergences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmpx_maps_to_family_codes() {
        assert_eq!(reject_on_wire(Reject::Icmpx(3), false), Reject::Icmp(13));
        assert_eq!(reject_on_wire(Reject::Icmpx(3), true), Reject::Icmpv6(1));
        assert_eq!(reject_on_wire(Reject::Icmpx(1), true), Reject::Icmpv6(4));
        assert_eq!(reject_on_wire(Reject::TcpReset, true), Reject::TcpReset);
    }
}
