//! pf's pass: one packet `in` or `out` on an interface through a pf ruleset, with pf's
//! state table, as OpenBSD's `sys/net/pf.c` `pf_test` runs it.
//!
//! The order of `pf_test`, each step in its module:
//! 1. An interface in `set skip on` (by name or group) is not filtered at all
//!    (`PFI_IFLAG_SKIP`): [`Decider::Skipped`].
//! 2. The state table first ([`state`]): a packet of a known connection (or a reply, or
//!    an ICMP error quoting one) passes without the rules, rewritten as its state says,
//!    logged only if the state's rule had `log (all)`.
//! 3. Otherwise the rules (`eval`, `pf_test_rule`/`pf_match_rule`): the last matching
//!    rule decides, `quick` ends at once, `match` rules apply their options without
//!    deciding, anchors are evaluated in place. No matching rule: pf's default rule
//!    passes. Translation (`nat-to`/`rdr-to` on the rule; FreeBSD's older `nat`/`rdr`/
//!    `binat` rules before the filter rules) in `translate`.
//! 4. A passing rule with state (the default for `pass` since OpenBSD 4.1 / FreeBSD 7:
//!    `flags S/SA keep state`) creates the state later packets meet in step 2; a `block`
//!    answers as its `return` options or `set block-policy` say ([`answer`]).
//!
//! A rule whose match depends on something the input does not give (a table filled at
//! run time, `(if)` without the host's addresses, `probability`, `user` on input) is
//! explored both ways; when the verdict depends on it, the pass is
//! [`crate::bsd::PassVerdict::Undetermined`], never a guess. So is a pass that reaches an
//! anchor whose rules were not given, a translation whose address is not known, or
//! `af-to`.
//!
//! Not modelled (the pass says what pf decides without them): TCP sequence windows,
//! state timeouts and limits (`max`, `max-src-*`, `overload`), `synproxy`'s handshake
//! (the SYN passes with its state), `log (matches)`, `divert-*`, queues and priorities,
//! routing domains other than 0, `set reassemble no` (fragments are taken reassembled).

pub mod addr;
pub mod answer;
mod eval;
pub mod pflog;
pub mod state;
mod translate;

use std::collections::HashMap;

use model::pf::{Action, AnchorCall, Item, PfOption, Ruleset, StatePolicy, TableEntry};
use model::{Host, Packet};

use crate::bsd::{Decider, Direction, Filter, FilterPass, PassResult, Step};
use addr::{Resolver, TableContents};
pub use state::PfState;

/// How many combinations of undecidable matches one pass explores before it answers
/// Undetermined without looking further.
const MAX_BRANCHES: usize = 64;

/// A pf ruleset prepared for packets: the main ruleset, the anchors loaded beside it,
/// the tables' contents, the global options and the host the rules' interface and
/// address names resolve against.
#[derive(Debug, Clone)]
pub struct PfRules<'r> {
    main: &'r Ruleset,
    anchors: HashMap<String, &'r Ruleset>,
    tables: HashMap<String, TableContents>,
    skip: Vec<String>,
    state_policy: StatePolicy,
    host: Option<&'r Host>,
    tcpdump: pflog::Tcpdump,
}

impl<'r> PfRules<'r> {
    /// Prepares `main` for packets on `host` (interfaces with their BSD names and
    /// addresses; `None` leaves `self`, `(if)` and `egress` Unknown).
    pub fn new(main: &'r Ruleset, host: Option<&'r Host>) -> PfRules<'r> {
        let mut rules = PfRules {
            main,
            anchors: HashMap::new(),
            tables: HashMap::new(),
            skip: Vec::new(),
            state_policy: StatePolicy::Floating,
            host,
            tcpdump: pflog::Tcpdump::OpenBsd,
        };
        rules.read_globals(main);
        rules.load_anchors(main);
        rules
    }

    /// `load anchor NAME from "FILE"` whose file came with the configuration: its rules
    /// are that anchor's (pfctl loads them with the main ruleset).
    fn load_anchors(&mut self, rules: &'r Ruleset) {
        for item in &rules.items {
            if let Item::LoadAnchor {
                anchor,
                ruleset: Some(loaded),
                ..
            } = item
            {
                self.anchors
                    .insert(anchor.trim_matches('/').to_string(), loaded);
                self.read_globals(loaded);
                self.load_anchors(loaded);
            }
        }
    }

    /// Adds the rules loaded into anchor `path` (`load anchor`, `pfctl -a path -f`);
    /// a named anchor whose rules were not given is Unknown.
    pub fn with_anchor(mut self, path: &str, rules: &'r Ruleset) -> PfRules<'r> {
        self.anchors
            .insert(path.trim_matches('/').to_string(), rules);
        self.read_globals(rules);
        self
    }

    /// Writes the log lines as this tcpdump prints them (OpenBSD's by default; FreeBSD
    /// ships tcpdump.org's).
    pub fn with_tcpdump(mut self, tcpdump: pflog::Tcpdump) -> PfRules<'r> {
        self.tcpdump = tcpdump;
        self
    }

    /// Gives the contents of table `name` (`pfctl -t name -T show`), replacing what the
    /// ruleset's declaration implied.
    pub fn with_table(mut self, name: &str, entries: Vec<TableEntry>) -> PfRules<'r> {
        self.tables
            .insert(name.to_string(), TableContents::Known(entries));
        self
    }

    /// Options and tables a ruleset declares (`set skip` adds up; the last
    /// `set state-policy` holds). Tables given by [`PfRules::with_table`] are kept.
    fn read_globals(&mut self, rules: &Ruleset) {
        for item in &rules.items {
            match item {
                Item::Option(PfOption::Skip(names), _) => self.skip.extend(names.iter().cloned()),
                Item::Option(PfOption::StatePolicy(policy), _) => self.state_policy = *policy,
                Item::Table(table) => {
                    self.tables
                        .entry(table.name.clone())
                        .or_insert_with(|| TableContents::of(table));
                }
                // An inline anchor's own tables.
                Item::Rule(rule) => {
                    if let Action::Anchor(AnchorCall {
                        body: Some(body), ..
                    }) = &rule.action
                    {
                        self.read_globals(body);
                    }
                }
                _ => {}
            }
        }
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver {
            host: self.host,
            tables: &self.tables,
        }
    }

    /// One pass of an ICMP error whose quoted packet (the packet it is about, as it
    /// travelled the other way) is known: it passes if that packet's state exists
    /// (`pf_test_state_icmp`), else the rules decide.
    pub fn pass_icmp_error(
        &self,
        packet: &Packet,
        quoted: &Packet,
        direction: Direction,
        interface: &str,
        state: &mut PfState,
    ) -> PassResult {
        self.run(packet, Some(quoted), direction, interface, state)
    }

    fn run(
        &self,
        packet: &Packet,
        quoted: Option<&Packet>,
        direction: Direction,
        interface: &str,
        state: &mut PfState,
    ) -> PassResult {
        let pass = eval::Pass {
            rules: self,
            packet,
            quoted,
            direction,
            interface,
        };
        if let Some(skipped) = pass.skipped() {
            return skipped;
        }
        if let Some(by_state) = pass.by_state(state) {
            return by_state;
        }
        explore(&pass, state)
    }
}

impl FilterPass for PfRules<'_> {
    type State = PfState;

    fn filter(&self) -> Filter {
        Filter::Pf
    }

    fn pass(
        &self,
        packet: &Packet,
        direction: Direction,
        interface: &str,
        state: &mut PfState,
    ) -> PassResult {
        self.run(packet, None, direction, interface, state)
    }
}

/// Runs the rules once per combination of undecidable matches (each run takes the
/// decisions given and "does not match" for the sites after them; every site met beyond
/// the decisions is then tried matching). When every combination ends the same way, that
/// is the answer (its undecided rules shown with `matched: None`); otherwise the pass is
/// Undetermined on the first undecidable match, and the state table is left as it was.
fn explore(pass: &eval::Pass<'_, '_>, state: &mut PfState) -> PassResult {
    let mut pending: Vec<Vec<bool>> = vec![Vec::new()];
    let mut leaves: Vec<(eval::Run, PfState)> = Vec::new();
    while let Some(decisions) = pending.pop() {
        if leaves.len() >= MAX_BRANCHES {
            break;
        }
        let mut scratch = state.clone();
        let run = pass.rules_pass(&decisions, &mut scratch);
        for site in (decisions.len()..run.sites.len()).rev() {
            let mut taken = decisions.clone();
            taken.resize(site, false);
            taken.push(true);
            pending.push(taken);
        }
        leaves.push((run, scratch));
    }
    let all_explored = pending.is_empty();
    let (first, _) = &leaves[0];
    let agree = leaves.iter().all(|(run, _)| {
        run.result.verdict == first.result.verdict
            && run.result.decider == first.result.decider
            && run.result.packet == first.result.packet
    });
    if all_explored && agree {
        let (run, scratch) = leaves.swap_remove(0);
        *state = scratch;
        let mut result = run.result;
        for index in run.site_steps {
            if let Some(Step::Rule { matched, .. }) = result.steps.get_mut(index) {
                *matched = None;
            }
        }
        return result;
    }
    match first.sites.first() {
        Some((on, rule)) => eval::undetermined(pass, on.clone(), Decider::Rule(rule.clone())),
        None => first.result.clone(),
    }
}
