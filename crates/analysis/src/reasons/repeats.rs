//! Identical rules repeated in a chain the packet went through: the same matches and
//! actions written twice (a script that adds its rule on every run). Rules are compared
//! as their source rules (an iptables rule the front end lowered into several model rules
//! is one), by what they do, not by their comments or counters.

use super::probe::source_rules;
use engine::{Event, Trace, TraceVerdict};
use model::{Chain, ChainRef, RuleRef, Ruleset};
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};

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

/// The groups of identical source rules of one chain. Rules are bucketed by a hash of what
/// they do, and compared only within a bucket: linear in the chain's length (comparing
/// every pair took minutes on a chain of 100,000 rules).
fn repeats_in(chain: &Chain, at: ChainRef, matched: &HashSet<RuleRef>) -> Vec<Repeat> {
    let sources = source_rules(chain);
    let same = |a: &std::ops::Range<usize>, b: &std::ops::Range<usize>| {
        a.len() == b.len()
            && chain.rules[a.clone()]
                .iter()
                .zip(&chain.rules[b.clone()])
                .all(|(x, y)| x.body == y.body)
    };
    let hashes: Vec<u64> = sources
        .iter()
        .map(|range| body_hash(&chain.rules[range.clone()]))
        .collect();
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for (j, &hash) in hashes.iter().enumerate() {
        buckets.entry(hash).or_default().push(j);
    }
    let mut grouped = vec![false; sources.len()];
    let mut out = Vec::new();
    for first in 0..sources.len() {
        if grouped[first] {
            continue;
        }
        let bucket = &buckets[&hashes[first]];
        if bucket.len() < 2 {
            continue;
        }
        let copies: Vec<usize> = bucket
            .iter()
            .copied()
            .filter(|&j| j >= first && !grouped[j] && same(&sources[first], &sources[j]))
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

/// A hash of what `rules` do (their bodies; not comments, counters or places), equal for
/// equal bodies: the bodies' debug form streamed into a hasher (the model's expressions
/// are not `Hash`; their derived `Debug` shows every field, and holds no unordered
/// collection or float).
fn body_hash(rules: &[model::Rule]) -> u64 {
    struct Feed(DefaultHasher);
    impl std::fmt::Write for Feed {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut feed = Feed(DefaultHasher::new());
    for rule in rules {
        // Writing into a hasher cannot fail.
        let _ = std::fmt::write(&mut feed, format_args!("{:?};", rule.body));
    }
    feed.0.finish()
}
