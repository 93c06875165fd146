//! The facts an answer shows beside the simulation itself, computed once before rendering
//! so that `report` only puts them into words: how the deciding rule was reached (the jumps
//! active when it matched) and, on a mixed host, the accept in another table that did not
//! save the packet.

use crate::callstack::{call_stack, Frame};
use crate::cross_table::{self, CrossTable};
use engine::{Decider, Event, Outcome};
use model::tool_config::ToolConfig;
use model::{Hook, Ruleset, Tool};
use owners::firewalld::{zone_of, Direction, ZoneChoice};

/// What the answer says about its primary trace, beyond the trace.
#[derive(Debug, Clone, Default)]
pub struct AnswerFacts {
    /// The jumps that led to the deciding rule, outermost first (empty when a base chain's
    /// own rule or something other than a rule decided).
    pub reached_via: Vec<Frame>,
    /// An accept in an earlier base chain on the same hook that did not save the packet
    /// from the drop that decided it.
    pub cross_table: Option<CrossTable>,
    /// When firewalld's rule or policy decided: the zone the packet lands in and why
    /// (a source binding, its interface, the default zone).
    pub firewalld_zone: Option<ZoneChoice>,
}

impl AnswerFacts {
    /// The facts of `outcome`'s primary trace on `ruleset`.
    pub fn of(ruleset: &Ruleset, outcome: &Outcome) -> AnswerFacts {
        let trace = outcome.primary();
        let reached_via = match trace.decider {
            Decider::Rule(at) => call_stack(trace, at),
            _ => Vec::new(),
        };
        AnswerFacts {
            reached_via,
            cross_table: cross_table::explain(ruleset, trace),
            firewalld_zone: None,
        }
    }

    /// Adds the firewalld zone of the packet when firewalld decided, read from the
    /// dispatch chains and the zone configuration in `config`.
    pub fn with_firewalld_zone(
        mut self,
        ruleset: &Ruleset,
        config: &ToolConfig,
        outcome: &Outcome,
    ) -> AnswerFacts {
        let trace = outcome.primary();
        let decided_by_firewalld = match &trace.decider {
            Decider::Rule(at) => ruleset
                .tables
                .get(at.table)
                .and_then(|t| t.chains.get(at.chain)?.rules.get(at.rule))
                .and_then(|r| r.origin.owner.as_ref()),
            Decider::Policy(c) => owners::owner_of_chain(ruleset, *c),
            _ => None,
        }
        .is_some_and(|o| o.tool == Tool::Firewalld);
        if !decided_by_firewalld {
            return self;
        }
        let hooks = |h: Hook| {
            trace
                .events
                .iter()
                .any(|e| matches!(e, Event::Hook(x) if *x == h))
        };
        let direction = if hooks(Hook::Forward) {
            Direction::Forward
        } else if hooks(Hook::Input) {
            Direction::Input
        } else {
            Direction::Output
        };
        self.firewalld_zone = zone_of(ruleset, config, &trace.packet, direction);
        self
    }
}
