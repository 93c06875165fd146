//! The facts an answer shows beside the simulation itself, computed once before rendering
//! so that `report` only puts them into words: how the deciding rule was reached (the jumps
//! active when it matched) and, on a mixed host, the accept in another table that did not
//! save the packet.

use crate::callstack::{call_stack, Frame};
use crate::cross_table::{self, CrossTable};
use engine::{Decider, Outcome};
use model::Ruleset;

/// What the answer says about its primary trace, beyond the trace.
#[derive(Debug, Clone, Default)]
pub struct AnswerFacts {
    /// The jumps that led to the deciding rule, outermost first (empty when a base chain's
    /// own rule or something other than a rule decided).
    pub reached_via: Vec<Frame>,
    /// An accept in an earlier base chain on the same hook that did not save the packet
    /// from the drop that decided it.
    pub cross_table: Option<CrossTable>,
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
        }
    }
}
