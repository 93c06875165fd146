//! How the chains of each table nest, and whether the kernel loads that nesting: checked
//! once per ruleset over the jump/goto graph reachable from the table's base chains.
//!
//! - A loop (a chain reachable from itself) is refused by every backend: x_tables'
//!   `mark_source_chains` returns -ELOOP; nf_tables' `nf_tables_check_loops` /
//!   `nft_chain_validate` -ELOOP or -EMLINK.
//! - nf_tables (native nft and iptables-nft) refuses a path of [`NFT_JUMP_STACK_SIZE`]
//!   jumps or gotos from a base chain (`nft_chain_validate`: -EMLINK, "Too many links").
//!   Measured in a namespace: 15 nested jumps load, 16 do not, for jumps and gotos alike,
//!   with `nft -f` and `iptables-nft-restore`; chains no base chain reaches are not checked.
//! - x_tables (iptables-legacy) sizes its jump stack by the table's chain count
//!   (`xt_alloc_jumpstack`), so any loop-free nesting loads (measured: 1000 deep).
//!
//! The graph is walked iteratively (a legacy table may nest as deep as it has chains),
//! once per chain: linear in chains plus jumps.

use crate::linux::prepared::Prepared;
use model::ruleset::Backend;
use model::{ChainRef, RuleRef};

/// nf_tables' jump stack (`NFT_JUMP_STACK_SIZE`): a path of this many jumps from a base
/// chain is refused at load time.
pub const NFT_JUMP_STACK_SIZE: usize = 16;

/// What the kernel makes of one table's chain nesting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nesting {
    /// Every backend that could have loaded the table loads it.
    Loads,
    /// Chains reach themselves: no backend loads the table.
    Loop {
        /// The chains of the cycle in jump order, the first repeated at the end.
        cycle: Vec<ChainRef>,
        /// The jump that closes the cycle.
        at: RuleRef,
    },
    /// Nested deeper than nf_tables allows, and the table is for nf_tables: refused.
    TooDeep {
        /// A path from a base chain through [`NFT_JUMP_STACK_SIZE`] jumps.
        path: Vec<ChainRef>,
        /// The jump nf_tables refuses (the last of `path`).
        at: RuleRef,
        /// The backend the input names.
        backend: Backend,
    },
    /// Nested deeper than nf_tables allows, and the input does not name its backend: only
    /// iptables-legacy loads it, so the simulation assumes that backend.
    LegacyOnly {
        /// The deepest nesting, in jumps.
        depth: usize,
        /// The first chains of the deepest path: a base chain and [`NFT_JUMP_STACK_SIZE`]
        /// jumps.
        path: Vec<ChainRef>,
    },
}

/// The nesting of every table of `prep`'s ruleset, by table index.
pub fn of_ruleset(prep: &Prepared<'_>) -> Vec<Nesting> {
    (0..prep.ruleset.tables.len())
        .map(|t| of_table(prep, t))
        .collect()
}

fn of_table(prep: &Prepared<'_>, table: usize) -> Nesting {
    let ruleset = prep.ruleset;
    let chains = &ruleset.tables[table].chains;
    let at = |chain| ChainRef { table, chain };
    let targets: Vec<Vec<usize>> = (0..chains.len())
        .map(|c| prep.chain_targets(at(c)).collect())
        .collect();
    let mut graph = Graph {
        targets: &targets,
        state: vec![State::New; chains.len()],
        height: vec![0; chains.len()],
        deepest_next: vec![None; chains.len()],
    };
    let bases: Vec<usize> = (0..chains.len())
        .filter(|&c| chains[c].base.is_some())
        .collect();
    for &base in &bases {
        if let Some(cycle) = graph.explore(base) {
            let closing = jumping_rule(prep, at(cycle[cycle.len() - 2]), cycle[cycle.len() - 1]);
            return Nesting::Loop {
                cycle: cycle.into_iter().map(at).collect(),
                at: closing,
            };
        }
    }
    let Some(&deepest) = bases.iter().max_by_key(|&&b| graph.height[b]) else {
        return Nesting::Loads;
    };
    let depth = graph.height[deepest];
    if depth < NFT_JUMP_STACK_SIZE {
        return Nesting::Loads;
    }
    let mut path = vec![deepest];
    while path.len() <= NFT_JUMP_STACK_SIZE {
        let last = path[path.len() - 1];
        match graph.deepest_next[last] {
            Some(next) => path.push(next),
            None => break,
        }
    }
    let refused = jumping_rule(prep, at(path[path.len() - 2]), path[path.len() - 1]);
    let path = path.into_iter().map(at).collect();
    match ruleset.backend(table) {
        Some(backend) if backend.is_nf_tables() => Nesting::TooDeep {
            path,
            at: refused,
            backend,
        },
        Some(_) => Nesting::Loads,
        None => Nesting::LegacyOnly { depth, path },
    }
}

/// The first rule of `from` that jumps or goes to chain `to`.
fn jumping_rule(prep: &Prepared<'_>, from: ChainRef, to: usize) -> RuleRef {
    let chain = prep.ruleset.chain_at(from);
    let rule = (0..chain.rules.len())
        .find(|&rule| {
            let at = RuleRef {
                table: from.table,
                chain: from.chain,
                rule,
            };
            (0..chain.rules[rule].body.len()).any(|step| prep.jump_target(at, step) == Some(to))
        })
        .unwrap_or(0);
    RuleRef {
        table: from.table,
        chain: from.chain,
        rule,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    OnPath,
    Done,
}

/// Depth-first search over one table's chains: the longest jump path below each chain and
/// the first cycle met.
struct Graph<'t> {
    targets: &'t [Vec<usize>],
    state: Vec<State>,
    /// Jumps on the longest path starting at the chain (final once `Done`).
    height: Vec<usize>,
    /// The target that starts that longest path.
    deepest_next: Vec<Option<usize>>,
}

impl Graph<'_> {
    /// Explores everything reachable from `start`; a cycle met, as chain indexes with the
    /// first repeated at the end.
    fn explore(&mut self, start: usize) -> Option<Vec<usize>> {
        if self.state[start] != State::New {
            return None;
        }
        self.state[start] = State::OnPath;
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(&mut (chain, ref mut next)) = path.last_mut() {
            if let Some(&target) = self.targets[chain].get(*next) {
                *next += 1;
                match self.state[target] {
                    State::OnPath => {
                        let from = path.iter().position(|&(c, _)| c == target).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[from..].iter().map(|&(c, _)| c).collect();
                        cycle.push(target);
                        return Some(cycle);
                    }
                    State::New => {
                        self.state[target] = State::OnPath;
                        path.push((target, 0));
                    }
                    State::Done => self.lengthen(chain, target),
                }
            } else {
                self.state[chain] = State::Done;
                path.pop();
                if let Some(&(parent, _)) = path.last() {
                    self.lengthen(parent, chain);
                }
            }
        }
        None
    }

    fn lengthen(&mut self, chain: usize, target: usize) {
        if self.height[target] + 1 > self.height[chain] {
            self.height[chain] = self.height[target] + 1;
            self.deepest_next[chain] = Some(target);
        }
    }
}
