//! Rule-level reasons: why the rules on a packet's path did what they did, beyond the
//! deciding rule itself (issue 10, part 5).
//!
//! - [`set_miss`]: every set, ipset or verdict-map lookup the packet met and missed: the
//!   key it presented, the set's type, the nearest elements and what kind of mismatch it
//!   is (the rule's `src,dst` dimensions against the set's type, an address family the
//!   set does not hold, a key the other direction or the pre-NAT packet would have
//!   presented, a set the packet path changes).
//! - [`shadowed`]: the rule the admin probably expected: a later rule on the path that
//!   matches this packet and would decide otherwise, with the earlier rule that decided
//!   instead.
//! - [`repeats`]: identical rules repeated in a chain the packet went through (a rule a
//!   script added twice).
//!
//! Every fact is asked of the engine itself, never re-derived: a lookup is "met" and
//! "missed" when a probe copy of the ruleset, the rule cut just before and just after the
//! lookup, shows the engine reaching and passing it; a rule is shadowed when the engine,
//! with the deciding rule's verdict taken away, lets that rule decide. A key the analysis
//! cannot read back exactly is reported as not read, never guessed.

mod probe;
mod repeats;
mod set_miss;
mod shadowed;

pub use repeats::{Repeat, RepeatedRule};
pub use set_miss::{KeyPart, Lookup, Mismatch, NearElement, SetMiss};
pub use shadowed::{Shadowed, VerdictClass};

use engine::{Options, Outcome};
use model::{Host, Packet, Ruleset};

/// The rule-level reasons of one simulated packet (its primary trace).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleReasons {
    /// The lookups the packet met and missed, in path order.
    pub set_misses: Vec<SetMiss>,
    /// Later rules that would have decided this packet otherwise, each with the rule that
    /// decided first.
    pub shadowed: Vec<Shadowed>,
    /// Identical rules repeated in the chains the packet went through.
    pub repeats: Vec<Repeat>,
}

impl RuleReasons {
    /// The reasons of `outcome` (the simulation of `packet` on `ruleset` and `host` with
    /// `options`): the probes re-run that simulation on modified copies of the ruleset.
    pub fn of(
        ruleset: &Ruleset,
        host: &Host,
        packet: &Packet,
        outcome: &Outcome,
        options: &Options,
    ) -> RuleReasons {
        let trace = outcome.primary();
        let sim = probe::Sim {
            ruleset,
            host,
            packet,
            options,
        };
        RuleReasons {
            set_misses: set_miss::find(&sim, trace),
            shadowed: shadowed::find(&sim, trace),
            repeats: repeats::find(ruleset, trace),
        }
    }

    /// Whether there is nothing to say.
    pub fn is_empty(&self) -> bool {
        self.set_misses.is_empty() && self.shadowed.is_empty() && self.repeats.is_empty()
    }
}
