//! The comparer: what the kernel did against the engine's prediction.
//!
//! Both sides are reduced to the same [`Step`]s — (hook, rule or chain end or policy,
//! verdict) in the user's rule positions — then compared in order ([`first_difference`]);
//! then the fate ([`fate_matches`]), and for a netlink walk the addresses after NAT,
//! conntrack's state and the answer's own walk. A REJECT is a drop to the kernel's trace:
//! the model's rule (and the answer the kernel sent, when traced) tells the two apart.
//!
//! [`compare`] takes a netlink [`KernelWalk`] (the oracle, `trace --compare`);
//! [`compare_text_trace`] a trace read back from a tracer's text (`explain-trace`), which
//! shows less: no hooks, no chain ends, no REJECT apart from a drop.

use engine::{CtState, Event, Fate, Outcome, Trace, TraceVerdict};
use model::kernel::NfVerdict;
use model::kernel_walk::{CtSeen, KernelFate, KernelVerdict, KernelWalk, Placement, StepKind};
use model::{ChainRef, Hook, Reject, Ruleset};
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub hook: Option<Hook>,
    pub at: Placement,
    /// What the step did, in the kernel's terms (a REJECT is a drop that `rejects`);
    /// `None` when the tracer printed none and the rule could not say.
    pub verdict: Option<KernelVerdict>,
    /// The drop is a REJECT's (the model's rule says so).
    pub rejects: bool,
}

impl Step {
    fn same(&self, other: &Step) -> bool {
        let hooks = match (self.hook, other.hook) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        hooks && self.at == other.at && self.same_verdict(other)
    }

    /// Both did the same (a REJECT is not a plain drop).
    pub fn same_verdict(&self, other: &Step) -> bool {
        self.verdict == other.verdict && self.rejects == other.rejects
    }
}

/// The kernel's steps.
pub fn kernel_steps(k: &KernelWalk) -> Vec<Step> {
    k.steps
        .iter()
        .map(|s| {
            let rejects = s.verdict.code == NfVerdict::Drop && s.rejects.is_some();
            let verdict = match s.verdict.code {
                // The end of a regular chain carries the "continue" of the caller; it is a
                // return.
                _ if s.event.kind == StepKind::Return => KernelVerdict::of(NfVerdict::Return),
                NfVerdict::Break => KernelVerdict::of(NfVerdict::Continue),
                _ => s.verdict.clone(),
            };
            Step {
                hook: s.hook,
                at: s.at.clone(),
                verdict: Some(verdict),
                rejects,
            }
        })
        .collect()
}

/// The engine's verdict in the kernel's terms, and whether it is a REJECT.
fn engine_verdict(ruleset: &Ruleset, v: &TraceVerdict) -> (KernelVerdict, bool) {
    let to = |code, c: &ChainRef| KernelVerdict {
        code,
        chain: Some(ruleset.chain_at(*c).name.clone()),
        queue: 0,
    };
    let v = match v {
        TraceVerdict::Accept => KernelVerdict::of(NfVerdict::Accept),
        TraceVerdict::Drop => KernelVerdict::of(NfVerdict::Drop),
        TraceVerdict::Reject(_) => return (KernelVerdict::of(NfVerdict::Drop), true),
        TraceVerdict::Queue(q) => KernelVerdict {
            queue: q.num,
            ..KernelVerdict::of(NfVerdict::Queue)
        },
        TraceVerdict::Jump(c) => to(NfVerdict::Jump, c),
        TraceVerdict::Goto(c) => to(NfVerdict::Goto, c),
        TraceVerdict::Return => KernelVerdict::of(NfVerdict::Return),
        TraceVerdict::Continue => KernelVerdict::of(NfVerdict::Continue),
    };
    (v, false)
}

/// What a tracer shows of a walk; the engine's walk is cut to the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shows {
    /// The hook of each step.
    pub hooks: bool,
    /// The end of a regular chain (its implicit return).
    pub chain_ends: bool,
    /// A REJECT apart from a drop (from the model's rule).
    pub rejects: bool,
}

impl Shows {
    /// The netlink trace, read by the oracle and the live tracer.
    pub const NFTRACE: Shows = Shows {
        hooks: true,
        chain_ends: true,
        rejects: true,
    };
    /// A tracer's text read back (`iptables -j TRACE`, `xtables-monitor`, `nft monitor`).
    pub const TRACE_TEXT: Shows = Shows {
        hooks: false,
        chain_ends: false,
        rejects: false,
    };
}

/// The engine's steps (rule, policy and, when the tracer shows them, chain-end events).
pub fn engine_steps(ruleset: &Ruleset, t: &Trace, shows: Shows) -> Vec<Step> {
    let step = |hook: Hook, at: Placement, (verdict, rejects): (KernelVerdict, bool)| Step {
        hook: shows.hooks.then_some(hook),
        at,
        verdict: Some(verdict),
        rejects: rejects && shows.rejects,
    };
    t.events
        .iter()
        .filter_map(|e| match e {
            Event::Rule { hook, at, verdict } => Some(step(
                *hook,
                Placement::Rule(*at),
                engine_verdict(ruleset, verdict),
            )),
            Event::Policy {
                hook,
                chain,
                verdict,
            } => Some(step(
                *hook,
                Placement::Policy(*chain),
                engine_verdict(ruleset, verdict),
            )),
            Event::ChainEnd { hook, chain } if shows.chain_ends => Some(step(
                *hook,
                Placement::ChainEnd(*chain),
                (KernelVerdict::of(NfVerdict::Return), false),
            )),
            _ => None,
        })
        .collect()
}

/// The first step where the walks differ (`same` says which steps are the same).
pub fn first_difference(
    kernel: &[Step],
    engine: &[Step],
    same: impl Fn(&Step, &Step) -> bool,
) -> Option<Divergence> {
    let index =
        (0..kernel.len().max(engine.len())).find(|&i| match (kernel.get(i), engine.get(i)) {
            (Some(a), Some(b)) => !same(a, b),
            _ => true,
        })?;
    Some(Divergence::Path {
        index,
        kernel: kernel.get(index).cloned(),
        engine: engine.get(index).cloned(),
    })
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
        kernel: KernelFate,
        engine: Fate,
    },
    /// Addresses/ports after NAT.
    Nat {
        kernel: Endpoints,
        engine: Endpoints,
    },
    Conntrack {
        kernel: CtState,
        engine: CtState,
    },
    /// Whether the RST/ICMP answer got out of the host (OUTPUT/POSTROUTING may stop it).
    Answer {
        kernel_stopped: bool,
        engine_stopped: bool,
    },
}

/// A packet's addresses and ports (after NAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ports: Option<(u16, u16)>,
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
}

/// The engine's name for the conntrack state the kernel traced.
pub fn ct_state(s: CtSeen) -> CtState {
    match s {
        CtSeen::New => CtState::New,
        CtSeen::Established => CtState::Established,
        CtSeen::Related => CtState::Related,
        CtSeen::Invalid => CtState::Invalid,
        CtSeen::Untracked => CtState::Untracked,
    }
}

/// Compares a trace read back from a tracer's text (its steps placed, its fate read) with
/// the engine's outcome: the path in the steps the tracer shows, then the fate.
pub fn compare_text_trace(
    ruleset: &Ruleset,
    kernel: &[Step],
    fate: &KernelFate,
    engine: &Outcome,
    v6: bool,
) -> Vec<Divergence> {
    let es = engine_steps(ruleset, engine.primary(), Shows::TRACE_TEXT);
    let mut out: Vec<Divergence> = first_difference(kernel, &es, |a, b| a == b)
        .into_iter()
        .collect();
    let ef = &engine.primary().fate;
    if !fate_matches(fate, ef, v6) {
        out.push(Divergence::Fate {
            kernel: fate.clone(),
            engine: ef.clone(),
        });
    }
    out
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

/// Whether the kernel's fate is the engine's (a REJECT compared by what it sends).
pub fn fate_matches(k: &KernelFate, e: &Fate, v6: bool) -> bool {
    match (k, e) {
        (KernelFate::Delivered, Fate::Delivered { .. }) => true,
        (KernelFate::Forwarded { oif: a }, Fate::Forwarded { oif: b, .. }) => a == b,
        (KernelFate::Sent { oif: a }, Fate::Sent { oif: b }) => a == b,
        (KernelFate::Dropped { .. }, Fate::Dropped) => true,
        (KernelFate::Rejected { with: None, .. }, Fate::Rejected { .. }) => true,
        (KernelFate::Rejected { with: Some(a), .. }, Fate::Rejected { with: b }) => {
            reject_on_wire(*a, v6) == reject_on_wire(*b, v6)
        }
        (KernelFate::Queued { num, .. }, Fate::Queued { queue }) => *num == queue.num,
        // A tracer without end-of-hook observation: no drop means it got through or was
        // lost in routing after the last traced hook.
        (KernelFate::Accepted { .. }, f) => f.passed() || matches!(f, Fate::RoutingFailed { .. }),
        (KernelFate::Vanished { .. }, Fate::RoutingFailed { .. }) => true,
        _ => false,
    }
}

/// Compares one packet's kernel walk with the engine's trace of it.
pub fn compare(ruleset: &Ruleset, kernel: &KernelWalk, engine: &Trace) -> Comparison {
    let ks = kernel_steps(kernel);
    let mut es = engine_steps(ruleset, engine, Shows::NFTRACE);
    // Built-in chains the file never declared: the front end creates them (as
    // iptables-legacy has every built-in chain), iptables-nft creates only those a file
    // names, so the kernel has no such chain to trace. An empty one with policy accept
    // changes nothing; its policy step is left out of the comparison.
    es.retain(|s| match (&s.at, &s.verdict) {
        (Placement::Policy(c), Some(v)) if v.code == NfVerdict::Accept && !s.rejects => {
            let chain = ruleset.chain_at(*c);
            !(chain.rules.is_empty() && chain.origin.line == 0 && chain.origin.span.is_empty())
        }
        _ => true,
    });
    let mut divergences = Vec::new();
    // Rules of one source rule are one rule to the user (the front end may split a rule
    // the kernel keeps whole, see `place::kernel_positions`).
    let same = |a: &Step, b: &Step| match (&a.at, &b.at) {
        (Placement::Rule(x), Placement::Rule(y)) if x != y && x.chain_ref() == y.chain_ref() => {
            let (rx, ry) = (ruleset.rule_at(*x), ruleset.rule_at(*y));
            !rx.origin.span.is_empty()
                && rx.origin.span == ry.origin.span
                && a.same_verdict(b)
                && (a.hook.is_none() || b.hook.is_none() || a.hook == b.hook)
        }
        _ => a.same(b),
    };
    divergences.extend(first_difference(&ks, &es, same));
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
            kernel: kernel.fate.clone(),
            engine: engine.fate.clone(),
        });
    }
    if engine.fate.passed() {
        if let Some(h) = &kernel.final_headers {
            let p = &engine.final_packet;
            let kp = h.ports;
            let ep = p.l4.ports();
            if h.src != p.src || h.dst != p.dst || (kp.is_some() && ep.is_some() && kp != ep) {
                divergences.push(Divergence::Nat {
                    kernel: Endpoints {
                        src: h.src,
                        dst: h.dst,
                        ports: kp,
                    },
                    engine: Endpoints {
                        src: p.src,
                        dst: p.dst,
                        ports: ep,
                    },
                });
            }
        }
    }
    if let (Some(k), Some(e)) = (kernel.ct_state.map(ct_state), engine.conntrack.state) {
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
