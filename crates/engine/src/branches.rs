//! The exploration of Unknown outcomes, the same for every packet path: the first walk
//! takes "matches" for every Unknown match (and "continues" for an unmodelled target);
//! each further walk flips the last outcome not yet flipped, depth first, until all
//! combinations are seen or [`Options::max_branches`] is reached
//! ([`Outcome::truncated`]).

use crate::trace::{Branch, Outcome, UnknownChoice, UnknownSite};
use crate::{Options, PacketPath};
use model::expr::Undecidable;
use model::{Host, Packet};

/// Walks `packet` along `path` once per explored combination of Unknown outcomes.
pub fn explore<P: PacketPath + ?Sized>(
    path: &P,
    host: &Host,
    packet: &Packet,
    options: &Options,
) -> Outcome {
    let max = options.max_branches.max(1);
    let mut branches = Vec::new();
    let mut prefix: Vec<bool> = Vec::new();
    let mut truncated = false;
    loop {
        let mut decisions = Decisions::new(&prefix);
        let trace = path.walk(host, packet, options, &mut decisions);
        let Decisions { taken, choices, .. } = decisions;
        branches.push(Branch { choices, trace });
        match next_prefix(taken) {
            None => break,
            Some(_) if branches.len() >= max => {
                truncated = true;
                break;
            }
            Some(next) => prefix = next,
        }
    }
    Outcome {
        branches,
        truncated,
    }
}

/// The next decision vector of a depth-first exploration: drop trailing `false` (already
/// flipped) outcomes, flip the last `true`.
fn next_prefix(mut taken: Vec<bool>) -> Option<Vec<bool>> {
    while taken.last() == Some(&false) {
        taken.pop();
    }
    let last = taken.last_mut()?;
    *last = false;
    Some(taken)
}

/// The Unknown outcomes of one branch: a prefix forced by the exploration, then `true`
/// (the "matches" branch) for every new site.
#[derive(Debug)]
pub struct Decisions<'p> {
    prefix: &'p [bool],
    /// Outcomes of the explored (not user-assumed) sites, in path order.
    pub taken: Vec<bool>,
    /// Every Unknown match met (user-assumed ones too), in path order.
    pub choices: Vec<UnknownChoice>,
}

impl<'p> Decisions<'p> {
    /// Decisions that follow `prefix`, then take "matches".
    pub fn new(prefix: &'p [bool]) -> Decisions<'p> {
        Decisions {
            prefix,
            taken: Vec::new(),
            choices: Vec::new(),
        }
    }

    /// The outcome at `site`: the user's `--assume`, else the forced prefix, else `true`.
    pub fn decide(
        &mut self,
        options: &Options,
        site: UnknownSite,
        why: Undecidable,
    ) -> UnknownChoice {
        let choice = match options.assume.iter().find(|(s, _)| *s == site) {
            Some(&(_, matched)) => UnknownChoice {
                site,
                why,
                matched,
                assumed_by_user: true,
            },
            None => {
                let matched = self.prefix.get(self.taken.len()).copied().unwrap_or(true);
                self.taken.push(matched);
                UnknownChoice {
                    site,
                    why,
                    matched,
                    assumed_by_user: false,
                }
            }
        };
        self.choices.push(choice.clone());
        choice
    }
}
