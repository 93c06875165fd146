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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{CtInfo, Decider, Fate, SenderView, Trace};
    use model::{Packet, RuleRef, L4};

    /// A packet path of another kind than Linux: two Unknown matches, the packet is
    /// dropped only when both match.
    struct TwoUnknowns;

    impl PacketPath for TwoUnknowns {
        fn walk(
            &self,
            _host: &Host,
            packet: &Packet,
            options: &Options,
            decisions: &mut Decisions<'_>,
        ) -> Trace {
            let site = |rule| UnknownSite {
                rule: RuleRef {
                    table: 0,
                    chain: 0,
                    rule,
                },
                step: 0,
            };
            let first = decisions.decide(options, site(0), Undecidable::Limit);
            let second = decisions.decide(options, site(1), Undecidable::Quota);
            let fate = if first.matched && second.matched {
                Fate::Dropped
            } else {
                Fate::Sent { oif: "eth0".into() }
            };
            Trace {
                packet: packet.clone(),
                final_packet: packet.clone(),
                events: Vec::new(),
                fate,
                decider: Decider::Routing,
                route: None,
                nat: Vec::new(),
                conntrack: CtInfo::default(),
                sender_sees: SenderView::default(),
                logs: Vec::new(),
                assumptions: Vec::new(),
                warnings: Vec::new(),
                reply: None,
                cause: None,
            }
        }
    }

    fn packet() -> Packet {
        let l4 = L4::Udp { sport: 1, dport: 2 };
        Packet::new([192, 0, 2, 1].into(), [192, 0, 2, 2].into(), l4)
    }

    fn taken(o: &Outcome) -> Vec<Vec<bool>> {
        o.branches
            .iter()
            .map(|b| b.choices.iter().map(|c| c.matched).collect())
            .collect()
    }

    #[test]
    fn every_combination_is_explored_depth_first_for_any_path() {
        // Object-safe: a composition of hosts can hold different paths side by side.
        let path: &dyn PacketPath = &TwoUnknowns;
        let o = explore(path, &Host::default(), &packet(), &Options::default());
        assert_eq!(
            taken(&o),
            [[true, true], [true, false], [false, true], [false, false]]
        );
        assert!(!o.truncated);
        assert_eq!(o.primary().fate, Fate::Dropped);
        assert!(o.decided_fate().is_none());
    }

    #[test]
    fn exploration_stops_at_max_branches_and_follows_assumptions() {
        let options = Options {
            max_branches: 2,
            ..Options::default()
        };
        let o = explore(&TwoUnknowns, &Host::default(), &packet(), &options);
        assert_eq!(taken(&o), [[true, true], [true, false]]);
        assert!(o.truncated);

        let first = o.branches[0].choices[0].site;
        let options = Options {
            assume: vec![(first, false)],
            ..Options::default()
        };
        let o = explore(&TwoUnknowns, &Host::default(), &packet(), &options);
        assert_eq!(taken(&o), [[false, true], [false, false]]);
        assert!(o.branches[0].choices[0].assumed_by_user);
        assert!(o.decided_fate().is_some());
    }
}
