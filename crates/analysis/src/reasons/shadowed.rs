//! The rule the admin probably expected: a later rule on the path that matches this packet
//! and would have decided otherwise, named with the earlier rule that decided first ("your
//! DROP at line 40 never sees it: line 12 accepts it first").
//!
//! Asked of the engine: the deciding rule's verdict is taken away (it still matches and
//! runs its other actions) and the packet simulated again; the next rule of the same base
//! chain traversal that ends it is the one that would have decided. When that rule decides
//! the same way, it is taken away as well and the search goes on (at most
//! [`MAX_STEPS`] times), so a DROP repeated before the expected ACCEPT does not hide it.
//!
//! For a blocked packet the deciding rule is examined; for a packet that passed, every
//! explicit accept on its path (not a `type nat` chain's, whose accept only ends the
//! translation), at most [`MAX_ACCEPTS`] of them.

use super::probe::{neutralise, Sim};
use engine::{Decider, Event, Trace, TraceVerdict};
use model::ruleset::ChainType;
use model::{Hook, RuleRef, Ruleset};

/// A later rule that would have decided the packet otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// The later rule.
    pub rule: RuleRef,
    /// What it would have done.
    pub would: VerdictClass,
    /// The earlier rule that decided first.
    pub by: RuleRef,
    /// What that one did.
    pub did: VerdictClass,
    /// The hook both are met on.
    pub hook: Hook,
    /// Whether the packet would get through with the earlier rule (and the rules deciding
    /// like it in between) gone.
    pub passes_without: bool,
}

/// What ending a base chain does, as far as "decides otherwise" goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictClass {
    /// `accept`.
    Accept,
    /// `drop`.
    Drop,
    /// `reject` (any answer).
    Reject,
    /// `queue` to userspace.
    Queue,
}

impl VerdictClass {
    fn of(v: &TraceVerdict) -> Option<VerdictClass> {
        Some(match v {
            TraceVerdict::Accept => VerdictClass::Accept,
            TraceVerdict::Drop => VerdictClass::Drop,
            TraceVerdict::Reject(_) => VerdictClass::Reject,
            TraceVerdict::Queue(_) => VerdictClass::Queue,
            _ => return None,
        })
    }
    /// Whether the packet goes on.
    fn passes(self) -> bool {
        self == VerdictClass::Accept
    }
}

/// How many rules deciding like the examined one are taken away before giving up.
pub const MAX_STEPS: usize = 8;
/// How many accepts of a passed packet are examined.
pub const MAX_ACCEPTS: usize = 8;

/// The shadowed rules of `trace`'s packet.
pub(super) fn find(sim: &Sim<'_>, trace: &Trace) -> Vec<Shadowed> {
    let deciders: Vec<(usize, RuleRef, VerdictClass, Hook)> = if trace.fate.passed() {
        trace
            .events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Event::Rule {
                    hook,
                    at,
                    verdict: TraceVerdict::Accept,
                } if !is_nat_chain(sim.ruleset, *at) => Some((i, *at, VerdictClass::Accept, *hook)),
                _ => None,
            })
            .take(MAX_ACCEPTS)
            .collect()
    } else {
        let Decider::Rule(at) = trace.decider else {
            return Vec::new();
        };
        trace
            .events
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, e)| match e {
                Event::Rule {
                    hook,
                    at: a,
                    verdict,
                } if *a == at => Some((i, at, VerdictClass::of(verdict)?, *hook)),
                _ => None,
            })
            .into_iter()
            .collect()
    };
    deciders
        .into_iter()
        .filter_map(|(event, by, did, hook)| shadowed_by(sim, event, by, did, hook))
        .collect()
}

/// The rule that would decide otherwise if `by` (met at `event` of the original trace)
/// did not decide.
fn shadowed_by(
    sim: &Sim<'_>,
    event: usize,
    by: RuleRef,
    did: VerdictClass,
    hook: Hook,
) -> Option<Shadowed> {
    let mut probe = sim.ruleset.clone();
    neutralise(&mut probe, by);
    for _ in 0..MAX_STEPS {
        let trace = sim.run(&probe);
        // The path up to `event` is the original one; after it, the same traversal goes on
        // until a rule ends it or the base chain's policy does.
        let (rule, would) = trace.events.iter().skip(event + 1).find_map(|e| match e {
            Event::Rule { at, verdict, .. } => VerdictClass::of(verdict).map(|c| Some((*at, c))),
            Event::Hook(_) | Event::Policy { .. } => Some(None),
            _ => None,
        })??;
        if would != did {
            return Some(Shadowed {
                rule,
                would,
                by,
                did,
                hook,
                passes_without: trace.fate.passed(),
            });
        }
        if would.passes() && is_nat_chain(sim.ruleset, rule) {
            return None;
        }
        neutralise(&mut probe, rule);
    }
    None
}

/// Whether the rule sits in a `type nat` base chain's traversal (its table's base chains
/// on the hook are nat chains): an accept there only ends the translation.
fn is_nat_chain(ruleset: &Ruleset, at: RuleRef) -> bool {
    ruleset.tables.get(at.table).is_some_and(|t| {
        t.chains
            .iter()
            .filter_map(|c| c.base.as_ref())
            .any(|b| b.chain_type == ChainType::Nat)
            && t.chains
                .get(at.chain)
                .and_then(|c| c.base.as_ref())
                .is_none_or(|b| b.chain_type == ChainType::Nat)
    })
}
