//! Identical rules repeated in a chain the packet went through: the same matches and
//! actions written twice (a script that adds its rule on every run). Rules are compared
//! as their source rules (an iptables rule the front end lowered into several model rules
//! is one), by what they do, not by their comments or counters.

use super::probe::source_rules;
use engine::{Event, Trace, TraceVerdict};
use model::{Chain, ChainRef, RuleRef, Ruleset};
use std::collections::HashSet;

/// Rules of one chain that are the same rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    /// The chain holding them.
    pub chain: ChainRef,
    /// The copies, in chain order (two or more).
    pub rules: Vec<RepeatedRule>,
}

/// One copy of a repeated rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedRule {
    /// Its first model rule.
    pub at: RuleRef,
    /// Its number as the user's listing counts it.
    pub number: usize,
    /// Whether it matched the packet on the path.
    pub matched: bool,
}

/// The repeated rules of the chains `trace` went through, in path order of the chains.
pub(super) fn find(ruleset: &Ruleset, trace: &Trace) -> Vec<Repeat> {
    let mut chains: Vec<ChainRef> = Vec::new();
    let mut matched: HashSet<RuleRef> = HashSet::new();
    for e in &trace.events {
        let entered = match e {
            Event::Rule { at, verdict, .. } => {
                matched.insert(*at);
                match verdict {
                    TraceVerdict::Jump(to) | TraceVerdict::Goto(to) => vec![at.chain_ref(), *to],
                    _ => vec![at.chain_ref()],
                }
            }
            Event::ChainEnd { chain, .. } | Event::Policy { chain, .. } => vec![*chain],
            _ => Vec::new(),
        };
        for c in entered {
            if !chains.contains(&c) {
                chains.push(c);
            }
        }
    }
    chains
        .into_iter()
        .filter_map(|at| {
            let chain = ruleset.tables.get(at.table)?.chains.get(at.chain)?;
            Some(repeats_in(chain, at, &matched))
        })
        .flatten()
        .collect()
}

/// The groups of identical source rules of one chain.
fn repeats_in(chain: &Chain, at: ChainRef, matched: &HashSet<RuleRef>) -> Vec<Repeat> {
    let sources = source_rules(chain);
    let same = |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| {
        a.len() == b.len()
            && chain.rules[a.clone()]
                .iter()
                .zip(&chain.rules[b.clone()])
                .all(|(x, y)| x.body == y.body)
    };
    let mut grouped = vec![false; sources.len()];
    let mut out = Vec::new();
    for first in 0..sources.len() {
        if grouped[first] {
            continue;
        }
        let copies: Vec<usize> = (first..sources.len())
            .filter(|&j| !grouped[j] && same(&sources[first], &sources[j]))
            .collect();
        if copies.len() < 2 {
            continue;
        }
        let rules = copies
            .iter()
            .map(|&j| {
                grouped[j] = true;
                let range = &sources[j];
                let rule = |r| RuleRef {
                    table: at.table,
                    chain: at.chain,
                    rule: r,
                };
                RepeatedRule {
                    at: rule(range.start),
                    number: j + 1,
                    matched: range.clone().any(|r| matched.contains(&rule(r))),
                }
            })
            .collect();
        out.push(Repeat { chain: at, rules });
    }
    out
}
