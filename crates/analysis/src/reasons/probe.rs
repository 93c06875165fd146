//! The engine re-run on probe copies of a ruleset, and the packet as a rule saw it.
//!
//! A probe changes only rules that did not decide anything on the original path (cut
//! short so that reaching them is recorded, or with their verdict taken away), so the
//! probe's path is the original one with extra events; what the engine records on it is
//! the answer, never a re-implementation of its matching.

use engine::{Event, Options, RouteKind, Trace};
use model::expr::NatKind;
use model::ruleset::Step;
use model::{Action, Hook, Host, Packet, RuleRef, Ruleset, Verdict};

/// One simulation's inputs, to run again on probe rulesets.
pub(super) struct Sim<'a> {
    pub ruleset: &'a Ruleset,
    pub host: &'a Host,
    pub packet: &'a Packet,
    pub options: &'a Options,
}

impl Sim<'_> {
    /// The primary trace of the packet on `probe`.
    pub fn run(&self, probe: &Ruleset) -> Trace {
        engine::simulate(probe, self.host, self.packet, self.options)
            .branches
            .swap_remove(0)
            .trace
    }
}

/// The rule `at` of `ruleset`, if the reference resolves.
pub(super) fn rule_mut(ruleset: &mut Ruleset, at: RuleRef) -> Option<&mut model::Rule> {
    ruleset
        .tables
        .get_mut(at.table)?
        .chains
        .get_mut(at.chain)?
        .rules
        .get_mut(at.rule)
}

/// Takes the rule's ending verdicts away (accept, drop, reject, queue become `continue`):
/// the rule still matches and runs its other actions, and the packet goes on.
pub(super) fn neutralise(ruleset: &mut Ruleset, at: RuleRef) {
    if let Some(rule) = rule_mut(ruleset, at) {
        for step in &mut rule.body {
            if let Step::Action(Action::Verdict(v)) = step {
                if ends_path(v) {
                    *v = Verdict::Continue;
                }
            }
        }
    }
}

/// Whether a verdict ends the base chain (as opposed to moving within the ruleset).
fn ends_path(v: &Verdict) -> bool {
    matches!(
        v,
        Verdict::Accept | Verdict::Drop | Verdict::Reject(_) | Verdict::Queue(_)
    )
}

/// Cuts the rule after its first `len` steps: the engine then records the rule as matched
/// exactly when those steps all match, and the packet goes on.
pub(super) fn cut(ruleset: &mut Ruleset, at: RuleRef, len: usize) {
    if let Some(rule) = rule_mut(ruleset, at) {
        rule.body.truncate(len);
    }
}

/// Where a rule was met on a path: the hook, which visit of a hook it was (a packet
/// looped back meets a hook twice) and the event's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Visit {
    pub rule: RuleRef,
    pub hook: Hook,
    /// How many hooks the path had entered before (the same on a probe's path).
    pub hook_visit: usize,
    pub event: usize,
}

/// Every rule event of `trace`, in path order.
pub(super) fn visits(trace: &Trace) -> Vec<Visit> {
    let mut hook_visit = 0;
    let mut out = Vec::new();
    for (event, e) in trace.events.iter().enumerate() {
        match e {
            Event::Hook(_) => hook_visit += 1,
            Event::Rule { hook, at, .. } => out.push(Visit {
                rule: *at,
                hook: *hook,
                hook_visit,
                event,
            }),
            _ => {}
        }
    }
    out
}

/// The packet as the rule at event `index` of `trace` saw it: addresses and ports after
/// the translations before it, the mark as set before it, and the devices the engine
/// gives a rule on that hook.
#[derive(Debug, Clone)]
pub(super) struct PacketAt {
    pub packet: Packet,
    pub iif: String,
    pub oif: String,
    pub hook: Hook,
    /// Whether an address translation happened before the rule.
    pub translated: bool,
}

impl PacketAt {
    pub fn of(trace: &Trace, index: usize, hook: Hook) -> PacketAt {
        let mut packet = trace.packet.clone();
        let mut route_oif = packet.oif.clone().unwrap_or_default();
        let mut translated = false;
        for e in trace.events.iter().take(index) {
            match e {
                Event::Nat { rewrite, .. } => {
                    translated = true;
                    let dst_side = match rewrite.kind {
                        NatKind::Dnat | NatKind::Redirect => true,
                        NatKind::Snat | NatKind::Masquerade => false,
                        NatKind::Netmap => matches!(rewrite.hook, Hook::Prerouting | Hook::Output),
                    };
                    let (addr, port) = rewrite.after;
                    let (sport, dport) = packet.l4.ports().unwrap_or((0, 0));
                    if dst_side {
                        packet.dst = addr;
                        packet.l4 = packet.l4.with_ports(sport, port.unwrap_or(dport));
                    } else {
                        packet.src = addr;
                        packet.l4 = packet.l4.with_ports(port.unwrap_or(sport), dport);
                    }
                }
                Event::MarkSet { new, .. } => packet.mark = *new,
                Event::Route(d) => match &d.kind {
                    RouteKind::Forward { oif, .. } | RouteKind::Output { oif, .. } => {
                        route_oif = oif.clone();
                    }
                    RouteKind::Local | RouteKind::Failed(_) => {}
                },
                _ => {}
            }
        }
        let received = packet.iif.clone().unwrap_or_default();
        let (iif, oif) = match hook {
            Hook::Ingress | Hook::Prerouting | Hook::Input => (received, String::new()),
            Hook::Forward => (received, route_oif),
            Hook::Postrouting if !received.is_empty() => (received, route_oif),
            Hook::Output | Hook::Postrouting | Hook::Egress => (String::new(), route_oif),
        };
        PacketAt {
            packet,
            iif,
            oif,
            hook,
            translated,
        }
    }

    /// The packet as it arrived, with the same devices: the key a lookup would have seen
    /// without translation.
    pub fn untranslated(&self, trace: &Trace) -> PacketAt {
        PacketAt {
            packet: Packet {
                mark: self.packet.mark,
                ..trace.packet.clone()
            },
            translated: false,
            ..self.clone()
        }
    }
}

/// The model rules of each source rule of `chain`, in order, in one pass: a front end
/// lowers one source rule into several model rules sharing its origin span (the grouping
/// of [`model::Chain::source_rule_number`], which counts from the start on every call).
pub(super) fn source_rules(chain: &model::Chain) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, rule) in chain.rules.iter().enumerate() {
        let span = rule.origin.span;
        match out.last_mut() {
            Some(last) if !span.is_empty() && chain.rules[i - 1].origin.span == span => {
                last.end = i + 1;
            }
            _ => out.push(i..i + 1),
        }
    }
    out
}
